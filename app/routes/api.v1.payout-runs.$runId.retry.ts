// /api/v1/payout-runs/{runId}/retry: retry a payout run.
import { apiRoute } from "~/api/handler.server";
import { retryPayoutRunOperation } from "~/api/writes.server";

const route = apiRoute({ POST: retryPayoutRunOperation });
export const loader = route.loader;
export const action = route.action;
