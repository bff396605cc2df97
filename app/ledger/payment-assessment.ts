// A payment's payout basis, folded from its state (app/ledger/payment-state.ts): what of its settlement is
// left to distribute after refunds and lost disputes, what holds its payout, and which money events are
// anomalies an operator must look at. Pure: the webhook computes it for every write of the payment, and
// because it is a function of the folded state alone, every arrival order of the events yields the same.
//
// Rules:
// 1. Units. Refunds are in the charge currency (a null currency means that too). One in the charge
//    currency is converted to the settlement currency by the payment's own ratio: take-backs of C charge
//    units together cost ceil(C × settlement_amount / total_amount) settlement units, rounded toward the
//    customer and summed before rounding, so that refunding a payment in pieces never deducts more than
//    refunding it whole. One already in the settlement currency (when that differs) is taken as it is.
//    Any other currency cannot be related to the payment: flagged. A lost dispute follows the same rules
//    in its own currency.
// 2. A full refund with no amount (`is_partial: false`, which Dodo's schema allows) is the whole
//    payment. A refund with no amount that is partial, or does not say, is unknown: flagged.
// 3. Take-backs never exceed what was captured. Succeeded refunds and lost disputes are taken in Dodo's
//    order of creation (ties: disputes first, then id); one that would take the total past the captured
//    amount (in charge units, or past the settlement once converted) is flagged, and so is any take-back
//    of a payment that failed or was cancelled (nothing was captured). Take-backs of a payment whose
//    status is not known yet (or still processing) are neither counted nor flagged: they wait for it.
// 4. A flagged take-back is kept out of the basis and holds the payment's payout (NEEDS_REVIEW) until an
//    operator decides: EXCLUDE keeps it out and releases the hold; INCLUDE counts it, but the deduction
//    as a whole never exceeds the settlement amount.
// 5. An open dispute holds the payment's payout (DISPUTE_OPEN) until it is won (released) or lost (a
//    take-back of the disputed amount). A second dispute open at the same time is flagged (informational:
//    the payment is held anyway).
// 6. A payment-level review (our checkout did not match the payment) holds it until an operator releases it.

import type { DisputeSnapshot, PaymentLedgerState, RefundSnapshot } from "./payment-state";
import { disputeOutcome } from "./payment-state";

export const REVIEW_REASONS = [
  "TAKEBACK_OF_UNCAPTURED_PAYMENT",
  "REFUND_AMOUNT_UNKNOWN",
  "CURRENCY_UNRELATED",
  "EXCEEDS_CAPTURED",
  "SECOND_OPEN_DISPUTE",
] as const;
export type ReviewReason = (typeof REVIEW_REASONS)[number];
export type ReviewDecision = "INCLUDE" | "EXCLUDE";

export type PayoutHold = "DISPUTE_OPEN" | "NEEDS_REVIEW";
export type DisputeState = "NONE" | "OPEN" | "WON" | "LOST";

/** What operators decided: per refund id and dispute id, and whether a payment-level review was released. */
export interface ReviewInputs {
  refundDecisions?: Readonly<Record<string, ReviewDecision>>;
  disputeDecisions?: Readonly<Record<string, ReviewDecision>>;
  /** The payment needs review (e.g. its checkout did not match), and whether an operator released it. */
  paymentReview?: { reason: string | null; released: boolean };
}

export interface PaymentAssessment {
  /**
   * The payout basis: settlement minor units net of the take-backs counted, or null while there is no
   * basis (the payment has not succeeded, or reports no settlement yet).
   */
  netSettlement: bigint | null;
  /** Settlement minor units deducted (0 when nothing was taken back). */
  deduction: bigint;
  payoutHold: PayoutHold | null;
  disputeState: DisputeState;
  /** Every refund and dispute id of the state, with why it needs review, or null. */
  refundReviews: Record<string, ReviewReason | null>;
  disputeReviews: Record<string, ReviewReason | null>;
}

function ceilDiv(a: bigint, b: bigint): bigint {
  return (a + b - 1n) / b;
}

interface TakeBack {
  kind: "dispute" | "refund";
  id: string;
  createdAtMs: number;
  amount: bigint | null;
  currency: string | null;
}

function compareTakeBacks(a: TakeBack, b: TakeBack): number {
  if (a.createdAtMs !== b.createdAtMs) return a.createdAtMs < b.createdAtMs ? -1 : 1;
  if (a.kind !== b.kind) return a.kind === "dispute" ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

function refundTakeBack(refund: RefundSnapshot): TakeBack {
  return { kind: "refund", id: refund.refundId, createdAtMs: refund.createdAtMs, amount: refund.amount, currency: refund.currency };
}

function disputeTakeBack(dispute: DisputeSnapshot): TakeBack {
  return { kind: "dispute", id: dispute.disputeId, createdAtMs: dispute.createdAtMs, amount: dispute.amount, currency: dispute.currency };
}

/** The payout basis and review flags of a folded payment state (see the rules above). */
export function assessPayment(state: PaymentLedgerState, inputs: ReviewInputs = {}): PaymentAssessment {
  const refundReviews: Record<string, ReviewReason | null> = {};
  const disputeReviews: Record<string, ReviewReason | null> = {};
  for (const id of Object.keys(state.refunds)) refundReviews[id] = null;
  for (const id of Object.keys(state.disputes)) disputeReviews[id] = null;
  const decisionOf = (t: TakeBack) => (t.kind === "refund" ? inputs.refundDecisions?.[t.id] : inputs.disputeDecisions?.[t.id]);
  const flag = (t: TakeBack, reason: ReviewReason) => {
    if (t.kind === "refund") refundReviews[t.id] = reason;
    else disputeReviews[t.id] = reason;
  };

  const disputes = Object.values(state.disputes);
  const open = disputes.filter((d) => disputeOutcome(d.status) === "open").map(disputeTakeBack).sort(compareTakeBacks);
  for (const second of open.slice(1)) flag(second, "SECOND_OPEN_DISPUTE");
  const outcomes = new Set(disputes.map((d) => disputeOutcome(d.status)));
  const disputeState: DisputeState = outcomes.has("open") ? "OPEN" : outcomes.has("lost") ? "LOST" : outcomes.has("won") ? "WON" : "NONE";

  const takeBacks = [
    ...Object.values(state.refunds).filter((r) => r.status === "succeeded").map(refundTakeBack),
    ...disputes.filter((d) => disputeOutcome(d.status) === "lost").map(disputeTakeBack),
  ].sort(compareTakeBacks);

  const payment = state.payment;
  let undecided = false;
  let chargeUnits = 0n;
  let settlementUnits = 0n;
  let netSettlement: bigint | null = null;
  let deduction = 0n;
  if (payment && payment.status !== "processing") {
    const captured = payment.status === "succeeded";
    const total = payment.totalAmount;
    const settlement = payment.settlementAmount;
    /** Settlement units that `charge` charge units and `direct` settlement units of take-backs cost. */
    const cost = (charge: bigint, direct: bigint): bigint =>
      settlement === null ? 0n : (total === 0n ? (charge === 0n ? 0n : settlement) : ceilDiv(charge * settlement, total)) + direct;
    for (const takeBack of takeBacks) {
      const decision = decisionOf(takeBack);
      let reason: ReviewReason | null = null;
      let charge = 0n;
      let direct = 0n;
      const amount = takeBack.amount ?? (takeBack.kind === "refund" && state.refunds[takeBack.id]!.isPartial === false ? total : null);
      const inCharge = takeBack.currency === null || takeBack.currency === payment.currency;
      const inSettlement = !inCharge && takeBack.currency === payment.settlementCurrency;
      if (!captured) reason = "TAKEBACK_OF_UNCAPTURED_PAYMENT";
      else if (amount === null) reason = "REFUND_AMOUNT_UNKNOWN";
      else if (!inCharge && !inSettlement) reason = "CURRENCY_UNRELATED";
      else {
        if (inCharge) charge = amount;
        else direct = amount;
        const chargeAfter = chargeUnits + charge;
        if (chargeAfter > total || (settlement !== null && cost(chargeAfter, settlementUnits + direct) > settlement)) reason = "EXCEEDS_CAPTURED";
      }
      if (reason !== null) flag(takeBack, reason);
      // Counted: unflagged, or flagged and included by an operator (only an amount we can convert).
      const counts = reason === null || (decision === "INCLUDE" && (reason === "EXCEEDS_CAPTURED"));
      if (reason !== null && decision === undefined) undecided = true;
      if (counts) {
        chargeUnits += charge;
        settlementUnits += direct;
      }
    }
    if (captured && settlement !== null) {
      const owed = cost(chargeUnits, settlementUnits);
      deduction = owed > settlement ? settlement : owed;
      netSettlement = settlement - deduction;
    }
  }
  // A refund the operator cannot include (unknown amount, unrelated currency) waits for their EXCLUDE.
  const review = inputs.paymentReview;
  const reviewHold = undecided || (review?.reason != null && !review.released);
  const payoutHold: PayoutHold | null = disputeState === "OPEN" ? "DISPUTE_OPEN" : reviewHold ? "NEEDS_REVIEW" : null;
  return { netSettlement, deduction, payoutHold, disputeState, refundReviews, disputeReviews };
}

/** Reviews that can be decided INCLUDE (the others can only be excluded). */
export function reviewAllowsInclude(reason: ReviewReason): boolean {
  return reason === "EXCEEDS_CAPTURED";
}
