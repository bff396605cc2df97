// The HTTP under the chain client: a `fetch` on undici's connection pools (keep-alive, one pool per origin).
// web3.js takes any fetch; Node's built-in one (undici's WHATWG fetch) costs about twice the CPU per
// JSON-RPC call, and node:http about a third more than a pool's `request` (bench:chain measures the app's
// client beside web3.js's default fetch); on a two-core machine the client's CPU is what limits the
// executor's reads. Only what JSON-RPC needs: a method, headers, a string body, an AbortSignal; the answer
// is a TextResponse (what JSON-RPC clients read of a Response).
import { STATUS_CODES, type IncomingHttpHeaders } from "node:http";
import { Pool } from "undici";

export type FetchLike = (input: string | URL, init?: RequestInit) => Promise<Response>;

export interface KeepAliveFetchOptions {
  /** Connections per origin (default 16: the executor's concurrency plus reads). */
  maxSockets?: number;
}

function headerList(headers: RequestInit["headers"]): Record<string, string> {
  if (!headers) return {};
  if (headers instanceof Headers) return Object.fromEntries(headers.entries());
  if (Array.isArray(headers)) return Object.fromEntries(headers);
  return { ...(headers as Record<string, string>) };
}

/**
 * The part of a fetch `Response` that JSON-RPC clients read (web3.js: ok, status, statusText, text();
 * typedRpcFetch: headers.get too), over a body already read. A WHATWG Response costs ~11 µs to build
 * and as much to read once more, several times a call's own client-side work here: bench:chain's reads
 * are client-bound on two cores.
 */
export class TextResponse {
  readonly ok: boolean;
  readonly headers: { get(name: string): string | null };
  constructor(
    readonly status: number,
    readonly statusText: string,
    private readonly body: string,
    headers: IncomingHttpHeaders | { get(name: string): string | null },
    /** The body already parsed by whoever read it first (typedRpcFetch), so json() does not parse it twice. */
    private readonly parsed?: unknown,
  ) {
    this.ok = status >= 200 && status < 300;
    this.headers =
      typeof (headers as { get?: unknown }).get === "function"
        ? (headers as { get(name: string): string | null })
        : {
            get(name: string) {
              const value = (headers as IncomingHttpHeaders)[name.toLowerCase()];
              if (value === undefined) return null;
              return Array.isArray(value) ? value.join(", ") : value;
            },
          };
  }

  async text(): Promise<string> {
    return this.body;
  }

  async json(): Promise<unknown> {
    return this.parsed === undefined ? JSON.parse(this.body) : this.parsed;
  }

  /** Typed as what `fetch` returns, for the callers (web3.js) that take one. */
  asResponse(): Response {
    return this as unknown as Response;
  }
}

function abortError(signal: AbortSignal): Error {
  const reason = signal.reason as unknown;
  if (reason instanceof Error) return reason;
  return Object.assign(new Error("The operation was aborted"), { name: "AbortError" });
}

/** A fetch over keep-alive connection pools, one per origin, owned by this call of the function. */
export function keepAliveFetch(options: KeepAliveFetchOptions = {}): FetchLike {
  const connections = options.maxSockets ?? 16;
  const pools = new Map<string, Pool>();
  const poolFor = (url: URL) => {
    let pool = pools.get(url.origin);
    if (!pool) {
      pool = new Pool(url.origin, { connections });
      pools.set(url.origin, pool);
    }
    return pool;
  };
  return async (input, init = {}) => {
    const url = input instanceof URL ? input : new URL(String(input));
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new TypeError(`unsupported protocol ${url.protocol} (http: or https: only)`);
    }
    const signal = init.signal ?? undefined;
    if (signal?.aborted) throw abortError(signal);
    if (init.body !== undefined && init.body !== null && typeof init.body !== "string") {
      throw new TypeError("keepAliveFetch sends string bodies only (JSON-RPC)");
    }
    const headers = headerList(init.headers);
    // Credentials in the URL (some RPC providers give them so) go as Basic auth, as node:http sends them.
    if (url.username && !Object.keys(headers).some((name) => name.toLowerCase() === "authorization")) {
      const user = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
      headers.authorization = `Basic ${Buffer.from(user).toString("base64")}`;
    }
    const response = await poolFor(url).request({
      path: `${url.pathname}${url.search}`,
      method: (init.method ?? "GET") as "GET",
      headers,
      body: init.body ?? undefined,
      signal,
    });
    // Always read the body to its end: an unread body keeps its connection from the pool.
    const body = await response.body.text();
    return new TextResponse(response.statusCode, STATUS_CODES[response.statusCode] ?? "", body, response.headers as IncomingHttpHeaders).asResponse();
  };
}
