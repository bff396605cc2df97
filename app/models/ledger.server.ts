// A read-only view of the ledger for people: recent payments, the payout runs compiled from them,
// the webhook deliveries that moved them, and the audit trail. Amounts leave as decimal strings.
import { formatMoney } from "~/ledger/money";
import { getPrisma } from "~/utils/db.server";

/** Minor units per currency; the ledger stores ISO 4217 codes, all of which we take in cents today. */
const CURRENCY_SCALE: Record<string, number> = { JPY: 0, KRW: 0 };
const scaleOf = (currency: string | null | undefined) => (currency ? (CURRENCY_SCALE[currency] ?? 2) : 2);

export interface LedgerView {
  payments: {
    id: string;
    dodoPaymentId: string;
    status: string;
    total: string;
    settlement: string | null;
    refunded: string;
    customerEmail: string | null;
    updatedAt: string;
    run: { id: string; status: string } | null;
  }[];
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
  const [payments, runs, webhooks, audit] = await Promise.all([
    prisma.payment.findMany({ where: { organizationId }, orderBy: { updatedAt: "desc" }, take: limit, include: { payoutRuns: { select: { id: true, status: true } } } }),
    prisma.payoutRun.findMany({ where: { organizationId }, orderBy: { createdAt: "desc" }, take: limit, include: { _count: { select: { transfers: true } } } }),
    prisma.webhookEvent.findMany({
      where: { organizationId },
      orderBy: { receivedAt: "desc" },
      take: limit,
      select: { webhookId: true, eventType: true, status: true, receivedAt: true },
    }),
    prisma.auditLog.findMany({ where: { organizationId }, orderBy: { id: "desc" }, take: limit }),
  ]);
  return {
    payments: payments.map((p) => ({
      id: p.id,
      dodoPaymentId: p.dodoPaymentId,
      status: p.status,
      total: `${formatMoney(p.totalAmountMinor, scaleOf(p.currency))} ${p.currency}`,
      settlement:
        p.settlementAmountMinor === null ? null : `${formatMoney(p.settlementAmountMinor, scaleOf(p.settlementCurrency))} ${p.settlementCurrency}`,
      refunded: `${formatMoney(p.refundedAmountMinor, scaleOf(p.currency))} ${p.currency}`,
      customerEmail: p.customerEmail,
      updatedAt: p.updatedAt.toISOString(),
      run: p.payoutRuns[0] ? { id: p.payoutRuns[0].id, status: p.payoutRuns[0].status } : null,
    })),
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
    audit: audit.map((a) => ({
      id: a.id.toString(),
      action: a.action,
      entity: `${a.entityType} ${a.entityId.slice(0, 18)}`,
      actor: a.actorType.toLowerCase(),
      createdAt: a.createdAt.toISOString(),
    })),
  };
}
