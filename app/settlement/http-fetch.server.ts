// The HTTP under the chain client: a `fetch` on node:http / node:https with keep-alive agents.
// web3.js takes any fetch; Node's built-in one (undici) costs about three times the CPU per JSON-RPC call
// (bench:chain measures both side by side), and on a two-core machine the client's CPU is what limits
// the executor's reads. Only what JSON-RPC needs: a method, headers, a string body, an AbortSignal.
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

function responseHeaders(raw: http.IncomingHttpHeaders): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(raw)) {
    if (value === undefined) continue;
    for (const one of Array.isArray(value) ? value : [value]) headers.append(name, one);
  }
  return headers;
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
          const status = res.statusCode ?? 502;
          // A Response cannot carry a 1xx or a body on 204/304; JSON-RPC answers are neither.
          const body = status === 204 || status === 304 ? null : Buffer.concat(chunks);
          resolve(new Response(body, { status, statusText: res.statusMessage ?? "", headers: responseHeaders(res.headers) }));
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
