// Verified deliveries that could not be applied are kept, never dropped: a body that fails the schema
// (or names a status we do not know, or an amount beyond the ledger's range) is stored FAILED with the
// error and acknowledged, so Dodo stops retrying it and an operator sees it; `replayWebhookEvents`
// applies it after a fix (npm run webhooks -- replay). A redelivery under a known webhook-id with other
// bytes is a conflict: the first stays authoritative and the new body is kept once for review.
import { createHash } from "node:crypto";
import { parseDodoWebhookEvent, type DodoEventParser } from "~/integrations/dodo-events";
import { log, redact } from "~/utils/log.server";
import { sql } from "~/utils/sql.server";
import { KEPT_HEADERS, keptHeadersJson, recordDodoWebhook, type WebhookDatabase } from "./webhook-events.server";

const ERROR_MAX = 2000;

/** In-process counters of verified deliveries kept FAILED and of conflicting redeliveries (for /healthz, logs, tests). */
export const webhookFailureCounter = { failed: 0, conflicts: 0 };

export interface FailedDelivery {
  webhookId: string;
  timestampSeconds: number;
  rawBody: string;
  headers: Record<string, string>;
  /** The type the envelope claims, if it could be read. */
  eventType: string | null;
  /** What failed, for the operator: schema issues or the database's refusal. Never a secret. */
  error: string;
}

/**
 * A known webhook-id delivered again: `duplicate` when the bytes are the ones recorded, else `conflict`
 * (the body is kept once per distinct content, audited and logged as an alert). Null when the webhook-id
 * is not recorded after all (the unique violation was another index's).
 */
export async function resolveRedelivery(
  db: WebhookDatabase,
  delivery: { webhookId: string; rawBody: string; headers: Record<string, string> },
): Promise<"duplicate" | "conflict" | null> {
  const [recorded] = await db.query<{ raw_body: string; organization_id: string | null }>(sql`
    SELECT raw_body, organization_id FROM webhook_events WHERE webhook_id = ${delivery.webhookId}`);
  if (!recorded) return null;
  if (recorded.raw_body === delivery.rawBody) return "duplicate";
  const sha = createHash("sha256").update(delivery.rawBody).digest("hex");
  const inserted = await db.query<{ id: string }>(sql`
    WITH c AS (
      INSERT INTO webhook_event_conflicts (webhook_id, body_sha256, raw_body, headers)
      VALUES (${delivery.webhookId}, ${sha}, ${delivery.rawBody}, ${keptHeadersJson(delivery)}::jsonb)
      ON CONFLICT (webhook_id, body_sha256) DO NOTHING
      RETURNING id),
    a AS (
      INSERT INTO audit_log (organization_id, actor_type, actor_id, action, entity_type, entity_id, data)
      SELECT ${recorded.organization_id}::uuid, 'WEBHOOK', ${delivery.webhookId}, 'webhook.conflict', 'webhook_event', ${delivery.webhookId},
             jsonb_build_object('bodySha256', ${sha}::text)
      FROM c)
    SELECT id FROM c`);
  if (inserted.length > 0) {
    webhookFailureCounter.conflicts++;
    // An alert: the same id with other bytes is either a sender bug or tampering with a leaked secret.
    log.error("webhook conflict: a redelivery of a recorded webhook-id carries a different body; the first is kept", {
      webhookId: delivery.webhookId,
      bodySha256: sha,
    });
  }
  return "conflict";
}

/** Stores a verified delivery FAILED (or resolves it as a redelivery of a known webhook-id). */
export async function recordFailedDelivery(db: WebhookDatabase, failure: FailedDelivery): Promise<"stored" | "duplicate" | "conflict"> {
  const error = redact(failure.error).slice(0, ERROR_MAX);
  const eventType = (failure.eventType ?? "(unreadable)").slice(0, 128);
  const rows = await db.query<{ id: string }>(sql`
    INSERT INTO webhook_events (webhook_id, organization_id, event_type, webhook_timestamp, raw_body, headers, status, error)
    VALUES (${failure.webhookId}, NULL, ${eventType}, ${new Date(failure.timestampSeconds * 1000)}::timestamptz, ${failure.rawBody},
            ${keptHeadersJson(failure)}::jsonb, 'FAILED'::webhook_event_status, ${error})
    ON CONFLICT (webhook_id) DO NOTHING
    RETURNING id`);
  if (rows.length === 0) return (await resolveRedelivery(db, failure)) ?? "duplicate";
  webhookFailureCounter.failed++;
  log.warn("webhook stored FAILED: verified, but its body cannot be applied; replay it after a fix", {
    webhookId: failure.webhookId,
    type: eventType,
    error,
  });
  return "stored";
}

export type ReplayOutcome =
  | { webhookId: string; outcome: "processed" | "ignored" }
  | { webhookId: string; outcome: "still_failed"; error: string }
  | { webhookId: string; outcome: "not_failed"; status: string }
  | { webhookId: string; outcome: "not_found" };

export interface ReplayOptions {
  /** The parser of the deploy doing the replay (default: this one's). */
  parse?: DodoEventParser;
}

function errorText(error: unknown): string {
  if (error instanceof Error && "issues" in error && Array.isArray((error as { issues: unknown }).issues)) {
    return `${error.message}: ${(error as { issues: string[] }).issues.join("; ")}`;
  }
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** Applies one stored FAILED delivery with the current parser; what happened to it. */
export async function replayWebhookEvent(db: WebhookDatabase, webhookId: string, options: ReplayOptions = {}): Promise<ReplayOutcome> {
  const [row] = await db.query<{ status: string; raw_body: string; headers: Record<string, string>; ts: string }>(sql`
    SELECT status::text AS status, raw_body, headers, floor(extract(epoch FROM webhook_timestamp))::bigint::text AS ts
    FROM webhook_events WHERE webhook_id = ${webhookId}`);
  if (!row) return { webhookId, outcome: "not_found" };
  if (row.status !== "FAILED") return { webhookId, outcome: "not_failed", status: row.status };
  const parse = options.parse ?? parseDodoWebhookEvent;
  let event;
  try {
    event = parse(JSON.parse(row.raw_body));
  } catch (error) {
    const text = redact(errorText(error)).slice(0, ERROR_MAX);
    await db.query(sql`UPDATE webhook_events SET error = ${text} WHERE webhook_id = ${webhookId} AND status = 'FAILED'`);
    return { webhookId, outcome: "still_failed", error: text };
  }
  const headers: Record<string, string> = {};
  for (const name of KEPT_HEADERS) if (typeof row.headers?.[name] === "string") headers[name] = row.headers[name];
  const outcome = await recordDodoWebhook(
    db,
    { webhookId, timestampSeconds: Number(row.ts), rawBody: row.raw_body, headers, event },
    { replay: true },
  );
  if (outcome.kind !== "recorded") throw new Error(`replay of ${webhookId}: unexpected ${outcome.kind}`);
  return { webhookId, outcome: event.kind === "other" ? "ignored" : "processed" };
}

/** Every stored FAILED delivery, oldest first (npm run webhooks -- replay --failed). */
export async function replayFailedWebhookEvents(db: WebhookDatabase, options: ReplayOptions = {}): Promise<ReplayOutcome[]> {
  const rows = await db.query<{ webhook_id: string }>(sql`
    SELECT webhook_id FROM webhook_events WHERE status = 'FAILED' ORDER BY received_at, id`);
  const outcomes: ReplayOutcome[] = [];
  for (const { webhook_id } of rows) outcomes.push(await replayWebhookEvent(db, webhook_id, options));
  return outcomes;
}
