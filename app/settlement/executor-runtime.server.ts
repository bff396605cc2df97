// Executors as they run: in the server process (embedded PGlite, one owner of the database) or as
// processes of their own (PostgreSQL; scripts/executor.mjs, supervised by scripts/serve.mjs). Each works
// the settlement queue's jobs and reconciles at start and every 30 s. Also what approvals need to write a
// plan: the settlement target of this deployment's treasury.
import { randomBytes } from "node:crypto";
import os from "node:os";
import { autoApproveRuns, type ApprovalPolicy } from "~/models/approvals.server";
import type { SettlementTarget } from "~/models/settlement.server";
import type { Database } from "~/utils/db.server";
import type { Env } from "~/utils/env.server";
import { describeError, log } from "~/utils/log.server";
import { settlementCapacity } from "./batch-capacity";
import { ensureChainRuntime, type ChainSigners } from "./chain-runtime.server";
import type { ChainClient } from "./chain.server";
import type { ExecutorContext } from "./executor-context.server";
import { getSettlementQueue, openSettlementQueue, setSettlementQueue, SETTLE_BATCH_QUEUE, SETTLE_RUN_QUEUE, type SettlementQueue } from "./executor-queue.server";
import { settleBatchJob } from "./executor.server";
import { reconcileOpenRuns } from "./reconcile.server";
import { finalizeRun, runBatchPhases, startRun } from "~/models/settlement.server";
import { isTerminal } from "./batch-state";
import { treasuryIdentity, type TreasuryIdentity } from "./treasury.server";

/** The target for a treasury whose mint and founding authority are `base`'s, in any organization. */
export function settlementTarget(base: Pick<TreasuryIdentity, "programId" | "mint" | "seedAuthority">, signers: ChainSigners): SettlementTarget {
  return {
    programId: base.programId,
    capacity: settlementCapacity(!signers.feePayer.publicKey.equals(signers.authority.publicKey)),
    treasuryFor: (organizationId) => treasuryIdentity({ programId: base.programId, mint: base.mint, seedAuthority: base.seedAuthority, organizationId }),
  };
}

/** The approval policy of this deployment (STABLEFLOW_APPROVAL_THRESHOLD). */
export function approvalPolicy(env: Pick<Env, "STABLEFLOW_APPROVAL_THRESHOLD">): ApprovalPolicy {
  return { twoOperatorsFrom: env.STABLEFLOW_APPROVAL_THRESHOLD };
}

export interface ExecutorOptions {
  count?: number;
  leaseMs?: number;
  resendMs?: number;
  pollMs?: number;
  attemptDeadlineMs?: number;
  reconcileIntervalMs?: number;
  pollingIntervalSeconds?: number;
  maxPriorityFee?: bigint;
  approval?: ApprovalPolicy;
}

export interface RunningExecutors {
  contexts: ExecutorContext[];
  queue: SettlementQueue;
  /** One reconciliation pass now (also what the interval runs). */
  reconcile(): Promise<void>;
  stop(): Promise<void>;
}

export function executorHolder(): string {
  return `${os.hostname()}:${process.pid}:${randomBytes(3).toString("hex")}`;
}

/** The run job: start the run, put its open batches in the queue, settle it once they are all done. */
async function settleRunJob(ctx: ExecutorContext, runId: string): Promise<void> {
  const batches = await runBatchPhases(ctx.db, runId);
  const open = batches.filter((b) => !isTerminal(b.phase));
  await startRun(ctx.db, runId);
  for (const batch of open) await ctx.queue.enqueueBatchNow({ batchId: batch.id, runId });
  if (open.length === 0) await finalizeRun(ctx.db, runId);
}

/**
 * Starts `count` executors in this process on `database`, for the chain `client` and `signers`, working
 * the settlement queue (opened here unless the process has one) and reconciling at start and every 30 s.
 */
export async function startExecutors(
  database: Database,
  chain: { client: ChainClient; signers: ChainSigners; target: SettlementTarget },
  options: ExecutorOptions & { queueConnectionString?: string; queueOwnerConnectionString?: string } = {},
): Promise<RunningExecutors> {
  let queue = getSettlementQueue();
  const ownsQueue = !queue;
  if (!queue) {
    queue = await openSettlementQueue(database, {
      connectionString: options.queueConnectionString,
      ownerConnectionString: options.queueOwnerConnectionString,
      pollingIntervalSeconds: options.pollingIntervalSeconds,
    });
    setSettlementQueue(queue);
  }
  const contexts: ExecutorContext[] = Array.from({ length: options.count ?? 1 }, () => ({
    db: database,
    queue: queue!,
    client: chain.client,
    signers: chain.signers,
    target: chain.target,
    holder: executorHolder(),
    leaseMs: options.leaseMs ?? 60_000,
    maxPriorityFee: options.maxPriorityFee ?? 100_000n,
    resendMs: options.resendMs ?? 2_000,
    pollMs: options.pollMs ?? 250,
    attemptDeadlineMs: options.attemptDeadlineMs ?? 90_000,
  }));
  for (const ctx of contexts) {
    await queue.work<{ batchId: string; runId: string }>(SETTLE_BATCH_QUEUE, (job) => settleBatchJob(ctx, job));
    await queue.work<{ runId: string }>(SETTLE_RUN_QUEUE, (job) => settleRunJob(ctx, job.runId));
  }
  let stopped = false;
  let passing: Promise<void> | undefined;
  const reconcile = async () => {
    if (passing) return passing;
    // No executor here (a process that only approves): nothing to reconcile with.
    if (contexts.length === 0) return;
    passing = (async () => {
      try {
        const result = await reconcileOpenRuns(contexts[0]!, options.approval ?? {});
        if (result.enqueued + result.finalized + result.approved > 0) log.info("settlement reconciled", result);
      } catch (error) {
        log.warn("settlement reconciliation failed; the next pass tries again", { error: describeError(error) });
      }
    })().finally(() => {
      passing = undefined;
    });
    return passing;
  };
  await reconcile();
  const interval = setInterval(() => {
    if (!stopped) void reconcile();
  }, options.reconcileIntervalMs ?? 30_000);
  interval.unref();
  log.info("settlement executors ready", { count: contexts.length, holders: contexts.map((c) => c.holder) });
  return {
    contexts,
    queue,
    reconcile,
    async stop() {
      stopped = true;
      clearInterval(interval);
      await passing;
      if (ownsQueue) {
        await queue!.stop();
        setSettlementQueue(undefined);
      } else {
        for (const name of [SETTLE_BATCH_QUEUE, SETTLE_RUN_QUEUE]) await queue!.boss.offWork(name);
      }
    },
  };
}

/** The chain side of executors for this deployment: the runtime's client, signers and treasury. */
export async function executorChain(env: Env): Promise<{ client: ChainClient; signers: ChainSigners; target: SettlementTarget }> {
  const runtime = await ensureChainRuntime(env);
  if (!runtime.signers || !runtime.treasury) {
    throw new Error("settlement needs a treasury: set STABLEFLOW_MINT and STABLEFLOW_AUTHORITY_KEYPAIR (or use the embedded chain)");
  }
  return { client: runtime.client, signers: runtime.signers, target: settlementTarget(runtime.treasury, runtime.signers) };
}

export interface SettlementServices {
  /** "inline": executors in this process; "process": in processes of their own (scripts/executor.mjs); "off": no treasury or queue. */
  mode: "inline" | "process" | "off";
  /** Executors: in this process (inline), or how many processes the caller should start. */
  count: number;
  queue?: SettlementQueue;
  target?: SettlementTarget;
  /** The chain client and signers (public keys used to build what a preview simulates; nothing is signed there). */
  chain?: { client: ChainClient; signers: ChainSigners };
  /** STABLEFLOW_MAX_PRIORITY_FEE, for the preview's priority fee. */
  maxPriorityFee?: bigint;
  policy: ApprovalPolicy;
  executors?: RunningExecutors;
  /** Why settlement is off, when it is. */
  error?: string;
  /** After runs are compiled: the system approves those their policy auto-approves. */
  onRunsCompiled(runIds: string[]): void;
  stop(): Promise<void>;
}

const SERVICES_KEY = Symbol.for("stableflow.settlementServices");
type ServicesHolder = { [SERVICES_KEY]?: SettlementServices };

/** What this process has for settlement (approvals from the console use its queue and target). */
export function getSettlementServices(): SettlementServices | undefined {
  return (globalThis as ServicesHolder)[SERVICES_KEY];
}

/** Installs (or, undefined, removes) this process's settlement services: startSettlement does, and tests serving the app over a world of their own. */
export function setSettlementServices(services: SettlementServices | undefined): void {
  if (services) (globalThis as ServicesHolder)[SERVICES_KEY] = services;
  else delete (globalThis as ServicesHolder)[SERVICES_KEY];
}

/**
 * Settlement for a process that booted: the queue (on the ledger's database), the target of the
 * deployment's treasury, and executors, STABLEFLOW_EXECUTORS of them (default 1 in this process on
 * PGlite, 2 processes of their own on PostgreSQL). Never fails the start: without a treasury or a queue,
 * settlement is off and says why (runs can still be compiled and approved later).
 */
export async function startSettlement(database: Database, env: Env, options: { executors: "inline" | "process" | "none" }): Promise<SettlementServices> {
  const policy = approvalPolicy(env);
  const count = env.STABLEFLOW_EXECUTORS ?? (database.mode === "embedded" ? 1 : 2);
  const off = (error: string): SettlementServices => ({ mode: "off", count: 0, policy, error, onRunsCompiled: () => undefined, stop: async () => undefined });
  let services: SettlementServices;
  try {
    const chain = await executorChain(env);
    const queue =
      getSettlementQueue() ??
      (await openSettlementQueue(database, { connectionString: env.DATABASE_URL, ownerConnectionString: env.DATABASE_MIGRATION_URL }));
    setSettlementQueue(queue);
    const executors =
      options.executors === "inline" && count > 0
        ? await startExecutors(database, chain, { count, approval: policy, maxPriorityFee: env.STABLEFLOW_MAX_PRIORITY_FEE })
        : undefined;
    services = {
      mode: options.executors === "process" ? "process" : "inline",
      count: options.executors === "none" ? 0 : count,
      queue,
      target: chain.target,
      chain: { client: chain.client, signers: chain.signers },
      maxPriorityFee: env.STABLEFLOW_MAX_PRIORITY_FEE,
      policy,
      executors,
      onRunsCompiled(runIds) {
        void autoApproveRuns(database, queue, chain.target, { runIds, policy }).catch((error: unknown) =>
          log.warn("auto-approval after compile failed; the reconciler tries again", { error: describeError(error) }),
        );
      },
      async stop() {
        await executors?.stop();
        if (getSettlementQueue() === queue) {
          await queue.stop();
          setSettlementQueue(undefined);
        }
        delete (globalThis as ServicesHolder)[SERVICES_KEY];
      },
    };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    log.warn("settlement is off", { error: message });
    services = off(message);
  }
  setSettlementServices(services);
  return services;
}
