// POST /api/webhooks/dodo: size limit, content type, signature, schema, then the ledger write. One core
// (processDodoWebhook) with two thin adapters: a Fetch Request (the Remix route, tests) and Node's
// request/response (the production server mounts it ahead of Remix, see scripts/app.mjs).
import type { IncomingMessage, ServerResponse } from "node:http";
import { recordDodoWebhook, type WebhookDatabase } from "~/models/webhook-events.server";
import { recordFailedDelivery } from "~/models/webhook-failures.server";
import { ConstraintViolationError, toDatabaseError } from "~/utils/db-errors.server";
import { describeError, log } from "~/utils/log.server";
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

/** A request as the core sees it, whatever served it (Remix's Fetch Request, or Node's IncomingMessage). */
export interface WebhookRequest {
  method: string;
  /** Lower-case names. */
  headers: Record<string, string>;
  /** The raw bytes, never more than `limit` (BodyTooLargeError beyond), decoded as UTF-8 once. */
  readBody(limit: number): Promise<string>;
}

export interface WebhookAnswer {
  status: number;
  body: Record<string, unknown>;
  headers: Record<string, string>;
}

function answer(status: number, body: Record<string, unknown>, headers: Record<string, string> = {}): WebhookAnswer {
  return { status, body, headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store", ...headers } };
}

/** Content-Length first (cheap, honest senders); a declared length that is not a number is refused too. */
function checkDeclaredLength(declared: string | null | undefined, limit: number): void {
  if (declared === null || declared === undefined) return;
  const length = Number(declared);
  if (!/^[0-9]+$/.test(declared) || !Number.isSafeInteger(length) || length > limit) throw new BodyTooLargeError();
}

function concatenate(chunks: Uint8Array[], size: number): string {
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return new TextDecoder("utf-8").decode(bytes);
}

/**
 * The raw bytes of a Fetch Request, never more than the limit: Content-Length is checked first, and the
 * bytes actually read are counted too (chunked or lying senders).
 */
async function readFetchBody(request: Request, limit: number): Promise<string> {
  checkDeclaredLength(request.headers.get("content-length"), limit);
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
  return concatenate(chunks, received);
}

/** The same for Node's request stream: stops reading (pauses) at the limit. */
function readNodeBody(request: IncomingMessage, limit: number): Promise<string> {
  checkDeclaredLength(request.headers["content-length"], limit);
  return new Promise((resolve, reject) => {
    const chunks: Uint8Array[] = [];
    let received = 0;
    const onData = (chunk: Buffer) => {
      received += chunk.byteLength;
      if (received > limit) {
        cleanup();
        request.pause();
        reject(new BodyTooLargeError());
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(concatenate(chunks, received));
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    const onAborted = () => onError(new Error("request aborted"));
    const cleanup = () => {
      request.off("data", onData);
      request.off("end", onEnd);
      request.off("error", onError);
      request.off("aborted", onAborted);
    };
    request.on("data", onData);
    request.on("end", onEnd);
    request.on("error", onError);
    request.on("aborted", onAborted);
  });
}

function isJsonContentType(value: string | undefined): boolean {
  if (!value) return false;
  const mediaType = value.split(";")[0]!.trim().toLowerCase();
  return mediaType === "application/json";
}

/**
 * POST /api/webhooks/dodo, whatever serves it: method, content type, bounded raw body, signature,
 * schema, then the ledger write; 2xx only after it committed, 5xx on any internal failure.
 */
export async function processDodoWebhook(request: WebhookRequest, deps: DodoWebhookDeps | (() => Promise<DodoWebhookDeps>)): Promise<WebhookAnswer> {
  if (request.method !== "POST") return answer(405, { error: "method not allowed" }, { allow: "POST" });
  if (!isJsonContentType(request.headers["content-type"])) {
    return answer(415, { error: "expected application/json" });
  }

  let rawBody: string;
  try {
    rawBody = await request.readBody(WEBHOOK_BODY_LIMIT_BYTES);
  } catch (error) {
    // The unread rest of the body makes the connection unusable: say so, so clients do not reuse it.
    if (error instanceof BodyTooLargeError) return answer(
        413,
        { error: "payload too large", message: `A webhook delivery is at most ${WEBHOOK_BODY_LIMIT_BYTES / 1024} KiB; this one is larger.` },
        { connection: "close" },
      );
    // The client went away mid-body: nothing to answer that anyone will read.
    return answer(400, { error: "unreadable body" });
  }

  let resolved: DodoWebhookDeps;
  try {
    resolved = typeof deps === "function" ? await deps() : deps;
  } catch (error) {
    log.error("webhook dependencies unavailable", { error: describeError(error) });
    return answer(503, { error: "temporarily unavailable" });
  }

  const { headers } = request;
  let verified: { webhookId: string; timestampSeconds: number };
  try {
    verified = resolved.verifier.verify(rawBody, headers);
  } catch (error) {
    const reason = error instanceof WebhookSignatureError ? error.reason : "no_matching_signature";
    countWebhookRejection(reason);
    // Reason only: no header value, no body, no secret.
    log.warn("webhook rejected", { reason });
    return answer(401, { error: "invalid signature" });
  }

  // Verified from here on: whatever is wrong with the body, it is Dodo's and it is kept (FAILED, 202), so
  // Dodo's retries stop and an operator can replay it after a fix; a 4xx would only make Dodo retry the
  // same bytes for a day and then drop them.
  const keepFailed = async (eventType: string | null, error: string): Promise<WebhookAnswer> => {
    const stored = await recordFailedDelivery(resolved.db, {
      webhookId: verified.webhookId,
      timestampSeconds: verified.timestampSeconds,
      rawBody,
      headers,
      eventType,
      error,
    });
    if (stored === "duplicate") return answer(200, { status: "duplicate" });
    if (stored === "conflict") return answer(200, { status: "conflict" });
    return answer(202, { status: "failed", error });
  };

  let json: unknown;
  let event;
  try {
    json = JSON.parse(rawBody);
    event = parseDodoWebhookEvent(json);
  } catch (error) {
    const issues = error instanceof DodoPayloadError ? error.issues : ["body is not JSON"];
    const claimedType = typeof (json as { type?: unknown } | undefined)?.type === "string" ? (json as { type: string }).type : null;
    try {
      return await keepFailed(claimedType, `${error instanceof DodoPayloadError ? error.message : "body is not JSON"}: ${issues.join("; ")}`);
    } catch (storeError) {
      log.error("webhook could not be stored FAILED", { webhookId: verified.webhookId, error: describe(storeError) });
      return answer(500, { error: "internal error" });
    }
  }

  try {
    const outcome = await recordDodoWebhook(resolved.db, {
      webhookId: verified.webhookId,
      timestampSeconds: verified.timestampSeconds,
      rawBody,
      headers,
      event,
    });
    if (outcome.kind === "duplicate") return answer(200, { status: "duplicate" });
    if (outcome.kind === "conflict") return answer(200, { status: "conflict" });
    return answer(200, { status: "recorded", changes: outcome.changes.length });
  } catch (error) {
    // The ledger refused a value (a CHECK, a missing column value): the same bytes would fail the same way
    // on every retry, so they are kept FAILED instead of answering 5xx for a day.
    const typed = toDatabaseError(error);
    if (typed instanceof ConstraintViolationError && (typed.code === "CHECK_VIOLATION" || typed.code === "NOT_NULL_VIOLATION")) {
      try {
        return await keepFailed(event.type, `the ledger refused the delivery: ${typed.message}`);
      } catch (storeError) {
        log.error("webhook could not be stored FAILED", { webhookId: verified.webhookId, error: describe(storeError) });
      }
    }
    // 5xx so Dodo retries; nothing was committed, so the retry starts from a clean slate.
    log.error("webhook recording failed", {
      webhookId: verified.webhookId,
      type: event.type,
      error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    });
    return answer(500, { error: "internal error" });
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** For a Fetch Request (the Remix route, tests). */
export async function handleDodoWebhook(request: Request, deps: DodoWebhookDeps | (() => Promise<DodoWebhookDeps>)): Promise<Response> {
  const result = await processDodoWebhook(
    { method: request.method, headers: plainHeaders(request.headers), readBody: (limit) => readFetchBody(request, limit) },
    deps,
  );
  return new Response(JSON.stringify(result.body), { status: result.status, headers: result.headers });
}

/**
 * For Node's HTTP server directly (scripts/app.mjs mounts it ahead of Remix): the same core without
 * building a Fetch Request and Response per delivery, which was a tenth of the server's CPU per webhook.
 */
export async function handleDodoWebhookNode(
  request: IncomingMessage,
  response: ServerResponse,
  deps: DodoWebhookDeps | (() => Promise<DodoWebhookDeps>),
): Promise<void> {
  const result = await processDodoWebhook(
    { method: request.method ?? "GET", headers: plainHeaders(request.headers), readBody: (limit) => readNodeBody(request, limit) },
    deps,
  );
  const body = JSON.stringify(result.body);
  response.writeHead(result.status, { ...result.headers, "content-length": Buffer.byteLength(body) });
  response.end(body);
}
