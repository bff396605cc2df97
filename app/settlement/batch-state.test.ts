// A batch's phase from its events, and a run's state from its batches: the rules that keep a batch from
// being signed again, or superseded, while an attempt of it can still land.
import { describe, expect, it } from "vitest";
import { batchPhase, BatchStateError, runOutcome, type BatchEventRow, type BatchEventStatus } from "./batch-state";

const bytes = Uint8Array.from([1]);
function ev(status: BatchEventStatus, signature: string | null = null, extra: Partial<BatchEventRow> = {}): BatchEventRow {
  return { status, signature, blockhash: signature ? "hash" : null, lastValidBlockHeight: signature ? 100n : null, transaction: status === "SIGNED" ? bytes : null, error: null, slot: null, ...extra };
}

describe("batchPhase", () => {
  it("an attempt is open from SIGNED until the chain resolves it; SENT only marks it sent", () => {
    expect(batchPhase([])).toEqual({ kind: "READY_TO_SIGN", attempts: 0 });
    expect(batchPhase([ev("SIGNED", "a")])).toMatchObject({ kind: "OPEN", attempt: { signature: "a", sent: false } });
    expect(batchPhase([ev("SIGNED", "a"), ev("SENT", "a")])).toMatchObject({ kind: "OPEN", attempt: { sent: true } });
    expect(batchPhase([ev("SIGNED", "a"), ev("EXPIRED", "a")])).toEqual({ kind: "READY_TO_SIGN", attempts: 1 });
    expect(batchPhase([ev("SIGNED", "a"), ev("EXPIRED", "a"), ev("SIGNED", "b"), ev("CONFIRMED", "b", { slot: 5n })])).toEqual({ kind: "CONFIRMED", signature: "b", slot: 5n });
    expect(batchPhase([ev("FAILED", null, { error: "InsufficientVaultBalance" }), ev("RETRY")])).toEqual({ kind: "READY_TO_SIGN", attempts: 0 });
  });

  it("error: signing over an open attempt, superseding an open batch, expiring another attempt, a RETRY that is not after FAILED", () => {
    expect(() => batchPhase([ev("SIGNED", "a"), ev("SIGNED", "b")])).toThrow(BatchStateError);
    expect(() => batchPhase([ev("SIGNED", "a"), ev("SUPERSEDED")])).toThrow(/could still land/);
    expect(() => batchPhase([ev("SIGNED", "a"), ev("EXPIRED", "b")])).toThrow(/not the open attempt/);
    expect(() => batchPhase([ev("RETRY")])).toThrow(/not FAILED/);
    expect(() => batchPhase([ev("SIGNED", "a", { transaction: null })])).toThrow(/without its bytes/);
  });
});

describe("runOutcome", () => {
  const confirmed = batchPhase([ev("SIGNED", "a"), ev("CONFIRMED", "a")]);
  const failed = batchPhase([ev("FAILED", null, { error: "TreasuryPaused" })]);
  const open = batchPhase([ev("SIGNED", "a")]);
  const superseded = batchPhase([ev("SUPERSEDED")]);
  const mismatch = batchPhase([ev("MISMATCH", "a", { error: "total differs" })]);
  it("follows the live batches", () => {
    expect(runOutcome([confirmed, confirmed, superseded])).toEqual({ status: "SETTLED" });
    expect(runOutcome([superseded])).toEqual({ status: "SETTLED" });
    expect(runOutcome([confirmed, open])).toEqual({ status: "EXECUTING" });
    expect(runOutcome([confirmed, failed])).toEqual({ status: "PARTIAL", reason: "TreasuryPaused" });
    expect(runOutcome([failed, failed])).toEqual({ status: "FAILED", reason: "TreasuryPaused" });
    // A SplitRecord that does not match is never SETTLED, even alone.
    expect(runOutcome([mismatch])).toEqual({ status: "PARTIAL", reason: "MISMATCH: total differs" });
    expect(runOutcome([confirmed, mismatch]).status).toBe("PARTIAL");
  });
});
