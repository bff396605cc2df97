// How a refused run action reads to a person and which status it answers, for the console and the API alike.
import { describe, expect, it } from "vitest";
import { RpcError } from "~/settlement/rpc-errors";
import { RunSimulationError } from "~/settlement/run-simulation.server";
import { ApprovalError } from "./approvals.server";
import { RunActionError, runActionSentence, runActionStatus } from "./run-actions.server";
import { SettlementError } from "./settlement.server";

describe("run action refusals", () => {
  it.each([
    [new RunActionError("RUN_NOT_FOUND", "There is no such payout run in your organization."), 404, "There is no such payout run in your organization."],
    [new RunSimulationError("RUN_NOT_FOUND", "There is no such payout run in your organization."), 404, "There is no such payout run in your organization."],
    [new ApprovalError("OPERATOR_NOT_ALLOWED", "only an enabled admin or operator of the run's organization can approve it"), 403, "Only an enabled admin or operator of the run's organization can approve it."],
    [new ApprovalError("RUN_NOT_READY", "the run is SETTLED; only a READY run can be approved"), 409, "The run is SETTLED; only a READY run can be approved."],
    [new SettlementError("RUN_NOT_RETRYABLE", "a READY run cannot be retried; only PARTIAL or FAILED runs can"), 409, "A READY run cannot be retried; only PARTIAL or FAILED runs can."],
    [new RunActionError("SETTLEMENT_OFF", "Settlement is not running in this process: no treasury"), 503, "Settlement is not running in this process: no treasury."],
    [new RpcError("RPC_UNAVAILABLE", "getAccountInfo: connection refused", { transient: true }), 503, "The chain did not answer (getAccountInfo: connection refused); nothing was changed. Try again in a moment."],
  ] as const)("%s answers %i and one sentence", (error, status, sentence) => {
    expect(runActionStatus(error)).toBe(status);
    expect(runActionSentence(error)).toBe(sentence);
  });
});
