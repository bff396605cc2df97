// The payout-run worker: drains the compile requests the webhook leaves in payout_run_requests (the outbox)
// and compiles each payment's run outside the webhook's transaction. Safe with several workers (SKIP LOCKED).
import type { Prisma, PrismaClient } from "~/generated/prisma/client";
import { log, redact } from "~/utils/log.server";
import { PAYOUT_RUN_REQUESTS_CHANNEL, recordedPaymentFromRow, type PaymentRowText, type RecordedPayment } from "./payments.server";
import { compilePayoutRunForPayment, type CompiledRun } from "./payout-runs.server";

type Tx = Prisma.TransactionClient;

/** Compiles one payment's run in the given transaction; the real compiler unless a test replaces it. */
export type CompileFn = (tx: Tx, payment: RecordedPayment) => Promise<Pick<CompiledRun, "payoutRunId">>;

export interface DrainOptions {
  /** At most this many requests are attempted (default 100). */
  limit?: number;
  /** Requests compiled per transaction (default 10; 1 = one transaction each). */
  batch?: number;
  /** Requests due at this time are claimable (default: now); a test passes a later time to skip the backoff. */
  now?: Date;
  compile?: CompileFn;
}

export interface DrainResult {
  /** Requests that now have their run. */
  compiled: number;
  /** Requests completed without a run: the compiler held the payment (reason audited). */
  held: number;
  /** Requests whose attempt failed; kept with attempts/last_error for a later retry. */
  failed: number;
}

export { PAYOUT_RUN_REQUESTS_CHANNEL };

const LAST_ERROR_MAX = 2000;
const TRANSACTION_OPTIONS = { maxWait: 60_000, timeout: 60_000 } as const;

/** A claimed request (`request_id`) with its payment's row. */
type ClaimedRow = PaymentRowText & { request_id: string };

/**
 * Up to `size` requests in one short transaction (PGlite has one connection: webhooks interleave between
 * batches): claim the oldest due requests, skipping those another worker holds, compile each, mark them
 * completed in one statement. The compiler takes the organization's payout lock itself (re-entrant within
 * the transaction) and is idempotent per payment. Compiled in organization order, so two workers holding
 * requests of the same organizations take their locks in the same order and cannot deadlock.
 */
async function attemptBatch(
  prisma: PrismaClient,
  args: { now: Date; compile: CompileFn; size: number; onlyId?: string },
  claimed: string[],
): Promise<(string | null)[]> {
  return prisma.$transaction(async (tx) => {
    const rows = await tx.$queryRaw<ClaimedRow[]>`
      SELECT r.id AS request_id, p.id, p.organization_id, p.dodo_payment_id, p.checkout_session_id, p.status::text AS status,
             p.total_amount_minor::text AS total_amount_minor, p.currency,
             p.settlement_amount_minor::text AS settlement_amount_minor, p.settlement_currency,
             p.refunded_amount_minor::text AS refunded_amount_minor
      FROM payout_run_requests r JOIN payments p ON p.id = r.payment_id
      WHERE r.completed_at IS NULL AND r.available_at <= ${args.now}
        AND (${args.onlyId ?? null}::uuid IS NULL OR r.id = ${args.onlyId ?? null}::uuid)
      ORDER BY r.available_at, r.created_at
      LIMIT ${args.size}
      FOR UPDATE OF r SKIP LOCKED`;
    if (rows.length === 0) return [];
    rows.sort((a, b) => (a.organization_id < b.organization_id ? -1 : a.organization_id > b.organization_id ? 1 : 0));
    claimed.push(...rows.map((row) => row.request_id));
    const done: { id: string; run_id: string | null }[] = [];
    for (const row of rows) {
      const payment = recordedPaymentFromRow(row);
      const { payoutRunId } = await args.compile(tx, payment);
      done.push({ id: row.request_id, run_id: payoutRunId });
    }
    await tx.$executeRaw`
      UPDATE payout_run_requests r
      SET completed_at = greatest(now(), r.created_at), payout_run_id = d.run_id, attempts = r.attempts + 1, last_error = NULL
      FROM jsonb_to_recordset(${JSON.stringify(done)}::jsonb) AS d(id uuid, run_id uuid)
      WHERE r.id = d.id`;
    return done.map((d) => d.run_id);
  }, TRANSACTION_OPTIONS);
}

async function recordFailure(prisma: PrismaClient, requestId: string, error: unknown): Promise<void> {
  const message = redact(error instanceof Error ? `${error.name}: ${error.message}` : String(error)).slice(0, LAST_ERROR_MAX);
  // Only while still pending: another worker may have completed it since our rollback released it.
  // Backoff after the n-th failure: 1 s, 2 s, 4 s ... capped at 5 minutes (`attempts` is the old value).
  await prisma.$executeRaw`
    UPDATE payout_run_requests
    SET attempts = attempts + 1, last_error = ${message},
        available_at = now() + make_interval(secs => least(power(2, least(attempts, 20)), 300))
    WHERE id = ${requestId}::uuid AND completed_at IS NULL`;
  log.warn("payout run compile failed; will retry", { requestId, error: message });
}

/**
 * Compile the due requests, `batch` per transaction (default 10), until none is left or `limit` were
 * attempted. When a batch fails, its requests are retried one per transaction, so one bad request neither
 * holds back the others nor charges them an attempt. A request's own failure rolls its attempt back and
 * is recorded on it (attempts + 1, last_error, a later available_at); it stays pending, never dropped.
 */
export async function drainPayoutRunRequests(prisma: PrismaClient, options: DrainOptions = {}): Promise<DrainResult> {
  const limit = options.limit ?? 100;
  const batch = Math.max(1, options.batch ?? 10);
  const compile = options.compile ?? compilePayoutRunForPayment;
  const result: DrainResult = { compiled: 0, held: 0, failed: 0 };
  const count = (runIds: (string | null)[]) => {
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
      const runIds = await attemptBatch(prisma, { now, compile, size: Math.min(batch, limit - attempted) }, claimed);
      if (runIds.length === 0) break;
      attempted += runIds.length;
      count(runIds);
    } catch (error) {
      // Nothing claimed: the queue itself is unreachable (database down); the caller's loop tries again later.
      if (claimed.length === 0) throw error;
      attempted += claimed.length;
      if (claimed.length === 1) {
        result.failed++;
        await recordFailure(prisma, claimed[0]!, error);
        continue;
      }
      for (const id of claimed) {
        try {
          count(await attemptBatch(prisma, { now, compile, size: 1, onlyId: id }, []));
        } catch (single) {
          result.failed++;
          await recordFailure(prisma, id, single);
        }
      }
    }
  }
  return result;
}

export interface PayoutRunWorker {
  /** Drain soon (after a webhook committed a request) instead of at the next poll. */
  wake(): void;
  /** Stops polling and waits for the drain in progress to finish. */
  stop(): Promise<void>;
}

const running = new Set<{ wake(): void }>();

/** Nudges every worker of this process; the webhook calls it after its transaction committed a request. */
export function wakePayoutRunWorkers(): void {
  for (const worker of running) worker.wake();
}

export interface PayoutRunWorkerOptions {
  /** Poll interval (default 500 ms): finds requests left by a crash, or whose retry backoff ran out. */
  intervalMs?: number;
  /** Requests per drain before the worker looks at its wake-ups again (default 50). */
  batch?: number;
  /**
   * Subscribe to request notifications (Database.listen on PAYOUT_RUN_REQUESTS_CHANNEL): how a worker in
   * its own process hears of the webhook's commits. Without it only this process's webhooks wake it.
   */
  listen?: (onNotify: () => void, onLost: (error: Error) => void) => Promise<() => Promise<void>>;
}

/**
 * Polls for due requests every `intervalMs` and whenever woken (by this process's webhooks, or by a
 * notification when `listen` is given). Requests left by a crash, by another process, or by a failed
 * attempt whose backoff ran out are found by the poll.
 */
export function startPayoutRunWorker(prisma: PrismaClient, options: PayoutRunWorkerOptions = {}): PayoutRunWorker {
  const intervalMs = options.intervalMs ?? 500;
  const batch = options.batch ?? 50;
  let stopped = false;
  let woken = false;
  let sleeper: { timer: NodeJS.Timeout; resolve: () => void } | undefined;
  let unlisten: (() => Promise<void>) | undefined;
  let listening = false;

  const wake = () => {
    woken = true;
    if (sleeper) {
      clearTimeout(sleeper.timer);
      sleeper.resolve();
    }
  };
  const sleep = () =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, intervalMs);
      timer.unref();
      sleeper = { timer, resolve };
    }).finally(() => {
      sleeper = undefined;
    });
  /** (Re)subscribes when `listen` is given and the subscription is not up; polling covers the gap, loudly. */
  const ensureListening = async () => {
    if (!options.listen || listening || stopped) return;
    try {
      unlisten = await options.listen(wake, (error) => {
        listening = false;
        unlisten = undefined;
        log.warn("payout run worker: lost its notification connection; polling until it listens again", { error: error.message });
      });
      listening = true;
      // Requests committed before the subscription was up are found by the drain that follows.
      wake();
    } catch (error) {
      log.warn("payout run worker: cannot listen for notifications; polling every interval", {
        error: error instanceof Error ? error.message : String(error),
      });
    }
  };

  const handle = { wake };
  running.add(handle);
  const loop = (async () => {
    while (!stopped) {
      await ensureListening();
      woken = false;
      let result: DrainResult | undefined;
      try {
        result = await drainPayoutRunRequests(prisma, { limit: batch });
      } catch (error) {
        log.error("payout run worker: drain failed", { error: error instanceof Error ? error.message : String(error) });
      }
      if (stopped) break;
      const busy = result !== undefined && result.compiled + result.held + result.failed >= batch;
      if (!busy && !woken) await sleep();
    }
    await unlisten?.();
  })();

  return {
    wake,
    async stop() {
      stopped = true;
      running.delete(handle);
      wake();
      await loop;
    },
  };
}
