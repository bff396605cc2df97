// /api/v1/balances: recipients' balances.
import { apiRoute } from "~/api/handler.server";
import { listBalances } from "~/api/reads.server";

const route = apiRoute({ GET: listBalances });
export const loader = route.loader;
export const action = route.action;
