// Idempotency keys of the operator API's POST requests: a row per (API key, Idempotency-Key) claimed before
// the request acts, so a concurrent duplicate finds it and waits for the first one's response instead of
// acting again; the response (status and body) is stored when known and replayed for 24 hours. The same
// key with a different request (method, path or body) is refused.
import { createHash } from "node:crypto";
import { sql, type SqlQueryable } from "~/utils/sql.server";

/** Kept 24 hours (`interval '24 hours'` below); a claim whose request never finished (its process died) may be taken over after 5 minutes. */
export const IDEMPOTENCY_KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

export interface StoredResponse {
  status: number;
  body: string;
}

export type IdempotencyClaim =
  | { kind: "claimed" }
  | { kind: "replay"; response: StoredResponse }
  | { kind: "mismatch" }
  | { kind: "in_progress" };

/** JSON with object keys sorted at every level: two bodies that differ only in key order or spacing are one request. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

export function requestHash(method: string, path: string, body: unknown): string {
  return createHash("sha256").update(`${method}\n${path}\n${canonicalJson(body)}`).digest("hex");
}

interface Row {
  request_hash: string;
  response_status: number | null;
  response_body: string | null;
}

/**
 * Claims `key` for this request, or says what the key already holds. Expired rows (24 hours) and abandoned
 * claims of the key are removed first, so an old key starts afresh. The claim is one INSERT ... ON CONFLICT
 * DO NOTHING: of concurrent duplicates exactly one gets "claimed".
 */
export async function claimIdempotencyKey(
  db: SqlQueryable,
  args: { apiKeyId: string; key: string; method: string; path: string; requestHash: string },
): Promise<IdempotencyClaim> {
  await db.query(sql`
    DELETE FROM api_idempotency_keys
    WHERE api_key_id = ${args.apiKeyId}::uuid
      AND (created_at < now() - interval '24 hours'
           OR (completed_at IS NULL AND key = ${args.key} AND created_at < now() - interval '5 minutes'))`);
  const claimed = await db.query(sql`
    INSERT INTO api_idempotency_keys (api_key_id, key, method, path, request_hash)
    VALUES (${args.apiKeyId}::uuid, ${args.key}, ${args.method}, ${args.path}, ${args.requestHash})
    ON CONFLICT (api_key_id, key) DO NOTHING RETURNING 1`);
  if (claimed.length > 0) return { kind: "claimed" };
  return readIdempotencyKey(db, args);
}

/** What an already claimed key holds for this request. */
export async function readIdempotencyKey(db: SqlQueryable, args: { apiKeyId: string; key: string; requestHash: string }): Promise<IdempotencyClaim> {
  const [row] = await db.query<Row>(sql`
    SELECT request_hash, response_status, response_body FROM api_idempotency_keys
    WHERE api_key_id = ${args.apiKeyId}::uuid AND key = ${args.key}`);
  // Removed meanwhile (its request failed and released it): the caller may claim again.
  if (!row) return { kind: "in_progress" };
  if (row.request_hash !== args.requestHash) return { kind: "mismatch" };
  if (row.response_status === null || row.response_body === null) return { kind: "in_progress" };
  return { kind: "replay", response: { status: row.response_status, body: row.response_body } };
}

/** Stores the response of a claimed key (replayed from now on). */
export async function completeIdempotencyKey(db: SqlQueryable, args: { apiKeyId: string; key: string; response: StoredResponse }): Promise<void> {
  await db.query(sql`
    UPDATE api_idempotency_keys SET response_status = ${args.response.status}, response_body = ${args.response.body}, completed_at = now()
    WHERE api_key_id = ${args.apiKeyId}::uuid AND key = ${args.key} AND completed_at IS NULL`);
}

/** Gives a claim back (the request failed before it could answer): a retry with the same key acts then. */
export async function releaseIdempotencyKey(db: SqlQueryable, args: { apiKeyId: string; key: string }): Promise<void> {
  await db.query(sql`
    DELETE FROM api_idempotency_keys WHERE api_key_id = ${args.apiKeyId}::uuid AND key = ${args.key} AND completed_at IS NULL`);
}
