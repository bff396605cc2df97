// /api/v1/payout-runs/{runId}: one run with its transfers, batches and approvals.
import { apiRoute } from "~/api/handler.server";
import { getPayoutRun } from "~/api/reads.server";

const route = apiRoute({ GET: getPayoutRun });
export const loader = route.loader;
export const action = route.action;
