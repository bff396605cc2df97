// Payments for the console: a filtered, paged list (status, creation days in the viewer's time zone,
// amount range in each payment's currency) and one payment whole: every webhook delivery that named it,
// its refunds, disputes, the net amount it distributes, its payout runs and its audit trail. Always one
// organization's rows. Amounts leave as decimal strings formatted from minor units.
import { z } from "zod";
import type { Prisma, PrismaClient } from "~/generated/prisma/client";
import { currencyScale, formatCurrencyAmount, formatTokenAmount, MoneyError, parseMoney } from "~/ledger/money";
import { localDayStart } from "~/ledger/payout-schedule";
import { entityLabel, paymentLabel, shortId } from "~/utils/identifiers";

export const PAYMENT_STATUSES = ["PROCESSING", "SUCCEEDED", "FAILED", "CANCELLED"] as const;
export const PAYMENTS_PER_PAGE = 25;
const MAX_PAGE = 10_000;
/** The finest currency scale ISO 4217 has (CLF, UYW): an amount bound may be typed that precisely. */
const FINEST_SCALE = 4;

const blank = (value: unknown) => (typeof value === "string" && value.trim() === "" ? undefined : value);
const day = z.preprocess(blank, z.string().regex(/^\d{4}-\d{2}-\d{2}$/, { error: "Use a date like 2026-12-01." }).refine((text) => !Number.isNaN(Date.parse(`${text}T00:00:00Z`)), { error: "That is not a date." }).optional());
const amountText = z.preprocess(blank, z.string().max(32, { error: "The amount is too long." }).optional());

/** The list's query string. Amounts stay text here: they are parsed at each currency's scale. */
export const PaymentFilterSchema = z
  .object({
    status: z.preprocess(blank, z.enum(PAYMENT_STATUSES, { error: "Choose a status." }).optional()),
    from: day,
    to: day,
    minAmount: amountText,
    maxAmount: amountText,
    page: z.preprocess(blank, z.coerce.number({ error: "Pages are numbered from 1." }).int({ error: "Pages are numbered from 1." }).min(1, { error: "Pages are numbered from 1." }).max(MAX_PAGE).default(1)),
  })
  .superRefine((filter, ctx) => {
    if (filter.from && filter.to && filter.from > filter.to) ctx.addIssue({ code: "custom", path: ["to"], message: "The end date is before the start date." });
    for (const field of ["minAmount", "maxAmount"] as const) {
      const text = filter[field];
      if (text === undefined) continue;
      try {
        parseMoney(text, { scale: FINEST_SCALE });
      } catch (error) {
        if (!(error instanceof MoneyError)) throw error;
        ctx.addIssue({ code: "custom", path: [field], message: error.code === "MONEY_TOO_MANY_DECIMALS" ? `Use at most ${FINEST_SCALE} decimals.` : "Enter an amount like 12.50." });
      }
    }
  });
export type PaymentFilter = z.infer<typeof PaymentFilterSchema>;

/**
 * An amount bound typed as a decimal, in minor units of a currency of `scale` decimals: exact when it can
 * be, else rounded inward (a minimum of 10.50 yen is 11 yen; a maximum of 10.50 yen is 10 yen).
 */
export function boundAtScale(text: string, scale: number, side: "min" | "max"): bigint {
  const fine = parseMoney(text, { scale: FINEST_SCALE });
  const unit = 10n ** BigInt(FINEST_SCALE - scale);
  const whole = fine / unit;
  return side === "min" && fine % unit !== 0n ? whole + 1n : whole;
}

/**
 * The Prisma filter of a parsed PaymentFilter, within one organization. Days are read in `timeZone` (the
 * viewer's), `to` inclusive. An amount range applies to each currency at its own scale: `currencies` are
 * the currencies the organization's payments are in.
 */
export function paymentWhere(organizationId: string, filter: PaymentFilter, timeZone: string, currencies: readonly string[]): Prisma.PaymentWhereInput {
  const where: Prisma.PaymentWhereInput = { organizationId };
  if (filter.status) where.status = filter.status;
  if (filter.from || filter.to) {
    const dayAfter = (text: string) => new Date(Date.parse(`${text}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
    where.createdAt = {
      ...(filter.from ? { gte: localDayStart(filter.from, timeZone) } : {}),
      ...(filter.to ? { lt: localDayStart(dayAfter(filter.to), timeZone) } : {}),
    };
  }
  if (filter.minAmount !== undefined || filter.maxAmount !== undefined) {
    const byScale = new Map<number, string[]>();
    for (const currency of currencies) byScale.set(currencyScale(currency), [...(byScale.get(currencyScale(currency)) ?? []), currency]);
    where.OR = [...byScale].map(([scale, inScale]) => ({
      currency: { in: inScale },
      totalAmountMinor: {
        ...(filter.minAmount !== undefined ? { gte: boundAtScale(filter.minAmount, scale, "min") } : {}),
        ...(filter.maxAmount !== undefined ? { lte: boundAtScale(filter.maxAmount, scale, "max") } : {}),
      },
    }));
    // No payment yet, no currency: nothing can match an amount.
    if (where.OR.length === 0) where.id = { in: [] };
  }
  return where;
}

const money = (amount: bigint | null, currency: string | null) => (amount === null || currency === null ? null : formatCurrencyAmount(amount, currency));

export interface PaymentRowView {
  id: string;
  /** Dodo's id with our short id, the one way pages name a payment. */
  label: string;
  dodoPaymentId: string;
  status: string;
  total: string;
  refunded: string;
  net: string | null;
  disputeState: string;
  hold: string | null;
  createdAt: string;
}

export async function listPayments(prisma: PrismaClient, organizationId: string, filter: PaymentFilter, timeZone: string) {
  const currencies =
    filter.minAmount !== undefined || filter.maxAmount !== undefined
      ? (await prisma.payment.findMany({ where: { organizationId }, distinct: ["currency"], select: { currency: true } })).map((p) => p.currency)
      : [];
  const where = paymentWhere(organizationId, filter, timeZone, currencies);
  const [rows, total] = await Promise.all([
    prisma.payment.findMany({ where, orderBy: [{ createdAt: "desc" }, { id: "desc" }], skip: (filter.page - 1) * PAYMENTS_PER_PAGE, take: PAYMENTS_PER_PAGE }),
    prisma.payment.count({ where }),
  ]);
  const payments: PaymentRowView[] = rows.map((p) => ({
    id: p.id,
    label: paymentLabel(p),
    dodoPaymentId: p.dodoPaymentId,
    status: p.status,
    total: money(p.totalAmountMinor, p.currency)!,
    refunded: money(p.refundedAmountMinor, p.currency)!,
    net: money(p.netSettlementMinor, p.settlementCurrency),
    disputeState: p.disputeState,
    hold: p.payoutHold,
    createdAt: p.createdAt.toISOString(),
  }));
  return { payments, total, page: filter.page, pages: Math.max(1, Math.ceil(total / PAYMENTS_PER_PAGE)) };
}

function payloadPaymentId(rawBody: string): string | null {
  try {
    const parsed: unknown = JSON.parse(rawBody);
    const data = parsed && typeof parsed === "object" ? (parsed as { data?: unknown }).data : undefined;
    const id = data && typeof data === "object" ? (data as { payment_id?: unknown }).payment_id : undefined;
    return typeof id === "string" ? id : null;
  } catch {
    return null;
  }
}

/**
 * One payment of the organization, by our id or by Dodo's (either is how people name it), or null when
 * the organization has no such payment (another organization's payment is not found either).
 */
export async function loadPaymentDetail(prisma: PrismaClient, organizationId: string, reference: string) {
  const byUuid = z.uuid().safeParse(reference).success;
  if (!byUuid && !/^[A-Za-z0-9_-]{1,128}$/.test(reference)) return null;
  const payment = await prisma.payment.findFirst({
    where: { organizationId, ...(byUuid ? { id: reference } : { dodoPaymentId: reference }) },
    include: { payoutRuns: { orderBy: { seq: "asc" }, select: { id: true, kind: true, status: true, distributable: true, totalTransfers: true, treasuryRemainder: true, tokenDecimals: true, createdAt: true } } },
  });
  if (!payment) return null;
  const dodoPaymentId = payment.dodoPaymentId;
  const [refunds, disputes, candidates] = await Promise.all([
    prisma.refund.findMany({ where: { organizationId, dodoPaymentId }, orderBy: { createdAt: "asc" } }),
    prisma.dispute.findMany({ where: { organizationId, dodoPaymentId }, orderBy: { createdAt: "asc" } }),
    // Deliveries carry the payment only in their signed body; the text search narrows, the parse decides.
    prisma.webhookEvent.findMany({
      where: { organizationId, rawBody: { contains: dodoPaymentId } },
      orderBy: [{ webhookTimestamp: "asc" }, { receivedAt: "asc" }],
      select: { webhookId: true, eventType: true, status: true, error: true, webhookTimestamp: true, receivedAt: true, processedAt: true, rawBody: true },
      take: 500,
    }),
  ]);
  const entityIds = [payment.id, dodoPaymentId, ...refunds.map((r) => r.dodoRefundId), ...disputes.map((d) => d.dodoDisputeId), ...payment.payoutRuns.map((r) => r.id)];
  const audit = await prisma.auditLog.findMany({
    where: { organizationId, OR: [{ entityId: { in: entityIds } }, { data: { path: ["dodoPaymentId"], equals: dodoPaymentId } }] },
    orderBy: { id: "asc" },
    take: 500,
  });
  return {
    id: payment.id,
    label: paymentLabel(payment),
    dodoPaymentId,
    status: payment.status,
    total: money(payment.totalAmountMinor, payment.currency)!,
    settlement: money(payment.settlementAmountMinor, payment.settlementCurrency),
    refunded: money(payment.refundedAmountMinor, payment.currency)!,
    /** The distributable (net) amount: settlement less what was refunded or lost (decision 009). */
    net: money(payment.netSettlementMinor, payment.settlementCurrency),
    disputeState: payment.disputeState,
    hold: payment.payoutHold,
    reviewReason: payment.reviewReleasedAt ? null : payment.reviewReason,
    createdAt: payment.createdAt.toISOString(),
    events: candidates
      .filter((e) => payloadPaymentId(e.rawBody) === dodoPaymentId)
      .map((e) => ({
        webhookId: e.webhookId,
        eventType: e.eventType,
        status: e.status,
        error: e.error,
        sentAt: e.webhookTimestamp.toISOString(),
        receivedAt: e.receivedAt.toISOString(),
        processedAt: e.processedAt?.toISOString() ?? null,
      })),
    refunds: refunds.map((r) => ({
      dodoRefundId: r.dodoRefundId,
      status: r.status,
      amount: money(r.amountMinor, r.currency) ?? "amount not reported yet",
      reason: r.reason,
      review: r.reviewReason ? `${r.reviewReason}${r.reviewDecision ? ` — decided: ${r.reviewDecision.toLowerCase()}` : " — waiting for an operator"}` : null,
    })),
    disputes: disputes.map((d) => ({
      dodoDisputeId: d.dodoDisputeId,
      status: d.status,
      stage: d.stage,
      amount: money(d.amountMinor, d.currency)!,
      review: d.reviewReason ? `${d.reviewReason}${d.reviewDecision ? ` — decided: ${d.reviewDecision.toLowerCase()}` : " — waiting for an operator"}` : null,
    })),
    runs: payment.payoutRuns.map((r) => ({
      id: r.id,
      shortId: `#${shortId(r.id)}`,
      kind: r.kind,
      status: r.status,
      distributable: formatTokenAmount(r.distributable, r.tokenDecimals, "sUSD"),
      transferred: formatTokenAmount(r.totalTransfers, r.tokenDecimals, "sUSD"),
      remainder: formatTokenAmount(r.treasuryRemainder, r.tokenDecimals, "sUSD"),
      createdAt: r.createdAt.toISOString(),
    })),
    audit: audit.map((a) => ({ id: a.id.toString(), action: a.action, entity: entityLabel(a.entityType, a.entityId, dodoPaymentId), actor: a.actorType.toLowerCase(), actorId: a.actorId, createdAt: a.createdAt.toISOString() })),
  };
}
export type PaymentDetail = NonNullable<Awaited<ReturnType<typeof loadPaymentDetail>>>;
