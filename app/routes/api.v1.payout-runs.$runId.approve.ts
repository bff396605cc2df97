// /api/v1/payout-runs/{runId}/approve: approve a payout run.
import { apiRoute } from "~/api/handler.server";
import { approvePayoutRunOperation } from "~/api/writes.server";

const route = apiRoute({ POST: approvePayoutRunOperation });
export const loader = route.loader;
export const action = route.action;
