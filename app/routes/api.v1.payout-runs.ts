// /api/v1/payout-runs: list payout runs.
import { apiRoute } from "~/api/handler.server";
import { listPayoutRuns } from "~/api/reads.server";

const route = apiRoute({ GET: listPayoutRuns });
export const loader = route.loader;
export const action = route.action;
