// Typed failures of a Solana JSON-RPC endpoint, how to tell them apart, and when a call may be
// repeated. Everything the app sends to a cluster goes through `withRpcRetry`, which retries only what
// is safe to repeat (reads, and the resend of bytes already signed) with full-jitter backoff.

export type RpcErrorCode =
  | "RPC_UNREACHABLE"
  | "RPC_UNAVAILABLE"
  | "RPC_RATE_LIMITED"
  | "RPC_NODE_BEHIND"
  | "RPC_BLOCKHASH_NOT_FOUND"
  | "RPC_TRANSACTION_FAILED"
  | "RPC_INVALID_RESPONSE"
  | "RPC_REQUEST_REFUSED"
  | "RPC_TIMEOUT";

export class RpcError extends Error {
  constructor(
    readonly code: RpcErrorCode,
    message: string,
    readonly details: {
      /** Whether repeating the same request can succeed. */
      transient?: boolean;
      /** From a Retry-After header, or the node's own hint. */
      retryAfterMs?: number;
      /** The JSON-RPC error code, when the node answered one. */
      rpcCode?: number;
      /** Program logs of a failed transaction or simulation. */
      logs?: string[];
      /** The runtime's TransactionError (e.g. `{ InstructionError: [0, { Custom: 6020 }] }`). */
      transactionError?: unknown;
      httpStatus?: number;
    } = {},
  ) {
    super(message);
    this.name = "RpcError";
  }

  get transient(): boolean {
    return this.details.transient ?? false;
  }
}

const TRANSIENT_CODES = new Set<RpcErrorCode>(["RPC_UNREACHABLE", "RPC_UNAVAILABLE", "RPC_RATE_LIMITED", "RPC_NODE_BEHIND", "RPC_TIMEOUT"]);

export function rpcError(code: RpcErrorCode, message: string, details: RpcError["details"] = {}): RpcError {
  return new RpcError(code, message, { transient: TRANSIENT_CODES.has(code), ...details });
}

/** Retry-After is seconds or an HTTP date; answers milliseconds, or undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

// JSON-RPC error codes that Solana nodes answer (agave rpc/src/custom_error.rs), and the standard ones.
const NODE_UNHEALTHY = -32005;
const SEND_TRANSACTION_PREFLIGHT_FAILURE = -32002;
const TRANSACTION_SIGNATURE_VERIFICATION_FAILURE = -32003;
const BLOCK_NOT_AVAILABLE = -32004;
const SLOT_SKIPPED = -32007;
const LONG_TERM_STORAGE_SLOT_SKIPPED = -32009;
const MIN_CONTEXT_SLOT_NOT_REACHED = -32016;

interface RpcErrorLike {
  code?: unknown;
  message?: unknown;
  data?: unknown;
}

function logsOf(data: unknown): string[] | undefined {
  if (data && typeof data === "object" && Array.isArray((data as { logs?: unknown }).logs)) {
    return ((data as { logs: unknown[] }).logs).filter((l): l is string => typeof l === "string");
  }
  return undefined;
}

/** Maps a JSON-RPC error object (as the node sent it) to a typed error. */
export function fromJsonRpcError(error: RpcErrorLike, method: string): RpcError {
  const code = typeof error.code === "number" ? error.code : undefined;
  const message = typeof error.message === "string" ? error.message : "unknown RPC error";
  const base = { rpcCode: code };
  if (/blockhash not found/i.test(message)) {
    return rpcError("RPC_BLOCKHASH_NOT_FOUND", `${method}: ${message}`, base);
  }
  if (code === NODE_UNHEALTHY || code === MIN_CONTEXT_SLOT_NOT_REACHED || /node is behind|node is unhealthy/i.test(message)) {
    return rpcError("RPC_NODE_BEHIND", `${method}: ${message}`, base);
  }
  if (code === SEND_TRANSACTION_PREFLIGHT_FAILURE) {
    const data = error.data as { err?: unknown } | undefined;
    return rpcError("RPC_TRANSACTION_FAILED", `${method}: ${message}`, {
      ...base,
      logs: logsOf(error.data),
      transactionError: data?.err,
    });
  }
  if (code === BLOCK_NOT_AVAILABLE || code === SLOT_SKIPPED || code === LONG_TERM_STORAGE_SLOT_SKIPPED) {
    return rpcError("RPC_UNAVAILABLE", `${method}: ${message}`, { ...base, transient: true });
  }
  if (code === TRANSACTION_SIGNATURE_VERIFICATION_FAILURE) {
    return rpcError("RPC_REQUEST_REFUSED", `${method}: ${message}`, base);
  }
  return rpcError("RPC_REQUEST_REFUSED", `${method}: ${message}`, base);
}

export interface RetryOptions {
  /** Attempts in all, the first included. */
  attempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** For tests: no real sleeping, a deterministic jitter. */
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  /** Called before each wait, e.g. to log. */
  onRetry?: (error: RpcError, attempt: number, delayMs: number) => void;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Runs `operation`, repeating it after a transient RpcError (unreachable, 5xx, 429, node behind,
 * timeout): the delay is full jitter over an exponential ceiling, or the node's Retry-After when it
 * gave one (never shorter). Anything else, and the last failure, is thrown as it was.
 * Only for operations that are safe to repeat.
 */
export async function withRpcRetry<T>(operation: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const attempts = options.attempts ?? 5;
  const base = options.baseDelayMs ?? 200;
  const max = options.maxDelayMs ?? 5_000;
  const sleep = options.sleep ?? defaultSleep;
  const random = options.random ?? Math.random;
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation();
    } catch (error) {
      if (!(error instanceof RpcError) || !error.transient || attempt >= attempts) throw error;
      const ceiling = Math.min(max, base * 2 ** (attempt - 1));
      const jittered = Math.round(random() * ceiling);
      const delay = Math.max(jittered, error.details.retryAfterMs ?? 0);
      options.onRetry?.(error, attempt, delay);
      await sleep(delay);
    }
  }
}
