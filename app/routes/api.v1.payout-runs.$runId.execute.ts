// /api/v1/payout-runs/{runId}/execute: execute a payout run.
import { apiRoute } from "~/api/handler.server";
import { executePayoutRunOperation } from "~/api/writes.server";

const route = apiRoute({ POST: executePayoutRunOperation });
export const loader = route.loader;
export const action = route.action;
