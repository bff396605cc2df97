// Payments, refunds and disputes as rows: load a payment's folded state, write the next state, read for pages.
// The rules of what the next state is live in app/ledger/payment-state.ts; this file only maps rows.
import type { PrismaClient } from "~/generated/prisma/client";
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
import { PAYOUT_RUN_REQUESTS_CHANNEL } from "./payout-run-worker.server";

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
}

const PAYMENT_STATUS_TO_ROW = {
  processing: "PROCESSING",
  succeeded: "SUCCEEDED",
  failed: "FAILED",
  cancelled: "CANCELLED",
} as const satisfies Record<PaymentStatus, string>;

/** The reverse of a status map: one source of truth per enum, so the two directions cannot disagree. */
function rowToStatus<S extends string>(toRow: Record<S, string>): Record<string, S> {
  return Object.fromEntries(Object.entries(toRow).map(([status, row]) => [row, status as S]));
}

const PAYMENT_STATUS_FROM_ROW = rowToStatus<PaymentStatus>(PAYMENT_STATUS_TO_ROW);

const REFUND_STATUS_TO_ROW = {
  pending: "PENDING",
  review: "REVIEW",
  failed: "FAILED",
  succeeded: "SUCCEEDED",
} as const satisfies Record<RefundStatus, string>;

const REFUND_STATUS_FROM_ROW = rowToStatus<RefundStatus>(REFUND_STATUS_TO_ROW);

const DISPUTE_STATUS_TO_ROW = {
  dispute_opened: "OPENED",
  dispute_expired: "EXPIRED",
  dispute_accepted: "ACCEPTED",
  dispute_cancelled: "CANCELLED",
  dispute_challenged: "CHALLENGED",
  dispute_won: "WON",
  dispute_lost: "LOST",
} as const satisfies Record<DisputeStatus, string>;

const DISPUTE_STATUS_FROM_ROW = rowToStatus<DisputeStatus>(DISPUTE_STATUS_TO_ROW);

export function paymentStatusToRow(status: PaymentStatus): "PROCESSING" | "SUCCEEDED" | "FAILED" | "CANCELLED" {
  return PAYMENT_STATUS_TO_ROW[status];
}

export interface LoadedPaymentState {
  state: PaymentLedgerState;
  payment: RecordedPayment | null;
}

interface PaymentStateRow {
  payment: {
    id: string;
    organization_id: string;
    checkout_session_id: string | null;
    status: string;
    total_amount_minor: string;
    currency: string;
    settlement_amount_minor: string | null;
    settlement_currency: string | null;
    refunded_amount_minor: string;
    last_event_ms: string;
  } | null;
  refunds: { dodo_refund_id: string; status: string; amount_minor: string | null; currency: string | null; last_event_ms: string }[];
  disputes: { dodo_dispute_id: string; status: string; stage: string | null; amount_minor: string; currency: string; last_event_ms: string }[];
}

/**
 * The folded state as the rows hold it (call under the payment's advisory lock, which the webhook's
 * first statement takes: see webhook-events.server.ts). One statement for the payment and
 * its refunds and disputes: this runs for every delivery, so round trips matter. Money travels as text
 * inside the JSON so no amount passes through a double.
 */
export async function loadPaymentState(tx: Tx, dodoPaymentId: string): Promise<LoadedPaymentState> {
  const [row] = await tx.query<PaymentStateRow>(sql`
    SELECT
      (SELECT row_to_json(p) FROM (
         SELECT id, organization_id, checkout_session_id, status::text AS status,
                total_amount_minor::text AS total_amount_minor, currency,
                settlement_amount_minor::text AS settlement_amount_minor, settlement_currency,
                refunded_amount_minor::text AS refunded_amount_minor,
                floor(extract(epoch FROM last_event_at) * 1000)::bigint::text AS last_event_ms
         FROM payments WHERE dodo_payment_id = ${dodoPaymentId}) p) AS payment,
      (SELECT coalesce(json_agg(r), '[]'::json) FROM (
         SELECT dodo_refund_id, status::text AS status, amount_minor::text AS amount_minor, currency,
                floor(extract(epoch FROM last_event_at) * 1000)::bigint::text AS last_event_ms
         FROM refunds WHERE dodo_payment_id = ${dodoPaymentId}) r) AS refunds,
      (SELECT coalesce(json_agg(d), '[]'::json) FROM (
         SELECT dodo_dispute_id, status::text AS status, stage, amount_minor::text AS amount_minor, currency,
                floor(extract(epoch FROM last_event_at) * 1000)::bigint::text AS last_event_ms
         FROM disputes WHERE dodo_payment_id = ${dodoPaymentId}) d) AS disputes`);
  const paymentRow = row?.payment ?? null;
  const refundRows = row?.refunds ?? [];
  const disputeRows = row?.disputes ?? [];
  if (!paymentRow && refundRows.length === 0 && disputeRows.length === 0) {
    return { state: EMPTY_PAYMENT_STATE, payment: null };
  }
  let recorded: RecordedPayment | null = null;
  let payment: PaymentSnapshot | null = null;
  if (paymentRow) {
    recorded = {
      id: paymentRow.id,
      organizationId: paymentRow.organization_id,
      dodoPaymentId,
      checkoutSessionId: paymentRow.checkout_session_id,
      status: PAYMENT_STATUS_FROM_ROW[paymentRow.status]!,
      totalAmountMinor: BigInt(paymentRow.total_amount_minor),
      currency: paymentRow.currency,
      settlementAmountMinor: paymentRow.settlement_amount_minor === null ? null : BigInt(paymentRow.settlement_amount_minor),
      settlementCurrency: paymentRow.settlement_currency,
      refundedAmountMinor: BigInt(paymentRow.refunded_amount_minor),
    };
    payment = {
      status: recorded.status,
      observedAtMs: Number(paymentRow.last_event_ms),
      totalAmount: recorded.totalAmountMinor,
      currency: recorded.currency,
      settlementAmount: recorded.settlementAmountMinor ?? recorded.totalAmountMinor,
      settlementCurrency: recorded.settlementCurrency ?? recorded.currency,
    };
  }
  const refunds: Record<string, RefundSnapshot> = {};
  for (const r of refundRows) {
    refunds[r.dodo_refund_id] = {
      refundId: r.dodo_refund_id,
      status: REFUND_STATUS_FROM_ROW[r.status]!,
      observedAtMs: Number(r.last_event_ms),
      amount: r.amount_minor === null ? null : BigInt(r.amount_minor),
      currency: r.currency,
    };
  }
  const disputes: Record<string, DisputeSnapshot> = {};
  for (const d of disputeRows) {
    disputes[d.dodo_dispute_id] = {
      disputeId: d.dodo_dispute_id,
      status: DISPUTE_STATUS_FROM_ROW[d.status]!,
      stage: (d.stage ?? "dispute") as DisputeSnapshot["stage"],
      observedAtMs: Number(d.last_event_ms),
      amount: BigInt(d.amount_minor),
      currency: d.currency,
    };
  }
  return { state: { payment, refunds, disputes }, payment: recorded };
}

export interface AuditRowInput {
  actor_id: string;
  action: string;
  entity_type: string;
  /** Null: the payment's own id (known only once its row is written). */
  entity_id: string | null;
  data: unknown;
}

export interface PaymentWriteContext {
  organizationId: string;
  dodoPaymentId: string;
  checkoutSessionId: string | null;
  customerEmail: string | null;
  metadata: Record<string, string | number | boolean>;
}

/**
 * Writes `next` (which must be `loaded.state ⊔ observation`) for the parts that differ. Returns the
 * payment row after the write, or null while only refunds/disputes of an unseen payment are known.
 */
export async function writePaymentState(
  tx: Tx,
  context: PaymentWriteContext,
  loaded: LoadedPaymentState,
  next: PaymentLedgerState,
  /**
   * Audit rows for this change. Written in the same statement as the payment row when that row changes
   * (entityId null = the payment's id); whatever is left is returned for the caller to write.
   */
  audit: AuditRowInput[] = [],
  /**
   * The payment just became succeeded: the same statement records its payout-run compile request (the
   * outbox, payout_run_requests; unique per payment) for the worker (payout-run-worker.server.ts), and
   * notifies the worker's channel (delivered at commit, to a worker in any process).
   */
  options: { requestPayoutRun?: boolean } = {},
): Promise<RecordedPayment | null> {
  let payment = loaded.payment;
  const summary = summarizePaymentState(next);
  if (next.payment) {
    const refunded = next.payment ? (summary.refundedByCurrency[next.payment.currency] ?? 0n) : 0n;
    const snapshot = next.payment;
    const fields = {
      status: PAYMENT_STATUS_TO_ROW[snapshot.status],
      totalAmountMinor: snapshot.totalAmount,
      currency: snapshot.currency,
      settlementAmountMinor: snapshot.settlementAmount,
      settlementCurrency: snapshot.settlementCurrency,
      refundedAmountMinor: refunded,
      lastEventAt: new Date(snapshot.observedAtMs),
    };
    const unchanged = payment && loaded.state.payment === snapshot && payment.refundedAmountMinor === refunded;
    const requestPayoutRun = options.requestPayoutRun === true;
    // A payment that just became succeeded always changes its row, so the request always has its statement.
    if (requestPayoutRun && payment && unchanged) throw new Error("a payout run request needs the payment row's write");
    if (!payment || !unchanged) {
      // One statement writes the payment row and the audit rows that go with it (entity id = the payment).
      const auditJson = JSON.stringify(audit.splice(0).map((a) => ({ ...a, data: a.data })), (_k, v) => (typeof v === "bigint" ? v.toString() : v));
      const rows = payment
        ? await tx.query<{ id: string; organization_id: string; checkout_session_id: string | null }>(sql`
            WITH p AS (
              UPDATE payments SET status = ${fields.status}::payment_status, total_amount_minor = ${fields.totalAmountMinor}::bigint,
                     currency = ${fields.currency}, settlement_amount_minor = ${fields.settlementAmountMinor}::bigint,
                     settlement_currency = ${fields.settlementCurrency}, refunded_amount_minor = ${fields.refundedAmountMinor}::bigint,
                     last_event_at = ${fields.lastEventAt}::timestamptz, updated_at = now()
              WHERE id = ${payment.id}::uuid
              RETURNING id, organization_id, checkout_session_id),
            a AS (
              INSERT INTO audit_log (organization_id, actor_type, actor_id, action, entity_type, entity_id, data)
              SELECT p.organization_id, 'WEBHOOK'::audit_actor, x.actor_id, x.action, x.entity_type, coalesce(x.entity_id, p.id::text), x.data
              FROM p, jsonb_to_recordset(${auditJson}::jsonb) AS x(actor_id text, action text, entity_type text, entity_id text, data jsonb)),
            r AS (
              INSERT INTO payout_run_requests (organization_id, payment_id)
              SELECT p.organization_id, p.id FROM p WHERE ${requestPayoutRun}::boolean
              ON CONFLICT (payment_id) DO NOTHING
              RETURNING payment_id),
            n AS (SELECT pg_notify(${PAYOUT_RUN_REQUESTS_CHANNEL}, '') FROM r)
            SELECT id, organization_id, checkout_session_id, (SELECT count(*)::int FROM n) AS notified FROM p`)
        : await tx.query<{ id: string; organization_id: string; checkout_session_id: string | null }>(sql`
            WITH p AS (
              INSERT INTO payments (organization_id, dodo_payment_id, checkout_session_id, status, total_amount_minor, currency,
                                    settlement_amount_minor, settlement_currency, refunded_amount_minor, customer_email,
                                    metadata, last_event_at, updated_at)
              VALUES (${context.organizationId}::uuid, ${context.dodoPaymentId}, ${context.checkoutSessionId}::uuid,
                      ${fields.status}::payment_status, ${fields.totalAmountMinor}::bigint, ${fields.currency},
                      ${fields.settlementAmountMinor}::bigint, ${fields.settlementCurrency}, ${fields.refundedAmountMinor}::bigint,
                      ${context.customerEmail}, ${JSON.stringify(context.metadata)}::jsonb, ${fields.lastEventAt}::timestamptz, now())
              RETURNING id, organization_id, checkout_session_id),
            a AS (
              INSERT INTO audit_log (organization_id, actor_type, actor_id, action, entity_type, entity_id, data)
              SELECT p.organization_id, 'WEBHOOK'::audit_actor, x.actor_id, x.action, x.entity_type, coalesce(x.entity_id, p.id::text), x.data
              FROM p, jsonb_to_recordset(${auditJson}::jsonb) AS x(actor_id text, action text, entity_type text, entity_id text, data jsonb)),
            r AS (
              INSERT INTO payout_run_requests (organization_id, payment_id)
              SELECT p.organization_id, p.id FROM p WHERE ${requestPayoutRun}::boolean
              ON CONFLICT (payment_id) DO NOTHING
              RETURNING payment_id),
            n AS (SELECT pg_notify(${PAYOUT_RUN_REQUESTS_CHANNEL}, '') FROM r)
            SELECT id, organization_id, checkout_session_id, (SELECT count(*)::int FROM n) AS notified FROM p`);
      const written = rows[0]!;
      const wasNew = !payment;
      payment = {
        id: written.id,
        organizationId: written.organization_id,
        dodoPaymentId: context.dodoPaymentId,
        checkoutSessionId: written.checkout_session_id,
        status: snapshot.status,
        totalAmountMinor: snapshot.totalAmount,
        currency: snapshot.currency,
        settlementAmountMinor: snapshot.settlementAmount,
        settlementCurrency: snapshot.settlementCurrency,
        refundedAmountMinor: refunded,
      };
      // Refunds and disputes that arrived before their payment get linked now (only if there are any:
      // the common first event of a payment skips both statements).
      if (wasNew && Object.keys(loaded.state.refunds).length > 0) {
        await tx.query(sql`UPDATE refunds SET payment_id = ${written.id}::uuid, updated_at = now()
                           WHERE dodo_payment_id = ${context.dodoPaymentId} AND payment_id IS NULL`);
      }
      if (wasNew && Object.keys(loaded.state.disputes).length > 0) {
        await tx.query(sql`UPDATE disputes SET payment_id = ${written.id}::uuid, updated_at = now()
                           WHERE dodo_payment_id = ${context.dodoPaymentId} AND payment_id IS NULL`);
      }
    }
  }

  const organizationId = payment?.organizationId ?? context.organizationId;
  const paymentId = payment?.id ?? null;
  for (const [refundId, refund] of Object.entries(next.refunds)) {
    if (loaded.state.refunds[refundId] === refund) continue;
    // Dodo may not report the amount or currency (yet): recorded as unknown, never as 0.
    await tx.query(sql`
      INSERT INTO refunds (organization_id, dodo_refund_id, dodo_payment_id, payment_id, status, amount_minor, currency, last_event_at)
      VALUES (${organizationId}::uuid, ${refundId}, ${context.dodoPaymentId}, ${paymentId}::uuid,
              ${REFUND_STATUS_TO_ROW[refund.status]}::refund_status, ${refund.amount}::bigint, ${refund.currency},
              ${new Date(refund.observedAtMs)}::timestamptz)
      ON CONFLICT (dodo_refund_id) DO UPDATE SET
        status = EXCLUDED.status, amount_minor = EXCLUDED.amount_minor, currency = EXCLUDED.currency,
        last_event_at = EXCLUDED.last_event_at, payment_id = EXCLUDED.payment_id, updated_at = now()`);
  }
  for (const [disputeId, dispute] of Object.entries(next.disputes)) {
    if (loaded.state.disputes[disputeId] === dispute) continue;
    await tx.query(sql`
      INSERT INTO disputes (organization_id, dodo_dispute_id, dodo_payment_id, payment_id, status, stage, amount_minor, currency, last_event_at)
      VALUES (${organizationId}::uuid, ${disputeId}, ${context.dodoPaymentId}, ${paymentId}::uuid,
              ${DISPUTE_STATUS_TO_ROW[dispute.status]}::dispute_status, ${dispute.stage}, ${dispute.amount}::bigint,
              ${dispute.currency}, ${new Date(dispute.observedAtMs)}::timestamptz)
      ON CONFLICT (dodo_dispute_id) DO UPDATE SET
        status = EXCLUDED.status, stage = EXCLUDED.stage, amount_minor = EXCLUDED.amount_minor, currency = EXCLUDED.currency,
        last_event_at = EXCLUDED.last_event_at, payment_id = EXCLUDED.payment_id, updated_at = now()`);
  }
  return payment;
}

export interface PaymentView {
  dodoPaymentId: string;
  status: PaymentStatus;
  totalAmountMinor: bigint;
  currency: string;
  refundedAmountMinor: bigint;
}

/** The newest payment recorded for one of our checkout sessions (success page). */
export async function findPaymentForCheckout(prisma: PrismaClient, checkoutSessionId: string): Promise<PaymentView | null> {
  const row = await prisma.payment.findFirst({
    where: { checkoutSessionId },
    orderBy: [{ updatedAt: "desc" }],
  });
  if (!row) return null;
  return {
    dodoPaymentId: row.dodoPaymentId,
    status: PAYMENT_STATUS_FROM_ROW[row.status]!,
    totalAmountMinor: row.totalAmountMinor,
    currency: row.currency,
    refundedAmountMinor: row.refundedAmountMinor,
  };
}

/** Recent payments of an organization (simulator page: send refunds and disputes for them). */
export async function listRecentPayments(prisma: PrismaClient, organizationId: string, take = 20): Promise<PaymentView[]> {
  const rows = await prisma.payment.findMany({ where: { organizationId }, orderBy: { createdAt: "desc" }, take });
  return rows.map((row) => ({
    dodoPaymentId: row.dodoPaymentId,
    status: PAYMENT_STATUS_FROM_ROW[row.status]!,
    totalAmountMinor: row.totalAmountMinor,
    currency: row.currency,
    refundedAmountMinor: row.refundedAmountMinor,
  }));
}

/** One payment by Dodo id with its disputes (simulator controls). */
export async function findPaymentWithDisputes(prisma: PrismaClient, dodoPaymentId: string) {
  if (!/^[A-Za-z0-9_-]{1,128}$/.test(dodoPaymentId)) return null;
  const row = await prisma.payment.findUnique({
    where: { dodoPaymentId },
    include: { disputes: { orderBy: { createdAt: "desc" } } },
  });
  if (!row) return null;
  return {
    organizationId: row.organizationId,
    dodoPaymentId: row.dodoPaymentId,
    status: PAYMENT_STATUS_FROM_ROW[row.status]!,
    totalAmountMinor: row.totalAmountMinor,
    currency: row.currency,
    settlementAmountMinor: row.settlementAmountMinor,
    settlementCurrency: row.settlementCurrency,
    refundedAmountMinor: row.refundedAmountMinor,
    disputes: row.disputes.map((d) => ({
      dodoDisputeId: d.dodoDisputeId,
      status: DISPUTE_STATUS_FROM_ROW[d.status]!,
      stage: d.stage,
    })),
  };
}
