// A split batch's state, folded from its insert-only events (oldest first). Pure. The rules the
// executor lives by are here: an attempt is a signed transaction persisted before sending; it stays
// open (it may still land) until the chain says it landed, failed, or definitively expired; only a
// batch with no open attempt may be signed again or superseded.

export type BatchEventStatus = "SIGNED" | "SENT" | "CONFIRMED" | "EXPIRED" | "FAILED" | "SUPERSEDED" | "MISMATCH" | "RETRY";

export interface BatchEventRow {
  status: BatchEventStatus;
  signature: string | null;
  blockhash: string | null;
  lastValidBlockHeight: bigint | null;
  /** SIGNED: the signed bytes. */
  transaction: Uint8Array | null;
  error: string | null;
  slot: bigint | null;
}

export interface OpenAttempt {
  signature: string;
  blockhash: string;
  lastValidBlockHeight: bigint;
  transaction: Uint8Array;
  /** A SENT event followed it (it left this process at least once). */
  sent: boolean;
}

export type BatchPhase =
  /** Nothing can land: sign a new attempt (first, after an expiry, or on a retry). */
  | { kind: "READY_TO_SIGN"; attempts: number }
  /** An attempt may still land: resolve it from the chain, resend its bytes while valid. */
  | { kind: "OPEN"; attempt: OpenAttempt; attempts: number }
  | { kind: "CONFIRMED"; signature: string; slot: bigint }
  | { kind: "MISMATCH"; error: string }
  | { kind: "SUPERSEDED" }
  | { kind: "FAILED"; error: string; signature: string | null };

export class BatchStateError extends Error {
  readonly code = "BATCH_EVENTS_INCONSISTENT";
  constructor(message: string) {
    super(message);
    this.name = "BatchStateError";
  }
}

/** Folds the events in order; throws when they break the rules (an attempt signed over an open one). */
export function batchPhase(events: readonly BatchEventRow[]): BatchPhase {
  let phase: BatchPhase = { kind: "READY_TO_SIGN", attempts: 0 };
  let attempts = 0;
  for (const event of events) {
    switch (event.status) {
      case "SIGNED": {
        if (phase.kind === "OPEN") throw new BatchStateError(`attempt ${event.signature} was signed while ${phase.attempt.signature} could still land`);
        if (phase.kind !== "READY_TO_SIGN") throw new BatchStateError(`attempt ${event.signature} was signed after the batch was ${phase.kind}`);
        if (!event.signature || !event.blockhash || event.lastValidBlockHeight === null || !event.transaction) {
          throw new BatchStateError("a SIGNED event without its bytes, signature, blockhash or last valid block height");
        }
        attempts += 1;
        phase = {
          kind: "OPEN",
          attempts,
          attempt: {
            signature: event.signature,
            blockhash: event.blockhash,
            lastValidBlockHeight: event.lastValidBlockHeight,
            transaction: event.transaction,
            sent: false,
          },
        };
        break;
      }
      case "SENT":
        if (phase.kind === "OPEN" && phase.attempt.signature === event.signature) phase.attempt.sent = true;
        break;
      case "EXPIRED":
        if (phase.kind !== "OPEN" || phase.attempt.signature !== event.signature) {
          throw new BatchStateError(`EXPIRED for ${event.signature}, which is not the open attempt`);
        }
        phase = { kind: "READY_TO_SIGN", attempts };
        break;
      case "CONFIRMED":
        phase = { kind: "CONFIRMED", signature: event.signature ?? "", slot: event.slot ?? 0n };
        break;
      case "MISMATCH":
        phase = { kind: "MISMATCH", error: event.error ?? "the SplitRecord does not match the batch" };
        break;
      case "FAILED":
        phase = { kind: "FAILED", error: event.error ?? "failed", signature: event.signature };
        break;
      case "SUPERSEDED":
        if (phase.kind === "OPEN") throw new BatchStateError(`superseded while ${phase.attempt.signature} could still land`);
        phase = { kind: "SUPERSEDED" };
        break;
      case "RETRY":
        if (phase.kind !== "FAILED") throw new BatchStateError(`RETRY of a batch that is ${phase.kind}, not FAILED`);
        phase = { kind: "READY_TO_SIGN", attempts };
        break;
    }
  }
  return phase;
}

/** Terminal for this execution: the run's state can be settled once every live batch is terminal. */
export function isTerminal(phase: BatchPhase): boolean {
  return phase.kind === "CONFIRMED" || phase.kind === "MISMATCH" || phase.kind === "SUPERSEDED" || phase.kind === "FAILED";
}

export type RunOutcome = { status: "SETTLED" } | { status: "PARTIAL"; reason: string } | { status: "FAILED"; reason: string } | { status: "EXECUTING" };

/**
 * A run's state from its live (not superseded) batches: all confirmed -> SETTLED; some landed and the
 * rest given up (or a SplitRecord that does not match, which is never SETTLED) -> PARTIAL; none -> FAILED;
 * anything still open -> EXECUTING. No live batch at all (nothing to pay, or everyone held) is SETTLED.
 */
export function runOutcome(phases: readonly BatchPhase[]): RunOutcome {
  const live = phases.filter((p) => p.kind !== "SUPERSEDED");
  if (live.some((p) => !isTerminal(p))) return { status: "EXECUTING" };
  const confirmed = live.filter((p) => p.kind === "CONFIRMED").length;
  const mismatched = live.filter((p): p is Extract<BatchPhase, { kind: "MISMATCH" }> => p.kind === "MISMATCH");
  const failed = live.filter((p): p is Extract<BatchPhase, { kind: "FAILED" }> => p.kind === "FAILED");
  if (mismatched.length === 0 && failed.length === 0) return { status: "SETTLED" };
  const reasons = [...mismatched.map((p) => `MISMATCH: ${p.error}`), ...failed.map((p) => p.error)];
  const reason = [...new Set(reasons)].join("; ").slice(0, 500);
  if (confirmed > 0 || mismatched.length > 0) return { status: "PARTIAL", reason };
  return { status: "FAILED", reason };
}
