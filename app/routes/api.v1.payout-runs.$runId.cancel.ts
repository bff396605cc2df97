// /api/v1/payout-runs/{runId}/cancel: cancel a payout run.
import { apiRoute } from "~/api/handler.server";
import { cancelPayoutRunOperation } from "~/api/writes.server";

const route = apiRoute({ POST: cancelPayoutRunOperation });
export const loader = route.loader;
export const action = route.action;
