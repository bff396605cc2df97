// Payout runs as rows: compile succeeded payments (or a sweep of accrued balances) under the active
// policy into READY runs, their transfers and their balance entries, in the caller's transaction, and keep
// each payment's run following its payout basis (refunds, disputes, reviews: payout-reconcile.server.ts).
// On the driver, set-based (decision 006): a batch of payments costs a handful of statements, not a
// handful per payment. Per organization: its payout lock, the live runs its payments already have, the
// reconciliation of those whose basis moved, its policy, its recipients' ledger state and period-to-date
// shares (one statement each), then every payment compiled in memory in order, each seeing the balances
// the previous ones left; then one statement writes every run, transfer, balance entry and audit row.
import type { Prisma, PrismaClient } from "~/generated/prisma/client";
import { distributableFromSettlement } from "~/ledger/money";
import { PolicyError } from "~/ledger/policy";
import type { PayoutPlan } from "~/ledger/policy-compiler";
import { payoutWindowOf } from "~/ledger/payout-schedule";
import type { SqlTransaction } from "~/utils/sql.server";
import type { RecordedPayment } from "./payments.server";
import { lockOrganizationPayouts, OrganizationLedger } from "./payout-ledger.server";
import {
  cancelRunsCascading,
  isProvisional,
  loadLiveRuns,
  reconcileClawbacks,
  type ExecutedRunTarget,
  type LiveRun,
} from "./payout-reconcile.server";
import { RunRows, type CompiledRun, type PayoutRunKind } from "./payout-run-rows.server";

export type { CompiledRun } from "./payout-run-rows.server";
export { lockOrganizationPayouts } from "./payout-ledger.server";

type Tx = Prisma.TransactionClient;

/** sUSD, the default payout token, has 6 decimals (1 USD cent = 10,000 base units). */
export const DEFAULT_TOKEN_DECIMALS = 6;

export interface CompileRunOptions {
  tokenDecimals?: number;
  /** The compile's clock (runs' created_at, period-cap windows, schedule windows); default: now. */
  now?: Date;
}

const NO_ACTIVE_POLICY = "NO_ACTIVE_POLICY: the organization has no active payout policy";
const NOTHING_TO_PAY = "NOTHING_TO_PAY: everything the payment settled was refunded or lost";

/** What a payment distributes now in token units, or why it cannot be compiled (a hold, nothing left). */
function targetOf(payment: RecordedPayment, tokenDecimals: number): { ok: bigint } | { held: string } {
  if (payment.payoutHold) return { held: `${payment.payoutHold}: the payment's payout waits (see its disputes and reviews)` };
  return figureOf(payment, tokenDecimals);
}

/** The same, leaving the payout hold aside: the figure a run of the payment must have. */
function figureOf(payment: RecordedPayment, tokenDecimals: number): { ok: bigint } | { held: string } {
  const settlement = distributableFromSettlement(
    { settlementAmount: payment.netSettlementMinor, settlementCurrency: payment.settlementCurrency },
    tokenDecimals,
  );
  if ("held" in settlement) return { held: `${settlement.held.reason}: ${settlement.held.message}` };
  const deducted = payment.settlementAmountMinor !== null && payment.netSettlementMinor !== null && payment.netSettlementMinor < payment.settlementAmountMinor;
  if (settlement.ok === 0n && deducted) return { held: NOTHING_TO_PAY };
  return settlement;
}

/** Compile one run from the organization's current state, gather its rows and carry its effects. Null: a sweep with nothing to move. */
export function compileRun(
  ledger: OrganizationLedger,
  rows: RunRows,
  args: {
    kind: PayoutRunKind;
    paymentId: string | null;
    distributable: bigint;
    tokenDecimals: number;
    now: Date;
    supersedesRunId?: string | null;
    payoutWindowId?: string | null;
  },
): CompiledRun | null {
  let plan: PayoutPlan;
  try {
    plan = ledger.compile(args.distributable, args.kind === "ACCRUAL");
  } catch (error) {
    // A policy that no longer fits its recipients (one was removed after activation) is an operator's
    // problem to fix, not a reason to refuse the payment forever: hold the payment's run with the reason.
    if (error instanceof PolicyError && args.kind !== "SWEEP") {
      return rows.hold(ledger.organizationId, args.paymentId, `${error.code}: ${error.message}`);
    }
    throw error;
  }
  // From the totals (every term is >= 0): the per-line trace is only built for the audit row.
  const moves = plan.totals.transferred > 0n || plan.totals.accrued > 0n || plan.totals.balanceReleased > 0n || plan.totals.clawbackNetted > 0n;
  if (args.kind === "SWEEP" && !moves) return null;
  const payoutRunId = rows.run({
    ...args,
    organizationId: ledger.organizationId,
    policy: ledger.policy,
    plan,
    recipients: ledger.recipients,
    cappedRules: ledger.cappedRules,
  });
  ledger.apply(plan);
  if (args.kind === "ACCRUAL" && ledger.schedule !== "INSTANT") {
    rows.ensureWindow(ledger.organizationId, payoutWindowOf(args.now, ledger.schedule, ledger.timeZone));
  }
  return { payoutRunId, created: true, holdReason: null, plan };
}

/**
 * Reconciles the live runs of one organization's payments with their bases, before anything compiles:
 * cancels the ones not executing whose figures no longer match (and what cascades from them), brings the
 * clawbacks of executed ones up to date. Returns the live runs left, and the run each payment supersedes.
 */
async function reconcileLiveRuns(
  tx: SqlTransaction,
  organizationId: string,
  batch: readonly RecordedPayment[],
  rows: RunRows,
): Promise<{ live: Map<string, LiveRun>; superseded: Map<string, string> }> {
  const { live, previous } = await loadLiveRuns(tx, batch.map((payment) => payment.id));
  const toCancel: { id: string; reason: string }[] = [];
  const executed: ExecutedRunTarget[] = [];
  for (const payment of batch) {
    const run = live.get(payment.id);
    if (!run) continue;
    if (isProvisional(run)) {
      const figure = figureOf(payment, run.tokenDecimals);
      // A held payment (an open dispute, a review) has no run waiting to be paid: its shares would sit in
      // balances that other runs pay out (and an accrual's, in what its window's sweep pays). It is compiled
      // again, linked to this one, once released.
      if (payment.payoutHold !== null) toCancel.push({ id: run.id, reason: `HELD: ${payment.payoutHold}` });
      else if (!("ok" in figure) || figure.ok !== run.distributable) {
        const to = "ok" in figure ? figure.ok.toString() : figure.held;
        toCancel.push({ id: run.id, reason: `PAYOUT_BASIS_CHANGED: distributable ${run.distributable} -> ${to}` });
      }
    } else {
      const net = distributableFromSettlement({ settlementAmount: payment.netSettlementMinor, settlementCurrency: payment.settlementCurrency }, run.tokenDecimals);
      executed.push({ run, target: "ok" in net ? net.ok : 0n });
    }
  }
  // Each new run of a payment names the run it replaces: cancelled now, or earlier (while the payment was held).
  const superseded = new Map(previous);
  if (toCancel.length > 0) {
    const cancelled = await cancelRunsCascading(tx, organizationId, toCancel, rows, new Set(batch.map((payment) => payment.id)));
    for (const run of cancelled) {
      if (run.paymentId === null) continue;
      live.delete(run.paymentId);
      superseded.set(run.paymentId, run.id);
    }
  }
  await reconcileClawbacks(tx, organizationId, executed, rows);
  return { live, superseded };
}

/**
 * Compile (or reconcile) the payout runs of succeeded payments, inside the caller's transaction: idempotent
 * per payment (one whose live run matches its basis gets it back, created: false), no network, throws on
 * failure so the caller rolls back and retries. Results are in the order of `payments`; within an
 * organization the payments compile in that order (thresholds and caps depend on it). A settlement the
 * payout token cannot represent exactly (any currency but USD), no active policy, a policy that no longer
 * fits its recipients, or a payout hold (an open dispute, a review) holds the payment: an audit row with
 * the reason, no run. A payment of a scheduled policy compiles an ACCRUAL run (its shares accrue; the
 * window's sweep pays them, payout-windows.server.ts).
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
    const batch = indices.map((i) => payments[i]!);
    const { live, superseded } = await reconcileLiveRuns(tx, organizationId, batch, rows);
    let ledger: OrganizationLedger | null | undefined;
    for (const index of indices) {
      const payment = payments[index]!;
      const run = live.get(payment.id);
      if (run) {
        // Its figures match the basis and nothing holds it (reconcileLiveRuns cancelled it otherwise).
        results[index] = { payoutRunId: run.id, created: false, holdReason: null, plan: null };
        continue;
      }
      const target = targetOf(payment, tokenDecimals);
      if ("held" in target) {
        results[index] = rows.hold(organizationId, payment.id, target.held);
        continue;
      }
      if (ledger === undefined) ledger = await OrganizationLedger.load(tx, organizationId, now);
      if (!ledger) {
        results[index] = rows.hold(organizationId, payment.id, NO_ACTIVE_POLICY);
        continue;
      }
      results[index] = compileRun(ledger, rows, {
        kind: ledger.schedule === "INSTANT" ? "PAYMENT" : "ACCRUAL",
        paymentId: payment.id,
        distributable: target.ok,
        tokenDecimals,
        now,
        supersedesRunId: superseded.get(payment.id) ?? null,
      })!;
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

