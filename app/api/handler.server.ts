// How every operator API request is handled, in this order, before an operation sees it: the method, the
// bearer key (401), the key's rate (429), its scope (403), the path and query parameters, the JSON body
// (size 413, type 415, syntax and schema 400, unknown fields refused), then for a POST with an
// Idempotency-Key the claim (a replay or a 409 answered from the stored response); then the operation, and
// its answer or its typed error as `{ error: { code, message, field? } }`. Routes are one line each.
import type { LoaderFunctionArgs } from "@remix-run/node";
import { z } from "zod";
import { authenticateApiKey, type ApiPrincipal } from "~/models/api-keys.server";
import {
  claimIdempotencyKey,
  completeIdempotencyKey,
  IDEMPOTENCY_KEY_PATTERN,
  releaseIdempotencyKey,
  requestHash,
  type StoredResponse,
} from "~/models/api-idempotency.server";
import { getDatabase, type Database } from "~/utils/db.server";
import { getEnv } from "~/utils/env.server";
import { log } from "~/utils/log.server";
import { ApiError, domainError, validationError } from "./errors.server";
import { apiRateLimiter } from "./rate-limit.server";

/** The largest JSON body a request may send (the biggest, a policy version with its rules, is a few KiB). */
export const MAX_BODY_BYTES = 64 * 1024;
/** How long a duplicate waits for the first request with its Idempotency-Key to answer. */
const IDEMPOTENCY_WAIT_MS = 30_000;

export type ApiMethod = "GET" | "POST" | "DELETE";

export interface ApiContext {
  principal: ApiPrincipal;
  /** Every query of an operation is scoped to it: another organization's rows are 404. */
  organizationId: string;
  db: Database;
  request: Request;
}

type AnyObject = z.ZodObject<z.ZodRawShape>;

export interface ApiOperation<P extends AnyObject = AnyObject, Q extends AnyObject = AnyObject, B extends z.ZodType = z.ZodType, R extends z.ZodType = z.ZodType> {
  operationId: string;
  method: ApiMethod;
  /** OpenAPI's template: `/api/v1/recipients/{recipientId}`. */
  path: string;
  summary: string;
  description?: string;
  tag: string;
  scope: "READ" | "WRITE";
  params?: P;
  query?: Q;
  /** POST only; an operation without one (and every DELETE) takes an empty object or no body. */
  body?: B;
  response: R;
  /** The success status (default 200). */
  status?: 200 | 201 | 202;
  /** Statuses of domain errors this operation may answer, documented beside the common ones. */
  errors?: readonly number[];
  /** `text/csv` operations answer a Response of their own; `response` then describes nothing but the media type. */
  produces?: "application/json" | "text/csv";
  run(ctx: ApiContext, input: { params: z.infer<P>; query: z.infer<Q>; body: z.infer<B> }): Promise<z.input<R> | Response>;
}

/** Declares an operation (identity: the types tie its schemas to its `run`). */
export function defineOperation<P extends AnyObject, Q extends AnyObject, B extends z.ZodType, R extends z.ZodType>(
  operation: ApiOperation<P, Q, B, R>,
): ApiOperation<P, Q, B, R> {
  return operation;
}

const JSON_HEADERS = { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" };

function jsonText(value: unknown): string {
  // Money leaves as decimal strings: a bigint that reached here is written as one, never as a number.
  return JSON.stringify(value, (_key, v) => (typeof v === "bigint" ? v.toString() : v));
}

function errorResponse(error: ApiError): Response {
  return new Response(jsonText(error.body()), { status: error.status, headers: { ...JSON_HEADERS, ...error.headers } });
}

function bearerToken(request: Request): string | null {
  const header = request.headers.get("authorization");
  const match = header ? /^Bearer[ ]+(\S+)\s*$/i.exec(header) : null;
  return match ? match[1]! : null;
}

async function authenticate(request: Request, db: Database): Promise<ApiPrincipal> {
  const token = bearerToken(request);
  const unauthenticated = (message: string) => ApiError.of("UNAUTHENTICATED", message, "Authorization", { "www-authenticate": 'Bearer realm="stableflow"' });
  if (!token) throw unauthenticated("send an API key as `Authorization: Bearer sf_...`");
  const principal = await authenticateApiKey(db.prisma, token);
  if (!principal) throw unauthenticated("the API key is not valid or was revoked");
  return principal;
}

/** What an operation without parameters, query or body takes: nothing (anything given is an unknown field). */
const NOTHING = z.strictObject({});

function parseWith<T extends z.ZodType>(schema: T | undefined, value: unknown, where?: string): z.infer<T> {
  const parsed = (schema ?? NOTHING).safeParse(value);
  if (!parsed.success) throw validationError(parsed.error, where);
  return parsed.data as z.infer<T>;
}

function queryObject(url: URL): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of url.searchParams) {
    if (key in out) throw ApiError.of("VALIDATION_FAILED", `the query parameter ${key} is given twice`, key);
    out[key] = value;
  }
  return out;
}

/** The body as text, read no further than MAX_BODY_BYTES (a larger one is refused before it is all read). */
async function readBody(request: Request): Promise<string> {
  const declared = Number(request.headers.get("content-length") ?? "0");
  const tooLarge = () => ApiError.of("BODY_TOO_LARGE", `the body is larger than ${MAX_BODY_BYTES} bytes`);
  if (declared > MAX_BODY_BYTES) throw tooLarge();
  if (!request.body) return "";
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_BODY_BYTES) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge();
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString("utf8");
}

async function parseBody(request: Request, operation: ApiOperation): Promise<unknown> {
  const text = await readBody(request);
  if (text.trim() === "") return parseWith(operation.body, {}, undefined);
  const type = (request.headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
  if (type !== "application/json") throw ApiError.of("UNSUPPORTED_MEDIA_TYPE", "send the body as application/json", "Content-Type");
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw ApiError.of("INVALID_JSON", "the body is not valid JSON");
  }
  return parseWith(operation.body, json, undefined);
}

async function runOperation(operation: ApiOperation, ctx: ApiContext, input: { params: unknown; query: unknown; body: unknown }): Promise<StoredResponse | Response> {
  try {
    const result = await operation.run(ctx, input as never);
    if (result instanceof Response) return result;
    return { status: operation.status ?? 200, body: jsonText(result) };
  } catch (error) {
    const mapped = domainError(error);
    if (mapped) return { status: mapped.status, body: jsonText(mapped.body()) };
    throw error;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A POST under an Idempotency-Key: acts once per (key, Idempotency-Key); duplicates get the stored response. */
async function runIdempotent(
  operation: ApiOperation,
  ctx: ApiContext,
  input: { params: unknown; query: unknown; body: unknown },
  idempotencyKey: string,
): Promise<StoredResponse & { replayed: boolean }> {
  const path = new URL(ctx.request.url).pathname;
  const claim = { apiKeyId: ctx.principal.apiKeyId, key: idempotencyKey, method: operation.method, path, requestHash: requestHash(operation.method, path, input.body) };
  const deadline = Date.now() + IDEMPOTENCY_WAIT_MS;
  for (let wait = 25; ; wait = Math.min(wait * 2, 500)) {
    const state = await claimIdempotencyKey(ctx.db, claim);
    if (state.kind === "replay") return { ...state.response, replayed: true };
    if (state.kind === "mismatch") {
      throw ApiError.of("IDEMPOTENCY_KEY_REUSED", "this Idempotency-Key was used for a different request; use a new key for a new request", "Idempotency-Key");
    }
    if (state.kind === "claimed") break;
    if (Date.now() > deadline) {
      throw ApiError.of("IDEMPOTENCY_KEY_IN_PROGRESS", "a request with this Idempotency-Key is still being processed; retry later", "Idempotency-Key");
    }
    await sleep(wait);
  }
  let response: StoredResponse | Response;
  try {
    response = await runOperation(operation, ctx, input);
  } catch (error) {
    await releaseIdempotencyKey(ctx.db, claim).catch(() => undefined);
    throw error;
  }
  if (response instanceof Response) throw new Error(`${operation.operationId}: a POST must answer JSON`);
  await completeIdempotencyKey(ctx.db, { ...claim, response });
  return { ...response, replayed: false };
}

async function handle(request: Request, params: Record<string, string | undefined>, operations: Partial<Record<ApiMethod, ApiOperation>>): Promise<Response> {
  const method = request.method === "HEAD" ? "GET" : (request.method as ApiMethod);
  const operation = operations[method];
  const allow = Object.keys(operations).join(", ");
  if (!operation) return errorResponse(ApiError.of("METHOD_NOT_ALLOWED", `this path answers ${allow}`, undefined, { allow }));
  let principal: ApiPrincipal | undefined;
  try {
    const db = await getDatabase();
    principal = await authenticate(request, db);
    const retryAfter = apiRateLimiter(getEnv().STABLEFLOW_API_RATE_LIMIT).take(principal.apiKeyId);
    if (retryAfter !== null) {
      throw ApiError.of("RATE_LIMITED", `too many requests for this API key; retry in ${retryAfter} s`, undefined, { "retry-after": String(retryAfter) });
    }
    if (operation.scope === "WRITE" && principal.scope !== "WRITE") {
      throw ApiError.of("INSUFFICIENT_SCOPE", "this API key is read-only; this operation needs a write key");
    }
    const input = {
      params: parseWith(operation.params, params),
      query: parseWith(operation.query, queryObject(new URL(request.url))),
      body: method === "GET" ? undefined : await parseBody(request, operation),
    };
    const idempotencyKey = request.headers.get("idempotency-key");
    if (idempotencyKey !== null && !IDEMPOTENCY_KEY_PATTERN.test(idempotencyKey)) {
      throw ApiError.of("IDEMPOTENCY_KEY_INVALID", "an Idempotency-Key is 1-255 printable ASCII characters", "Idempotency-Key");
    }
    const ctx: ApiContext = { principal, organizationId: principal.organizationId, db, request };
    if (method === "POST" && idempotencyKey !== null) {
      const answered = await runIdempotent(operation, ctx, input, idempotencyKey);
      const headers: Record<string, string> = { ...JSON_HEADERS, ...(answered.replayed ? { "idempotent-replayed": "true" } : {}) };
      return new Response(answered.body, { status: answered.status, headers });
    }
    const answered = await runOperation(operation, ctx, input);
    if (answered instanceof Response) return answered;
    return new Response(answered.body, { status: answered.status, headers: JSON_HEADERS });
  } catch (error) {
    const mapped = domainError(error);
    if (mapped) return errorResponse(mapped);
    log.error("operator API request failed", {
      operation: operation.operationId,
      apiKey: principal?.prefix,
      error: error instanceof Error ? error.message : String(error),
    });
    return errorResponse(ApiError.of("INTERNAL_ERROR", "the request failed on our side; nothing is known to have changed unless a retry with the same Idempotency-Key says so"));
  }
}

type Serve = ((args: LoaderFunctionArgs) => Promise<Response>) & {
  /** What this route serves: the OpenAPI test compares these with the document. */
  operations: ApiOperation[];
};

/** A route module's loader and action for the operations of one path (any other method: 405). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function apiRoute(operations: Partial<Record<ApiMethod, ApiOperation<any, any, any, any>>>): { loader: Serve; action: Serve } {
  const serve = Object.assign(({ request, params }: LoaderFunctionArgs) => handle(request, params, operations as Partial<Record<ApiMethod, ApiOperation>>), {
    operations: Object.values(operations) as ApiOperation[],
  });
  return { loader: serve, action: serve };
}
