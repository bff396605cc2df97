// Payments, refunds and disputes as rows: load a payment's folded state, write the next state (the webhook's
// write path). The rules of what the next state is live in app/ledger/payment-state.ts and what it pays out
// in app/ledger/payment-assessment.ts; this file only maps rows. Pages read through payment-views.server.ts.
import { assessPayment, type PaymentAssessment, type ReviewDecision, type ReviewInputs } from "~/ledger/payment-assessment";
import {
  EMPTY_PAYMENT_STATE,
  summarizePaymentState,
  type DisputeSnapshot,
  type DisputeStatus,
  type PaymentLedgerState,
  type PaymentSnapshot,
  type PaymentStatus,
  type RefundSnapshot,
  type RefundStatus,
} from "~/ledger/payment-state";
import { sql, type SqlTransaction } from "~/utils/sql.server";

/**
 * Ingestion runs on the driver (Database.transaction), not through Prisma: these statements run for
 * every webhook delivery, and Prisma's cost per statement was most of a delivery's (docs/ingest-bench.md).
 */
type Tx = SqlTransaction;

export interface RecordedPayment {
  id: string;
  organizationId: string;
  dodoPaymentId: string;
  checkoutSessionId: string | null;
  status: PaymentStatus;
  totalAmountMinor: bigint;
  currency: string;
  settlementAmountMinor: bigint | null;
  settlementCurrency: string | null;
  refundedAmountMinor: bigint;
  /** The payout basis in settlement minor units (settlement net of refunds and lost disputes), or null. */
  netSettlementMinor: bigint | null;
  /** What holds the payment's payout run (DISPUTE_OPEN, NEEDS_REVIEW), or null. */
  payoutHold: string | null;
}

export const PAYMENT_STATUS_TO_ROW = {
  processing: "PROCESSING",
  succeeded: "SUCCEEDED",
  failed: "FAILED",
  cancelled: "CANCELLED",
} as const satisfies Record<PaymentStatus, string>;

/** The reverse of a status map: one source of truth per enum, so the two directions cannot disagree. */
function rowToStatus<S extends string>(toRow: Record<S, string>): Record<string, S> {
  return Object.fromEntries(Object.entries(toRow).map(([status, row]) => [row, status as S]));
}

export const PAYMENT_STATUS_FROM_ROW = rowToStatus<PaymentStatus>(PAYMENT_STATUS_TO_ROW);

export const REFUND_STATUS_TO_ROW = {
  pending: "PENDING",
  review: "REVIEW",
  failed: "FAILED",
  succeeded: "SUCCEEDED",
} as const satisfies Record<RefundStatus, string>;

const REFUND_STATUS_FROM_ROW = rowToStatus<RefundStatus>(REFUND_STATUS_TO_ROW);

export const DISPUTE_STATUS_TO_ROW = {
  dispute_opened: "OPENED",
  dispute_expired: "EXPIRED",
  dispute_accepted: "ACCEPTED",
  dispute_cancelled: "CANCELLED",
  dispute_challenged: "CHALLENGED",
  dispute_won: "WON",
  dispute_lost: "LOST",
} as const satisfies Record<DisputeStatus, string>;

export const DISPUTE_STATUS_FROM_ROW = rowToStatus<DisputeStatus>(DISPUTE_STATUS_TO_ROW);

export function paymentStatusToRow(status: PaymentStatus): "PROCESSING" | "SUCCEEDED" | "FAILED" | "CANCELLED" {
  return PAYMENT_STATUS_TO_ROW[status];
}

export interface LoadedPaymentState {
  state: PaymentLedgerState;
  payment: RecordedPayment | null;
  /** The state's version (payment_state_versions; 0 = no row): a write succeeds only if it is unchanged. */
  version: number;
  /** Operators' decisions and the payment's own review, as the rows hold them. */
  reviews: ReviewInputs;
  /** assessPayment(state, reviews): what the rows hold as the payout basis and the review flags. */
  assessment: PaymentAssessment;
}

/** A payments row as the hand-written queries select it: money as text (`::text`), status as its label. */
export interface PaymentRowText {
  id: string;
  organization_id: string;
  dodo_payment_id: string;
  checkout_session_id: string | null;
  status: string;
  total_amount_minor: string;
  currency: string;
  settlement_amount_minor: string | null;
  settlement_currency: string | null;
  refunded_amount_minor: string;
  net_settlement_minor: string | null;
  payout_hold: string | null;
}

export function recordedPaymentFromRow(row: PaymentRowText): RecordedPayment {
  return {
    id: row.id,
    organizationId: row.organization_id,
    dodoPaymentId: row.dodo_payment_id,
    checkoutSessionId: row.checkout_session_id,
    status: PAYMENT_STATUS_FROM_ROW[row.status]!,
    totalAmountMinor: BigInt(row.total_amount_minor),
    currency: row.currency,
    settlementAmountMinor: row.settlement_amount_minor === null ? null : BigInt(row.settlement_amount_minor),
    settlementCurrency: row.settlement_currency,
    refundedAmountMinor: BigInt(row.refunded_amount_minor),
    netSettlementMinor: row.net_settlement_minor === null ? null : BigInt(row.net_settlement_minor),
    payoutHold: row.payout_hold,
  };
}

interface PaymentStateRow {
  payment:
    | (PaymentRowText & { last_event_ms: string; dodo_checkout_session_id: string | null; review_reason: string | null; review_released: boolean })
    | null;
  refunds: {
    dodo_refund_id: string;
    status: string;
    amount_minor: string | null;
    currency: string | null;
    is_partial: boolean | null;
    last_event_ms: string;
    created_ms: string;
    review_decision: ReviewDecision | null;
  }[];
  disputes: {
    dodo_dispute_id: string;
    status: string;
    stage: string | null;
    amount_minor: string;
    currency: string;
    last_event_ms: string;
    created_ms: string;
    review_decision: ReviewDecision | null;
  }[];
  version: string;
}

/** Nothing of the payment recorded yet: version 0, no rows. */
export const NOTHING_RECORDED: LoadedPaymentState = Object.freeze({
  state: EMPTY_PAYMENT_STATE,
  payment: null,
  version: 0,
  reviews: {},
  assessment: assessPayment(EMPTY_PAYMENT_STATE),
});

/**
 * The folded state as the rows hold it, and its version (writeDelivery writes only if that version is
 * still current). One statement for the payment and its refunds and disputes: this runs for every
 * delivery, so round trips matter. Money travels as text inside the JSON so no amount passes through a
 * double. `tx` is a transaction or the database itself (one autocommit statement: one snapshot).
 */
export async function loadPaymentState(tx: Tx, dodoPaymentId: string): Promise<LoadedPaymentState> {
  const [row] = await tx.query<PaymentStateRow>(sql`
    SELECT
      (SELECT row_to_json(p) FROM (
         SELECT id, organization_id, dodo_payment_id, checkout_session_id, status::text AS status,
                total_amount_minor::text AS total_amount_minor, currency,
                settlement_amount_minor::text AS settlement_amount_minor, settlement_currency,
                refunded_amount_minor::text AS refunded_amount_minor, net_settlement_minor::text AS net_settlement_minor,
                payout_hold, dodo_checkout_session_id, review_reason, review_released_at IS NOT NULL AS review_released,
                floor(extract(epoch FROM last_event_at) * 1000)::bigint::text AS last_event_ms
         FROM payments WHERE dodo_payment_id = ${dodoPaymentId}) p) AS payment,
      (SELECT coalesce(json_agg(r), '[]'::json) FROM (
         SELECT dodo_refund_id, status::text AS status, amount_minor::text AS amount_minor, currency, is_partial,
                review_decision::text AS review_decision,
                floor(extract(epoch FROM last_event_at) * 1000)::bigint::text AS last_event_ms,
                floor(extract(epoch FROM coalesce(dodo_created_at, last_event_at)) * 1000)::bigint::text AS created_ms
         FROM refunds WHERE dodo_payment_id = ${dodoPaymentId}) r) AS refunds,
      (SELECT coalesce(json_agg(d), '[]'::json) FROM (
         SELECT dodo_dispute_id, status::text AS status, stage, amount_minor::text AS amount_minor, currency,
                review_decision::text AS review_decision,
                floor(extract(epoch FROM last_event_at) * 1000)::bigint::text AS last_event_ms,
                floor(extract(epoch FROM coalesce(dodo_created_at, last_event_at)) * 1000)::bigint::text AS created_ms
         FROM disputes WHERE dodo_payment_id = ${dodoPaymentId}) d) AS disputes,
      coalesce((SELECT version FROM payment_state_versions WHERE dodo_payment_id = ${dodoPaymentId}), 0)::text AS version`);
  const paymentRow = row?.payment ?? null;
  const refundRows = row?.refunds ?? [];
  const disputeRows = row?.disputes ?? [];
  const version = Number(row?.version ?? 0);
  if (!paymentRow && refundRows.length === 0 && disputeRows.length === 0) {
    return { ...NOTHING_RECORDED, version };
  }
  let recorded: RecordedPayment | null = null;
  let payment: PaymentSnapshot | null = null;
  if (paymentRow) {
    recorded = recordedPaymentFromRow(paymentRow);
    payment = {
      status: recorded.status,
      observedAtMs: Number(paymentRow.last_event_ms),
      totalAmount: recorded.totalAmountMinor,
      currency: recorded.currency,
      settlementAmount: recorded.settlementAmountMinor,
      settlementCurrency: recorded.settlementCurrency,
      checkoutSessionId: paymentRow.dodo_checkout_session_id,
    };
  }
  const refunds: Record<string, RefundSnapshot> = {};
  const refundDecisions: Record<string, ReviewDecision> = {};
  for (const r of refundRows) {
    refunds[r.dodo_refund_id] = {
      refundId: r.dodo_refund_id,
      status: REFUND_STATUS_FROM_ROW[r.status]!,
      observedAtMs: Number(r.last_event_ms),
      amount: r.amount_minor === null ? null : BigInt(r.amount_minor),
      currency: r.currency,
      isPartial: r.is_partial,
      createdAtMs: Number(r.created_ms),
    };
    if (r.review_decision) refundDecisions[r.dodo_refund_id] = r.review_decision;
  }
  const disputes: Record<string, DisputeSnapshot> = {};
  const disputeDecisions: Record<string, ReviewDecision> = {};
  for (const d of disputeRows) {
    disputes[d.dodo_dispute_id] = {
      disputeId: d.dodo_dispute_id,
      status: DISPUTE_STATUS_FROM_ROW[d.status]!,
      stage: (d.stage ?? "dispute") as DisputeSnapshot["stage"],
      observedAtMs: Number(d.last_event_ms),
      amount: BigInt(d.amount_minor),
      currency: d.currency,
      createdAtMs: Number(d.created_ms),
    };
    if (d.review_decision) disputeDecisions[d.dodo_dispute_id] = d.review_decision;
  }
  const state: PaymentLedgerState = { payment, refunds, disputes };
  const reviews: ReviewInputs = {
    refundDecisions,
    disputeDecisions,
    paymentReview: { reason: paymentRow?.review_reason ?? null, released: paymentRow?.review_released ?? false },
  };
  return { state, payment: recorded, version, reviews, assessment: assessPayment(state, reviews) };
}

