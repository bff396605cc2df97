// An executor as a process of its own (scripts/executor.mjs runs this bundle): the ledger on PostgreSQL
// (DATABASE_URL), or the embedded PGlite reached through its owner's socket; the chain and treasury as the
// server has them; STABLEFLOW_EXECUTORS-independent: one process is one executor. Stops on SIGTERM/SIGINT
// and when its parent goes away; a SIGKILL at any instant loses nothing (its lease runs out, its open
// attempts are persisted and resumed by whoever comes next).
import { z } from "zod";
import { ensureDefaultOrganization } from "~/models/organizations.server";
import { openDatabase, setDatabase } from "~/utils/db.server";
import { ConfigError, getEnv } from "~/utils/env.server";
import { log } from "~/utils/log.server";
import { startChainRuntime } from "./chain-runtime.server";
import { approvalPolicy, executorChain, startExecutors } from "./executor-runtime.server";

// Tuning for tests and operations; defaults are the production ones.
const Tuning = z.object({
  STABLEFLOW_EXECUTOR_LEASE_MS: z.coerce.number().int().min(500).max(600_000).default(60_000),
  STABLEFLOW_EXECUTOR_RECONCILE_MS: z.coerce.number().int().min(200).max(3_600_000).default(30_000),
  STABLEFLOW_EXECUTOR_POLL_SECONDS: z.coerce.number().min(0.5).max(60).default(2),
  STABLEFLOW_EXECUTOR_RESEND_MS: z.coerce.number().int().min(100).max(60_000).default(2_000),
});

export async function runExecutorProcess(): Promise<void> {
  let env;
  let tuning;
  try {
    env = getEnv();
    tuning = Tuning.parse(process.env);
  } catch (error) {
    console.error(`executor: ${error instanceof ConfigError ? error.message : String(error)}`);
    process.exit(1);
  }
  const database = env.DATABASE_URL
    ? await openDatabase({ databaseUrl: env.DATABASE_URL, poolSize: 4 })
    : await openDatabase({ dataDir: env.STABLEFLOW_DATA_DIR, whenHeld: "connect" });
  setDatabase(database);
  const organization = await ensureDefaultOrganization(database.prisma);
  await startChainRuntime(env, organization.id, { bootstrap: false });
  const chain = await executorChain(env);
  const executors = await startExecutors(database, chain, {
    count: 1,
    queueConnectionString: env.DATABASE_URL,
    queueOwnerConnectionString: env.DATABASE_MIGRATION_URL,
    leaseMs: tuning.STABLEFLOW_EXECUTOR_LEASE_MS,
    reconcileIntervalMs: tuning.STABLEFLOW_EXECUTOR_RECONCILE_MS,
    pollingIntervalSeconds: tuning.STABLEFLOW_EXECUTOR_POLL_SECONDS,
    resendMs: tuning.STABLEFLOW_EXECUTOR_RESEND_MS,
    maxPriorityFee: env.STABLEFLOW_MAX_PRIORITY_FEE,
    approval: approvalPolicy(env),
  });
  log.info("executor process ready", { pid: process.pid, holder: executors.contexts[0]!.holder, database: database.location });
  process.send?.({ type: "stableflow-executor-ready", holder: executors.contexts[0]!.holder });

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    try {
      await executors.stop();
      await database.close();
    } finally {
      process.exit(0);
    }
  };
  process.on("SIGTERM", () => void stop());
  process.on("SIGINT", () => void stop());
  process.on("disconnect", () => void stop());
}
