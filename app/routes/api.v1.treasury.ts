// /api/v1/treasury: the organization's treasury on chain.
import { apiRoute } from "~/api/handler.server";
import { getTreasury } from "~/api/reads.server";

const route = apiRoute({ GET: getTreasury });
export const loader = route.loader;
export const action = route.action;
