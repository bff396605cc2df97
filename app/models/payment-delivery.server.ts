// The webhook's write of one delivery against the payment state it was folded from: one conditional
// statement (the fast path, decision 005), and the refund and dispute rows after it in the locked path.
// On the driver; split from payments.server.ts (which loads the state) along this seam.
import type { PaymentAssessment } from "~/ledger/payment-assessment";
import { summarizePaymentState, type PaymentLedgerState } from "~/ledger/payment-state";
import { sql, type SqlTransaction } from "~/utils/sql.server";
import {
  DISPUTE_STATUS_TO_ROW,
  PAYMENT_STATUS_TO_ROW,
  REFUND_STATUS_TO_ROW,
  type LoadedPaymentState,
  type RecordedPayment,
} from "./payments.server";

type Tx = SqlTransaction;

export interface AuditRowInput {
  actor_id: string;
  action: string;
  entity_type: string;
  /** Null: the payment's own id (or its Dodo id while no payment row exists). */
  entity_id: string | null;
  /** The statement adds `webhookEventId` (the event row is written by the same statement). */
  data: Record<string, unknown>;
}

/** What the webhook writes for one delivery of a payment's event, against the state it was folded from. */
export interface DeliveryWrite {
  /** Replaying a stored FAILED delivery: its event row exists and becomes PROCESSED instead of a new one. */
  replay?: boolean;
  webhookId: string;
  webhookTimestamp: Date;
  rawBody: string;
  /** JSON of the kept headers. */
  headersJson: string;
  eventType: string;
  /** The endpoint's or our metadata's organization: the event row's, and a new payment row's. */
  organizationId: string;
  dodoPaymentId: string;
  checkoutSessionId: string | null;
  customerEmail: string | null;
  metadata: Record<string, string | number | boolean>;
  loaded: LoadedPaymentState;
  next: PaymentLedgerState;
  /** assessPayment(next, reviews): the payout basis and review flags the rows get. */
  assessment: PaymentAssessment;
  /** The payment's own review (our checkout did not match it), the row's review_reason. */
  reviewReason: string | null;
  audit: AuditRowInput[];
  /**
   * Ask the payout-run worker to compile (or reconcile) the payment's run: it just succeeded, or its payout
   * basis or hold changed. An upsert of the outbox row, so a completed request is asked again.
   */
  requestPayoutRun: boolean;
  /** The payment just succeeded and matched our checkout: mark the checkout completed. */
  completeCheckout: boolean;
}

export interface DeliveryWritten {
  webhookEventId: string;
  /** The payment row after the write, or null while only refunds/disputes of an unseen payment are known. */
  payment: RecordedPayment | null;
  /** A compile request was inserted (the caller announces it to the worker once committed). */
  payoutRunRequested: boolean;
}

/**
 * True when the delivery changes more than its payment row (refunds or disputes, or linking earlier ones to
 * a new payment row): those rows are written by writeRefundsAndDisputes, in a transaction with the rest.
 */
export function needsRefundOrDisputeWrites(write: Pick<DeliveryWrite, "loaded" | "next" | "assessment">): boolean {
  const { loaded, next } = write;
  if (Object.entries(next.refunds).some(([id, refund]) => loaded.state.refunds[id] !== refund)) return true;
  if (Object.entries(next.disputes).some(([id, dispute]) => loaded.state.disputes[id] !== dispute)) return true;
  if (reviewsChanged(loaded.assessment, write.assessment)) return true;
  const linking = !loaded.payment && next.payment !== null;
  return linking && (Object.keys(loaded.state.refunds).length > 0 || Object.keys(loaded.state.disputes).length > 0);
}

function reviewsChanged(before: PaymentAssessment, after: PaymentAssessment): boolean {
  for (const [id, reason] of Object.entries(after.refundReviews)) if ((before.refundReviews[id] ?? null) !== reason) return true;
  for (const [id, reason] of Object.entries(after.disputeReviews)) if ((before.disputeReviews[id] ?? null) !== reason) return true;
  return false;
}

/**
 * The delivery's write as ONE statement, committed with the caller's transaction or on its own: the state's
 * version (only if it is still `loaded.version`), the webhook event row (or, replaying, the stored FAILED
 * one marked PROCESSED), the payment row (inserted, updated or left) with its payout basis, every audit
 * row, the payout-run request (the outbox, unique per payment: inserted, or asked again) and the matched
 * checkout marked completed; no NOTIFY (it would serialise commits: the caller announces the request after
 * the commit, decision 006). Returns null, having written nothing, when the version moved (another delivery
 * of this payment wrote first): the caller folds again from a fresh read. A redelivered webhook-id fails the
 * statement with a unique violation on webhook_events.
 */
export async function writeDelivery(tx: Tx, write: DeliveryWrite): Promise<DeliveryWritten | null> {
  const { loaded, next, assessment } = write;
  const snapshot = next.payment;
  const summary = summarizePaymentState(next);
  const refunded = snapshot ? (summary.refundedByCurrency[snapshot.currency] ?? 0n) : 0n;
  const existing = loaded.payment;
  const basis = { net: assessment.netSettlement, hold: assessment.payoutHold, dispute: assessment.disputeState };
  const unchanged =
    existing !== null &&
    loaded.state.payment === snapshot &&
    existing.refundedAmountMinor === refunded &&
    existing.netSettlementMinor === basis.net &&
    existing.payoutHold === basis.hold &&
    loaded.assessment.disputeState === basis.dispute &&
    (loaded.reviews.paymentReview?.reason ?? null) === write.reviewReason;
  // A payment that just became succeeded (or whose basis moved) always changes its row, so the request has its row.
  if (write.requestPayoutRun && (!snapshot || unchanged)) throw new Error("a payout run request needs the payment row's write");
  const action = !snapshot ? "none" : !existing ? "insert" : unchanged ? "none" : "update";
  const auditJson = JSON.stringify(write.audit, (_k, v) => (typeof v === "bigint" ? v.toString() : v));
  const replay = write.replay === true;
  const rows = await tx.query<{
    webhook_event_id: string;
    id: string | null;
    organization_id: string | null;
    checkout_session_id: string | null;
    payout_run_requested: boolean;
  }>(sql`
    WITH v AS (
      INSERT INTO payment_state_versions AS s (dodo_payment_id, version) VALUES (${write.dodoPaymentId}, ${loaded.version + 1}::bigint)
      ON CONFLICT (dodo_payment_id) DO UPDATE SET version = EXCLUDED.version, updated_at = now()
      WHERE s.version = ${loaded.version}::bigint
      RETURNING version),
    en AS (
      INSERT INTO webhook_events (webhook_id, organization_id, event_type, webhook_timestamp, raw_body, headers, status, processed_at)
      SELECT ${write.webhookId}, ${write.organizationId}::uuid, ${write.eventType}, ${write.webhookTimestamp}::timestamptz,
             ${write.rawBody}, ${write.headersJson}::jsonb, 'PROCESSED'::webhook_event_status, now()
      FROM v WHERE NOT ${replay}::boolean
      RETURNING id),
    er AS (
      UPDATE webhook_events SET status = 'PROCESSED', error = NULL, processed_at = now(), event_type = ${write.eventType},
             organization_id = ${write.organizationId}::uuid
      FROM v WHERE ${replay}::boolean AND webhook_id = ${write.webhookId} AND status = 'FAILED'
      RETURNING webhook_events.id),
    e AS (SELECT id FROM en UNION ALL SELECT id FROM er),
    pi AS (
      INSERT INTO payments (organization_id, dodo_payment_id, checkout_session_id, status, total_amount_minor, currency,
                            settlement_amount_minor, settlement_currency, refunded_amount_minor, customer_email,
                            metadata, last_event_at, updated_at, dodo_checkout_session_id, net_settlement_minor,
                            payout_hold, dispute_state, review_reason)
      SELECT ${write.organizationId}::uuid, ${write.dodoPaymentId}, ${write.checkoutSessionId}::uuid,
             ${snapshot ? PAYMENT_STATUS_TO_ROW[snapshot.status] : null}::payment_status, ${snapshot?.totalAmount ?? null}::bigint,
             ${snapshot?.currency ?? null}, ${snapshot?.settlementAmount ?? null}::bigint, ${snapshot?.settlementCurrency ?? null},
             ${refunded}::bigint, ${write.customerEmail}, ${JSON.stringify(write.metadata)}::jsonb,
             ${snapshot ? new Date(snapshot.observedAtMs) : null}::timestamptz, now(), ${snapshot?.checkoutSessionId ?? null},
             ${basis.net}::bigint, ${basis.hold}, ${basis.dispute}::payment_dispute_state, ${write.reviewReason}
      FROM e WHERE ${action} = 'insert'
      RETURNING id, organization_id, checkout_session_id),
    pu AS (
      UPDATE payments SET status = ${snapshot ? PAYMENT_STATUS_TO_ROW[snapshot.status] : null}::payment_status,
             total_amount_minor = ${snapshot?.totalAmount ?? null}::bigint, currency = ${snapshot?.currency ?? null},
             settlement_amount_minor = ${snapshot?.settlementAmount ?? null}::bigint,
             settlement_currency = ${snapshot?.settlementCurrency ?? null}, refunded_amount_minor = ${refunded}::bigint,
             last_event_at = ${snapshot ? new Date(snapshot.observedAtMs) : null}::timestamptz, updated_at = now(),
             dodo_checkout_session_id = ${snapshot?.checkoutSessionId ?? null}, net_settlement_minor = ${basis.net}::bigint,
             payout_hold = ${basis.hold}, dispute_state = ${basis.dispute}::payment_dispute_state, review_reason = ${write.reviewReason}
      FROM e WHERE payments.id = ${existing?.id ?? null}::uuid AND ${action} = 'update'
      RETURNING payments.id, payments.organization_id, payments.checkout_session_id),
    p AS (
      SELECT id, organization_id, checkout_session_id FROM pi
      UNION ALL SELECT id, organization_id, checkout_session_id FROM pu
      UNION ALL SELECT id, organization_id, checkout_session_id FROM payments
                WHERE id = ${existing?.id ?? null}::uuid AND ${action} = 'none'),
    a AS (
      INSERT INTO audit_log (organization_id, actor_type, actor_id, action, entity_type, entity_id, data)
      SELECT coalesce((SELECT organization_id FROM p), ${write.organizationId}::uuid), 'WEBHOOK'::audit_actor, x.actor_id,
             x.action, x.entity_type, coalesce(x.entity_id, (SELECT id::text FROM p), ${write.dodoPaymentId}),
             x.data || jsonb_build_object('webhookEventId', e.id)
      FROM e, jsonb_to_recordset(${auditJson}::jsonb) AS x(actor_id text, action text, entity_type text, entity_id text, data jsonb)),
    r AS (
      INSERT INTO payout_run_requests AS q (organization_id, payment_id)
      SELECT organization_id, id FROM p WHERE ${write.requestPayoutRun}::boolean
      ON CONFLICT (payment_id) DO UPDATE SET completed_at = NULL, payout_run_id = NULL, hold_reason = NULL, attempts = 0,
             last_error = NULL, dead_at = NULL, available_at = now()
      RETURNING 1),
    c AS (
      UPDATE checkout_sessions SET status = 'COMPLETED', updated_at = now()
      FROM p WHERE ${write.completeCheckout}::boolean AND checkout_sessions.id = p.checkout_session_id
                   AND checkout_sessions.status <> 'COMPLETED')
    SELECT e.id AS webhook_event_id, p.id, p.organization_id, p.checkout_session_id,
           EXISTS (SELECT 1 FROM r) AS payout_run_requested
    FROM e LEFT JOIN p ON true`);
  const written = rows[0];
  if (!written) return null;
  const common = { webhookEventId: written.webhook_event_id, payoutRunRequested: written.payout_run_requested };
  if (!snapshot || written.id === null) return { ...common, payment: null };
  return {
    ...common,
    payment: {
      id: written.id,
      organizationId: written.organization_id!,
      dodoPaymentId: write.dodoPaymentId,
      checkoutSessionId: written.checkout_session_id,
      status: snapshot.status,
      totalAmountMinor: snapshot.totalAmount,
      currency: snapshot.currency,
      settlementAmountMinor: snapshot.settlementAmount,
      settlementCurrency: snapshot.settlementCurrency,
      refundedAmountMinor: refunded,
      netSettlementMinor: basis.net,
      payoutHold: basis.hold,
    },
  };
}

/**
 * The refund and dispute rows of a delivery (see needsRefundOrDisputeWrites), after writeDelivery in the
 * same transaction: upserts of those that changed or whose review flag changed, and links earlier ones to
 * a payment row written just now. An operator's decision (review_decision) is never touched here.
 */
export async function writeRefundsAndDisputes(tx: Tx, write: DeliveryWrite, payment: RecordedPayment | null): Promise<void> {
  const { loaded, next, dodoPaymentId, assessment } = write;
  const organizationId = payment?.organizationId ?? write.organizationId;
  const paymentId = payment?.id ?? null;
  if (!loaded.payment && paymentId !== null) {
    // Refunds and disputes that arrived before their payment get linked now.
    if (Object.keys(loaded.state.refunds).length > 0) {
      await tx.query(sql`UPDATE refunds SET payment_id = ${paymentId}::uuid, organization_id = ${organizationId}::uuid, updated_at = now()
                         WHERE dodo_payment_id = ${dodoPaymentId} AND payment_id IS NULL`);
    }
    if (Object.keys(loaded.state.disputes).length > 0) {
      await tx.query(sql`UPDATE disputes SET payment_id = ${paymentId}::uuid, organization_id = ${organizationId}::uuid, updated_at = now()
                         WHERE dodo_payment_id = ${dodoPaymentId} AND payment_id IS NULL`);
    }
  }
  for (const [refundId, refund] of Object.entries(next.refunds)) {
    const review = assessment.refundReviews[refundId] ?? null;
    if (loaded.state.refunds[refundId] === refund && (loaded.assessment.refundReviews[refundId] ?? null) === review) continue;
    // Dodo may not report the amount or currency (yet): recorded as unknown, never as 0.
    await tx.query(sql`
      INSERT INTO refunds (organization_id, dodo_refund_id, dodo_payment_id, payment_id, status, amount_minor, currency, last_event_at,
                           dodo_created_at, is_partial, review_reason)
      VALUES (${organizationId}::uuid, ${refundId}, ${dodoPaymentId}, ${paymentId}::uuid,
              ${REFUND_STATUS_TO_ROW[refund.status]}::refund_status, ${refund.amount}::bigint, ${refund.currency},
              ${new Date(refund.observedAtMs)}::timestamptz, ${new Date(refund.createdAtMs)}::timestamptz, ${refund.isPartial}::boolean, ${review})
      ON CONFLICT (dodo_refund_id) DO UPDATE SET
        status = EXCLUDED.status, amount_minor = EXCLUDED.amount_minor, currency = EXCLUDED.currency,
        last_event_at = EXCLUDED.last_event_at, payment_id = coalesce(EXCLUDED.payment_id, refunds.payment_id),
        dodo_created_at = EXCLUDED.dodo_created_at, is_partial = EXCLUDED.is_partial, review_reason = EXCLUDED.review_reason,
        updated_at = now()`);
  }
  for (const [disputeId, dispute] of Object.entries(next.disputes)) {
    const review = assessment.disputeReviews[disputeId] ?? null;
    if (loaded.state.disputes[disputeId] === dispute && (loaded.assessment.disputeReviews[disputeId] ?? null) === review) continue;
    await tx.query(sql`
      INSERT INTO disputes (organization_id, dodo_dispute_id, dodo_payment_id, payment_id, status, stage, amount_minor, currency, last_event_at,
                            dodo_created_at, review_reason)
      VALUES (${organizationId}::uuid, ${disputeId}, ${dodoPaymentId}, ${paymentId}::uuid,
              ${DISPUTE_STATUS_TO_ROW[dispute.status]}::dispute_status, ${dispute.stage}, ${dispute.amount}::bigint,
              ${dispute.currency}, ${new Date(dispute.observedAtMs)}::timestamptz, ${new Date(dispute.createdAtMs)}::timestamptz, ${review})
      ON CONFLICT (dodo_dispute_id) DO UPDATE SET
        status = EXCLUDED.status, stage = EXCLUDED.stage, amount_minor = EXCLUDED.amount_minor, currency = EXCLUDED.currency,
        last_event_at = EXCLUDED.last_event_at, payment_id = coalesce(EXCLUDED.payment_id, disputes.payment_id),
        dodo_created_at = EXCLUDED.dodo_created_at, review_reason = EXCLUDED.review_reason, updated_at = now()`);
  }
}
