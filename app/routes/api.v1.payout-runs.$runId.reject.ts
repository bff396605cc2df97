// /api/v1/payout-runs/{runId}/reject: reject a payout run.
import { apiRoute } from "~/api/handler.server";
import { rejectPayoutRunOperation } from "~/api/writes.server";

const route = apiRoute({ POST: rejectPayoutRunOperation });
export const loader = route.loader;
export const action = route.action;
