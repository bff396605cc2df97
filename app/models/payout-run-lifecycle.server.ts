// A payout run's life after compile, and the outbox's held and dead requests. The settlement executor
// (not built yet) moves runs READY -> APPROVED -> EXECUTING -> SETTLED | PARTIAL | FAILED through
// `advancePayoutRun`, under the organization's payout lock, so a refund's reconciliation sees either the
// run before it executes (and cancels it) or after (and claws back), never half of it. A held payment (an
// open dispute, a review) has no live run to approve (the reconciler cancelled it); accrual runs never
// execute (a sweep pays them).
import { LedgerError } from "~/ledger/money";
import { sql, type SqlStatement, type SqlTransaction } from "~/utils/sql.server";
import { lockOrganizationPayouts } from "./payout-ledger.server";
import { announcePayoutRunRequests } from "./payout-run-worker.server";

export type RunLifecycleErrorCode = "RUN_NOT_FOUND" | "RUN_NOT_EXECUTABLE" | "RUN_ILLEGAL_TRANSITION";

export class RunLifecycleError extends LedgerError {
  readonly code: RunLifecycleErrorCode;
  constructor(code: RunLifecycleErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

export interface LifecycleDatabase {
  transaction<T>(fn: (tx: SqlTransaction) => Promise<T>): Promise<T>;
  query<Row = Record<string, unknown>>(statement: SqlStatement): Promise<Row[]>;
}

export type RunStatus = "READY" | "APPROVED" | "EXECUTING" | "SETTLED" | "PARTIAL" | "FAILED" | "CANCELLED";

const NEXT: Record<string, readonly RunStatus[]> = {
  READY: ["APPROVED"],
  APPROVED: ["EXECUTING"],
  EXECUTING: ["SETTLED", "PARTIAL", "FAILED"],
  PARTIAL: ["EXECUTING"],
  FAILED: ["EXECUTING"],
};

/**
 * Moves a run one step along its lifecycle (cancellations are the reconciler's: payout-reconcile.server.ts).
 * `actor` is the operator or process responsible (audited).
 */
export async function advancePayoutRun(db: LifecycleDatabase, args: { runId: string; to: RunStatus; actor: string }): Promise<void> {
  await db.transaction(async (tx) => {
    const [found] = await tx.query<{ organization_id: string }>(sql`SELECT organization_id FROM payout_runs WHERE id = ${args.runId}::uuid`);
    if (!found) throw new RunLifecycleError("RUN_NOT_FOUND", "no such payout run");
    await lockOrganizationPayouts(tx, found.organization_id);
    const [run] = await tx.query<{ status: string; kind: string }>(sql`
      SELECT status::text AS status, kind::text AS kind FROM payout_runs WHERE id = ${args.runId}::uuid FOR UPDATE`);
    if (run!.kind === "ACCRUAL") throw new RunLifecycleError("RUN_NOT_EXECUTABLE", "an accrual run pays nothing itself: its window's sweep pays");
    if (!(NEXT[run!.status] ?? []).includes(args.to)) {
      throw new RunLifecycleError("RUN_ILLEGAL_TRANSITION", `a ${run!.status} run cannot move to ${args.to}`);
    }
    await tx.query(sql`
      WITH u AS (UPDATE payout_runs SET status = ${args.to}::payout_run_status, updated_at = now() WHERE id = ${args.runId}::uuid RETURNING 1)
      INSERT INTO audit_log (organization_id, actor_type, actor_id, action, entity_type, entity_id, data)
      SELECT ${found.organization_id}::uuid, 'OPERATOR', ${args.actor}, ${`payout_run.${args.to.toLowerCase()}`}, 'payout_run', ${args.runId},
             jsonb_build_object('from', ${run!.status}::text) FROM u`);
  });
}

export interface HeldRequest {
  requestId: string;
  paymentId: string;
  holdReason: string;
  completedAt: Date;
}

/** Requests completed without a run, with the reason (shown to operators). */
export async function listHeldPayoutRunRequests(db: LifecycleDatabase, organizationId?: string): Promise<HeldRequest[]> {
  const rows = await db.query<{ id: string; payment_id: string; hold_reason: string; completed_at: Date | string }>(sql`
    SELECT id, payment_id, hold_reason, completed_at FROM payout_run_requests
    WHERE completed_at IS NOT NULL AND payout_run_id IS NULL AND hold_reason IS NOT NULL
      AND (${organizationId ?? null}::uuid IS NULL OR organization_id = ${organizationId ?? null}::uuid)
    ORDER BY completed_at DESC LIMIT 200`);
  return rows.map((r) => ({ requestId: r.id, paymentId: r.payment_id, holdReason: r.hold_reason, completedAt: new Date(r.completed_at) }));
}

/**
 * Explicit release: held requests (of one payment, or every one of the organization) are asked again, so
 * the worker compiles them now that the cause is fixed (e.g. a settlement currency supported by a new
 * deploy). Returns how many were asked again.
 */
export async function releaseHeldPayoutRunRequests(
  db: LifecycleDatabase,
  args: { organizationId: string; paymentId?: string; operator: string },
): Promise<number> {
  const rows = await db.query<{ id: string }>(sql`
    WITH r AS (
      UPDATE payout_run_requests SET completed_at = NULL, hold_reason = NULL, attempts = 0, last_error = NULL, available_at = now()
      WHERE organization_id = ${args.organizationId}::uuid AND completed_at IS NOT NULL AND payout_run_id IS NULL
        AND hold_reason IS NOT NULL AND (${args.paymentId ?? null}::uuid IS NULL OR payment_id = ${args.paymentId ?? null}::uuid)
      RETURNING id, payment_id, organization_id),
    a AS (
      INSERT INTO audit_log (organization_id, actor_type, actor_id, action, entity_type, entity_id, data)
      SELECT organization_id, 'OPERATOR', ${args.operator}, 'payout.released', 'payment', payment_id::text, '{}'::jsonb FROM r)
    SELECT id FROM r`);
  if (rows.length > 0) announcePayoutRunRequests(db);
  return rows.length;
}

export interface DeadLetter {
  requestId: string;
  paymentId: string;
  organizationId: string;
  attempts: number;
  lastError: string | null;
  deadAt: Date;
}

/** Requests that failed their last allowed attempt, newest first. */
export async function listDeadPayoutRunRequests(db: LifecycleDatabase): Promise<DeadLetter[]> {
  const rows = await db.query<{ id: string; payment_id: string; organization_id: string; attempts: number; last_error: string | null; dead_at: Date | string }>(sql`
    SELECT id, payment_id, organization_id, attempts, last_error, dead_at FROM payout_run_requests
    WHERE dead_at IS NOT NULL ORDER BY dead_at DESC LIMIT 500`);
  return rows.map((r) => ({
    requestId: r.id,
    paymentId: r.payment_id,
    organizationId: r.organization_id,
    attempts: r.attempts,
    lastError: r.last_error,
    deadAt: new Date(r.dead_at),
  }));
}

/** Gives dead letters (one, or all) a fresh set of attempts; returns how many. */
export async function retryDeadPayoutRunRequests(db: LifecycleDatabase, args: { requestId?: string; operator: string }): Promise<number> {
  const rows = await db.query<{ id: string }>(sql`
    WITH r AS (
      UPDATE payout_run_requests SET dead_at = NULL, attempts = 0, available_at = now()
      WHERE dead_at IS NOT NULL AND (${args.requestId ?? null}::uuid IS NULL OR id = ${args.requestId ?? null}::uuid)
      RETURNING id, payment_id, organization_id),
    a AS (
      INSERT INTO audit_log (organization_id, actor_type, actor_id, action, entity_type, entity_id, data)
      SELECT organization_id, 'OPERATOR', ${args.operator}, 'payout_request.retried', 'payout_run_request', id::text,
             jsonb_build_object('paymentId', payment_id) FROM r)
    SELECT id FROM r`);
  if (rows.length > 0) announcePayoutRunRequests(db);
  return rows.length;
}
