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
  /** The state's version (payment_state_versions; 0 = no row): a write succeeds only if it is unchanged. */
  version: number;
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
  };
}

interface PaymentStateRow {
  payment: (PaymentRowText & { last_event_ms: string }) | null;
  refunds: { dodo_refund_id: string; status: string; amount_minor: string | null; currency: string | null; last_event_ms: string }[];
  disputes: { dodo_dispute_id: string; status: string; stage: string | null; amount_minor: string; currency: string; last_event_ms: string }[];
  version: string;
}

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
         FROM disputes WHERE dodo_payment_id = ${dodoPaymentId}) d) AS disputes,
      coalesce((SELECT version FROM payment_state_versions WHERE dodo_payment_id = ${dodoPaymentId}), 0)::text AS version`);
  const paymentRow = row?.payment ?? null;
  const refundRows = row?.refunds ?? [];
  const disputeRows = row?.disputes ?? [];
  const version = Number(row?.version ?? 0);
  if (!paymentRow && refundRows.length === 0 && disputeRows.length === 0) {
    return { state: EMPTY_PAYMENT_STATE, payment: null, version };
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
  return { state: { payment, refunds, disputes }, payment: recorded, version };
}

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
  audit: AuditRowInput[];
  /** The payment just became succeeded: write its payout-run compile request (the outbox). */
  requestPayoutRun: boolean;
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
export function needsRefundOrDisputeWrites(write: Pick<DeliveryWrite, "loaded" | "next">): boolean {
  const { loaded, next } = write;
  if (Object.entries(next.refunds).some(([id, refund]) => loaded.state.refunds[id] !== refund)) return true;
  if (Object.entries(next.disputes).some(([id, dispute]) => loaded.state.disputes[id] !== dispute)) return true;
  const linking = !loaded.payment && next.payment !== null;
  return linking && (Object.keys(loaded.state.refunds).length > 0 || Object.keys(loaded.state.disputes).length > 0);
}

/**
 * The delivery's write as ONE statement, committed with the caller's transaction or on its own: the state's
 * version (only if it is still `loaded.version`), the webhook event row, the payment row (inserted, updated
 * or left), every audit row, and for a payment that just succeeded its payout-run request (the outbox,
 * unique per payment) and its checkout marked completed; no NOTIFY (it would serialise commits: the
 * caller announces the request after the commit, decision 006). Returns null, having written nothing, when the version moved (another delivery of this payment
 * wrote first): the caller folds again from a fresh read. A redelivered webhook-id fails the statement with
 * a unique violation on webhook_events.
 */
export async function writeDelivery(tx: Tx, write: DeliveryWrite): Promise<DeliveryWritten | null> {
  const { loaded, next } = write;
  const snapshot = next.payment;
  const summary = summarizePaymentState(next);
  const refunded = snapshot ? (summary.refundedByCurrency[snapshot.currency] ?? 0n) : 0n;
  const existing = loaded.payment;
  const unchanged = existing !== null && loaded.state.payment === snapshot && existing.refundedAmountMinor === refunded;
  // A payment that just became succeeded always changes its row, so the request always has its row.
  if (write.requestPayoutRun && (!snapshot || unchanged)) throw new Error("a payout run request needs the payment row's write");
  const action = !snapshot ? "none" : !existing ? "insert" : unchanged ? "none" : "update";
  const auditJson = JSON.stringify(write.audit, (_k, v) => (typeof v === "bigint" ? v.toString() : v));
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
    e AS (
      INSERT INTO webhook_events (webhook_id, organization_id, event_type, webhook_timestamp, raw_body, headers, status, processed_at)
      SELECT ${write.webhookId}, ${write.organizationId}::uuid, ${write.eventType}, ${write.webhookTimestamp}::timestamptz,
             ${write.rawBody}, ${write.headersJson}::jsonb, 'PROCESSED'::webhook_event_status, now()
      FROM v
      RETURNING id),
    pi AS (
      INSERT INTO payments (organization_id, dodo_payment_id, checkout_session_id, status, total_amount_minor, currency,
                            settlement_amount_minor, settlement_currency, refunded_amount_minor, customer_email,
                            metadata, last_event_at, updated_at)
      SELECT ${write.organizationId}::uuid, ${write.dodoPaymentId}, ${write.checkoutSessionId}::uuid,
             ${snapshot ? PAYMENT_STATUS_TO_ROW[snapshot.status] : null}::payment_status, ${snapshot?.totalAmount ?? null}::bigint,
             ${snapshot?.currency ?? null}, ${snapshot?.settlementAmount ?? null}::bigint, ${snapshot?.settlementCurrency ?? null},
             ${refunded}::bigint, ${write.customerEmail}, ${JSON.stringify(write.metadata)}::jsonb,
             ${snapshot ? new Date(snapshot.observedAtMs) : null}::timestamptz, now()
      FROM v WHERE ${action} = 'insert'
      RETURNING id, organization_id, checkout_session_id),
    pu AS (
      UPDATE payments SET status = ${snapshot ? PAYMENT_STATUS_TO_ROW[snapshot.status] : null}::payment_status,
             total_amount_minor = ${snapshot?.totalAmount ?? null}::bigint, currency = ${snapshot?.currency ?? null},
             settlement_amount_minor = ${snapshot?.settlementAmount ?? null}::bigint,
             settlement_currency = ${snapshot?.settlementCurrency ?? null}, refunded_amount_minor = ${refunded}::bigint,
             last_event_at = ${snapshot ? new Date(snapshot.observedAtMs) : null}::timestamptz, updated_at = now()
      FROM v WHERE payments.id = ${existing?.id ?? null}::uuid AND ${action} = 'update'
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
      INSERT INTO payout_run_requests (organization_id, payment_id)
      SELECT organization_id, id FROM p WHERE ${write.requestPayoutRun}::boolean
      ON CONFLICT (payment_id) DO NOTHING
      RETURNING 1),
    c AS (
      UPDATE checkout_sessions SET status = 'COMPLETED', updated_at = now()
      FROM p WHERE ${write.requestPayoutRun}::boolean AND checkout_sessions.id = p.checkout_session_id
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
    },
  };
}

/**
 * The refund and dispute rows of a delivery (see needsRefundOrDisputeWrites), after writeDelivery in the
 * same transaction: upserts of the changed ones, and links earlier ones to a payment row written just now.
 */
export async function writeRefundsAndDisputes(tx: Tx, write: DeliveryWrite, payment: RecordedPayment | null): Promise<void> {
  const { loaded, next, dodoPaymentId } = write;
  const organizationId = payment?.organizationId ?? write.organizationId;
  const paymentId = payment?.id ?? null;
  if (!loaded.payment && paymentId !== null) {
    // Refunds and disputes that arrived before their payment get linked now.
    if (Object.keys(loaded.state.refunds).length > 0) {
      await tx.query(sql`UPDATE refunds SET payment_id = ${paymentId}::uuid, updated_at = now()
                         WHERE dodo_payment_id = ${dodoPaymentId} AND payment_id IS NULL`);
    }
    if (Object.keys(loaded.state.disputes).length > 0) {
      await tx.query(sql`UPDATE disputes SET payment_id = ${paymentId}::uuid, updated_at = now()
                         WHERE dodo_payment_id = ${dodoPaymentId} AND payment_id IS NULL`);
    }
  }
  for (const [refundId, refund] of Object.entries(next.refunds)) {
    if (loaded.state.refunds[refundId] === refund) continue;
    // Dodo may not report the amount or currency (yet): recorded as unknown, never as 0.
    await tx.query(sql`
      INSERT INTO refunds (organization_id, dodo_refund_id, dodo_payment_id, payment_id, status, amount_minor, currency, last_event_at)
      VALUES (${organizationId}::uuid, ${refundId}, ${dodoPaymentId}, ${paymentId}::uuid,
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
      VALUES (${organizationId}::uuid, ${disputeId}, ${dodoPaymentId}, ${paymentId}::uuid,
              ${DISPUTE_STATUS_TO_ROW[dispute.status]}::dispute_status, ${dispute.stage}, ${dispute.amount}::bigint,
              ${dispute.currency}, ${new Date(dispute.observedAtMs)}::timestamptz)
      ON CONFLICT (dodo_dispute_id) DO UPDATE SET
        status = EXCLUDED.status, stage = EXCLUDED.stage, amount_minor = EXCLUDED.amount_minor, currency = EXCLUDED.currency,
        last_event_at = EXCLUDED.last_event_at, payment_id = EXCLUDED.payment_id, updated_at = now()`);
  }
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
