// The HTTP under the chain client: a `fetch` on node:http / node:https with keep-alive agents.
// web3.js takes any fetch; Node's built-in one (undici) costs about three times the CPU per JSON-RPC call
// (bench:chain measures both side by side), and on a two-core machine the client's CPU is what limits
// the executor's reads. Only what JSON-RPC needs: a method, headers, a string body, an AbortSignal; the
// answer is a TextResponse (what JSON-RPC clients read of a Response).
import http from "node:http";
import https from "node:https";

export type FetchLike = (input: string | URL, init?: RequestInit) => Promise<Response>;

export interface KeepAliveFetchOptions {
  /** Sockets per host (default 16: the executor's concurrency plus reads). */
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
    headers: http.IncomingHttpHeaders | { get(name: string): string | null },
  ) {
    this.ok = status >= 200 && status < 300;
    this.headers =
      typeof (headers as { get?: unknown }).get === "function"
        ? (headers as { get(name: string): string | null })
        : {
            get(name: string) {
              const value = (headers as http.IncomingHttpHeaders)[name.toLowerCase()];
              if (value === undefined) return null;
              return Array.isArray(value) ? value.join(", ") : value;
            },
          };
  }

  async text(): Promise<string> {
    return this.body;
  }

  async json(): Promise<unknown> {
    return JSON.parse(this.body);
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

/** A fetch over keep-alive node:http(s) agents, one pair per call of this function. */
export function keepAliveFetch(options: KeepAliveFetchOptions = {}): FetchLike {
  const maxSockets = options.maxSockets ?? 16;
  const agents = {
    "http:": new http.Agent({ keepAlive: true, maxSockets }),
    "https:": new https.Agent({ keepAlive: true, maxSockets }),
  };
  return (input, init = {}) =>
    new Promise<Response>((resolve, reject) => {
      const url = input instanceof URL ? input : new URL(String(input));
      const protocol = url.protocol as keyof typeof agents;
      const agent = agents[protocol];
      if (!agent) {
        reject(new TypeError(`unsupported protocol ${url.protocol} (http: or https: only)`));
        return;
      }
      const signal = init.signal ?? undefined;
      if (signal?.aborted) {
        reject(abortError(signal));
        return;
      }
      if (init.body !== undefined && init.body !== null && typeof init.body !== "string") {
        reject(new TypeError("keepAliveFetch sends string bodies only (JSON-RPC)"));
        return;
      }
      const client = protocol === "https:" ? https : http;
      const request = client.request(url, { method: init.method ?? "GET", headers: headerList(init.headers), agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("error", reject);
        res.on("end", () => {
          signal?.removeEventListener("abort", onAbort);
          const body = Buffer.concat(chunks).toString("utf8");
          resolve(new TextResponse(res.statusCode ?? 502, res.statusMessage ?? "", body, res.headers).asResponse());
        });
      });
      const onAbort = () => {
        request.destroy(abortError(signal!));
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      request.on("error", (error) => {
        signal?.removeEventListener("abort", onAbort);
        reject(error);
      });
      request.end(init.body ?? undefined);
    });
}
