// Payments as people read them: the success page's payment for a checkout, the simulator's recent payments
// and one payment with its disputes. Prisma; nothing here is on the webhook's path.
import type { PrismaClient } from "~/generated/prisma/client";
import type { DisputeState } from "~/ledger/payment-assessment";
import type { PaymentStatus } from "~/ledger/payment-state";
import { DISPUTE_STATUS_FROM_ROW, PAYMENT_STATUS_FROM_ROW } from "./payments.server";

export interface PaymentView {
  dodoPaymentId: string;
  status: PaymentStatus;
  totalAmountMinor: bigint;
  currency: string;
  refundedAmountMinor: bigint;
  /** The payout basis after refunds and lost disputes (settlement currency), null before there is one. */
  netSettlementMinor: bigint | null;
  settlementCurrency: string | null;
  disputeState: DisputeState;
  /** Why the payment's payout waits (an open dispute, an operator's review), or null. */
  payoutHold: string | null;
}

type PaymentRow = Awaited<ReturnType<PrismaClient["payment"]["findFirst"]>> & object;

function viewOf(row: PaymentRow): PaymentView {
  return {
    dodoPaymentId: row.dodoPaymentId,
    status: PAYMENT_STATUS_FROM_ROW[row.status]!,
    totalAmountMinor: row.totalAmountMinor,
    currency: row.currency,
    refundedAmountMinor: row.refundedAmountMinor,
    netSettlementMinor: row.netSettlementMinor,
    settlementCurrency: row.settlementCurrency,
    disputeState: row.disputeState,
    payoutHold: row.payoutHold,
  };
}

/** The newest payment recorded for one of our checkout sessions (success page). */
export async function findPaymentForCheckout(prisma: PrismaClient, checkoutSessionId: string): Promise<PaymentView | null> {
  const row = await prisma.payment.findFirst({ where: { checkoutSessionId }, orderBy: [{ updatedAt: "desc" }] });
  return row ? viewOf(row) : null;
}

/** Recent payments of an organization (simulator page: send refunds and disputes for them). */
export async function listRecentPayments(prisma: PrismaClient, organizationId: string, take = 20): Promise<PaymentView[]> {
  const rows = await prisma.payment.findMany({ where: { organizationId }, orderBy: { createdAt: "desc" }, take });
  return rows.map(viewOf);
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
    ...viewOf(row),
    organizationId: row.organizationId,
    settlementAmountMinor: row.settlementAmountMinor,
    disputes: row.disputes.map((d) => ({
      dodoDisputeId: d.dodoDisputeId,
      status: DISPUTE_STATUS_FROM_ROW[d.status]!,
      stage: d.stage,
      amountMinor: d.amountMinor,
      currency: d.currency,
    })),
  };
}
