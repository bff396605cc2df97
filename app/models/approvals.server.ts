// Approving payout runs: by operators (two different ones at or above STABLEFLOW_APPROVAL_THRESHOLD), or
// by the system when the run's policy version auto-approves runs below an amount. The approval that
// completes a run's approvals moves it to APPROVED, writes its batch plan and enqueues its execution,
// all in one transaction: execution itself never runs in the caller (a web request), only in executors.
// A rejection is an operator's recorded "no" (with its comment): the run stays READY but cannot be
// approved while it stands, and an operator cancels it (cancelPayoutRun), as a FAILED run can be.
import { describeError, log } from "~/utils/log.server";
import { sql } from "~/utils/sql.server";
import type { SettlementQueue } from "~/settlement/executor-queue.server";
import { lockOrganizationPayouts } from "./payout-ledger.server";
import { writeRunPlan, type SettlementDatabase, type SettlementTarget } from "./settlement.server";

export type ApprovalErrorCode =
  | "RUN_NOT_FOUND"
  | "RUN_NOT_READY"
  | "RUN_NOT_PAYABLE"
  | "RUN_HELD"
  | "RUN_REJECTED"
  | "RUN_NOT_CANCELLABLE"
  | "OPERATOR_NOT_ALLOWED"
  | "APPROVAL_DUPLICATE"
  | "AUTO_APPROVE_NOT_ALLOWED";

export class ApprovalError extends Error {
  constructor(
    readonly code: ApprovalErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "ApprovalError";
  }
}

/**
 * Who decides on a run: an operator, an API key of the operator API (a principal of its own: an operator and
 * a key, or two keys, are two approvals; one key twice is one), or the system (a policy's auto-approval).
 */
export type ApprovalActor =
  | { type: "OPERATOR"; operatorId: string }
  | { type: "API_KEY"; apiKeyId: string; prefix: string }
  | { type: "SYSTEM" };

type Tx = Parameters<Parameters<SettlementDatabase["transaction"]>[0]>[0];

/**
 * Refuses (OPERATOR_NOT_ALLOWED) an actor who may not change runs of `organizationId`: an operator must be
 * an enabled admin or operator of it (a viewer never); the system only where the caller allows it.
 */
export async function assertMayDecide(tx: Tx, actor: ApprovalActor, organizationId: string, what: string): Promise<void> {
  if (actor.type === "SYSTEM") return;
  if (actor.type === "API_KEY") {
    const [key] = await tx.query(sql`
      SELECT 1 FROM api_keys
      WHERE id = ${actor.apiKeyId}::uuid AND organization_id = ${organizationId}::uuid AND revoked_at IS NULL AND scope = 'WRITE'`);
    if (!key) throw new ApprovalError("OPERATOR_NOT_ALLOWED", `only a live write key of the run's organization can ${what} it`);
    return;
  }
  const [operator] = await tx.query<{ role: string; disabled: boolean }>(sql`
    SELECT role::text AS role, disabled_at IS NOT NULL AS disabled FROM operators
    WHERE id = ${actor.operatorId}::uuid AND organization_id = ${organizationId}::uuid`);
  if (!operator || operator.disabled || operator.role === "VIEWER") {
    throw new ApprovalError("OPERATOR_NOT_ALLOWED", `only an enabled admin or operator of the run's organization can ${what} it`);
  }
}

/** audit_log.actor_id: the operator's id, an API key's public prefix (what logs and the console name it by), none for the system. */
export function actorIdOf(actor: ApprovalActor): string | null {
  return actor.type === "OPERATOR" ? actor.operatorId : actor.type === "API_KEY" ? actor.prefix : null;
}

/** The (operator_id, api_key_id) columns of a principal's payout_approvals row. */
const approverColumns = (actor: ApprovalActor) => ({
  operatorId: actor.type === "OPERATOR" ? actor.operatorId : null,
  apiKeyId: actor.type === "API_KEY" ? actor.apiKeyId : null,
});

export interface ApprovalPolicy {
  /** STABLEFLOW_APPROVAL_THRESHOLD: runs transferring this much or more need two different operators. */
  twoOperatorsFrom?: bigint;
}

export interface ApprovalResult {
  runId: string;
  status: "READY" | "APPROVED";
  approvals: number;
  required: number;
  /** Batches planned (APPROVED only). */
  batches: number;
}

interface RunRow {
  id: string;
  organization_id: string;
  status: string;
  kind: string;
  hold_reason: string | null;
  total_transfers: string;
  auto_approve_below: string | null;
}

/** Approvals a run needs: two different operators from the threshold on, else one (operator or system). */
export function requiredApprovals(totalTransfers: bigint, policy: ApprovalPolicy): number {
  return policy.twoOperatorsFrom !== undefined && totalTransfers >= policy.twoOperatorsFrom ? 2 : 1;
}

/**
 * Records one approval of a READY run. An operator must belong to the run's organization, be enabled and
 * not a viewer, and approve a run once; the system may approve only a run its policy version auto-approves
 * (total below auto_approve_below) that needs a single approval. Audited either way.
 */
export async function approvePayoutRun(
  db: SettlementDatabase,
  queue: SettlementQueue,
  target: SettlementTarget,
  args: { runId: string; actor: ApprovalActor; comment?: string; policy?: ApprovalPolicy },
): Promise<ApprovalResult> {
  const result = await db.transaction(async (tx) => {
    const [run] = await tx.query<RunRow>(sql`
      SELECT r.id, r.organization_id, r.status::text AS status, r.kind::text AS kind, r.hold_reason, r.total_transfers::text,
             v.auto_approve_below::text
      FROM payout_runs r LEFT JOIN payout_policy_versions v ON v.id = r.policy_version_id
      WHERE r.id = ${args.runId}::uuid
      FOR UPDATE OF r`);
    if (!run) throw new ApprovalError("RUN_NOT_FOUND", "no such payout run");
    if (run.kind === "ACCRUAL") throw new ApprovalError("RUN_NOT_PAYABLE", "an accrual run transfers nothing and is never approved");
    if (run.status !== "READY") throw new ApprovalError("RUN_NOT_READY", `the run is ${run.status}; only a READY run can be approved`);
    if (run.hold_reason) throw new ApprovalError("RUN_HELD", `the run is held: ${run.hold_reason}`);
    const total = BigInt(run.total_transfers);
    const required = requiredApprovals(total, args.policy ?? {});
    const comment = args.comment?.trim().slice(0, 1000) || null;
    const [rejected] = await tx.query<{ comment: string | null }>(sql`
      SELECT comment FROM payout_approvals WHERE run_id = ${run.id}::uuid AND decision = 'REJECT' ORDER BY created_at LIMIT 1`);
    if (rejected) {
      throw new ApprovalError("RUN_REJECTED", `the run was rejected${rejected.comment ? ` ("${rejected.comment}")` : ""}; it cannot be approved, only cancelled`);
    }
    if (args.actor.type !== "SYSTEM") {
      await assertMayDecide(tx, args.actor, run.organization_id, "approve");
      const approver = approverColumns(args.actor);
      // One decision per principal: unique (run, operator) and (run, API key); a conflict on either inserts nothing.
      const inserted = await tx.query(sql`
        INSERT INTO payout_approvals (run_id, operator_id, api_key_id, decision, comment)
        VALUES (${run.id}::uuid, ${approver.operatorId}::uuid, ${approver.apiKeyId}::uuid, 'APPROVE', ${comment})
        ON CONFLICT DO NOTHING RETURNING 1`);
      if (inserted.length === 0) {
        throw new ApprovalError(
          "APPROVAL_DUPLICATE",
          args.actor.type === "API_KEY"
            ? "this API key already decided on this run; a second approval must come from an operator or another key"
            : "this operator already decided on this run; a second approval must come from another operator",
        );
      }
    } else {
      const below = run.auto_approve_below === null ? null : BigInt(run.auto_approve_below);
      if (below === null || total >= below || required > 1) {
        throw new ApprovalError(
          "AUTO_APPROVE_NOT_ALLOWED",
          below === null
            ? "the run's policy version does not auto-approve runs"
            : required > 1
              ? "the run is at or above the approval threshold: two operators must approve it"
              : `the run transfers ${total}, not below the policy's auto-approval limit ${below}`,
        );
      }
      await tx.query(sql`
        INSERT INTO payout_approvals (run_id, operator_id, by_system, decision, comment)
        VALUES (${run.id}::uuid, NULL, true, 'APPROVE', ${comment ?? `auto-approved: ${total} below ${below}`})
        ON CONFLICT DO NOTHING`);
    }
    const actorId = actorIdOf(args.actor);
    await tx.query(sql`
      INSERT INTO audit_log (organization_id, actor_type, actor_id, action, entity_type, entity_id, data)
      VALUES (${run.organization_id}::uuid, ${args.actor.type}::audit_actor, ${actorId}, 'payout_run.approval', 'payout_run', ${run.id},
              jsonb_build_object('decision', 'APPROVE', 'totalTransfers', ${run.total_transfers}::text, 'required', ${required}::int, 'comment', ${comment}::text))`);
    const [{ approvals }] = await tx.query<{ approvals: number }>(sql`
      SELECT count(*)::int AS approvals FROM payout_approvals WHERE run_id = ${run.id}::uuid AND decision = 'APPROVE'`);
    if (approvals! < required) return { runId: run.id, status: "READY" as const, approvals: approvals!, required, batches: 0 };
    await tx.query(sql`UPDATE payout_runs SET status = 'APPROVED', updated_at = now() WHERE id = ${run.id}::uuid`);
    const plan = await writeRunPlan(tx, { id: run.id, organizationId: run.organization_id }, target);
    if (plan.batchIds.length > 0) await queue.enqueueBatches(tx, plan.batchIds.map((batchId) => ({ batchId, runId: run.id })));
    else await queue.enqueueRun(tx, { runId: run.id });
    await tx.query(sql`
      INSERT INTO audit_log (organization_id, actor_type, actor_id, action, entity_type, entity_id, data)
      VALUES (${run.organization_id}::uuid, ${args.actor.type}::audit_actor, ${actorId}, 'payout_run.approved', 'payout_run', ${run.id},
              jsonb_build_object('batches', ${plan.batchIds.length}::int, 'approvals', ${approvals}::int))`);
    return { runId: run.id, status: "APPROVED" as const, approvals: approvals!, required, batches: plan.batchIds.length };
  });
  if (result.status === "APPROVED") queue.announce();
  return result;
}

/**
 * An operator's rejection of a READY run, with its comment, audited: the run stays READY and can no longer
 * be approved; cancelPayoutRun ends it. One decision per operator and run (APPROVAL_DUPLICATE otherwise).
 */
export async function rejectPayoutRun(db: SettlementDatabase, args: { runId: string; actor: ApprovalActor; comment: string }): Promise<void> {
  await db.transaction(async (tx) => {
    const [run] = await tx.query<{ status: string; organization_id: string }>(sql`
      SELECT status::text AS status, organization_id FROM payout_runs WHERE id = ${args.runId}::uuid FOR UPDATE`);
    if (!run) throw new ApprovalError("RUN_NOT_FOUND", "no such payout run");
    if (args.actor.type === "SYSTEM") throw new ApprovalError("OPERATOR_NOT_ALLOWED", "only a person rejects a run");
    if (run.status !== "READY") throw new ApprovalError("RUN_NOT_READY", `the run is ${run.status}; only a READY run can be rejected`);
    await assertMayDecide(tx, args.actor, run.organization_id, "reject");
    const comment = args.comment.trim().slice(0, 1000) || "rejected";
    const approver = approverColumns(args.actor);
    const inserted = await tx.query(sql`
      INSERT INTO payout_approvals (run_id, operator_id, api_key_id, decision, comment)
      VALUES (${args.runId}::uuid, ${approver.operatorId}::uuid, ${approver.apiKeyId}::uuid, 'REJECT', ${comment})
      ON CONFLICT DO NOTHING RETURNING 1`);
    if (inserted.length === 0) throw new ApprovalError("APPROVAL_DUPLICATE", `this ${args.actor.type === "API_KEY" ? "API key" : "operator"} already decided on this run`);
    await tx.query(sql`
      INSERT INTO audit_log (organization_id, actor_type, actor_id, action, entity_type, entity_id, data)
      VALUES (${run.organization_id}::uuid, ${args.actor.type}::audit_actor, ${actorIdOf(args.actor)}, 'payout_run.rejected', 'payout_run', ${args.runId},
              jsonb_build_object('comment', ${comment}::text))`);
  });
}

/**
 * Cancels a READY (rejected or not) or FAILED run with the reason, audited, under the organization's payout
 * lock (as the reconciler cancels): nothing of it can land (a READY run has no batches; a FAILED run's are
 * all resolved), and its balance entries become void. Refused for APPROVED or later runs: their batches may be on the way.
 */
export async function cancelPayoutRun(db: SettlementDatabase, args: { runId: string; actor: ApprovalActor; reason: string }): Promise<void> {
  await db.transaction(async (tx) => {
    const [found] = await tx.query<{ organization_id: string }>(sql`SELECT organization_id FROM payout_runs WHERE id = ${args.runId}::uuid`);
    if (!found) throw new ApprovalError("RUN_NOT_FOUND", "no such payout run");
    await lockOrganizationPayouts(tx, found.organization_id);
    const [run] = await tx.query<{ status: string; kind: string }>(sql`
      SELECT status::text AS status, kind::text AS kind FROM payout_runs WHERE id = ${args.runId}::uuid FOR UPDATE`);
    if (run!.kind === "ACCRUAL" || (run!.status !== "READY" && run!.status !== "FAILED")) {
      throw new ApprovalError("RUN_NOT_CANCELLABLE", `the run is ${run!.status}; only a READY or FAILED run can be cancelled`);
    }
    await assertMayDecide(tx, args.actor, found.organization_id, "cancel");
    const reason = args.reason.trim().slice(0, 500) || "cancelled by an operator";
    await tx.query(sql`UPDATE payout_runs SET status = 'CANCELLED', cancel_reason = ${reason}, updated_at = now() WHERE id = ${args.runId}::uuid`);
    await tx.query(sql`
      INSERT INTO audit_log (organization_id, actor_type, actor_id, action, entity_type, entity_id, data)
      VALUES (${found.organization_id}::uuid, ${args.actor.type}::audit_actor, ${actorIdOf(args.actor)}, 'payout_run.cancelled', 'payout_run', ${args.runId},
              jsonb_build_object('reason', ${reason}::text, 'from', ${run!.status}::text))`);
  });
}

/** The READY runs (of `runIds`, or all) that the system may approve now. */
export async function autoApprovableRuns(db: SettlementDatabase, args: { runIds?: readonly string[]; policy?: ApprovalPolicy; limit?: number }): Promise<string[]> {
  const threshold = args.policy?.twoOperatorsFrom ?? null;
  const rows = await db.query<{ id: string }>(sql`
    SELECT r.id FROM payout_runs r JOIN payout_policy_versions v ON v.id = r.policy_version_id
    WHERE r.status = 'READY' AND r.kind IN ('PAYMENT', 'SWEEP') AND r.hold_reason IS NULL
      AND v.auto_approve_below IS NOT NULL AND r.total_transfers < v.auto_approve_below
      AND (${threshold}::bigint IS NULL OR r.total_transfers < ${threshold}::bigint)
      AND (${args.runIds ? JSON.stringify(args.runIds) : null}::jsonb IS NULL
           OR r.id IN (SELECT jsonb_array_elements_text(${args.runIds ? JSON.stringify(args.runIds) : null}::jsonb)::uuid))
    ORDER BY r.seq
    LIMIT ${args.limit ?? 500}`);
  return rows.map((r) => r.id);
}

/**
 * Approves, as the system, every run of `runIds` (or every READY run) whose policy auto-approves it;
 * called after runs are compiled and by the reconciler (a compile whose process died before this). A run
 * another process approved meanwhile is skipped. Answers how many it approved.
 */
export async function autoApproveRuns(
  db: SettlementDatabase,
  queue: SettlementQueue,
  target: SettlementTarget,
  args: { runIds?: readonly string[]; policy?: ApprovalPolicy } = {},
): Promise<number> {
  let approved = 0;
  for (const runId of await autoApprovableRuns(db, args)) {
    try {
      const result = await approvePayoutRun(db, queue, target, { runId, actor: { type: "SYSTEM" }, policy: args.policy });
      if (result.status === "APPROVED") approved++;
    } catch (error) {
      if (error instanceof ApprovalError && (error.code === "RUN_NOT_READY" || error.code === "AUTO_APPROVE_NOT_ALLOWED")) continue;
      log.warn("auto-approval failed; the reconciler tries again", { runId, error: describeError(error) });
    }
  }
  return approved;
}

/** Sets a DRAFT (never used) policy version's auto-approval limit; a used version refuses (its terms are fixed). */
export async function setPolicyAutoApproveBelow(db: SettlementDatabase, args: { policyVersionId: string; below: bigint | null }): Promise<void> {
  if (args.below !== null && args.below <= 0n) throw new ApprovalError("AUTO_APPROVE_NOT_ALLOWED", "the auto-approval limit must be positive");
  await db.query(sql`UPDATE payout_policy_versions SET auto_approve_below = ${args.below}::bigint WHERE id = ${args.policyVersionId}::uuid`);
}
