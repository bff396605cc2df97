// The outbound webhooks' dispatcher: works webhook_deliveries as a queue (due PENDING rows claimed with
// SKIP LOCKED, so any number of dispatchers share it), sends each attempt outside any transaction, and
// records its outcome: DELIVERED, due again after an exponential backoff, or FAILED when the schedule
// (about a day) is spent, which disables an endpoint that has not succeeded since (audited, shown as a
// banner). It runs beside the payout-run worker, never in an executor or a web request: settlement only
// ever writes the outbox rows (decision 014).
import { sendSignedWebhook, type AttemptOutcome, type DestinationPolicy } from "~/integrations/webhook-sender.server";
import { log } from "~/utils/log.server";
import { sql, type SqlStatement, type SqlTransaction } from "~/utils/sql.server";
import type { Env } from "~/utils/env.server";

export interface DispatcherDatabase {
  transaction<T>(fn: (tx: SqlTransaction) => Promise<T>): Promise<T>;
  query<Row = Record<string, unknown>>(statement: SqlStatement): Promise<Row[]>;
}

/** Attempts one delivery gets on its schedule: with the default backoff the last comes ~25 h after the first. */
export const WEBHOOK_MAX_ATTEMPTS = 9;
/** Each gap is this many times the one before (5 s, 25 s, 2 min, 10 min, 52 min, 4.3 h, then the cap). */
export const WEBHOOK_BACKOFF_FACTOR = 5;

export interface WebhookDeliverySettings {
  policy: DestinationPolicy;
  /** The deadline of one attempt, connection to the end of the answer. */
  timeoutMs: number;
  /** The first retry's delay; each next one WEBHOOK_BACKOFF_FACTOR times longer, up to retryMaxMs. */
  retryBaseMs: number;
  retryMaxMs: number;
}

export function webhookSettings(env: Env): WebhookDeliverySettings {
  return {
    // Private and loopback destinations only in development, or where the setting says so (tests, an internal receiver).
    policy: { allowPrivate: env.STABLEFLOW_WEBHOOK_ALLOW_PRIVATE_URLS ?? env.STABLEFLOW_ENV === "development" },
    timeoutMs: env.STABLEFLOW_WEBHOOK_TIMEOUT_MS,
    retryBaseMs: env.STABLEFLOW_WEBHOOK_RETRY_BASE_MS,
    retryMaxMs: env.STABLEFLOW_WEBHOOK_RETRY_MAX_MS,
  };
}

/** The wait after the `failures`-th failed attempt of a schedule (1-based): exponential, capped. */
export function retryDelayMs(failures: number, settings: Pick<WebhookDeliverySettings, "retryBaseMs" | "retryMaxMs">): number {
  const exponent = Math.max(0, failures - 1);
  return Math.min(settings.retryBaseMs * WEBHOOK_BACKOFF_FACTOR ** exponent, settings.retryMaxMs);
}

/** The webhook-id of an event: the same on every attempt and every redelivery of it. */
export function webhookIdOf(eventId: string): string {
  return `msg_${eventId.replaceAll("-", "")}`;
}

interface ClaimedDelivery {
  id: string;
  event_id: string;
  endpoint_id: string;
  attempts: number;
  schedule_from: number;
  created_at: string;
  url: string;
  secret: string;
  body: string;
  event_type: string;
}

/**
 * Claims up to `limit` due deliveries of enabled endpoints: each counts its attempt and is pushed past the
 * attempt's deadline, so a dispatcher that dies mid-attempt leaves it to be tried again, not lost.
 */
async function claimDue(db: DispatcherDatabase, limit: number, settings: WebhookDeliverySettings): Promise<ClaimedDelivery[]> {
  const leaseMs = settings.timeoutMs + 30_000;
  return db.query<ClaimedDelivery>(sql`
    WITH due AS (
      SELECT d.id FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
      WHERE d.status = 'PENDING' AND d.next_attempt_at <= now() AND e.status = 'ENABLED' AND e.deleted_at IS NULL
      ORDER BY d.next_attempt_at
      LIMIT ${limit}
      FOR UPDATE OF d SKIP LOCKED)
    UPDATE webhook_deliveries d
    SET attempts = d.attempts + 1, last_attempt_at = now(), next_attempt_at = now() + make_interval(secs => ${leaseMs / 1000}::double precision)
    FROM due, webhook_endpoints e, outbound_events ev
    WHERE d.id = due.id AND e.id = d.endpoint_id AND ev.id = d.event_id
    RETURNING d.id, d.event_id, d.endpoint_id, d.attempts, d.schedule_from, d.created_at::text AS created_at, e.url, e.secret, ev.body, ev.event_type`);
}

/** Writes an attempt's outcome; only the claim that made the attempt moves the delivery (a later claim wins). */
async function recordOutcome(db: DispatcherDatabase, claimed: ClaimedDelivery, outcome: AttemptOutcome, settings: WebhookDeliverySettings): Promise<void> {
  const inSchedule = claimed.attempts - claimed.schedule_from;
  const manual = claimed.schedule_from > 0 && inSchedule === 1;
  const error = outcome.error?.slice(0, 500) ?? null;
  await db.transaction(async (tx) => {
    await tx.query(sql`
      INSERT INTO webhook_delivery_attempts (delivery_id, attempt, manual, status_code, error, started_at, duration_ms)
      VALUES (${claimed.id}::uuid, ${claimed.attempts}, ${manual}, ${outcome.statusCode}, ${error}, ${outcome.startedAt}::timestamptz, ${outcome.durationMs})
      ON CONFLICT (delivery_id, attempt) DO NOTHING`);
    if (outcome.delivered) {
      const moved = await tx.query(sql`
        UPDATE webhook_deliveries SET status = 'DELIVERED', delivered_at = now(), next_attempt_at = NULL,
               last_status_code = ${outcome.statusCode}, last_error = NULL
        WHERE id = ${claimed.id}::uuid AND attempts = ${claimed.attempts} AND status = 'PENDING' RETURNING 1`);
      await tx.query(sql`UPDATE webhook_endpoints SET last_success_at = now() WHERE id = ${claimed.endpoint_id}::uuid`);
      if (moved.length === 0) log.debug("webhook delivered by an attempt whose claim had been taken over", { deliveryId: claimed.id });
      return;
    }
    if (inSchedule < WEBHOOK_MAX_ATTEMPTS) {
      const delayMs = retryDelayMs(inSchedule, settings);
      await tx.query(sql`
        UPDATE webhook_deliveries SET next_attempt_at = now() + make_interval(secs => ${delayMs / 1000}::double precision),
               last_status_code = ${outcome.statusCode}, last_error = ${error}
        WHERE id = ${claimed.id}::uuid AND attempts = ${claimed.attempts} AND status = 'PENDING'`);
      return;
    }
    const failed = await tx.query(sql`
      UPDATE webhook_deliveries SET status = 'FAILED', next_attempt_at = NULL, last_status_code = ${outcome.statusCode}, last_error = ${error}
      WHERE id = ${claimed.id}::uuid AND attempts = ${claimed.attempts} AND status = 'PENDING' RETURNING 1`);
    if (failed.length === 0) return;
    // Persistent failure: the whole schedule spent and no success to this endpoint since this event. Its
    // other deliveries wait (PENDING) until an admin enables it again.
    const reason = `${inSchedule} attempts over the retry schedule failed (last: ${error ?? `HTTP ${outcome.statusCode}`}); nothing succeeded since`;
    const disabled = await tx.query<{ organization_id: string }>(sql`
      UPDATE webhook_endpoints SET status = 'DISABLED', disabled_at = now(), disabled_by_system = true,
             disabled_reason = left(${reason}, 500), updated_at = now()
      WHERE id = ${claimed.endpoint_id}::uuid AND status = 'ENABLED'
        AND (last_success_at IS NULL OR last_success_at < ${claimed.created_at}::timestamptz)
      RETURNING organization_id`);
    if (disabled.length > 0) {
      await tx.query(sql`
        INSERT INTO audit_log (organization_id, actor_type, action, entity_type, entity_id, data)
        VALUES (${disabled[0]!.organization_id}::uuid, 'SYSTEM', 'webhook_endpoint.disabled', 'webhook_endpoint', ${claimed.endpoint_id},
                jsonb_build_object('reason', left(${reason}, 500), 'deliveryId', ${claimed.id}::text, 'eventType', ${claimed.event_type}::text))`);
      log.warn("webhook endpoint disabled after persistent failure", { endpointId: claimed.endpoint_id, attempts: inSchedule });
    }
  });
}

async function attempt(db: DispatcherDatabase, claimed: ClaimedDelivery, settings: WebhookDeliverySettings): Promise<AttemptOutcome> {
  const outcome = await sendSignedWebhook({
    url: claimed.url,
    webhookId: webhookIdOf(claimed.event_id),
    body: claimed.body,
    secret: claimed.secret,
    timeoutMs: settings.timeoutMs,
    policy: settings.policy,
  });
  await recordOutcome(db, claimed, outcome, settings);
  return outcome;
}

/** One pass: claims what is due (up to `limit`), sends them concurrently, records each; answers how many. */
export async function deliverDueWebhooks(db: DispatcherDatabase, settings: WebhookDeliverySettings, limit = 20): Promise<number> {
  const claimed = await claimDue(db, limit, settings);
  await Promise.all(claimed.map((c) => attempt(db, c, settings)));
  return claimed.length;
}

export interface WebhookDispatcher {
  /** Looks for due deliveries now (a manual redelivery). */
  wake(): void;
  /** Stops claiming, and waits for the attempts in flight (each bounded by its timeout). */
  stop(): Promise<void>;
}

export interface DispatcherOptions {
  /** How often due deliveries are looked for (default 1 s): the outbox is written by triggers, which do not NOTIFY. */
  pollMs?: number;
  /** Attempts in flight at once (default 16): a slow receiver takes one slot, not the dispatcher. */
  concurrency?: number;
}

export function startWebhookDispatcher(db: DispatcherDatabase, settings: WebhookDeliverySettings, options: DispatcherOptions = {}): WebhookDispatcher {
  const pollMs = options.pollMs ?? 1_000;
  const concurrency = options.concurrency ?? 16;
  const inFlight = new Set<Promise<unknown>>();
  let stopped = false;
  let sleeper: { timer: NodeJS.Timeout; resolve: () => void } | undefined;
  const wake = () => {
    if (!sleeper) return;
    clearTimeout(sleeper.timer);
    sleeper.resolve();
  };
  const loop = (async () => {
    while (!stopped) {
      const room = concurrency - inFlight.size;
      if (room > 0) {
        try {
          for (const claimed of await claimDue(db, room, settings)) {
            const running: Promise<unknown> = attempt(db, claimed, settings)
              .catch((error: unknown) => {
                // The claim's deadline brings it back: an unrecorded attempt is tried again, never lost.
                log.warn("webhook attempt not recorded; it will be tried again", { deliveryId: claimed.id, error: error instanceof Error ? error.message : String(error) });
              })
              .finally(() => {
                inFlight.delete(running);
                wake();
              });
            inFlight.add(running);
          }
        } catch (error) {
          if (!stopped) log.warn("webhook dispatcher: cannot claim deliveries", { error: error instanceof Error ? error.message : String(error) });
        }
      }
      if (stopped) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, pollMs);
        timer.unref();
        sleeper = { timer, resolve };
      });
      sleeper = undefined;
    }
  })();
  return {
    wake,
    async stop() {
      stopped = true;
      wake();
      await loop;
      await Promise.allSettled([...inFlight]);
    },
  };
}
