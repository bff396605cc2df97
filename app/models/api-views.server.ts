// What the operator API reads, one organization at a time: recipients, policy versions, payments with their
// deliveries, payout runs with transfers, batches and approvals, and recipients' balances, as JSON-ready
// objects (amounts as decimal strings of minor units, times as ISO text). Lists are newest first, cut by
// cursor (`starting_after`: the last id of the previous page, which must be the organization's own).
import type { z } from "zod";
import type { Prisma, PrismaClient } from "~/generated/prisma/client";
import type * as R from "~/api/resources";
import type { BatchEventRow } from "~/settlement/batch-state";
import { loadBatchEvents } from "./settlement.server";
import { loadRecipientStates } from "./recipients.server";
import { sql, type SqlQueryable } from "~/utils/sql.server";

export class ApiViewError extends Error {
  constructor(
    readonly code: "CURSOR_NOT_FOUND",
    message: string,
  ) {
    super(message);
    this.name = "ApiViewError";
  }
}

export interface ListArgs {
  limit: number;
  starting_after?: string;
  created_gte?: string;
  created_lt?: string;
}

export interface Page<T> {
  data: T[];
  has_more: boolean;
  next_cursor: string | null;
}

const iso = (date: Date) => date.toISOString();
const isoOrNull = (date: Date | null) => (date ? date.toISOString() : null);
const text = (amount: bigint) => amount.toString();
const textOrNull = (amount: bigint | null) => (amount === null ? null : amount.toString());

/** The createdAt window and the cursor's position, as a Prisma filter (newest first, ties by id). */
export async function pageWhere(args: ListArgs, cursorAt: (id: string) => Promise<{ createdAt: Date } | null>) {
  const and: Prisma.RecipientWhereInput[] = [];
  if (args.created_gte) and.push({ createdAt: { gte: new Date(args.created_gte) } });
  if (args.created_lt) and.push({ createdAt: { lt: new Date(args.created_lt) } });
  if (args.starting_after) {
    const cursor = await cursorAt(args.starting_after);
    if (!cursor) throw new ApiViewError("CURSOR_NOT_FOUND", "starting_after names nothing in this list");
    and.push({ OR: [{ createdAt: { lt: cursor.createdAt } }, { createdAt: cursor.createdAt, id: { lt: args.starting_after } }] });
  }
  return and;
}

export function pageOf<Row extends { id: string }, T>(rows: Row[], limit: number, view: (row: Row) => T): Page<T> {
  const has_more = rows.length > limit;
  const kept = rows.slice(0, limit);
  return { data: kept.map(view), has_more, next_cursor: has_more ? kept[kept.length - 1]!.id : null };
}

const NEWEST_FIRST = [{ createdAt: "desc" as const }, { id: "desc" as const }];

// ------------------------------------------------------------------ recipients

type RecipientRow = Awaited<ReturnType<PrismaClient["recipient"]["findFirstOrThrow"]>>;

export function recipientView(row: RecipientRow): z.input<typeof R.Recipient> {
  return {
    id: row.id,
    name: row.name,
    walletAddress: row.walletAddress,
    walletKind: row.walletKind,
    tokenAccount: row.tokenAccount,
    tokenAccountDerived: row.tokenAccountDerived,
    status: row.status,
    walletVerifiedAt: isoOrNull(row.walletVerifiedAt),
    createdAt: iso(row.createdAt),
    updatedAt: iso(row.updatedAt),
  };
}

export async function listRecipientViews(prisma: PrismaClient, organizationId: string, args: ListArgs & { status?: RecipientRow["status"] }) {
  const and = await pageWhere(args, (id) => prisma.recipient.findFirst({ where: { id, organizationId }, select: { createdAt: true } }));
  const rows = await prisma.recipient.findMany({
    where: { organizationId, ...(args.status ? { status: args.status } : {}), AND: and },
    orderBy: NEWEST_FIRST,
    take: args.limit + 1,
  });
  return pageOf(rows, args.limit, recipientView);
}

export async function getRecipientView(prisma: PrismaClient, organizationId: string, id: string) {
  const row = await prisma.recipient.findFirst({ where: { id, organizationId } });
  return row ? recipientView(row) : null;
}

// ------------------------------------------------------------------ policy versions

const versionInclude = { policy: { select: { name: true } }, rules: { orderBy: [{ recipientId: "asc" as const }, { id: "asc" as const }] } };
type VersionRow = Prisma.PayoutPolicyVersionGetPayload<{ include: typeof versionInclude }>;

function policyVersionView(row: VersionRow): z.input<typeof R.PolicyVersion> {
  return {
    id: row.id,
    policyId: row.policyId,
    policyName: row.policy.name,
    version: row.version,
    status: row.status,
    requireVerifiedRecipients: row.requireVerifiedRecipients,
    payoutSchedule: row.payoutSchedule,
    autoApproveBelow: textOrNull(row.autoApproveBelow),
    locked: row.lockedAt !== null,
    createdAt: iso(row.createdAt),
    rules: row.rules.map((rule) => ({
      id: rule.id,
      recipientId: rule.recipientId,
      kind: rule.kind,
      basisPoints: rule.basisPoints,
      fixedAmount: textOrNull(rule.fixedAmount),
      capPerPayment: textOrNull(rule.capPerPayment),
      capPerPeriod: textOrNull(rule.capPerPeriod),
      periodDays: rule.periodDays,
      minPayout: textOrNull(rule.minPayout),
      priority: rule.priority,
    })),
  };
}

export async function listPolicyVersionViews(prisma: PrismaClient, organizationId: string, args: ListArgs & { status?: VersionRow["status"] }) {
  const and = await pageWhere(args, (id) => prisma.payoutPolicyVersion.findFirst({ where: { id, organizationId }, select: { createdAt: true } }));
  const rows = await prisma.payoutPolicyVersion.findMany({
    where: { organizationId, ...(args.status ? { status: args.status } : {}), AND: and as Prisma.PayoutPolicyVersionWhereInput[] },
    orderBy: NEWEST_FIRST,
    take: args.limit + 1,
    include: versionInclude,
  });
  return pageOf(rows, args.limit, policyVersionView);
}

export async function getPolicyVersionView(prisma: PrismaClient, organizationId: string, id: string) {
  const row = await prisma.payoutPolicyVersion.findFirst({ where: { id, organizationId }, include: versionInclude });
  return row ? policyVersionView(row) : null;
}

// ------------------------------------------------------------------ payments

type PaymentRow = Awaited<ReturnType<PrismaClient["payment"]["findFirstOrThrow"]>>;

function paymentView(row: PaymentRow): z.input<typeof R.Payment> {
  return {
    id: row.id,
    dodoPaymentId: row.dodoPaymentId,
    status: row.status,
    currency: row.currency,
    totalAmount: text(row.totalAmountMinor),
    settlementAmount: textOrNull(row.settlementAmountMinor),
    settlementCurrency: row.settlementCurrency,
    refundedAmount: text(row.refundedAmountMinor),
    netSettlementAmount: textOrNull(row.netSettlementMinor),
    disputeState: row.disputeState,
    payoutHold: row.payoutHold,
    createdAt: iso(row.createdAt),
    updatedAt: iso(row.updatedAt),
  };
}

export async function listPaymentViews(prisma: PrismaClient, organizationId: string, args: ListArgs & { status?: PaymentRow["status"] }) {
  const and = await pageWhere(args, (id) => prisma.payment.findFirst({ where: { id, organizationId }, select: { createdAt: true } }));
  const rows = await prisma.payment.findMany({
    where: { organizationId, ...(args.status ? { status: args.status } : {}), AND: and as Prisma.PaymentWhereInput[] },
    orderBy: NEWEST_FIRST,
    take: args.limit + 1,
  });
  return pageOf(rows, args.limit, paymentView);
}

/** A payment with the webhook deliveries about it (Dodo's `data.payment_id`), its refunds, disputes and runs. */
export async function getPaymentView(prisma: PrismaClient, db: SqlQueryable, organizationId: string, id: string): Promise<z.input<typeof R.PaymentDetail> | null> {
  const row = await prisma.payment.findFirst({
    where: { id, organizationId },
    include: {
      refunds: { orderBy: { createdAt: "asc" } },
      disputes: { orderBy: { createdAt: "asc" } },
      payoutRuns: { orderBy: { seq: "asc" }, select: { id: true, status: true } },
    },
  });
  if (!row) return null;
  const events = await db.query<{ webhook_id: string; event_type: string; status: string; received_at: Date | string }>(sql`
    SELECT webhook_id, event_type, status::text AS status, received_at FROM webhook_events
    WHERE organization_id = ${organizationId}::uuid AND raw_body::jsonb -> 'data' ->> 'payment_id' = ${row.dodoPaymentId}
    ORDER BY received_at, webhook_id`);
  return {
    ...paymentView(row),
    events: events.map((e) => ({ webhookId: e.webhook_id, type: e.event_type, status: e.status, receivedAt: new Date(e.received_at).toISOString() })),
    refunds: row.refunds.map((r) => ({ dodoRefundId: r.dodoRefundId, status: r.status, amount: textOrNull(r.amountMinor), currency: r.currency, createdAt: iso(r.createdAt) })),
    disputes: row.disputes.map((d) => ({ dodoDisputeId: d.dodoDisputeId, status: d.status, amount: textOrNull(d.amountMinor), currency: d.currency, createdAt: iso(d.createdAt) })),
    payoutRuns: row.payoutRuns,
  };
}

// ------------------------------------------------------------------ payout runs

type RunRow = Awaited<ReturnType<PrismaClient["payoutRun"]["findFirstOrThrow"]>>;

function runView(row: RunRow): z.input<typeof R.PayoutRun> {
  return {
    id: row.id,
    kind: row.kind,
    status: row.status,
    paymentId: row.paymentId,
    policyVersionId: row.policyVersionId,
    tokenDecimals: row.tokenDecimals,
    distributable: text(row.distributable),
    totalTransfers: text(row.totalTransfers),
    treasuryRemainder: text(row.treasuryRemainder),
    holdReason: row.holdReason,
    cancelReason: row.cancelReason,
    supersedesRunId: row.supersedesRunId,
    createdAt: iso(row.createdAt),
    updatedAt: iso(row.updatedAt),
  };
}

export async function listPayoutRunViews(prisma: PrismaClient, organizationId: string, args: ListArgs & { status?: RunRow["status"] }) {
  const and = await pageWhere(args, (id) => prisma.payoutRun.findFirst({ where: { id, organizationId }, select: { createdAt: true } }));
  const rows = await prisma.payoutRun.findMany({
    where: { organizationId, ...(args.status ? { status: args.status } : {}), AND: and as Prisma.PayoutRunWhereInput[] },
    orderBy: NEWEST_FIRST,
    take: args.limit + 1,
  });
  return pageOf(rows, args.limit, runView);
}

/** True when the run exists in the organization (an operation's 404 before it acts). */
export async function runInOrganization(prisma: PrismaClient, organizationId: string, id: string): Promise<boolean> {
  return (await prisma.payoutRun.count({ where: { id, organizationId } })) === 1;
}

export async function getPayoutRunView(prisma: PrismaClient, db: SqlQueryable, organizationId: string, id: string): Promise<z.input<typeof R.PayoutRunDetail> | null> {
  const row = await prisma.payoutRun.findFirst({
    where: { id, organizationId },
    include: {
      transfers: { orderBy: [{ recipientId: "asc" }, { id: "asc" }] },
      batches: { orderBy: { batchIndex: "asc" }, include: { items: { orderBy: { position: "asc" }, select: { transferId: true } } } },
      approvals: { orderBy: [{ createdAt: "asc" }, { id: "asc" }], include: { apiKey: { select: { prefix: true } } } },
    },
  });
  if (!row) return null;
  const events = await loadBatchEvents(db, row.batches.map((b) => b.id));
  return {
    ...runView(row),
    transfers: row.transfers.map((t) => ({ id: t.id, recipientId: t.recipientId, ruleId: t.ruleId, tokenAccount: t.tokenAccount, amount: text(t.amount), correctsId: t.correctsId })),
    batches: row.batches.map((b) => {
      const history: BatchEventRow[] = events.get(b.id) ?? [];
      const newest = history[history.length - 1];
      const signed = [...history].reverse().find((e) => e.signature);
      return {
        id: b.id,
        batchIndex: b.batchIndex,
        recipientCount: b.recipientCount,
        total: text(b.total),
        planHash: b.planHash,
        transactionVersion: b.transactionVersion,
        supersedesId: b.supersedesId,
        status: newest?.status ?? null,
        signature: signed?.signature ?? null,
        transferIds: b.items.map((i) => i.transferId),
      };
    }),
    approvals: row.approvals.map((a) => ({
      decision: a.decision,
      by: a.bySystem ? "SYSTEM" : a.apiKeyId ? "API_KEY" : "OPERATOR",
      operatorId: a.operatorId,
      apiKeyPrefix: a.apiKey?.prefix ?? null,
      comment: a.comment,
      createdAt: iso(a.createdAt),
    })),
  };
}

// ------------------------------------------------------------------ balances

/** Each recipient's accrued balance and open clawback (as the compiler folds them) and what settled batches paid it. */
export async function listBalanceViews(prisma: PrismaClient, db: SqlQueryable, organizationId: string, args: ListArgs & { status?: RecipientRow["status"] }) {
  const page = await listRecipientViews(prisma, organizationId, args);
  const ids = page.data.map((r) => r.id);
  const { states } = await loadRecipientStates(db, organizationId, ids);
  const paid = await db.query<{ recipient_id: string; paid: string }>(sql`
    SELECT t.recipient_id, sum(t.amount)::text AS paid
    FROM payout_transfers t JOIN payout_runs r ON r.id = t.run_id
    JOIN split_batch_items i ON i.transfer_id = t.id
    JOIN split_batches b ON b.id = i.batch_id
    WHERE r.organization_id = ${organizationId}::uuid
      AND t.recipient_id IN (SELECT jsonb_array_elements_text(${JSON.stringify(ids)}::jsonb)::uuid)
      AND (SELECT e.status FROM split_batch_events e WHERE e.batch_id = b.id ORDER BY e.seq DESC LIMIT 1) = 'CONFIRMED'
    GROUP BY t.recipient_id`);
  const paidBy = new Map(paid.map((p) => [p.recipient_id, p.paid]));
  return {
    ...page,
    data: page.data.map((r): z.input<typeof R.RecipientBalance> => {
      const state = states.get(r.id);
      return {
        recipientId: r.id,
        name: r.name,
        status: r.status,
        balance: text(state?.balance ?? 0n),
        clawbackOwed: text(state?.clawbackOwed ?? 0n),
        paid: paidBy.get(r.id) ?? "0",
      };
    }),
  };
}
