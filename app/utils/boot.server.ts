// Process start-up: parse the configuration, open the database for its mode, apply migrations,
// and install it for the app. Used by the server (scripts/serve.mjs via entry.server) and tests.
import { getEnv, type Env } from "./env.server";
import { clearDatabase, getDatabase, migrateDatabase, openDatabase, setDatabase, type Database } from "./db.server";
import { describeError, log } from "./log.server";
import { ensureDefaultOrganization } from "~/models/organizations.server";
import { startChainRuntime, stopChainRuntime } from "~/settlement/chain-runtime.server";
import { PAYOUT_RUN_REQUESTS_CHANNEL, startPayoutRunWorker, type PayoutRunWorker } from "~/models/payout-run-worker.server";
import { startSettlement, type SettlementServices } from "~/settlement/executor-runtime.server";
import { demoWanted, seedDemo } from "~/models/demo-seed.server";
import { startWebhookDispatcher, webhookSettings, type WebhookDispatcher } from "~/models/webhook-dispatcher.server";

export interface BootOptions {
  /**
   * Where payout runs are compiled from the outbox. "inline" (the default): a worker in this process.
   * "auto": in its own process when the database is PostgreSQL (the caller starts it, see
   * scripts/payout-worker.mjs), inline on embedded PGlite, which one process owns.
   */
  payoutWorker?: "inline" | "auto";
}

export interface BootResult {
  env: Env;
  database: Database;
  migrationsApplied: string[];
  /** "process": the caller must run startPayoutRunWorkerProcess in a process of its own. */
  payoutWorker: "inline" | "process";
  /** Settlement executors: in this process, or `count` processes of scripts/executor.mjs the caller starts. */
  executors: { mode: SettlementServices["mode"]; count: number; error?: string };
}

let booting: Promise<BootResult> | undefined;
const BOOTSTRAP_WAIT_MS = 30_000;
let payoutRunWorker: PayoutRunWorker | undefined;
let settlement: SettlementServices | undefined;
let webhookDispatcher: WebhookDispatcher | undefined;

export function boot(options: BootOptions = {}): Promise<BootResult> {
  booting ??= (async () => {
    const env = getEnv();
    const database = await openDatabase({ databaseUrl: env.DATABASE_URL, dataDir: env.STABLEFLOW_DATA_DIR });
    // With DATABASE_MIGRATION_URL the owner migrates and grants; the app keeps only DML (decision 010).
    const result = await migrateDatabase(database, undefined, { migrationUrl: env.DATABASE_MIGRATION_URL });
    const organization = await ensureDefaultOrganization(database.prisma);
    setDatabase(database);
    // The chain and the organization's treasury (embedded: created on first start, in the background).
    // A tampered key file stops the start here with its sentence.
    const chain = await startChainRuntime(env, organization.id);
    // The embedded chain is already up (scripts/serve.mjs waits for it): serve with the treasury ready when
    // that takes the usual seconds, and let it finish in the background when the chain is slow.
    await Promise.race([chain.bootstrapped, new Promise((resolve) => setTimeout(resolve, BOOTSTRAP_WAIT_MS).unref())]);
    // A fresh embedded start shows the whole pipeline: demo recipients and an auto-approving policy.
    if (demoWanted(env) && chain.demo && chain.treasury) {
      await seedDemo(database, { dataDir: env.STABLEFLOW_DATA_DIR, organizationId: organization.id, mint: chain.treasury.mint }).catch((error: unknown) =>
        log.warn("demo not seeded", { error: describeError(error) }),
      );
    }
    // Compiles the payout runs webhooks requested (the outbox), including any a previous process left.
    // On PostgreSQL it can run in its own process: a compile (40 ms at 100,000 recipients, and the
    // statements around it) then neither blocks this event loop nor takes its core from webhooks.
    const payoutWorker = options.payoutWorker === "auto" && database.mode === "postgres" ? "process" : "inline";
    // Settlement (decision 012): the queue, and executors in this process on PGlite (its one owner), in
    // processes of their own on PostgreSQL; runs a policy auto-approves are approved as they are compiled.
    settlement = await startSettlement(database, env, { executors: payoutWorker === "process" ? "process" : "inline" });
    if (payoutWorker === "inline") payoutRunWorker = startPayoutRunWorker(database, { onCompiled: settlement.onRunsCompiled });
    // Outbound webhooks go out beside the payout-run worker (in its process on PostgreSQL), never from executors.
    if (payoutWorker === "inline") webhookDispatcher = startWebhookDispatcher(database, webhookSettings(env));
    log.info("database ready", {
      mode: database.mode,
      location: database.location,
      migrationsApplied: result.applied.length,
      migrationsTotal: result.applied.length + result.alreadyApplied,
      payoutWorker,
      executors: `${settlement.mode} x${settlement.count}`,
    });
    const executors = { mode: settlement.mode, count: settlement.count, error: settlement.error };
    return { env, database, migrationsApplied: result.applied, payoutWorker, executors };
  })();
  return booting;
}

export async function shutdown(): Promise<void> {
  if (!booting) return;
  const { database } = await booting.catch(() => ({ database: undefined }));
  booting = undefined;
  await payoutRunWorker?.stop();
  payoutRunWorker = undefined;
  await webhookDispatcher?.stop();
  webhookDispatcher = undefined;
  await settlement?.stop();
  settlement = undefined;
  stopChainRuntime();
  clearDatabase();
  await database?.close();
}

/**
 * The payout-run worker as a process of its own (PostgreSQL only; the server migrated the database
 * before starting it). It hears of new requests by LISTEN/NOTIFY (announced after each commit) and polls as a fallback.
 */
export async function startPayoutRunWorkerProcess(): Promise<{ stop(): Promise<void> }> {
  const env = getEnv();
  if (!env.DATABASE_URL) throw new Error("the payout-run worker process needs DATABASE_URL (PostgreSQL)");
  // Four connections: the listener, the drain's transaction with room for a retry, and the webhook dispatcher's.
  const database = await openDatabase({ databaseUrl: env.DATABASE_URL, poolSize: 4 });
  // Its compiled runs are auto-approved here too: the queue and the treasury's target, no executors.
  setDatabase(database);
  const organization = await ensureDefaultOrganization(database.prisma);
  await startChainRuntime(env, organization.id, { bootstrap: false });
  const services = await startSettlement(database, env, { executors: "none" });
  const worker = startPayoutRunWorker(database, {
    listen: (onNotify, onLost) => database.listen(PAYOUT_RUN_REQUESTS_CHANNEL, onNotify, onLost),
    onCompiled: services.onRunsCompiled,
  });
  const dispatcher = startWebhookDispatcher(database, webhookSettings(env));
  log.info("payout run worker ready", { location: database.location });
  return {
    async stop() {
      await worker.stop();
      await dispatcher.stop();
      await services.stop();
      stopChainRuntime();
      await database.close();
    },
  };
}

export { getDatabase };
