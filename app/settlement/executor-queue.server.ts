// The settlement queue: pg-boss on the ledger's own database (PostgreSQL, or embedded PGlite through a
// `db` adapter over its one session), so that approving a run and enqueuing its batches commit together
// (pg-boss's `send` runs on the approval's transaction). One job per batch, singleton per batch id while
// it waits; executors in any process work them. New jobs are announced after commit (this process's
// workers at once, others by NOTIFY), so a batch does not wait for the next poll.
import pg from "pg";
import PgBoss from "pg-boss";
import type { Database } from "~/utils/db.server";
import { log } from "~/utils/log.server";
import { sql, type SqlTransaction } from "~/utils/sql.server";

/** One job per split batch: settle it (resolve what the chain knows, then sign, send, confirm). */
export const SETTLE_BATCH_QUEUE = "settlement-batch";
/** One job per run: start it, enqueue its open batches, settle its state once every batch is done. */
export const SETTLE_RUN_QUEUE = "settlement-run";
/** Where new settlement jobs are announced to executors in other processes. */
export const SETTLEMENT_CHANNEL = "stableflow_settlement_jobs";

export interface BatchJob {
  batchId: string;
  runId: string;
}
export interface RunJob {
  runId: string;
}

/** What pg-boss calls to run SQL: `executeSql(text, values)` answering `{ rows }`. */
interface BossDb {
  executeSql(text: string, values?: unknown[]): Promise<{ rows: unknown[] }>;
}

/** Statements pg-boss sends as one script (its schema, maintenance): several statements, no values. */
function isScript(text: string): boolean {
  return /;\s*\S/.test(text.trim().replace(/;\s*$/, ""));
}

/** pg-boss's parameters as both drivers bind them: arrays stay arrays (uuid[]), objects become JSON text. */
function bindable(values: unknown[]): (string | number | boolean | null)[] {
  return values.map((value) => {
    if (value === undefined || value === null) return null;
    if (value instanceof Date) return value.toISOString();
    if (Array.isArray(value)) return value as never;
    if (typeof value === "object") return JSON.stringify(value);
    return value as string | number | boolean;
  });
}

/** pg-boss over the database's own session: PGlite (one connection) or one shared through its socket. */
function sessionDb(database: Database): BossDb {
  return {
    executeSql(text, values) {
      return database.withSession(async (session) => {
        if (values && values.length > 0) return { rows: await session.query(text, bindable(values)) };
        if (isScript(text)) {
          await session.exec(text);
          return { rows: [] };
        }
        return { rows: await session.query(text) };
      });
    },
  };
}

/** pg-boss on an open transaction of ours: what makes enqueuing atomic with the approval. */
function transactionDb(tx: SqlTransaction): BossDb {
  return {
    async executeSql(text, values) {
      return { rows: await tx.query({ text, values: bindable(values ?? []), name: "" }) };
    },
  };
}

export interface SettlementQueueOptions {
  /** PostgreSQL: pg-boss's own small pool on this URL. Unset: through the database's session (PGlite). */
  connectionString?: string;
  /** Workers poll at this interval when nothing wakes them (default 2 s). */
  pollingIntervalSeconds?: number;
  /**
   * DATABASE_MIGRATION_URL (two roles, decision 010): pg-boss's schema and queues are installed by the owner
   * role, which grants the app's role the DML they need; the app's pg-boss then only checks the schema.
   */
  ownerConnectionString?: string;
}

export interface SettlementQueue {
  readonly boss: PgBoss;
  /** Enqueues on the caller's open transaction; call `announce()` after it commits. */
  enqueueBatches(tx: SqlTransaction, jobs: readonly BatchJob[]): Promise<void>;
  enqueueRun(tx: SqlTransaction, job: RunJob): Promise<void>;
  /** Enqueues on its own (reconciliation). */
  enqueueBatchNow(job: BatchJob): Promise<void>;
  enqueueRunNow(job: RunJob): Promise<void>;
  /** Wakes this process's workers and NOTIFYs other processes' executors. */
  announce(): void;
  /** Registers a worker; `onWake` makes it fetch now. */
  work<T extends object>(queue: string, handler: (data: T) => Promise<void>): Promise<string>;
  wakeWorkers(): void;
  stop(): Promise<void>;
}

// Batches: retried with backoff while the chain or database is away; a job is never the only copy of the
// work (reconciliation enqueues any open batch again), so a long outage that exhausts retries loses nothing.
const BATCH_QUEUE_OPTIONS = { policy: "short" as const, retryLimit: 50, retryDelay: 2, retryBackoff: true, expireInSeconds: 15 * 60 };
const RUN_QUEUE_OPTIONS = { policy: "short" as const, retryLimit: 50, retryDelay: 2, retryBackoff: true, expireInSeconds: 5 * 60 };

const SCHEMA = "pgboss";

/** pg-boss's queues (their partitions are DDL: created by whoever installs). */
async function ensureQueues(boss: PgBoss): Promise<void> {
  for (const [name, queueOptions] of [
    [SETTLE_BATCH_QUEUE, BATCH_QUEUE_OPTIONS],
    [SETTLE_RUN_QUEUE, RUN_QUEUE_OPTIONS],
  ] as const) {
    if (!(await boss.getQueue(name))) {
      await boss.createQueue(name, { name, ...queueOptions }).catch(async (error: unknown) => {
        // Another process created it at the same moment.
        if (!(await boss.getQueue(name))) throw error;
      });
    }
  }
}

const quoted = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** The owner installs (or upgrades) pg-boss's schema and queues and grants `appRole` what pg-boss does with them. */
async function installAsOwner(ownerConnectionString: string, appRole: string): Promise<void> {
  const owner = new PgBoss({ connectionString: ownerConnectionString, max: 1, schema: SCHEMA, schedule: false, supervise: false, migrate: true });
  owner.on("error", () => undefined);
  await owner.start();
  try {
    await ensureQueues(owner);
  } finally {
    await owner.stop({ graceful: false, wait: true });
  }
  const client = new pg.Client({ connectionString: ownerConnectionString });
  await client.connect();
  try {
    const role = quoted(appRole);
    for (const statement of [
      `GRANT USAGE ON SCHEMA ${SCHEMA} TO ${role}`,
      `GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ${SCHEMA} TO ${role}`,
      `GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA ${SCHEMA} TO ${role}`,
      `GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA ${SCHEMA} TO ${role}`,
      `ALTER DEFAULT PRIVILEGES IN SCHEMA ${SCHEMA} GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ${role}`,
    ]) {
      await client.query(statement);
    }
  } finally {
    await client.end();
  }
}

export async function openSettlementQueue(database: Database, options: SettlementQueueOptions = {}): Promise<SettlementQueue> {
  if (options.ownerConnectionString) {
    const [{ role }] = await database.query<{ role: string }>(sql`SELECT current_user AS role`);
    await installAsOwner(options.ownerConnectionString, role!);
  }
  const boss = new PgBoss({
    ...(options.connectionString ? { connectionString: options.connectionString, max: 3 } : { db: sessionDb(database) }),
    schema: SCHEMA,
    // Cron schedules are not used; maintenance (expiring, archiving) runs under pg-boss's own lock.
    schedule: false,
    supervise: true,
    migrate: !options.ownerConnectionString,
  });
  boss.on("error", (error: Error) => log.warn("settlement queue", { error: error.message }));
  await boss.start();
  if (!options.ownerConnectionString) await ensureQueues(boss);
  const workers = new Set<string>();
  let unlisten: (() => Promise<void>) | undefined;
  let lastNotify = 0;

  const queue: SettlementQueue = {
    boss,
    async enqueueBatches(tx, jobs) {
      for (const job of jobs) await boss.send(SETTLE_BATCH_QUEUE, { ...job }, { singletonKey: job.batchId, db: transactionDb(tx) });
    },
    async enqueueRun(tx, job) {
      await boss.send(SETTLE_RUN_QUEUE, { ...job }, { singletonKey: job.runId, db: transactionDb(tx) });
    },
    async enqueueBatchNow(job) {
      await boss.send(SETTLE_BATCH_QUEUE, { ...job }, { singletonKey: job.batchId });
    },
    async enqueueRunNow(job) {
      await boss.send(SETTLE_RUN_QUEUE, { ...job }, { singletonKey: job.runId });
    },
    announce() {
      queue.wakeWorkers();
      // At most one NOTIFY per 50 ms from a process: a burst of approvals shares them.
      if (Date.now() - lastNotify < 50) return;
      lastNotify = Date.now();
      database.query(sql`SELECT pg_notify(${SETTLEMENT_CHANNEL}, '')`).catch(() => undefined);
    },
    async work(name, handler) {
      const id = await boss.work<object>(name, { batchSize: 1, pollingIntervalSeconds: options.pollingIntervalSeconds ?? 2 }, async (jobs) => {
        for (const job of jobs) {
          try {
            await handler(job.data as never);
          } catch (error) {
            // pg-boss retries it with backoff; the reconciler re-enqueues it if retries run out.
            log.warn("settlement job failed; it will be retried", {
              queue: name,
              job: job.data as Record<string, unknown>,
              error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
            });
            throw error;
          }
        }
      });
      workers.add(id);
      // LISTEN holds a connection of its own: only where pg-boss has its pool (not through PGlite's one socket).
      if (!unlisten && options.connectionString && database.mode === "postgres") {
        unlisten = await database.listen(SETTLEMENT_CHANNEL, () => queue.wakeWorkers()).catch(() => undefined);
      }
      return id;
    },
    wakeWorkers() {
      for (const id of workers) boss.notifyWorker(id);
    },
    async stop() {
      await unlisten?.();
      unlisten = undefined;
      await boss.stop({ graceful: true, wait: true, timeout: 10_000 });
    },
  };
  return queue;
}

// The process's queue, like its database: installed at boot (or by a test), used by approvals and executors.
const QUEUE_KEY = Symbol.for("stableflow.settlementQueue");
type Holder = { [QUEUE_KEY]?: SettlementQueue };

export function setSettlementQueue(queue: SettlementQueue | undefined): void {
  (globalThis as Holder)[QUEUE_KEY] = queue;
}

export function getSettlementQueue(): SettlementQueue | undefined {
  return (globalThis as Holder)[QUEUE_KEY];
}
