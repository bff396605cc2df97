// JSON-RPC 2.0 dispatch: parse errors, invalid requests, unknown methods, batches and notifications
// answered as the specification (and a Solana node) answers them. A handler's unexpected exception
// becomes an internal error for that request only: no input can take the server down.
import { RpcError, RPC_INTERNAL_ERROR, RPC_INVALID_REQUEST, RPC_METHOD_NOT_FOUND, RPC_PARSE_ERROR } from "./errors";
import { accountMethods } from "./methods-accounts";
import { blockMethods } from "./methods-blocks";
import { clusterMethods } from "./methods-cluster";
import { testMethods } from "./methods-test";
import { transactionMethods } from "./methods-transactions";
import type { Method, MethodContext } from "./params";

export const MAX_BATCH = 100;

const methods = new Map<string, Method>(Object.entries({ ...clusterMethods, ...accountMethods, ...transactionMethods, ...blockMethods }));
const testOnly = new Map<string, Method>(Object.entries(testMethods));

export const METHOD_NAMES = [...methods.keys(), ...testOnly.keys()];

type Id = string | number | null;
interface ErrorObject {
  code: number;
  message: string;
  data?: unknown;
}
export type Response = { jsonrpc: "2.0"; id: Id; result: unknown } | { jsonrpc: "2.0"; id: Id; error: ErrorObject };

const error = (id: Id, code: number, message: string, data?: unknown): Response => ({
  jsonrpc: "2.0",
  id,
  error: data === undefined ? { code, message } : { code, message, data },
});

function isValidId(id: unknown): id is Id {
  return id === null || typeof id === "string" || (typeof id === "number" && Number.isFinite(id));
}

/** Answers one request object; undefined for a notification (no id member). */
export function handleRequest(request: unknown, context: MethodContext, onError?: (e: unknown) => void): Response | undefined {
  if (typeof request !== "object" || request === null || Array.isArray(request)) {
    return error(null, RPC_INVALID_REQUEST, "Invalid request");
  }
  const { jsonrpc, method, params, id } = request as Record<string, unknown>;
  const hasId = "id" in request;
  if (hasId && !isValidId(id)) return error(null, RPC_INVALID_REQUEST, "Invalid request");
  const replyId = hasId ? (id as Id) : null;
  if (jsonrpc !== "2.0" || typeof method !== "string") return error(replyId, RPC_INVALID_REQUEST, "Invalid request");
  if (params !== undefined && (typeof params !== "object" || params === null)) {
    return error(replyId, RPC_INVALID_REQUEST, "Invalid request");
  }
  let response: Response;
  const handler = methods.get(method) ?? (context.testMode ? testOnly.get(method) : undefined);
  if (!handler) {
    response = error(replyId, RPC_METHOD_NOT_FOUND, "Method not found");
  } else {
    try {
      response = { jsonrpc: "2.0", id: replyId, result: handler(params, context) };
    } catch (e) {
      if (e instanceof RpcError) response = error(replyId, e.code, e.message, e.data);
      else {
        onError?.(e);
        response = error(replyId, RPC_INTERNAL_ERROR, "Internal error");
      }
    }
  }
  return hasId ? response : undefined;
}

/** Answers a request body; undefined when there is nothing to send (notifications only). */
export function handleBody(body: string, context: MethodContext, onError?: (e: unknown) => void): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return JSON.stringify(error(null, RPC_PARSE_ERROR, "Parse error"));
  }
  if (Array.isArray(parsed)) {
    if (parsed.length === 0) return JSON.stringify(error(null, RPC_INVALID_REQUEST, "Invalid request"));
    if (parsed.length > MAX_BATCH) {
      return JSON.stringify(error(null, RPC_INVALID_REQUEST, `Invalid request: batch of more than ${MAX_BATCH} requests`));
    }
    const responses = parsed.map((request) => handleRequest(request, context, onError)).filter((r) => r !== undefined);
    return responses.length > 0 ? JSON.stringify(responses) : undefined;
  }
  const response = handleRequest(parsed, context, onError);
  return response ? JSON.stringify(response) : undefined;
}
