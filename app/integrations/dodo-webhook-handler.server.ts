// POST /api/webhooks/dodo as a function of a Fetch Request: size limit, content type, signature, schema,
// then one transaction. Kept out of the route module so tests can call it and the route stays thin.
import { recordDodoWebhook, type WebhookDatabase } from "~/models/webhook-events.server";
import { log } from "~/utils/log.server";
import { DodoPayloadError, parseDodoWebhookEvent } from "./dodo-events";
import {
  WebhookSignatureError,
  countWebhookRejection,
  plainHeaders,
  type DodoWebhookVerifier,
} from "./webhook-verification.server";

/** Dodo's payloads are a few KiB; 256 KiB leaves room for large carts and still bounds memory per request. */
export const WEBHOOK_BODY_LIMIT_BYTES = 256 * 1024;

export interface DodoWebhookDeps {
  db: WebhookDatabase;
  verifier: DodoWebhookVerifier;
}

class BodyTooLargeError extends Error {
  readonly code = "WEBHOOK_BODY_TOO_LARGE";
}

function json(status: number, body: Record<string, unknown>, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store", ...headers },
  });
}

/**
 * The raw bytes, never more than the limit: Content-Length is checked first (cheap, honest senders), and
 * the bytes actually read are counted too (chunked or lying senders). Decoded as UTF-8 exactly once;
 * these are the bytes the signature covers.
 */
async function readBoundedBody(request: Request, limit: number): Promise<string> {
  const declared = request.headers.get("content-length");
  if (declared !== null) {
    const length = Number(declared);
    if (!/^[0-9]+$/.test(declared) || !Number.isSafeInteger(length)) throw new BodyTooLargeError();
    if (length > limit) throw new BodyTooLargeError();
  }
  if (!request.body) return "";
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let received = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    received += value.byteLength;
    if (received > limit) {
      await reader.cancel().catch(() => undefined);
      throw new BodyTooLargeError();
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(received);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return new TextDecoder("utf-8").decode(bytes);
}

function isJsonContentType(value: string | null): boolean {
  if (!value) return false;
  const mediaType = value.split(";")[0]!.trim().toLowerCase();
  return mediaType === "application/json";
}

export async function handleDodoWebhook(request: Request, deps: DodoWebhookDeps | (() => Promise<DodoWebhookDeps>)): Promise<Response> {
  if (request.method !== "POST") return json(405, { error: "method not allowed" }, { allow: "POST" });
  if (!isJsonContentType(request.headers.get("content-type"))) {
    return json(415, { error: "expected application/json" });
  }

  let rawBody: string;
  try {
    rawBody = await readBoundedBody(request, WEBHOOK_BODY_LIMIT_BYTES);
  } catch (error) {
    // The unread rest of the body makes the connection unusable: say so, so clients do not reuse it.
    if (error instanceof BodyTooLargeError) return json(413, { error: "payload too large" }, { connection: "close" });
    // The client went away mid-body: nothing to answer that anyone will read.
    return json(400, { error: "unreadable body" });
  }

  let resolved: DodoWebhookDeps;
  try {
    resolved = typeof deps === "function" ? await deps() : deps;
  } catch (error) {
    log.error("webhook dependencies unavailable", { error: error instanceof Error ? error.message : String(error) });
    return json(503, { error: "temporarily unavailable" });
  }

  const headers = plainHeaders(request.headers);
  let verified: { webhookId: string; timestampSeconds: number };
  try {
    verified = resolved.verifier.verify(rawBody, headers);
  } catch (error) {
    const reason = error instanceof WebhookSignatureError ? error.reason : "no_matching_signature";
    countWebhookRejection(reason);
    // Reason only: no header value, no body, no secret.
    log.warn("webhook rejected", { reason });
    return json(401, { error: "invalid signature" });
  }

  let event;
  try {
    event = parseDodoWebhookEvent(JSON.parse(rawBody));
  } catch (error) {
    const issues = error instanceof DodoPayloadError ? error.issues : ["body is not JSON"];
    log.warn("webhook payload refused", { webhookId: verified.webhookId, issues });
    return json(400, { error: "malformed payload", issues });
  }

  try {
    const outcome = await recordDodoWebhook(resolved.db, {
      webhookId: verified.webhookId,
      timestampSeconds: verified.timestampSeconds,
      rawBody,
      headers,
      event,
    });
    if (outcome.kind === "duplicate") return json(200, { status: "duplicate" });
    return json(200, { status: "recorded", changes: outcome.changes.length });
  } catch (error) {
    // 5xx so Dodo retries; the transaction rolled back, so the retry starts from a clean slate.
    log.error("webhook recording failed", {
      webhookId: verified.webhookId,
      type: event.type,
      error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    });
    return json(500, { error: "internal error" });
  }
}
