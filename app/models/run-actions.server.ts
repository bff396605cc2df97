// What a principal (an operator of the console, a key of the operator API) can do to a payout run, one call
// per action: simulate, approve, reject, cancel, execute, retry. Each is scoped to the principal's
// organization first (another organization's run is not found, whoever asks), then left to the models that
// hold the rules (approvals.server.ts, settlement.server.ts), which check the actor's role in the database.
// Errors are RunActionError, ApprovalError, SettlementError or RunSimulationError, each a sentence with a
// code; runActionStatus maps them to HTTP statuses for both callers.
import { z } from "zod";
import type { SettlementQueue } from "~/settlement/executor-queue.server";
import { getSettlementServices } from "~/settlement/executor-runtime.server";
import type { ChainClient } from "~/settlement/chain.server";
import type { ChainSigners } from "~/settlement/chain-runtime.server";
import { RunSimulationError, simulatePayoutRun, type RunSimulation } from "~/settlement/run-simulation.server";
import { RpcError } from "~/settlement/rpc-errors";
import { tokenBalance } from "~/settlement/treasury.server";
import { getDatabase, type Database } from "~/utils/db.server";
import { sql } from "~/utils/sql.server";
import {
  actorIdOf,
  ApprovalError,
  approvePayoutRun,
  assertMayDecide,
  cancelPayoutRun,
  rejectPayoutRun,
  type ApprovalActor,
  type ApprovalPolicy,
  type ApprovalResult,
} from "./approvals.server";
import { retryPayoutRun, SettlementError, type SettlementTarget } from "./settlement.server";

export interface RunActionDeps {
  db: Database;
  queue: SettlementQueue;
  target: SettlementTarget;
  policy: ApprovalPolicy;
  chain: { client: ChainClient; signers: ChainSigners };
  maxPriorityFee: bigint;
}

/** Who acts, and the organization every run it names must belong to. */
export interface RunPrincipal {
  organizationId: string;
  actor: ApprovalActor;
}

export class RunActionError extends Error {
  constructor(
    readonly code: "RUN_NOT_FOUND" | "SETTLEMENT_OFF" | "INSUFFICIENT_VAULT_BALANCE" | "RUN_NOT_EXECUTABLE",
    message: string,
  ) {
    super(message);
    this.name = "RunActionError";
  }
}

/** What a run action can refuse with; RpcError when the chain (read for the vault or the simulation) did not answer. */
export type RunActionFailure = RunActionError | ApprovalError | SettlementError | RunSimulationError | RpcError;

export function isRunActionFailure(error: unknown): error is RunActionFailure {
  return (
    error instanceof RunActionError ||
    error instanceof ApprovalError ||
    error instanceof SettlementError ||
    error instanceof RunSimulationError ||
    error instanceof RpcError
  );
}

/** The HTTP status of a refused run action: not found, not allowed, unavailable, or a conflict with the run's state. */
export function runActionStatus(error: RunActionFailure): 403 | 404 | 409 | 503 {
  if (error.code === "RUN_NOT_FOUND") return 404;
  if (error.code === "OPERATOR_NOT_ALLOWED") return 403;
  if (error.code === "SETTLEMENT_OFF" || error instanceof RpcError) return 503;
  return 409;
}

const capitalized = (text: string) => (text ? text[0]!.toUpperCase() + text.slice(1) : text);

/** The refusal as one sentence for a person. */
export function runActionSentence(error: RunActionFailure): string {
  if (error instanceof RpcError) return `The chain did not answer (${error.message.trim().replace(/[.]$/, "")}); nothing was changed. Try again in a moment.`;
  const text = capitalized(error.message.trim());
  return /[.!?]$/.test(text) ? text : `${text}.`;
}

/** This process's settlement (the queue, the treasury's target, the chain), or SETTLEMENT_OFF with the reason. */
export async function runActionDeps(): Promise<RunActionDeps> {
  const services = getSettlementServices();
  if (!services?.queue || !services.target || !services.chain) {
    throw new RunActionError("SETTLEMENT_OFF", `Settlement is not running in this process${services?.error ? `: ${services.error}` : ""}`);
  }
  return {
    db: await getDatabase(),
    queue: services.queue,
    target: services.target,
    policy: services.policy,
    chain: services.chain,
    maxPriorityFee: services.maxPriorityFee ?? 100_000n,
  };
}

async function scopedRun(deps: Pick<RunActionDeps, "db">, principal: RunPrincipal, runId: string): Promise<{ status: string; total: bigint }> {
  const [run] = /^[0-9a-f-]{36}$/i.test(runId)
    ? await deps.db.query<{ status: string; total: string }>(sql`
        SELECT status::text AS status, total_transfers::text AS total FROM payout_runs
        WHERE id = ${runId}::uuid AND organization_id = ${principal.organizationId}::uuid`)
    : [];
  if (!run) throw new RunActionError("RUN_NOT_FOUND", "There is no such payout run in your organization.");
  return { status: run.status, total: BigInt(run.total) };
}

/** The run's simulation (see run-simulation.server.ts); reading only, so a viewer may ask. */
export async function previewRun(deps: RunActionDeps, principal: RunPrincipal, args: { runId: string }): Promise<RunSimulation> {
  await scopedRun(deps, principal, args.runId);
  return simulatePayoutRun({ db: deps.db, client: deps.chain.client, signers: deps.chain.signers, target: deps.target, maxPriorityFee: deps.maxPriorityFee }, {
    runId: args.runId,
    organizationId: principal.organizationId,
  });
}

/**
 * One approval. The vault must hold the run's total now (else INSUFFICIENT_VAULT_BALANCE, nothing recorded):
 * approving a run the treasury cannot pay would only fail on chain. The approval that completes the run's
 * approvals plans it and enqueues its execution (approvePayoutRun).
 */
export async function approveRun(deps: RunActionDeps, principal: RunPrincipal, args: { runId: string; comment?: string }): Promise<ApprovalResult> {
  const run = await scopedRun(deps, principal, args.runId);
  if (run.status === "READY") {
    const vault = deps.target.treasuryFor(principal.organizationId).vault;
    const balance = (await tokenBalance(deps.chain.client, vault)) ?? 0n;
    if (balance < run.total) {
      throw new RunActionError(
        "INSUFFICIENT_VAULT_BALANCE",
        `Insufficient vault balance: the vault holds ${balance} base units and the run transfers ${run.total}; deposit at least ${run.total - balance} more before approving`,
      );
    }
  }
  return approvePayoutRun(deps.db, deps.queue, deps.target, { runId: args.runId, actor: principal.actor, comment: args.comment, policy: deps.policy });
}

export async function rejectRun(deps: Pick<RunActionDeps, "db">, principal: RunPrincipal, args: { runId: string; comment: string }): Promise<void> {
  await scopedRun(deps, principal, args.runId);
  await rejectPayoutRun(deps.db, { runId: args.runId, actor: principal.actor, comment: args.comment });
}

export async function cancelRun(deps: Pick<RunActionDeps, "db">, principal: RunPrincipal, args: { runId: string; reason: string }): Promise<void> {
  await scopedRun(deps, principal, args.runId);
  await cancelPayoutRun(deps.db, { runId: args.runId, actor: principal.actor, reason: args.reason });
}

/**
 * Asks the executors again to work an APPROVED or EXECUTING run (its run job puts every open batch back in
 * the queue): for a run whose jobs were lost. Harmless when they were not: a batch is leased, never worked twice at once.
 */
export async function executeRun(deps: RunActionDeps, principal: RunPrincipal, args: { runId: string }): Promise<void> {
  await scopedRun(deps, principal, args.runId);
  await deps.db.transaction(async (tx) => {
    const [run] = await tx.query<{ status: string }>(sql`SELECT status::text AS status FROM payout_runs WHERE id = ${args.runId}::uuid FOR UPDATE`);
    if (run!.status !== "APPROVED" && run!.status !== "EXECUTING") {
      throw new RunActionError("RUN_NOT_EXECUTABLE", `The run is ${run!.status}; only an approved or executing run can be sent to the executors`);
    }
    await assertMayDecide(tx, principal.actor, principal.organizationId, "execute");
    await deps.queue.enqueueRun(tx, { runId: args.runId });
    const actorId = actorIdOf(principal.actor);
    await tx.query(sql`
      INSERT INTO audit_log (organization_id, actor_type, actor_id, action, entity_type, entity_id, data)
      VALUES (${principal.organizationId}::uuid, ${principal.actor.type}::audit_actor, ${actorId}, 'payout_run.execution_requested', 'payout_run', ${args.runId},
              jsonb_build_object('status', ${run!.status}::text))`);
  });
  deps.queue.announce();
}

/** A PARTIAL or FAILED run tried again: its failed batches only (retryPayoutRun). */
export async function retryRun(deps: RunActionDeps, principal: RunPrincipal, args: { runId: string }): Promise<{ batches: number }> {
  await scopedRun(deps, principal, args.runId);
  await deps.db.transaction((tx) => assertMayDecide(tx, principal.actor, principal.organizationId, "retry"));
  return retryPayoutRun(deps.db, deps.queue, { runId: args.runId, actor: principal.actor });
}

export const RUN_ACTIONS = ["approve", "reject", "cancel", "execute", "retry"] as const;
export type RunActionName = (typeof RUN_ACTIONS)[number];

/** A run action as a form or a request body says it: the comment is required where it is the reason (reject, cancel). */
export const RunActionSchema = z
  .object({
    intent: z.enum(RUN_ACTIONS, { error: "Choose approve, reject, cancel, execute or retry." }),
    comment: z.string({ error: "Write the comment as text." }).trim().max(1000, "Keep the comment under 1,000 characters.").optional().default(""),
  })
  .superRefine((value, ctx) => {
    if ((value.intent === "reject" || value.intent === "cancel") && value.comment.length === 0) {
      ctx.addIssue({ code: "custom", path: ["comment"], message: `Say why you ${value.intent} this run: the comment is kept with the decision.` });
    }
  });

/** Performs one parsed action; answers what happened, as a sentence. */
export async function performRunAction(deps: RunActionDeps, principal: RunPrincipal, args: z.infer<typeof RunActionSchema> & { runId: string }): Promise<string> {
  const { runId, comment } = args;
  switch (args.intent) {
    case "approve": {
      const result = await approveRun(deps, principal, { runId, comment });
      return result.status === "APPROVED"
        ? `Run approved (${result.approvals} of ${result.required}): ${result.batches} batch${result.batches === 1 ? "" : "es"} planned and sent to the executors.`
        : `Approval recorded (${result.approvals} of ${result.required}): a second, different operator must approve it too.`;
    }
    case "reject":
      await rejectRun(deps, principal, { runId, comment });
      return "Run rejected: it cannot be approved now; cancel it to close it.";
    case "cancel":
      await cancelRun(deps, principal, { runId, reason: comment });
      return "Run cancelled.";
    case "execute":
      await executeRun(deps, principal, { runId });
      return "The run was sent to the executors again.";
    case "retry": {
      const { batches } = await retryRun(deps, principal, { runId });
      return `Retrying ${batches} failed batch${batches === 1 ? "" : "es"}.`;
    }
  }
}
