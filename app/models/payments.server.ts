// Payments, refunds and disputes as rows: load a payment's folded state, write the next state, read for pages.
// The rules of what the next state is live in app/ledger/payment-state.ts; this file only maps rows.
import type { Prisma, PrismaClient } from "~/generated/prisma/client";
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

type Tx = Prisma.TransactionClient;

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

const PAYMENT_STATUS_FROM_ROW: Record<string, PaymentStatus> = {
  PROCESSING: "processing",
  SUCCEEDED: "succeeded",
  FAILED: "failed",
  CANCELLED: "cancelled",
};

// The refund_status enum has no REVIEW yet (requested in schema-requests.md): review is stored as PENDING,
// which ranks just below it, so the fold read back from rows can only be lower, never higher.
const REFUND_STATUS_TO_ROW = {
  pending: "PENDING",
  review: "PENDING",
  failed: "FAILED",
  succeeded: "SUCCEEDED",
} as const satisfies Record<RefundStatus, string>;

const REFUND_STATUS_FROM_ROW: Record<string, RefundStatus> = { PENDING: "pending", FAILED: "failed", SUCCEEDED: "succeeded" };

const DISPUTE_STATUS_TO_ROW = {
  dispute_opened: "OPENED",
  dispute_expired: "EXPIRED",
  dispute_accepted: "ACCEPTED",
  dispute_cancelled: "CANCELLED",
  dispute_challenged: "CHALLENGED",
  dispute_won: "WON",
  dispute_lost: "LOST",
} as const satisfies Record<DisputeStatus, string>;

const DISPUTE_STATUS_FROM_ROW: Record<string, DisputeStatus> = Object.fromEntries(
  Object.entries(DISPUTE_STATUS_TO_ROW).map(([status, row]) => [row, status as DisputeStatus]),
);

export function paymentStatusToRow(status: PaymentStatus): "PROCESSING" | "SUCCEEDED" | "FAILED" | "CANCELLED" {
  return PAYMENT_STATUS_TO_ROW[status];
}

/**
 * Serialises writers of one Dodo payment (its payment row, refunds and disputes) for the rest of the
 * transaction. An advisory lock, because the payment row may not exist yet (a refund can come first).
 */
export async function lockDodoPayment(tx: Tx, dodoPaymentId: string): Promise<void> {
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${dodoPaymentId}, 7))`;
}

export interface LoadedPaymentState {
  state: PaymentLedgerState;
  payment: RecordedPayment | null;
}

function toRecordedPayment(row: {
  id: string;
  organizationId: string;
  dodoPaymentId: string;
  checkoutSessionId: string | null;
  status: string;
  totalAmountMinor: bigint;
  currency: string;
  settlementAmountMinor: bigint | null;
  settlementCurrency: string | null;
  refundedAmountMinor: bigint;
}): RecordedPayment {
  return {
    id: row.id,
    organizationId: row.organizationId,
    dodoPaymentId: row.dodoPaymentId,
    checkoutSessionId: row.checkoutSessionId,
    status: PAYMENT_STATUS_FROM_ROW[row.status]!,
    totalAmountMinor: row.totalAmountMinor,
    currency: row.currency,
    settlementAmountMinor: row.settlementAmountMinor,
    settlementCurrency: row.settlementCurrency,
    refundedAmountMinor: row.refundedAmountMinor,
  };
}

/** The folded state as the rows hold it (call under `lockDodoPayment`). */
export async function loadPaymentState(tx: Tx, dodoPaymentId: string): Promise<LoadedPaymentState> {
  const [paymentRow, refundRows, disputeRows] = await Promise.all([
    tx.payment.findUnique({ where: { dodoPaymentId } }),
    tx.refund.findMany({ where: { dodoPaymentId } }),
    tx.dispute.findMany({ where: { dodoPaymentId } }),
  ]);
  if (!paymentRow && refundRows.length === 0 && disputeRows.length === 0) {
    return { state: EMPTY_PAYMENT_STATE, payment: null };
  }
  const payment: PaymentSnapshot | null = paymentRow
    ? {
        status: PAYMENT_STATUS_FROM_ROW[paymentRow.status]!,
        observedAtMs: paymentRow.lastEventAt.getTime(),
        totalAmount: paymentRow.totalAmountMinor,
        currency: paymentRow.currency,
        settlementAmount: paymentRow.settlementAmountMinor ?? paymentRow.totalAmountMinor,
        settlementCurrency: paymentRow.settlementCurrency ?? paymentRow.currency,
      }
    : null;
  const refunds: Record<string, RefundSnapshot> = {};
  for (const row of refundRows) {
    refunds[row.dodoRefundId] = {
      refundId: row.dodoRefundId,
      status: REFUND_STATUS_FROM_ROW[row.status]!,
      observedAtMs: row.lastEventAt.getTime(),
      amount: row.amountMinor,
      currency: row.currency,
    };
  }
  const disputes: Record<string, DisputeSnapshot> = {};
  for (const row of disputeRows) {
    disputes[row.dodoDisputeId] = {
      disputeId: row.dodoDisputeId,
      status: DISPUTE_STATUS_FROM_ROW[row.status]!,
      stage: (row.stage ?? "dispute") as DisputeSnapshot["stage"],
      observedAtMs: row.lastEventAt.getTime(),
      amount: row.amountMinor,
      currency: row.currency,
    };
  }
  return { state: { payment, refunds, disputes }, payment: paymentRow ? toRecordedPayment(paymentRow) : null };
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
    const unchanged =
      payment &&
      loaded.state.payment === snapshot &&
      payment.refundedAmountMinor === refunded;
    if (!payment) {
      const row = await tx.payment.create({
        data: {
          ...fields,
          organizationId: context.organizationId,
          dodoPaymentId: context.dodoPaymentId,
          checkoutSessionId: context.checkoutSessionId,
          customerEmail: context.customerEmail,
          metadata: context.metadata,
        },
      });
      payment = toRecordedPayment(row);
      // Refunds and disputes that arrived before their payment get linked now.
      await tx.refund.updateMany({ where: { dodoPaymentId: context.dodoPaymentId, paymentId: null }, data: { paymentId: row.id } });
      await tx.dispute.updateMany({ where: { dodoPaymentId: context.dodoPaymentId, paymentId: null }, data: { paymentId: row.id } });
    } else if (!unchanged) {
      const row = await tx.payment.update({ where: { id: payment.id }, data: fields });
      payment = toRecordedPayment(row);
    }
  }

  const organizationId = payment?.organizationId ?? context.organizationId;
  for (const [refundId, refund] of Object.entries(next.refunds)) {
    if (loaded.state.refunds[refundId] === refund) continue;
    const fields = {
      status: REFUND_STATUS_TO_ROW[refund.status],
      // Until refunds.amount_minor may be NULL (requested), an unreported amount is stored as 0.
      amountMinor: refund.amount ?? 0n,
      currency: refund.currency ?? next.payment?.currency ?? "USD",
      lastEventAt: new Date(refund.observedAtMs),
      paymentId: payment?.id ?? null,
    };
    await tx.refund.upsert({
      where: { dodoRefundId: refundId },
      create: { ...fields, organizationId, dodoRefundId: refundId, dodoPaymentId: context.dodoPaymentId },
      update: fields,
    });
  }
  for (const [disputeId, dispute] of Object.entries(next.disputes)) {
    if (loaded.state.disputes[disputeId] === dispute) continue;
    const fields = {
      status: DISPUTE_STATUS_TO_ROW[dispute.status],
      stage: dispute.stage,
      amountMinor: dispute.amount,
      currency: dispute.currency,
      lastEventAt: new Date(dispute.observedAtMs),
      paymentId: payment?.id ?? null,
    };
    await tx.dispute.upsert({
      where: { dodoDisputeId: disputeId },
      create: { ...fields, organizationId, dodoDisputeId: disputeId, dodoPaymentId: context.dodoPaymentId },
      update: fields,
    });
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
