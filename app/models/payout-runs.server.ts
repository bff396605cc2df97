// Payout runs as rows: compile succeeded payments (or a sweep of accrued balances) under the active
// policy into READY runs, their transfers and their balance entries, in the caller's transaction.
// On the driver, set-based (decision 006): a batch of payments costs a handful of statements, not a
// handful per payment. Per organization: its payout lock, the runs it already has, its policy, its
// recipients' ledger state and period-to-date sums (one statement each), then every payment compiled
// in memory in order, each seeing the balances the previous ones left; then one statement writes
// every run, transfer, balance entry and audit row of the batch.
import { randomUUID } from "node:crypto";
import type { Prisma, PrismaClient } from "~/generated/prisma/client";
import { distributableFromSettlement } from "~/ledger/money";
import { allocateClawback, ClawbackError, type ClawbackAllocation } from "~/ledger/policy-clawback";
import { PolicyError, type PolicyVersion, type RecipientState } from "~/ledger/policy";
import { compilePayout, type PayoutPlan } from "~/ledger/policy-compiler";
import { traceRecord } from "~/ledger/policy-trace";
import { sql, type SqlTransaction } from "~/utils/sql.server";
import type { RecordedPayment } from "./payments.server";
import { loadActivePolicy, loadPeriodToDate } from "./policies.server";
import { loadRecipientStates, type RecipientRow } from "./recipients.server";

type Tx = Prisma.TransactionClient;

/** sUSD, the default payout token, has 6 decimals (1 USD cent = 10,000 base units). */
export const DEFAULT_TOKEN_DECIMALS = 6;

export interface CompileRunOptions {
  tokenDecimals?: number;
  /** The compile's clock (runs' created_at and period-cap windows); default: now. */
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
async function lockOrganizationPayouts(tx: SqlTransaction, organizationId: string): Promise<void> {
  await tx.query(sql`SELECT pg_advisory_xact_lock(hashtextextended(${payoutLockKey(organizationId)}, 11))`);
}

/** The same lock from a Prisma transaction (refund clawbacks). */
async function lockOrganizationPayoutsPrisma(tx: Tx, organizationId: string): Promise<void> {
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${payoutLockKey(organizationId)}, 11))`;
}

const payoutLockKey = (organizationId: string) => `payouts:${organizationId}`;

/**
 * The rows a batch writes, gathered in memory and written by one statement (`flush`). Amounts travel as
 * decimal strings inside JSON and are cast to bigint by the database; ids are made here, so transfers
 * and entries can name their run before it is written.
 */
class RunRows {
  private runs: object[] = [];
  private transfers: object[] = [];
  private entries: object[] = [];
  private audits: object[] = [];

  hold(organizationId: string, paymentId: string | null, holdReason: string): CompiledRun {
    // A run's figures are fixed once written (the database enforces it), so a zero-figure placeholder
    // run would block the real one for ever; without it, compiling again once the cause is fixed works.
    this.audits.push({ organization_id: organizationId, action: "payout.held", entity_type: "payment", entity_id: paymentId ?? "sweep", data: { holdReason } });
    return { payoutRunId: null, created: false, holdReason, plan: null };
  }

  run(args: {
    organizationId: string;
    kind: "PAYMENT" | "SWEEP";
    paymentId: string | null;
    policy: PolicyVersion;
    plan: PayoutPlan;
    recipients: ReadonlyMap<string, RecipientRow>;
    tokenDecimals: number;
    now: Date;
  }): string {
    const { plan, policy, organizationId, paymentId, tokenDecimals } = args;
    const runId = randomUUID();
    this.runs.push({
      id: runId,
      organization_id: organizationId,
      kind: args.kind,
      payment_id: paymentId,
      policy_version_id: policy.id,
      token_decimals: tokenDecimals,
      distributable: plan.distributable.toString(),
      total_transfers: plan.totals.transferred.toString(),
      treasury_remainder: plan.remainder.toString(),
      // The compile's clock, not the database's: period caps count runs by this time, and a caller that
      // passes `now` (a replay, a test) gets windows that agree with it.
      created_at: args.now.toISOString(),
    });
    // Rows straight off the plan's columns (forEach*: no intermediate transfer or movement objects).
    plan.forEachTransfer((rule, amount) => {
      const tokenAccount = args.recipients.get(rule.recipientId)!.tokenAccount;
      this.transfers.push({ run_id: runId, recipient_id: rule.recipientId, rule_id: rule.id, token_account: tokenAccount, amount: amount.toString() });
    });
    const common = { organization_id: organizationId, token_decimals: tokenDecimals, payment_id: paymentId, payout_run_id: runId };
    plan.forEachBalanceMovement((rule, accrued, released, netted, outcome, holdReason) => {
      const recipient_id = rule.recipientId;
      if (accrued > 0n) this.entries.push({ ...common, recipient_id, kind: "ACCRUAL", amount: accrued.toString(), memo: holdReason });
      if (released > 0n) {
        const memo = outcome === "PAID" ? "paid with this run" : "netted against a clawback";
        this.entries.push({ ...common, recipient_id, kind: "ACCRUAL_PAID", amount: released.toString(), memo });
      }
      if (netted > 0n) this.entries.push({ ...common, recipient_id, kind: "CLAWBACK_NETTED", amount: netted.toString(), memo: null });
    });
    this.audits.push({
      organization_id: organizationId,
      action: "payout_run.compiled",
      entity_type: "payout_run",
      entity_id: runId,
      data: { paymentId, policyVersionId: policy.id, policyVersion: policy.version, ...traceRecord(plan, policy.rules.length) },
    });
    return runId;
  }

  /** Writes every gathered row in one statement; checks the database wrote exactly what was sent. */
  async flush(tx: SqlTransaction): Promise<void> {
    if (this.audits.length === 0) return; // every run and every hold has its audit row
    const sent = { runs: this.runs.length, transfers: this.transfers.length, entries: this.entries.length, audits: this.audits.length };
    const [written] = await tx.query<typeof sent>(sql`
      WITH runs AS (
        INSERT INTO payout_runs (id, organization_id, kind, payment_id, policy_version_id, status, token_decimals,
                                 distributable, total_transfers, treasury_remainder, created_at)
        SELECT x.id, x.organization_id, x.kind::payout_run_kind, x.payment_id, x.policy_version_id, 'READY', x.token_decimals,
               x.distributable, x.total_transfers, x.treasury_remainder, x.created_at
        FROM jsonb_to_recordset(${JSON.stringify(this.runs)}::jsonb) AS x(id uuid, organization_id uuid, kind text, payment_id uuid,
             policy_version_id uuid, token_decimals integer, distributable bigint, total_transfers bigint, treasury_remainder bigint,
             created_at timestamptz)
        RETURNING 1
      ), transfers AS (
        INSERT INTO payout_transfers (run_id, recipient_id, rule_id, token_account, amount)
        SELECT x.run_id, x.recipient_id, x.rule_id, x.token_account, x.amount
        FROM jsonb_to_recordset(${JSON.stringify(this.transfers)}::jsonb) AS x(run_id uuid, recipient_id uuid, rule_id uuid,
             token_account text, amount bigint)
        RETURNING 1
      ), entries AS (
        INSERT INTO recipient_balance_entries (organization_id, recipient_id, kind, amount, token_decimals, payment_id, payout_run_id, memo)
        SELECT x.organization_id, x.recipient_id, x.kind::balance_entry_kind, x.amount, x.token_decimals, x.payment_id, x.payout_run_id, x.memo
        FROM jsonb_to_recordset(${JSON.stringify(this.entries)}::jsonb) AS x(organization_id uuid, recipient_id uuid, kind text,
             amount bigint, token_decimals integer, payment_id uuid, payout_run_id uuid, memo text)
        RETURNING 1
      ), audits AS (
        INSERT INTO audit_log (organization_id, actor_type, action, entity_type, entity_id, data)
        SELECT x.organization_id, 'SYSTEM', x.action, x.entity_type, x.entity_id, x.data
        FROM jsonb_to_recordset(${JSON.stringify(this.audits)}::jsonb) AS x(organization_id uuid, action text, entity_type text,
             entity_id text, data jsonb)
        RETURNING 1
      )
      SELECT (SELECT count(*) FROM runs)::int AS runs, (SELECT count(*) FROM transfers)::int AS transfers,
             (SELECT count(*) FROM entries)::int AS entries, (SELECT count(*) FROM audits)::int AS audits`);
    if (!written || Object.entries(sent).some(([key, count]) => written[key as keyof typeof sent] !== count)) {
      throw new Error(`payout runs: the database wrote ${JSON.stringify(written)} of ${JSON.stringify(sent)} rows`);
    }
    this.runs = [];
    this.transfers = [];
    this.entries = [];
    this.audits = [];
  }
}

/**
 * One organization's payout state, read once under its lock: the active policy, its recipients'
 * balances and open clawbacks, and what each period-capped rule paid in its window. Each compile
 * carries its own effects forward (`apply`), so the next payment of the batch sees them exactly as if
 * it had read them back from the rows. Only compiles write accruals and nettings, and they hold this
 * lock, so the carried balances are exact; a clawback recorded meanwhile is netted by a later run.
 */
class OrganizationLedger {
  private constructor(
    readonly organizationId: string,
    readonly policy: PolicyVersion,
    private readonly periodDays: ReadonlyMap<string, number>,
    private readonly states: Map<string, RecipientState>,
    readonly recipients: ReadonlyMap<string, RecipientRow>,
    private readonly periodToDate: Map<string, bigint>,
  ) {}

  /** Null when the organization has no active policy. Call with the organization's lock held. */
  static async load(tx: SqlTransaction, organizationId: string, now: Date): Promise<OrganizationLedger | null> {
    const loaded = await loadActivePolicy(tx, organizationId);
    if (!loaded) return null;
    const { policy, periodDays } = loaded;
    const { states, rows } = await loadRecipientStates(tx, organizationId, policy.rules.map((rule) => rule.recipientId));
    const periodToDate = await loadPeriodToDate(tx, periodDays, now);
    return new OrganizationLedger(organizationId, policy, periodDays, states, rows, periodToDate);
  }

  compile(distributable: bigint): PayoutPlan {
    return compilePayout({ distributable, policy: this.policy, recipients: this.states, periodToDate: this.periodToDate });
  }

  /** The plan's effects on the state the next compile reads (Map.set keeps the id order the compiler merges on). */
  apply(plan: PayoutPlan): void {
    plan.forEachBalanceMovement((rule, accrued, released, netted) => {
      const state = this.states.get(rule.recipientId)!;
      this.states.set(rule.recipientId, { ...state, balance: state.balance + accrued - released, clawbackOwed: state.clawbackOwed - netted });
    });
    if (this.periodDays.size === 0) return;
    plan.forEachTransfer((rule, amount) => {
      if (this.periodDays.has(rule.id)) this.periodToDate.set(rule.id, (this.periodToDate.get(rule.id) ?? 0n) + amount);
    });
  }
}

const NO_ACTIVE_POLICY = "NO_ACTIVE_POLICY: the organization has no active payout policy";

/** Compile one run from the organization's current state, gather its rows and carry its effects. Null: a sweep with nothing to move. */
function compileRun(
  ledger: OrganizationLedger,
  rows: RunRows,
  args: { kind: "PAYMENT" | "SWEEP"; paymentId: string | null; distributable: bigint; tokenDecimals: number; now: Date },
): CompiledRun | null {
  let plan: PayoutPlan;
  try {
    plan = ledger.compile(args.distributable);
  } catch (error) {
    // A policy that no longer fits its recipients (one was removed after activation) is an operator's
    // problem to fix, not a reason to refuse the payment forever: hold the payment's run with the reason.
    if (error instanceof PolicyError && args.kind === "PAYMENT") {
      return rows.hold(ledger.organizationId, args.paymentId, `${error.code}: ${error.message}`);
    }
    throw error;
  }
  // From the totals (every term is >= 0): the per-line trace is only built for the audit row.
  const moves = plan.totals.transferred > 0n || plan.totals.accrued > 0n || plan.totals.balanceReleased > 0n || plan.totals.clawbackNetted > 0n;
  if (args.kind === "SWEEP" && !moves) return null;
  const payoutRunId = rows.run({ ...args, organizationId: ledger.organizationId, policy: ledger.policy, plan, recipients: ledger.recipients });
  ledger.apply(plan);
  return { payoutRunId, created: true, holdReason: null, plan };
}

/**
 * Compile the payout runs of payments that succeeded, inside the caller's transaction: idempotent per
 * payment (one that has its run gets it back, created: false), no network, throws on failure so the
 * caller rolls back and retries. Results are in the order of `payments`; within an organization the
 * payments compile in that order (thresholds and caps depend on it). A settlement the payout token
 * cannot represent exactly (any currency but USD), no active policy, or a policy that no longer fits its
 * recipients holds the payment: an audit row with the reason, no run.
 */
export async function compilePaymentRuns(
  tx: SqlTransaction,
  payments: readonly RecordedPayment[],
  options: CompileRunOptions = {},
): Promise<CompiledRun[]> {
  const tokenDecimals = options.tokenDecimals ?? DEFAULT_TOKEN_DECIMALS;
  const now = options.now ?? new Date();
  const results = new Array<CompiledRun>(payments.length);
  const byOrganization = new Map<string, number[]>();
  const seen = new Set<string>();
  payments.forEach((payment, index) => {
    if (seen.has(payment.id)) throw new Error(`payout runs: payment ${payment.id} appears twice in one compile`);
    seen.add(payment.id);
    const indices = byOrganization.get(payment.organizationId);
    if (indices) indices.push(index);
    else byOrganization.set(payment.organizationId, [index]);
  });
  const rows = new RunRows();
  // Locks in organization id order: two transactions compiling the same organizations cannot deadlock.
  for (const organizationId of [...byOrganization.keys()].sort()) {
    const indices = byOrganization.get(organizationId)!;
    await lockOrganizationPayouts(tx, organizationId);
    const existing = new Map(
      (
        await tx.query<{ payment_id: string; id: string }>(sql`
          SELECT payment_id, id FROM payout_runs
          WHERE payment_id IN (SELECT jsonb_array_elements_text(${JSON.stringify(indices.map((i) => payments[i]!.id))}::jsonb)::uuid)`)
      ).map((row) => [row.payment_id, row.id]),
    );
    let ledger: OrganizationLedger | null | undefined;
    for (const index of indices) {
      const payment = payments[index]!;
      const runId = existing.get(payment.id);
      if (runId) {
        results[index] = { payoutRunId: runId, created: false, holdReason: null, plan: null };
        continue;
      }
      const settlement = distributableFromSettlement(
        { settlementAmount: payment.settlementAmountMinor, settlementCurrency: payment.settlementCurrency },
        tokenDecimals,
      );
      if ("held" in settlement) {
        results[index] = rows.hold(organizationId, payment.id, `${settlement.held.reason}: ${settlement.held.message}`);
        continue;
      }
      if (ledger === undefined) ledger = await OrganizationLedger.load(tx, organizationId, now);
      results[index] = ledger
        ? compileRun(ledger, rows, { kind: "PAYMENT", paymentId: payment.id, distributable: settlement.ok, tokenDecimals, now })!
        : rows.hold(organizationId, payment.id, NO_ACTIVE_POLICY);
    }
  }
  await rows.flush(tx);
  return results;
}

/** One payment's run (see compilePaymentRuns). */
export async function compilePayoutRunForPayment(tx: SqlTransaction, payment: RecordedPayment, options: CompileRunOptions = {}): Promise<CompiledRun> {
  const [result] = await compilePaymentRuns(tx, [payment], options);
  return result!;
}

/**
 * Pay out accrued balances that have reached their thresholds (a run with nothing distributable),
 * e.g. after a recipient is resumed or verified. Returns null when nothing would move.
 */
export async function compileSweepRun(
  db: { transaction<T>(fn: (tx: SqlTransaction) => Promise<T>): Promise<T> },
  args: { organizationId: string } & CompileRunOptions,
): Promise<CompiledRun | null> {
  return db.transaction(async (tx) => {
    const now = args.now ?? new Date();
    await lockOrganizationPayouts(tx, args.organizationId);
    const ledger = await OrganizationLedger.load(tx, args.organizationId, now);
    if (!ledger) return null;
    const rows = new RunRows();
    const tokenDecimals = args.tokenDecimals ?? DEFAULT_TOKEN_DECIMALS;
    const run = compileRun(ledger, rows, { kind: "SWEEP", paymentId: null, distributable: 0n, tokenDecimals, now });
    await rows.flush(tx);
    return run;
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
  await lockOrganizationPayoutsPrisma(tx, run.organizationId);
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
