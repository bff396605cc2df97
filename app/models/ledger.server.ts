// A read-only view of the ledger for people: recent payments (with their net amount, dispute state and what
// holds their payout), what needs an operator (reviews, held and dead payout requests, deliveries kept
// FAILED), the payout runs compiled from them, the webhook deliveries that moved them, and the audit
// trail. Amounts leave as decimal strings.
import { currencyScale, formatMoney } from "~/ledger/money";
import { getPrisma } from "~/utils/db.server";
import { paymentLabel, shortId } from "~/utils/identifiers";
import { auditEntityLabels, dodoPaymentIds } from "./audit-labels.server";

const scaleOf = (currency: string | null | undefined) => (currency ? currencyScale(currency) : 2);

export interface LedgerView {
  payments: {
    id: string;
    dodoPaymentId: string;
    /** Dodo's id with our short id: how every page names a payment (app/utils/identifiers.ts). */
    label: string;
    status: string;
    total: string;
    settlement: string | null;
    refunded: string;
    customerEmail: string | null;
    updatedAt: string;
    /** Settlement net of refunds and lost disputes: what the payment distributes. */
    net: string | null;
    disputeState: string;
    /** What holds its payout (an open dispute, a review), or null. */
    hold: string | null;
    /** Its live run (not cancelled), or the newest one. */
    run: { id: string; status: string } | null;
  }[];
  /** Refunds, disputes and payments an operator must decide on. */
  reviews: { entity: string; id: string; dodoPaymentId: string; reason: string }[];
  /** Payments whose compile is held (with the reason) or failed for good (dead letters). */
  heldPayouts: { paymentId: string; payment: string; reason: string; dead: boolean }[];
  /** Verified deliveries kept FAILED (deployment-wide: their organization is not known), and conflicts. */
  failedDeliveries: { webhookId: string; eventType: string; error: string; receivedAt: string }[];
  conflicts: number;
  runs: {
    id: string;
    kind: string;
    status: string;
    distributable: string;
    transferred: string;
    remainder: string;
    transferCount: number;
    createdAt: string;
  }[];
  webhooks: { webhookId: string; eventType: string; status: string; receivedAt: string }[];
  audit: { id: string; action: string; entity: string; actor: string; createdAt: string }[];
}

/** The newest rows of one organization (the signed-in operator's: never anyone else's). */
export async function loadLedgerView(organizationId: string, limit = 25): Promise<LedgerView> {
  const prisma = await getPrisma();
  const [payments, runs, webhooks, audit, refundReviews, disputeReviews, paymentReviews, requests, failed, conflicts] = await Promise.all([
    prisma.payment.findMany({
      where: { organizationId },
      orderBy: { updatedAt: "desc" },
      take: limit,
      include: { payoutRuns: { select: { id: true, status: true }, orderBy: { seq: "desc" } } },
    }),
    prisma.payoutRun.findMany({ where: { organizationId }, orderBy: { createdAt: "desc" }, take: limit, include: { _count: { select: { transfers: true } } } }),
    prisma.webhookEvent.findMany({
      where: { organizationId },
      orderBy: { receivedAt: "desc" },
      take: limit,
      select: { webhookId: true, eventType: true, status: true, receivedAt: true },
    }),
    prisma.auditLog.findMany({ where: { organizationId }, orderBy: { id: "desc" }, take: limit }),
    prisma.refund.findMany({ where: { organizationId, reviewReason: { not: null }, reviewDecision: null }, take: limit }),
    prisma.dispute.findMany({ where: { organizationId, reviewReason: { not: null }, reviewDecision: null }, take: limit }),
    prisma.payment.findMany({ where: { organizationId, reviewReason: { not: null }, reviewReleasedAt: null }, take: limit }),
    prisma.payoutRunRequest.findMany({
      where: { organizationId, OR: [{ deadAt: { not: null } }, { completedAt: { not: null }, payoutRunId: null, holdReason: { not: null } }] },
      orderBy: { createdAt: "desc" },
      take: limit,
    }),
    prisma.webhookEvent.findMany({ where: { status: "FAILED" }, orderBy: { receivedAt: "desc" }, take: limit }),
    prisma.webhookEventConflict.count(),
  ]);
  const [auditLabels, heldDodoIds] = await Promise.all([
    auditEntityLabels(prisma, organizationId, audit),
    dodoPaymentIds(prisma, organizationId, requests.map((r) => r.paymentId)),
  ]);
  return {
    payments: payments.map((p) => ({
      id: p.id,
      dodoPaymentId: p.dodoPaymentId,
      label: paymentLabel(p),
      status: p.status,
      total: `${formatMoney(p.totalAmountMinor, scaleOf(p.currency))} ${p.currency}`,
      settlement:
        p.settlementAmountMinor === null ? null : `${formatMoney(p.settlementAmountMinor, scaleOf(p.settlementCurrency))} ${p.settlementCurrency}`,
      refunded: `${formatMoney(p.refundedAmountMinor, scaleOf(p.currency))} ${p.currency}`,
      customerEmail: p.customerEmail,
      updatedAt: p.updatedAt.toISOString(),
      net: p.netSettlementMinor === null ? null : `${formatMoney(p.netSettlementMinor, scaleOf(p.settlementCurrency))} ${p.settlementCurrency}`,
      disputeState: p.disputeState,
      hold: p.payoutHold,
      run: ((run) => (run ? { id: run.id, status: run.status } : null))(p.payoutRuns.find((r) => r.status !== "CANCELLED") ?? p.payoutRuns[0]),
    })),
    reviews: [
      ...refundReviews.map((r) => ({ entity: "refund", id: r.dodoRefundId, dodoPaymentId: r.dodoPaymentId, reason: r.reviewReason! })),
      ...disputeReviews.map((d) => ({ entity: "dispute", id: d.dodoDisputeId, dodoPaymentId: d.dodoPaymentId, reason: d.reviewReason! })),
      ...paymentReviews.map((p) => ({ entity: "payment", id: p.dodoPaymentId, dodoPaymentId: p.dodoPaymentId, reason: p.reviewReason! })),
    ],
    heldPayouts: requests.map((r) => {
      const dodoPaymentId = heldDodoIds.get(r.paymentId);
      return {
        paymentId: r.paymentId,
        payment: dodoPaymentId ? paymentLabel({ dodoPaymentId, id: r.paymentId }) : `#${shortId(r.paymentId)}`,
        reason: r.deadAt ? (r.lastError ?? "failed") : r.holdReason!,
        dead: r.deadAt !== null,
      };
    }),
    failedDeliveries: failed.map((w) => ({ webhookId: w.webhookId, eventType: w.eventType, error: w.error ?? "", receivedAt: w.receivedAt.toISOString() })),
    conflicts,
    runs: runs.map((r) => ({
      id: r.id,
      kind: r.kind,
      status: r.status,
      distributable: `${formatMoney(r.distributable, r.tokenDecimals)} sUSD`,
      transferred: `${formatMoney(r.totalTransfers, r.tokenDecimals)} sUSD`,
      remainder: `${formatMoney(r.treasuryRemainder, r.tokenDecimals)} sUSD`,
      transferCount: r._count.transfers,
      createdAt: r.createdAt.toISOString(),
    })),
    webhooks: webhooks.map((w) => ({ ...w, receivedAt: w.receivedAt.toISOString() })),
    audit: audit.map((a, index) => ({
      id: a.id.toString(),
      action: a.action,
      entity: auditLabels[index]!,
      actor: a.actorType.toLowerCase(),
      createdAt: a.createdAt.toISOString(),
    })),
  };
}
