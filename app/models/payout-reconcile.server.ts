// A payment's payout runs follow its payout basis (decision 009). When the basis moves (a refund, a lost or
// won dispute, an operator's review), the worker reconciles the payment's live run, by its state:
// - not executing yet (READY, APPROVED, FAILED): cancelled (its balance entries become void) and compiled
//   again for the new basis, linked to the old one; while the payment is held (an open dispute, a review)
//   it has no such run at all, and is compiled again when released. A later run that already paid out a balance the
//   cancelled run accrued is cancelled too (and its payment or window compiled again), so no transfer
//   still waiting carries money that went back; one already executing keeps it as a debt (a clawback)
//   that later runs net.
// - EXECUTING, SETTLED or PARTIAL: the money is gone; the recipients owe back their part of the deduction,
//   in proportion to what each was allocated from the payment (allocateClawback: the compiler's
//   largest-remainder rounding, conserving to the unit, the treasury bearing its own part). Recorded as
//   the difference to what the run's clawbacks already say, so every order of events ends in the same
//   clawbacks, and a basis that rises again (a dispute won on appeal) reverses them.
// Everything here runs under the organization's payout lock, in the compile's transaction.
import { allocateClawback } from "~/ledger/policy-clawback";
import { sql, type SqlTransaction } from "~/utils/sql.server";
import type { RunRows } from "./payout-run-rows.server";

export const PROVISIONAL_STATUSES = ["READY", "APPROVED", "FAILED"] as const;
export const EXECUTED_STATUSES = ["EXECUTING", "SETTLED", "PARTIAL"] as const;

export interface LiveRun {
  id: string;
  paymentId: string;
  kind: "PAYMENT" | "SWEEP" | "ACCRUAL";
  status: string;
  distributable: bigint;
  tokenDecimals: number;
  holdReason: string | null;
}

export function isProvisional(run: Pick<LiveRun, "status">): boolean {
  return (PROVISIONAL_STATUSES as readonly string[]).includes(run.status);
}

/**
 * The live (not cancelled) run of each payment, by payment id, and the newest cancelled run of each
 * payment that has no live one (the run a new compile supersedes). The runs are locked (FOR UPDATE) for
 * the rest of the transaction: an executor moving one to EXECUTING waits, so the reconciliation decides on
 * statuses that cannot change under it.
 */
export async function loadLiveRuns(
  tx: SqlTransaction,
  paymentIds: readonly string[],
): Promise<{ live: Map<string, LiveRun>; previous: Map<string, string> }> {
  const rows = await tx.query<{
    id: string;
    payment_id: string;
    kind: LiveRun["kind"];
    status: string;
    distributable: string;
    token_decimals: number;
    hold_reason: string | null;
  }>(sql`
    SELECT id, payment_id, kind::text AS kind, status::text AS status, distributable::text AS distributable, token_decimals, hold_reason
    FROM payout_runs
    WHERE payment_id IN (SELECT jsonb_array_elements_text(${JSON.stringify(paymentIds)}::jsonb)::uuid)
    ORDER BY payment_id, seq
    FOR UPDATE`);
  // In compile order: the last cancelled one of a payment is the one its next run supersedes.
  const previous = new Map<string, string>();
  for (const row of rows) if (row.status === "CANCELLED") previous.set(row.payment_id, row.id);
  for (const row of rows) if (row.status !== "CANCELLED") previous.delete(row.payment_id);
  const live = new Map(
    rows.filter((row) => row.status !== "CANCELLED").map((row) => [
      row.payment_id,
      {
        id: row.id,
        paymentId: row.payment_id,
        kind: row.kind,
        status: row.status,
        distributable: BigInt(row.distributable),
        tokenDecimals: row.token_decimals,
        holdReason: row.hold_reason,
      },
    ]),
  );
  return { live, previous };
}

export interface CancelledRun {
  id: string;
  paymentId: string | null;
  kind: string;
  payoutWindowId: string | null;
}

/**
 * Cancels `runs` (not yet executing) and, round by round, every later run not yet executing that paid out
 * a balance one of them accrued. Cancelled payment runs outside `batchPaymentIds` are asked again in the
 * outbox; cancelled sweeps reopen their window. Audited. Returns every run cancelled.
 */
export async function cancelRunsCascading(
  tx: SqlTransaction,
  organizationId: string,
  runs: readonly { id: string; reason: string }[],
  rows: RunRows,
  batchPaymentIds: ReadonlySet<string>,
): Promise<CancelledRun[]> {
  const all: CancelledRun[] = [];
  let frontier = runs;
  while (frontier.length > 0) {
    const cancelled = await tx.query<{ id: string; payment_id: string | null; kind: string; payout_window_id: string | null }>(sql`
      UPDATE payout_runs r SET status = 'CANCELLED', cancel_reason = left(x.reason, 500), updated_at = now()
      FROM jsonb_to_recordset(${JSON.stringify(frontier)}::jsonb) AS x(id uuid, reason text)
      WHERE r.id = x.id AND r.status IN ('READY', 'APPROVED', 'FAILED')
      RETURNING r.id, r.payment_id, r.kind::text AS kind, r.payout_window_id`);
    const reasons = new Map(frontier.map((run) => [run.id, run.reason]));
    for (const run of cancelled) {
      all.push({ id: run.id, paymentId: run.payment_id, kind: run.kind, payoutWindowId: run.payout_window_id });
      rows.audit(organizationId, "payout_run.cancelled", "payout_run", run.id, { paymentId: run.payment_id, reason: reasons.get(run.id) });
    }
    if (cancelled.length === 0) break;
    // Later runs (compile order) not yet executing that released a balance the cancelled ones accrued.
    const later = await tx.query<{ id: string; because: string }>(sql`
      SELECT DISTINCT ON (later.id) later.id, gone.id AS because
      FROM recipient_balance_entries acc
      JOIN payout_runs gone ON gone.id = acc.payout_run_id
      JOIN recipient_balance_entries rel ON rel.recipient_id = acc.recipient_id AND rel.kind = 'ACCRUAL_PAID'
      JOIN payout_runs later ON later.id = rel.payout_run_id
      WHERE acc.payout_run_id IN (SELECT jsonb_array_elements_text(${JSON.stringify(cancelled.map((run) => run.id))}::jsonb)::uuid)
        AND acc.kind = 'ACCRUAL' AND later.seq > gone.seq AND later.status IN ('READY', 'APPROVED', 'FAILED')
      ORDER BY later.id, gone.seq`);
    frontier = later.map((run) => ({ id: run.id, reason: `CASCADE: it paid out balances accrued by run ${run.because}, cancelled` }));
  }
  const outside = all.filter((run) => run.paymentId !== null && !batchPaymentIds.has(run.paymentId)).map((run) => run.paymentId!);
  if (outside.length > 0) {
    // A request another worker holds right now is pending already: it compiles after this commit.
    await tx.query(sql`
      UPDATE payout_run_requests SET completed_at = NULL, payout_run_id = NULL, hold_reason = NULL, attempts = 0,
             last_error = NULL, dead_at = NULL, available_at = now()
      WHERE id IN (SELECT id FROM payout_run_requests
                   WHERE payment_id IN (SELECT jsonb_array_elements_text(${JSON.stringify(outside)}::jsonb)::uuid)
                   FOR UPDATE SKIP LOCKED)`);
  }
  const windows = all.filter((run) => run.payoutWindowId !== null).map((run) => run.payoutWindowId!);
  if (windows.length > 0) {
    await tx.query(sql`
      UPDATE payout_windows SET closed_at = NULL, sweep_run_id = NULL, available_at = now(), attempts = 0, last_error = NULL
      WHERE id IN (SELECT jsonb_array_elements_text(${JSON.stringify(windows)}::jsonb)::uuid)`);
  }
  return all;
}

export interface ExecutedRunTarget {
  run: LiveRun;
  /** What the payment distributes now, in the run's token units. */
  target: bigint;
}

/**
 * The clawbacks of executed runs brought to what their payments' bases say (see the file comment). One
 * statement to read every run's shares and clawbacks, one to write the differences. A basis that rose
 * above what its run distributed is a shortfall for an operator: audited, no clawback.
 */
export async function reconcileClawbacks(
  tx: SqlTransaction,
  organizationId: string,
  targets: readonly ExecutedRunTarget[],
  rows: RunRows,
): Promise<void> {
  if (targets.length === 0) return;
  const runIds = JSON.stringify(targets.map((t) => t.run.id));
  const found = await tx.query<{ run_id: string; recipient_id: string; share: string; clawed: string }>(sql`
    WITH ids AS (SELECT jsonb_array_elements_text(${runIds}::jsonb)::uuid AS id),
    parts AS (
      SELECT t.run_id, t.recipient_id, t.amount AS share, 0::bigint AS clawed FROM payout_transfers t WHERE t.run_id IN (SELECT id FROM ids)
      UNION ALL
      SELECT e.payout_run_id, e.recipient_id,
             CASE e.kind WHEN 'ACCRUAL' THEN e.amount WHEN 'CLAWBACK_NETTED' THEN e.amount WHEN 'ACCRUAL_PAID' THEN -e.amount ELSE 0 END, 0
      FROM recipient_balance_entries e WHERE e.payout_run_id IN (SELECT id FROM ids)
      UNION ALL
      SELECT e.source_run_id, e.recipient_id, 0, CASE e.kind WHEN 'CLAWBACK' THEN e.amount ELSE -e.amount END
      FROM recipient_balance_entries e WHERE e.source_run_id IN (SELECT id FROM ids) AND e.kind IN ('CLAWBACK', 'CLAWBACK_REVERSED'))
    SELECT run_id, recipient_id, sum(share)::text AS share, sum(clawed)::text AS clawed FROM parts GROUP BY run_id, recipient_id`);
  const byRun = new Map<string, { recipientId: string; share: bigint; clawed: bigint }[]>();
  for (const row of found) {
    const list = byRun.get(row.run_id) ?? [];
    list.push({ recipientId: row.recipient_id, share: BigInt(row.share), clawed: BigInt(row.clawed) });
    byRun.set(row.run_id, list);
  }
  const entries: object[] = [];
  for (const { run, target } of targets) {
    const parts = byRun.get(run.id) ?? [];
    if (target > run.distributable) {
      rows.audit(organizationId, "payout_run.shortfall", "payout_run", run.id, {
        paymentId: run.paymentId,
        distributed: run.distributable.toString(),
        basis: target.toString(),
        note: "the payment's basis rose above what its executed run distributed; an operator compiles the difference",
      });
    }
    const deduction = target >= run.distributable ? 0n : run.distributable - target;
    const owed = new Map(
      allocateClawback({ refunded: deduction, distributable: run.distributable, shares: parts.map(({ recipientId, share }) => ({ recipientId, share })) }).map(
        (c) => [c.recipientId, c.amount],
      ),
    );
    let moved = false;
    for (const part of parts) {
      const delta = (owed.get(part.recipientId) ?? 0n) - part.clawed;
      if (delta === 0n) continue;
      moved = true;
      entries.push({
        organization_id: organizationId,
        recipient_id: part.recipientId,
        kind: delta > 0n ? "CLAWBACK" : "CLAWBACK_REVERSED",
        amount: (delta > 0n ? delta : -delta).toString(),
        token_decimals: run.tokenDecimals,
        payment_id: run.paymentId,
        source_run_id: run.id,
        memo: delta > 0n ? `clawback of run ${run.id}` : `clawback of run ${run.id} reversed: the payment's basis rose`,
      });
    }
    if (moved) {
      rows.audit(organizationId, "payout_run.clawback", "payout_run", run.id, {
        paymentId: run.paymentId,
        deduction: deduction.toString(),
        owedByRecipient: Object.fromEntries([...owed].map(([id, amount]) => [id, amount.toString()])),
      });
    }
  }
  if (entries.length === 0) return;
  await tx.query(sql`
    INSERT INTO recipient_balance_entries (organization_id, recipient_id, kind, amount, token_decimals, payment_id, source_run_id, memo)
    SELECT x.organization_id, x.recipient_id, x.kind::balance_entry_kind, x.amount, x.token_decimals, x.payment_id, x.source_run_id, x.memo
    FROM jsonb_to_recordset(${JSON.stringify(entries)}::jsonb) AS x(organization_id uuid, recipient_id uuid, kind text, amount bigint,
         token_decimals integer, payment_id uuid, source_run_id uuid, memo text)`);
}
