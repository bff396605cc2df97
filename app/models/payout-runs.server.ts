// Payout runs as rows: compile a succeeded payment (or a sweep of accrued balances) under the active
// policy into a READY run, its transfers and its balance entries, in the caller's transaction.
import type { Prisma, PrismaClient } from "~/generated/prisma/client";
import { distributableFromSettlement } from "~/ledger/money";
import { allocateClawback, ClawbackError, type ClawbackAllocation } from "~/ledger/policy-clawback";
import { PolicyError } from "~/ledger/policy";
import { compilePayout, type PayoutPlan } from "~/ledger/policy-compiler";
import type { RecordedPayment } from "./payments.server";
import { loadActivePolicy, loadPeriodToDate } from "./policies.server";
import { loadRecipientStates } from "./recipients.server";

type Tx = Prisma.TransactionClient;

/** sUSD, the default payout token, has 6 decimals (1 USD cent = 10,000 base units). */
export const DEFAULT_TOKEN_DECIMALS = 6;

export interface CompileRunOptions {
  tokenDecimals?: number;
  now?: Date;
}

export interface CompiledRun {
  /** Null when the payment is held: no run is written, so compiling again later (after the fix) works. */
  payoutRunId: string | null;
  /** False when the payment already had its run (a redelivery, or a second succeeded event). */
  created: boolean;
  /** Why nothing was compiled (unsupported currency, no active policy, a policy that no longer fits). */
  holdReason: string | null;
  /** The compiler's plan, when this call compiled one. */
  plan: PayoutPlan | null;
}

/**
 * Compiles in one organization are serialised: two runs reading the same accrued balance at once
 * would both pay it out. A transaction-scoped advisory lock, released at commit or rollback.
 */
async function lockOrganizationPayouts(tx: Tx, organizationId: string): Promise<void> {
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${`payouts:${organizationId}`}, 11))`;
}

/**
 * A payment that cannot be compiled now is held: an audit row with the reason, and no run. A run's
 * figures are fixed once written (the database enforces it), so a zero-figure placeholder run would
 * block the real one for ever; without it, compiling again once the operator fixed the cause works.
 */
async function holdPayment(
  tx: Tx,
  args: { organizationId: string; paymentId: string | null; holdReason: string },
): Promise<CompiledRun> {
  await tx.auditLog.create({
    data: {
      organizationId: args.organizationId,
      actorType: "SYSTEM",
      action: "payout.held",
      entityType: "payment",
      entityId: args.paymentId ?? "sweep",
      data: { holdReason: args.holdReason },
    },
  });
  return { payoutRunId: null, created: false, holdReason: args.holdReason, plan: null };
}

/** Beyond this many lines the audit row keeps the totals only; the rows of the run hold every amount. */
const AUDIT_TRACE_MAX_LINES = 10_000;

/** JSON has no bigint: the audit trace carries amounts as decimal strings of base units. */
function traceForAudit(plan: PayoutPlan, lineCount: number) {
  const complete = lineCount <= AUDIT_TRACE_MAX_LINES;
  return {
    distributable: plan.distributable.toString(),
    remainder: plan.remainder.toString(),
    totals: Object.fromEntries(Object.entries(plan.totals).map(([key, value]) => [key, value.toString()])),
    lineCount,
    lines: (complete ? plan.lines : []).map((line) =>
      Object.fromEntries(Object.entries(line).map(([key, value]) => [key, typeof value === "bigint" ? value.toString() : value])),
    ),
  };
}

async function compileRun(
  tx: Tx,
  args: { organizationId: string; kind: "PAYMENT" | "SWEEP"; paymentId: string | null; distributable: bigint; tokenDecimals: number; now: Date },
): Promise<CompiledRun | null> {
  const loaded = await loadActivePolicy(tx, args.organizationId);
  if (!loaded) {
    if (args.kind === "SWEEP") return null;
    return holdPayment(tx, { ...args, holdReason: "NO_ACTIVE_POLICY: the organization has no active payout policy" });
  }
  const { policy, periodDays } = loaded;
  const recipientIds = policy.rules.map((rule) => rule.recipientId);
  const { states, rows } = await loadRecipientStates(tx, args.organizationId, recipientIds);
  const periodToDate = await loadPeriodToDate(tx, periodDays, args.now);
  let plan: PayoutPlan;
  try {
    plan = compilePayout({ distributable: args.distributable, policy, recipients: states, periodToDate });
  } catch (error) {
    // A policy that no longer fits its recipients (one was removed after activation) is an operator's
    // problem to fix, not a reason to refuse the webhook forever: hold the payment's run with the reason.
    if (error instanceof PolicyError && args.kind === "PAYMENT") {
      return holdPayment(tx, { ...args, holdReason: `${error.code}: ${error.message}` });
    }
    throw error;
  }
  // From the totals (every term is >= 0): the per-line trace is only built for the audit row below.
  const moves = plan.totals.transferred > 0n || plan.totals.accrued > 0n || plan.totals.balanceReleased > 0n || plan.totals.clawbackNetted > 0n;
  if (args.kind === "SWEEP" && !moves) return null;

  const run = await tx.payoutRun.create({
    data: {
      organizationId: args.organizationId,
      kind: args.kind,
      paymentId: args.paymentId,
      policyVersionId: policy.id,
      status: "READY",
      tokenDecimals: args.tokenDecimals,
      distributable: plan.distributable,
      totalTransfers: plan.totals.transferred,
      treasuryRemainder: plan.remainder,
      // The compile's clock, not the database's: period caps count runs by this time, and a caller that
      // passes `now` (a replay, a test) gets windows that agree with it.
      createdAt: args.now,
    },
  });
  // Rows straight off the plan's columns (forEach*: no intermediate transfer or movement objects).
  const transferRows: Prisma.PayoutTransferCreateManyInput[] = [];
  plan.forEachTransfer((rule, amount) => {
    transferRows.push({ runId: run.id, recipientId: rule.recipientId, ruleId: rule.id, tokenAccount: rows.get(rule.recipientId)!.tokenAccount, amount });
  });
  if (transferRows.length > 0) await tx.payoutTransfer.createMany({ data: transferRows });
  const entries: Prisma.RecipientBalanceEntryCreateManyInput[] = [];
  const common = { organizationId: args.organizationId, tokenDecimals: args.tokenDecimals, paymentId: args.paymentId, payoutRunId: run.id };
  plan.forEachBalanceMovement((rule, accrued, released, netted, outcome, holdReason) => {
    const { recipientId } = rule;
    if (accrued > 0n) entries.push({ ...common, recipientId, kind: "ACCRUAL", amount: accrued, memo: holdReason });
    if (released > 0n) {
      const memo = outcome === "PAID" ? "paid with this run" : "netted against a clawback";
      entries.push({ ...common, recipientId, kind: "ACCRUAL_PAID", amount: released, memo });
    }
    if (netted > 0n) entries.push({ ...common, recipientId, kind: "CLAWBACK_NETTED", amount: netted, memo: null });
  });
  if (entries.length > 0) await tx.recipientBalanceEntry.createMany({ data: entries });
  await tx.auditLog.create({
    data: {
      organizationId: args.organizationId,
      actorType: "SYSTEM",
      action: "payout_run.compiled",
      entityType: "payout_run",
      entityId: run.id,
      data: { paymentId: args.paymentId, policyVersionId: policy.id, policyVersion: policy.version, ...traceForAudit(plan, policy.rules.length) },
    },
  });
  return { payoutRunId: run.id, created: true, holdReason: null, plan };
}

/**
 * Compile the payout run of a payment that just succeeded, inside the caller's transaction (the
 * webhook's): idempotent per payment, no network, throws on failure so the webhook answers 5xx.
 * A settlement the payout token cannot represent exactly (any currency but USD), no active policy, or a
 * policy that no longer fits its recipients holds the payment (see holdPayment) instead of guessing.
 */
export async function compilePayoutRunForPayment(tx: Tx, payment: RecordedPayment, options: CompileRunOptions = {}): Promise<CompiledRun> {
  await lockOrganizationPayouts(tx, payment.organizationId);
  const existing = await tx.payoutRun.findUnique({ where: { paymentId: payment.id } });
  if (existing) return { payoutRunId: existing.id, created: false, holdReason: null, plan: null };
  const tokenDecimals = options.tokenDecimals ?? DEFAULT_TOKEN_DECIMALS;
  const base = { organizationId: payment.organizationId, kind: "PAYMENT" as const, paymentId: payment.id, tokenDecimals };
  const settlement = distributableFromSettlement(
    { settlementAmount: payment.settlementAmountMinor, settlementCurrency: payment.settlementCurrency },
    tokenDecimals,
  );
  if ("held" in settlement) return holdPayment(tx, { ...base, holdReason: `${settlement.held.reason}: ${settlement.held.message}` });
  const run = await compileRun(tx, { ...base, distributable: settlement.ok, now: options.now ?? new Date() });
  return run!;
}

/**
 * Pay out accrued balances that have reached their thresholds (a run with nothing distributable),
 * e.g. after a recipient is resumed or verified. Returns null when nothing would move.
 */
export async function compileSweepRun(prisma: PrismaClient, args: { organizationId: string } & CompileRunOptions): Promise<CompiledRun | null> {
  return prisma.$transaction(async (tx) => {
    await lockOrganizationPayouts(tx, args.organizationId);
    return compileRun(tx, {
      organizationId: args.organizationId,
      kind: "SWEEP",
      paymentId: null,
      distributable: 0n,
      tokenDecimals: args.tokenDecimals ?? DEFAULT_TOKEN_DECIMALS,
      now: args.now ?? new Date(),
    });
  });
}

/** A run with its transfers, for pages and the settlement queue. */
export async function getPayoutRun(db: PrismaClient | Tx, payoutRunId: string) {
  return db.payoutRun.findUnique({
    where: { id: payoutRunId },
    include: { transfers: { orderBy: { recipientId: "asc" } } },
  });
}

export type RefundClawbackResult =
  | { outcome: "NO_RUN" }
  | { outcome: "RUN_NOT_SETTLED"; payoutRunId: string; status: string }
  | { outcome: "ALREADY_RECORDED"; payoutRunId: string }
  | { outcome: "RECORDED"; payoutRunId: string; clawbacks: ClawbackAllocation[] };

/**
 * After a settled payment is refunded (or a dispute on it is lost), record what each recipient owes
 * back: their share of the payment in proportion to the refund (see allocateClawback), as CLAWBACK
 * entries that later runs net. `refunded` is in token base units. Idempotent per refund / dispute id
 * (one is required); the caller runs it in the transaction that records the refund or dispute.
 * A run not SETTLED yet is left to the run lifecycle (cancel or shrink before paying): RUN_NOT_SETTLED.
 */
export async function recordRefundClawbacks(
  tx: Tx,
  args: { paymentId: string; refunded: bigint; refundId?: string; disputeId?: string },
): Promise<RefundClawbackResult> {
  // The refund or dispute id is the idempotency key: without one a redelivery would claw back twice.
  if (!args.refundId && !args.disputeId) throw new ClawbackError("a clawback needs the refund or dispute it comes from");
  const run = await tx.payoutRun.findUnique({ where: { paymentId: args.paymentId } });
  if (!run) return { outcome: "NO_RUN" };
  await lockOrganizationPayouts(tx, run.organizationId);
  if (run.status !== "SETTLED") return { outcome: "RUN_NOT_SETTLED", payoutRunId: run.id, status: run.status };
  const source = args.refundId ? { refundId: args.refundId } : { disputeId: args.disputeId! };
  const recorded = await tx.recipientBalanceEntry.count({ where: { kind: "CLAWBACK", paymentId: args.paymentId, ...source } });
  if (recorded > 0) return { outcome: "ALREADY_RECORDED", payoutRunId: run.id };
  // Each recipient's share of the payment, rebuilt from the run's rows by the compiler's per-line
  // identity: share = transfer + accrued + clawbackNetted - balanceReleased.
  const shares = new Map<string, bigint>();
  const add = (recipientId: string, amount: bigint) => shares.set(recipientId, (shares.get(recipientId) ?? 0n) + amount);
  for (const transfer of await tx.payoutTransfer.findMany({ where: { runId: run.id } })) add(transfer.recipientId, transfer.amount);
  for (const entry of await tx.recipientBalanceEntry.findMany({ where: { payoutRunId: run.id } })) {
    add(entry.recipientId, entry.kind === "ACCRUAL_PAID" ? -entry.amount : entry.amount);
  }
  const clawbacks = allocateClawback({
    refunded: args.refunded,
    distributable: run.distributable,
    shares: [...shares].map(([recipientId, share]) => ({ recipientId, share })),
  });
  if (clawbacks.length > 0) {
    await tx.recipientBalanceEntry.createMany({
      data: clawbacks.map((clawback) => ({
        organizationId: run.organizationId,
        recipientId: clawback.recipientId,
        kind: "CLAWBACK" as const,
        amount: clawback.amount,
        tokenDecimals: run.tokenDecimals,
        paymentId: args.paymentId,
        refundId: args.refundId ?? null,
        disputeId: args.disputeId ?? null,
        memo: `clawback of run ${run.id}`,
      })),
    });
  }
  return { outcome: "RECORDED", payoutRunId: run.id, clawbacks };
}
