// The payout-run worker: drains the compile requests the webhook leaves in payout_run_requests (the outbox)
// and compiles each payment's run outside the webhook's transaction. Safe with several workers (SKIP LOCKED).
// On the driver, set-based (decision 006): a batch of requests is claimed, compiled and completed in a
// handful of statements, however many requests it holds.
import { describeError, log, redact } from "~/utils/log.server";
import { sql, type SqlStatement, type SqlTransaction } from "~/utils/sql.server";
import { recordedPaymentFromRow, type PaymentRowText, type RecordedPayment } from "./payments.server";
import { compilePaymentRuns, type CompiledRun } from "./payout-runs.server";
import { closeDuePayoutWindows } from "./payout-windows.server";

/** What the worker needs of the database: driver transactions and statements (Database has both). */
export interface WorkerDatabase {
  transaction<T>(fn: (tx: SqlTransaction) => Promise<T>): Promise<T>;
  query<Row = Record<string, unknown>>(statement: SqlStatement): Promise<Row[]>;
}

/**
 * Compiles a batch of payments' runs in the given transaction, one result per payment in order: the
 * real compiler (compilePaymentRuns) unless a test replaces it.
 */
export type CompileFn = (
  tx: SqlTransaction,
  payments: readonly RecordedPayment[],
  /** The drain's clock: the compile's (runs' created_at, period caps, schedule windows). */
  now: Date,
) => Promise<(Pick<CompiledRun, "payoutRunId"> & Partial<Pick<CompiledRun, "holdReason">>)[]>;

export interface DrainOptions {
  /** At most this many requests are attempted (default 1,000). */
  limit?: number;
  /** Requests compiled per transaction (default 100; 1 = one transaction each). */
  batch?: number;
  /**
   * The drain's clock (default: now): requests due at this time are claimable, windows ending by it close,
   * and it is the compile's clock. A test passes a later time to skip a backoff or to cross a window's close.
   */
  now?: Date;
  compile?: CompileFn;
  /** Told the runs each committed batch compiled (settlement auto-approves those its policy allows). */
  onCompiled?: (runIds: string[]) => void;
}

export interface DrainResult {
  /** Requests that now have their run. */
  compiled: number;
  /** Requests completed without a run: the compiler held the payment (reason audited). */
  held: number;
  /** Requests whose attempt failed; kept with attempts/last_error for a later retry (dead after the last). */
  failed: number;
  /** Schedule windows closed by this drain (each with at most one sweep run). */
  windowsClosed: number;
}

/**
 * Attempts a request gets before it is a dead letter (kept, listed, retried only by an operator:
 * retryDeadPayoutRunRequests). With the backoff (1 s, 2 s, ... capped at 5 min) the last attempt comes
 * about 9 minutes after the first.
 */
export const PAYOUT_RUN_MAX_ATTEMPTS = 10;

/** Where new compile requests are announced: a worker in any process listens while it sleeps. */
export const PAYOUT_RUN_REQUESTS_CHANNEL = "stableflow_payout_run_requests";

const LAST_ERROR_MAX = 2000;

/** A claimed request (`request_id`) with its payment's row. */
type ClaimedRow = PaymentRowText & { request_id: string };

/**
 * Up to `size` requests in one short transaction (PGlite has one connection: webhooks interleave between
 * batches): claim the oldest due requests, skipping those another worker holds, compile them together,
 * mark them completed in one statement. The compiler takes each organization's payout lock in id order
 * and is idempotent per payment, so two workers cannot deadlock or compile a payment twice.
 */
async function attemptBatch(
  db: WorkerDatabase,
  args: { now: Date; compile: CompileFn; size: number; onlyId?: string },
  claimed: string[],
): Promise<(string | null)[]> {
  return db.transaction(async (tx) => {
    const rows = await tx.query<ClaimedRow>(sql`
      SELECT r.id AS request_id, p.id, p.organization_id, p.dodo_payment_id, p.checkout_session_id, p.status::text AS status,
             p.total_amount_minor::text AS total_amount_minor, p.currency,
             p.settlement_amount_minor::text AS settlement_amount_minor, p.settlement_currency,
             p.refunded_amount_minor::text AS refunded_amount_minor, p.net_settlement_minor::text AS net_settlement_minor, p.payout_hold
      FROM payout_run_requests r JOIN payments p ON p.id = r.payment_id
      WHERE r.completed_at IS NULL AND r.dead_at IS NULL AND r.available_at <= ${args.now}::timestamptz
        AND (${args.onlyId ?? null}::uuid IS NULL OR r.id = ${args.onlyId ?? null}::uuid)
      ORDER BY r.available_at, r.created_at
      LIMIT ${args.size}
      FOR UPDATE OF r SKIP LOCKED`);
    if (rows.length === 0) return [];
    claimed.push(...rows.map((row) => row.request_id));
    const results = await args.compile(tx, rows.map(recordedPaymentFromRow), args.now);
    if (results.length !== rows.length) throw new Error(`payout run compile returned ${results.length} results for ${rows.length} payments`);
    const done = rows.map((row, i) => ({
      id: row.request_id,
      run_id: results[i]!.payoutRunId,
      hold_reason: results[i]!.payoutRunId ? null : (results[i]!.holdReason ?? null)?.slice(0, 2000) ?? null,
    }));
    await tx.query(sql`
      UPDATE payout_run_requests r
      SET completed_at = greatest(now(), r.created_at), payout_run_id = d.run_id, hold_reason = d.hold_reason,
          attempts = r.attempts + 1, last_error = NULL
      FROM jsonb_to_recordset(${JSON.stringify(done)}::jsonb) AS d(id uuid, run_id uuid, hold_reason text)
      WHERE r.id = d.id`);
    return done.map((d) => d.run_id);
  });
}

async function recordFailure(db: WorkerDatabase, requestId: string, error: unknown): Promise<void> {
  const message = redact(error instanceof Error ? `${error.name}: ${error.message}` : String(error)).slice(0, LAST_ERROR_MAX);
  // Only while still pending: another worker may have completed it since our rollback released it.
  // Backoff after the n-th failure: 1 s, 2 s, 4 s ... capped at 5 minutes (`attempts` is the old value);
  // the last allowed attempt makes it a dead letter.
  const [row] = await db.query<{ dead: boolean }>(sql`
    UPDATE payout_run_requests
    SET attempts = attempts + 1, last_error = ${message},
        available_at = now() + make_interval(secs => least(power(2, least(attempts, 20)), 300)),
        dead_at = CASE WHEN attempts + 1 >= ${PAYOUT_RUN_MAX_ATTEMPTS}::int THEN now() ELSE NULL END
    WHERE id = ${requestId}::uuid AND completed_at IS NULL
    RETURNING dead_at IS NOT NULL AS dead`);
  if (row?.dead) log.error("payout run compile failed for the last time: a dead letter until an operator retries it", { requestId, error: message });
  else log.warn("payout run compile failed; will retry", { requestId, error: message });
}

const compileWithRealCompiler: CompileFn = (tx, payments, now) => compilePaymentRuns(tx, payments, { now });

/**
 * Compile the due requests, `batch` per transaction (default 100), until none is left or `limit` were
 * attempted. When a batch fails, its requests are retried one per transaction, so one bad request neither
 * holds back the others nor charges them an attempt. A request's own failure rolls its attempt back and
 * is recorded on it (attempts + 1, last_error, a later available_at); it stays pending, never dropped.
 */
export async function drainPayoutRunRequests(db: WorkerDatabase, options: DrainOptions = {}): Promise<DrainResult> {
  const limit = options.limit ?? 1_000;
  const batch = Math.max(1, options.batch ?? 100);
  const compile = options.compile ?? compileWithRealCompiler;
  const result: DrainResult = { compiled: 0, held: 0, failed: 0, windowsClosed: 0 };
  const count = (runIds: (string | null)[]) => {
    const compiled = runIds.filter((runId): runId is string => runId !== null);
    if (compiled.length > 0) options.onCompiled?.(compiled);
    for (const runId of runIds) {
      if (runId) result.compiled++;
      else result.held++;
    }
  };
  let attempted = 0;
  while (attempted < limit) {
    const claimed: string[] = [];
    const now = options.now ?? new Date();
    try {
      const runIds = await attemptBatch(db, { now, compile, size: Math.min(batch, limit - attempted) }, claimed);
      if (runIds.length === 0) break;
      attempted += runIds.length;
      count(runIds);
    } catch (error) {
      // Nothing claimed: the queue itself is unreachable (database down); the caller's loop tries again later.
      if (claimed.length === 0) throw error;
      attempted += claimed.length;
      if (claimed.length === 1) {
        result.failed++;
        await recordFailure(db, claimed[0]!, error);
        continue;
      }
      for (const id of claimed) {
        try {
          count(await attemptBatch(db, { now, compile, size: 1, onlyId: id }, []));
        } catch (single) {
          result.failed++;
          await recordFailure(db, id, single);
        }
      }
    }
  }
  // Windows close after the requests: a payment compiled just before its window's end accrues first.
  result.windowsClosed = (await closeDuePayoutWindows(db, { now: options.now })).closed;
  return result;
}

export interface PayoutRunWorker {
  /** Drain soon (after a webhook committed a request) instead of at the next poll. */
  wake(): void;
  /** Stops polling and waits for the drain in progress to finish. */
  stop(): Promise<void>;
}

const running = new Set<{ wake(): void }>();

/** Nudges every worker of this process. */
function wakePayoutRunWorkers(): void {
  for (const worker of running) worker.wake();
}

/** At most one announcement per this many ms from one process: a burst's commits share them. */
const ANNOUNCE_INTERVAL_MS = 50;
const announcers = new WeakMap<object, { lastMs: number; scheduled: boolean }>();

/**
 * Called after a transaction that wrote compile requests has committed: wakes this process's workers, and
 * tells workers in other processes with a NOTIFY of its own, at once or (within ANNOUNCE_INTERVAL_MS of
 * the last one) once at the end of the interval. Not a NOTIFY inside the webhook's statement: PostgreSQL
 * serialises every committing transaction that notifies, on a database-wide lock, and queues each
 * notification even when no one listens; that halved the commit rate of 8 connections here (decision
 * 006). An announcement lost to a crash between the commit and the NOTIFY costs one poll interval
 * (500 ms), never the request: the request is a committed row.
 */
export function announcePayoutRunRequests(db: Pick<WorkerDatabase, "query">): void {
  wakePayoutRunWorkers();
  let state = announcers.get(db);
  if (!state) announcers.set(db, (state = { lastMs: -Infinity, scheduled: false }));
  if (state.scheduled) return;
  const announcer = state;
  const send = () => {
    announcer.scheduled = false;
    announcer.lastMs = performance.now();
    db.query(sql`SELECT pg_notify(${PAYOUT_RUN_REQUESTS_CHANNEL}, '')`).catch((error: unknown) => {
      log.warn("payout run requests: cannot notify the worker; it finds them at its next poll", {
        error: error instanceof Error ? error.message : String(error),
      });
    });
  };
  const waitMs = announcer.lastMs + ANNOUNCE_INTERVAL_MS - performance.now();
  if (waitMs <= 0) return send();
  announcer.scheduled = true;
  setTimeout(send, waitMs).unref();
}

export interface PayoutRunWorkerOptions {
  /** Poll interval (default 500 ms): finds requests left by a crash, or whose retry backoff ran out. */
  intervalMs?: number;
  /** Requests per drain before the worker looks at its wake-ups again (default 500). */
  limit?: number;
  /**
   * Awake, drain every this many ms (default 100): the requests of a burst of webhooks are compiled in
   * batches of tens rather than one transaction each. Runs wait for an operator's approval, so 0.1 s
   * more before a run is READY costs nobody anything.
   */
  gatherMs?: number;
  /**
   * Subscribe to request notifications (Database.listen on PAYOUT_RUN_REQUESTS_CHANNEL): how a worker in
   * its own process hears of the webhook's commits. Without it only this process's webhooks wake it.
   */
  listen?: (onNotify: () => void, onLost: (error: Error) => void) => Promise<() => Promise<void>>;
  /** See DrainOptions.onCompiled. */
  onCompiled?: (runIds: string[]) => void;
}

/**
 * Asleep, the worker listens (when `listen` is given) and polls every `intervalMs`; a notification or a
 * wake-up from this process's webhooks wakes it. Awake, it stops listening (during a burst of webhooks
 * every commit would otherwise wake this process and a PostgreSQL backend for nothing, decision 006),
 * and drains every `gatherMs` until a drain finds nothing; then it listens again and drains once more,
 * which catches whatever was committed before the subscription was up. Requests left by a crash, by
 * another process, or by a failed attempt whose backoff ran out are found by the poll.
 */
export function startPayoutRunWorker(db: WorkerDatabase, options: PayoutRunWorkerOptions = {}): PayoutRunWorker {
  const intervalMs = options.intervalMs ?? 500;
  const limit = options.limit ?? 500;
  const gatherMs = options.gatherMs ?? 100;
  let stopped = false;
  let woken = false;
  let sleeper: { timer: NodeJS.Timeout; resolve: () => void } | undefined;
  let gathering: { timer: NodeJS.Timeout; resolve: () => void } | undefined;
  let unlisten: (() => Promise<void>) | undefined;

  const wake = () => {
    woken = true;
    if (sleeper) {
      clearTimeout(sleeper.timer);
      sleeper.resolve();
    }
  };
  /** Resolves after `ms`, or at once when the worker stops (wake-ups do not cut it short). */
  const pause = (ms: number, slot: "sleep" | "gather") =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      timer.unref();
      if (slot === "sleep") sleeper = { timer, resolve };
      else gathering = { timer, resolve };
    }).finally(() => {
      if (slot === "sleep") sleeper = undefined;
      else gathering = undefined;
    });
  /** Listens when `listen` is given and it is not listening; polling covers a failure, loudly. */
  const subscribe = async () => {
    if (!options.listen || unlisten || stopped) return;
    try {
      unlisten = await options.listen(wake, (error) => {
        unlisten = undefined;
        log.warn("payout run worker: lost its notification connection; polling until it listens again", { error: error.message });
      });
    } catch (error) {
      log.warn("payout run worker: cannot listen for notifications; polling every interval", {
        error: error instanceof Error ? error.message : String(error),
      });
    }
  };
  const unsubscribe = async () => {
    const stop = unlisten;
    unlisten = undefined;
    await stop?.();
  };
  /** One drain; how many requests it attempted (0 after a failure to reach the queue, which is logged). */
  const drain = async () => {
    try {
      const result = await drainPayoutRunRequests(db, { limit, onCompiled: options.onCompiled });
      return result.compiled + result.held + result.failed + result.windowsClosed;
    } catch (error) {
      log.error("payout run worker: drain failed", { error: describeError(error) });
      return 0;
    }
  };

  const handle = { wake };
  running.add(handle);
  const loop = (async () => {
    while (!stopped) {
      // Asleep: listening; the drain catches what was committed before the subscription was up.
      await subscribe();
      woken = false;
      if ((await drain()) === 0 && !stopped && !woken) {
        await pause(intervalMs, "sleep");
        // The poll found its interval over with nothing heard: drain, and sleep again.
        if (!woken) continue;
      }
      if (stopped) break;
      // Awake: a burst. Not listening; gather, drain, until a drain finds nothing.
      await unsubscribe();
      do await pause(gatherMs, "gather");
      while (!stopped && (await drain()) > 0);
    }
    await unsubscribe();
  })();

  return {
    wake,
    async stop() {
      stopped = true;
      running.delete(handle);
      wake();
      if (gathering) {
        clearTimeout(gathering.timer);
        gathering.resolve();
      }
      await loop;
    },
  };
}
