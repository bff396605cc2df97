// Pure state of one Dodo payment folded from its webhook events (payment, refunds, disputes).
// The fold is a join-semilattice: the result is the same for any order and any repetition of the events.
//
// Why a join and not a transition table: Dodo sends "the latest state of the object", in no guaranteed
// order, and retries each delivery up to 8 times over about a day. A `refund.succeeded` may come before
// `payment.succeeded`; a stale `payment.processing` may come after it. A reducer that is commutative,
// associative and idempotent makes every such arrival order converge on one state, so the ledger never
// depends on which retry won a race.
//
// Rules (each component is the maximum of its observations under a TOTAL order, which is what makes
// `join` a semilattice; ties on rank are broken by Dodo's event timestamp, then by a canonical string of
// the observation so that two different observations never compare equal):
//
// 1. Payment status precedence: processing < cancelled < failed < succeeded.
//    `succeeded` dominates because it can only be reported after money was captured; a `failed` or
//    `cancelled` for the same payment id that arrives later is an earlier attempt delivered late.
//    Among the non-success terminals `failed` outranks `cancelled` (a decline is the more specific fact).
//    The payment's amounts and currencies come from the winning observation, so the latest report at
//    the highest status wins (e.g. a second `payment.succeeded` with a later timestamp).
// 2. Refund status precedence per refund id: pending < review < failed < succeeded. Refunds are keyed by
//    `refund_id`; a payment's refunded total is the sum of its succeeded refunds, per currency.
//    Succeeded dominates for the same reason as payments: once money has gone back it stays gone.
// 3. Dispute precedence per dispute id: first by stage (pre_dispute < dispute < pre_arbitration; a new
//    stage reopens the case), then by status: opened < challenged < cancelled < won < expired < accepted < lost.
//    Funds-lost outcomes outrank funds-kept ones within a stage so that conflicting reports resolve to
//    the conservative reading (we never pay out money a chargeback may take back).
// 4. The empty state (bottom) has no payment snapshot, no refunds and no disputes.

export const PAYMENT_STATUS_ORDER = ["processing", "cancelled", "failed", "succeeded"] as const;
export type PaymentStatus = (typeof PAYMENT_STATUS_ORDER)[number];

export const REFUND_STATUS_ORDER = ["pending", "review", "failed", "succeeded"] as const;
export type RefundStatus = (typeof REFUND_STATUS_ORDER)[number];

export const DISPUTE_STAGE_ORDER = ["pre_dispute", "dispute", "pre_arbitration"] as const;
export type DisputeStage = (typeof DISPUTE_STAGE_ORDER)[number];

export const DISPUTE_STATUS_ORDER = [
  "dispute_opened",
  "dispute_challenged",
  "dispute_cancelled",
  "dispute_won",
  "dispute_expired",
  "dispute_accepted",
  "dispute_lost",
] as const;
export type DisputeStatus = (typeof DISPUTE_STATUS_ORDER)[number];

export type DisputeOutcome = "open" | "won" | "lost";

export interface PaymentSnapshot {
  status: PaymentStatus;
  /** Dodo's event timestamp (ms since epoch) of the observation that won. */
  observedAtMs: number;
  totalAmount: bigint;
  currency: string;
  /** Null while Dodo has not reported the settlement (its schema allows it). */
  settlementAmount: bigint | null;
  settlementCurrency: string | null;
  /** Dodo's checkout session id, when the payment came through a checkout session. */
  checkoutSessionId: string | null;
}

export interface RefundSnapshot {
  refundId: string;
  status: RefundStatus;
  observedAtMs: number;
  /** Null when Dodo did not report the amount (its schema allows it). */
  amount: bigint | null;
  currency: string | null;
  /** Dodo's `is_partial`: false with no amount means the whole payment; null when not reported. */
  isPartial: boolean | null;
  /** Dodo's `created_at` of the refund (ms), else the event's timestamp: the order of take-backs. */
  createdAtMs: number;
}

export interface DisputeSnapshot {
  disputeId: string;
  status: DisputeStatus;
  stage: DisputeStage;
  observedAtMs: number;
  amount: bigint;
  currency: string;
  /** Dodo's `created_at` of the dispute (ms), else the event's timestamp: the order of take-backs. */
  createdAtMs: number;
}

/** One fact reported by one webhook event. */
export type PaymentObservation =
  | ({ kind: "payment" } & PaymentSnapshot)
  | ({ kind: "refund" } & RefundSnapshot)
  | ({ kind: "dispute" } & DisputeSnapshot);

export interface PaymentLedgerState {
  payment: PaymentSnapshot | null;
  /** Keyed by refund id. */
  refunds: Readonly<Record<string, RefundSnapshot>>;
  /** Keyed by dispute id. */
  disputes: Readonly<Record<string, DisputeSnapshot>>;
}

export const EMPTY_PAYMENT_STATE: PaymentLedgerState = Object.freeze({
  payment: null,
  refunds: Object.freeze({}),
  disputes: Object.freeze({}),
});

function rankOf<T extends string>(order: readonly T[], value: T): number {
  const rank = order.indexOf(value);
  if (rank < 0) throw new RangeError(`unknown state ${value}`);
  return rank;
}

function compareNumbers(a: number, b: number): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function canonicalPayment(p: PaymentSnapshot): string {
  return [p.status, p.observedAtMs, p.totalAmount, p.currency, p.settlementAmount ?? "", p.settlementCurrency ?? "", p.checkoutSessionId ?? ""].join("|");
}

function canonicalRefund(r: RefundSnapshot): string {
  return [r.refundId, r.status, r.observedAtMs, r.amount ?? "", r.currency ?? "", r.isPartial ?? "", r.createdAtMs].join("|");
}

function canonicalDispute(d: DisputeSnapshot): string {
  return [d.disputeId, d.stage, d.status, d.observedAtMs, d.amount, d.currency, d.createdAtMs].join("|");
}

/** Total order on payment snapshots; equal only when every field is equal. */
export function comparePaymentSnapshots(a: PaymentSnapshot, b: PaymentSnapshot): number {
  return (
    compareNumbers(rankOf(PAYMENT_STATUS_ORDER, a.status), rankOf(PAYMENT_STATUS_ORDER, b.status)) ||
    compareNumbers(a.observedAtMs, b.observedAtMs) ||
    compareStrings(canonicalPayment(a), canonicalPayment(b))
  );
}

export function compareRefundSnapshots(a: RefundSnapshot, b: RefundSnapshot): number {
  return (
    compareNumbers(rankOf(REFUND_STATUS_ORDER, a.status), rankOf(REFUND_STATUS_ORDER, b.status)) ||
    compareNumbers(a.observedAtMs, b.observedAtMs) ||
    compareStrings(canonicalRefund(a), canonicalRefund(b))
  );
}

export function compareDisputeSnapshots(a: DisputeSnapshot, b: DisputeSnapshot): number {
  return (
    compareNumbers(rankOf(DISPUTE_STAGE_ORDER, a.stage), rankOf(DISPUTE_STAGE_ORDER, b.stage)) ||
    compareNumbers(rankOf(DISPUTE_STATUS_ORDER, a.status), rankOf(DISPUTE_STATUS_ORDER, b.status)) ||
    compareNumbers(a.observedAtMs, b.observedAtMs) ||
    compareStrings(canonicalDispute(a), canonicalDispute(b))
  );
}

function maxBy<T>(a: T | null | undefined, b: T | null | undefined, compare: (x: T, y: T) => number): T | null {
  if (a == null) return b ?? null;
  if (b == null) return a;
  return compare(a, b) >= 0 ? a : b;
}

function joinRecords<T>(
  a: Readonly<Record<string, T>>,
  b: Readonly<Record<string, T>>,
  compare: (x: T, y: T) => number,
): Record<string, T> {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  const out: Record<string, T> = {};
  for (const key of keys) out[key] = maxBy(a[key], b[key], compare) as T;
  return out;
}

/** The least upper bound of two states: commutative, associative, idempotent. */
export function joinPaymentStates(a: PaymentLedgerState, b: PaymentLedgerState): PaymentLedgerState {
  return {
    payment: maxBy(a.payment, b.payment, comparePaymentSnapshots),
    refunds: joinRecords(a.refunds, b.refunds, compareRefundSnapshots),
    disputes: joinRecords(a.disputes, b.disputes, compareDisputeSnapshots),
  };
}

/** The state one observation alone describes. */
export function stateOfObservation(observation: PaymentObservation): PaymentLedgerState {
  switch (observation.kind) {
    case "payment": {
      const { kind: _kind, ...snapshot } = observation;
      return { payment: snapshot, refunds: {}, disputes: {} };
    }
    case "refund": {
      const { kind: _kind, ...snapshot } = observation;
      return { payment: null, refunds: { [snapshot.refundId]: snapshot }, disputes: {} };
    }
    case "dispute": {
      const { kind: _kind, ...snapshot } = observation;
      return { payment: null, refunds: {}, disputes: { [snapshot.disputeId]: snapshot } };
    }
  }
}

/** Applies one observation: `state ⊔ ⟦observation⟧`. */
export function applyPaymentObservation(state: PaymentLedgerState, observation: PaymentObservation): PaymentLedgerState {
  return joinPaymentStates(state, stateOfObservation(observation));
}

export function foldPaymentObservations(
  observations: Iterable<PaymentObservation>,
  initial: PaymentLedgerState = EMPTY_PAYMENT_STATE,
): PaymentLedgerState {
  let state = initial;
  for (const observation of observations) state = applyPaymentObservation(state, observation);
  return state;
}

export function disputeOutcome(status: DisputeStatus): DisputeOutcome {
  switch (status) {
    case "dispute_opened":
    case "dispute_challenged":
      return "open";
    case "dispute_won":
    case "dispute_cancelled":
      return "won";
    case "dispute_expired":
    case "dispute_accepted":
    case "dispute_lost":
      return "lost";
  }
}

export interface PaymentLedgerSummary {
  status: PaymentStatus | "unknown";
  /** Sum of succeeded refunds, per currency (refunds are in the payment's charge currency). */
  refundedByCurrency: Record<string, bigint>;
  /** Sum of disputes currently open, per currency. */
  disputedOpenByCurrency: Record<string, bigint>;
  /** Sum of disputes whose outcome is a loss of funds, per currency. */
  disputedLostByCurrency: Record<string, bigint>;
  refundState: "none" | "partial" | "full";
}

function addTo(totals: Record<string, bigint>, currency: string, amount: bigint): void {
  totals[currency] = (totals[currency] ?? 0n) + amount;
}

export function summarizePaymentState(state: PaymentLedgerState): PaymentLedgerSummary {
  const refundedByCurrency: Record<string, bigint> = {};
  for (const refund of Object.values(state.refunds)) {
    if (refund.status === "succeeded" && refund.amount !== null) {
      addTo(refundedByCurrency, refund.currency ?? state.payment?.currency ?? "UNKNOWN", refund.amount);
    }
  }
  const disputedOpenByCurrency: Record<string, bigint> = {};
  const disputedLostByCurrency: Record<string, bigint> = {};
  for (const dispute of Object.values(state.disputes)) {
    const outcome = disputeOutcome(dispute.status);
    if (outcome === "open") addTo(disputedOpenByCurrency, dispute.currency, dispute.amount);
    if (outcome === "lost") addTo(disputedLostByCurrency, dispute.currency, dispute.amount);
  }
  let refundState: PaymentLedgerSummary["refundState"] = "none";
  const refunded = state.payment ? (refundedByCurrency[state.payment.currency] ?? 0n) : 0n;
  if (Object.keys(refundedByCurrency).length > 0) {
    refundState = state.payment && refunded >= state.payment.totalAmount ? "full" : "partial";
  }
  return {
    status: state.payment?.status ?? "unknown",
    refundedByCurrency,
    disputedOpenByCurrency,
    disputedLostByCurrency,
    refundState,
  };
}

/** One change between two states, for audit rows and downstream effects. */
export type PaymentStateChange =
  | { kind: "payment_status"; from: PaymentStatus | null; to: PaymentStatus }
  | { kind: "payment_amounts"; from: PaymentSnapshot; to: PaymentSnapshot }
  | { kind: "refund"; refundId: string; from: RefundStatus | null; to: RefundStatus; amount: bigint | null }
  | {
      kind: "dispute";
      disputeId: string;
      from: { status: DisputeStatus; stage: DisputeStage } | null;
      to: { status: DisputeStatus; stage: DisputeStage };
      amount: bigint;
    };

/**
 * What changed from `before` to `after` (where `after` = `before ⊔ x`). Changes that only move the
 * observation timestamp are not reported, so a redelivered or stale event yields no change.
 */
export function diffPaymentStates(before: PaymentLedgerState, after: PaymentLedgerState): PaymentStateChange[] {
  const changes: PaymentStateChange[] = [];
  const b = before.payment;
  const a = after.payment;
  if (a && (!b || b.status !== a.status)) {
    changes.push({ kind: "payment_status", from: b?.status ?? null, to: a.status });
  } else if (
    a &&
    b &&
    (a.totalAmount !== b.totalAmount ||
      a.currency !== b.currency ||
      a.settlementAmount !== b.settlementAmount ||
      a.settlementCurrency !== b.settlementCurrency ||
      a.checkoutSessionId !== b.checkoutSessionId)
  ) {
    changes.push({ kind: "payment_amounts", from: b, to: a });
  }
  for (const refundId of Object.keys(after.refunds).sort()) {
    const was = before.refunds[refundId];
    const now = after.refunds[refundId]!;
    if (!was || was.status !== now.status || was.amount !== now.amount) {
      changes.push({ kind: "refund", refundId, from: was?.status ?? null, to: now.status, amount: now.amount });
    }
  }
  for (const disputeId of Object.keys(after.disputes).sort()) {
    const was = before.disputes[disputeId];
    const now = after.disputes[disputeId]!;
    if (!was || was.status !== now.status || was.stage !== now.stage || was.amount !== now.amount) {
      changes.push({
        kind: "dispute",
        disputeId,
        from: was ? { status: was.status, stage: was.stage } : null,
        to: { status: now.status, stage: now.stage },
        amount: now.amount,
      });
    }
  }
  return changes;
}

/** True exactly once in a payment's life: when its folded status first becomes `succeeded`. */
export function becameSucceeded(before: PaymentLedgerState, after: PaymentLedgerState): boolean {
  return before.payment?.status !== "succeeded" && after.payment?.status === "succeeded";
}
