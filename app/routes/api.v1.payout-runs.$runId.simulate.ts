// /api/v1/payout-runs/{runId}/simulate: simulate a payout run.
import { apiRoute } from "~/api/handler.server";
import { simulatePayoutRunOperation } from "~/api/writes.server";

const route = apiRoute({ POST: simulatePayoutRunOperation });
export const loader = route.loader;
export const action = route.action;
