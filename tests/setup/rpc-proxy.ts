// A loopback JSON-RPC proxy in front of the embedded chain, for fault tests: each call passes through a
// rule that may forward it, drop it (a send that never reaches a leader), answer HTTP 429/503 with
// Retry-After, answer a result or a JSON-RPC error of its own (a node that is behind), or forward and
// rewrite the result (statuses that never confirm, a block height past validity). The client under test
// talks to it exactly as to a node: by URL, over HTTP.
import http from "node:http";
import type { AddressInfo } from "node:net";
import bs58 from "bs58";

export interface RpcCall {
  method: string;
  params: unknown[];
  /** How many calls of this method came before (0 for the first). */
  n: number;
}

export type ProxyAction =
  | { kind: "forward" }
  /** sendTransaction only: answered with the transaction's signature as a node would, never forwarded. */
  | { kind: "drop" }
  | { kind: "http"; status: 429 | 503; retryAfter?: string }
  | { kind: "result"; result: unknown }
  | { kind: "error"; code: number; message: string }
  /** Forward, then answer what `rewrite` makes of the node's result. */
  | { kind: "rewrite"; rewrite: (result: unknown) => unknown }
  /** Run `before` (e.g. change the chain), then forward. */
  | { kind: "before"; before: () => Promise<void> };

export type ProxyRule = (call: RpcCall) => ProxyAction | undefined | Promise<ProxyAction | undefined>;

export interface RpcProxy {
  readonly url: string;
  /** Replaces the rule (undefined: forward everything). */
  setRule(rule: ProxyRule | undefined): void;
  /** Calls seen per method, and what the rule did (`<method>:<kind>`). */
  readonly counts: Map<string, number>;
  close(): Promise<void>;
}

/** The first signature of a base64 wire transaction, base58 (what sendTransaction answers). */
export function wireSignature(base64: string): string {
  const bytes = Buffer.from(base64, "base64");
  return bs58.encode(bytes.subarray(1, 65));
}

interface JsonRpcRequest {
  jsonrpc: "2.0";
  id: unknown;
  method: string;
  params?: unknown[];
}

export async function startRpcProxy(upstream: string): Promise<RpcProxy> {
  let rule: ProxyRule | undefined;
  const counts = new Map<string, number>();
  const bump = (key: string) => counts.set(key, (counts.get(key) ?? 0) + 1);
  const seen = new Map<string, number>();

  const forward = async (body: string): Promise<{ status: number; text: string }> => {
    const response = await fetch(upstream, { method: "POST", headers: { "content-type": "application/json" }, body });
    return { status: response.status, text: await response.text() };
  };

  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      void (async () => {
        const body = Buffer.concat(chunks).toString("utf8");
        const reply = (status: number, payload: unknown, headers: Record<string, string> = {}) => {
          response.writeHead(status, { "content-type": "application/json", ...headers });
          response.end(typeof payload === "string" ? payload : JSON.stringify(payload));
        };
        let parsed: JsonRpcRequest | JsonRpcRequest[];
        try {
          parsed = JSON.parse(body);
        } catch {
          return reply(400, { jsonrpc: "2.0", id: null, error: { code: -32700, message: "parse error" } });
        }
        if (Array.isArray(parsed) || !rule) {
          const upstreamReply = await forward(body);
          return reply(upstreamReply.status, upstreamReply.text);
        }
        const call: RpcCall = { method: parsed.method, params: parsed.params ?? [], n: seen.get(parsed.method) ?? 0 };
        seen.set(parsed.method, call.n + 1);
        bump(parsed.method);
        const action = (await rule(call)) ?? { kind: "forward" };
        bump(`${parsed.method}:${action.kind}`);
        const id = parsed.id;
        switch (action.kind) {
          case "drop": {
            const encoded = String(call.params[0] ?? "");
            return reply(200, { jsonrpc: "2.0", id, result: wireSignature(encoded) });
          }
          case "http":
            return reply(action.status, { error: `HTTP ${action.status} from the test proxy` }, action.retryAfter ? { "retry-after": action.retryAfter } : {});
          case "result":
            return reply(200, { jsonrpc: "2.0", id, result: action.result });
          case "error":
            return reply(200, { jsonrpc: "2.0", id, error: { code: action.code, message: action.message } });
          case "before":
            await action.before();
            break;
          case "rewrite": {
            const upstreamReply = await forward(body);
            const answer = JSON.parse(upstreamReply.text) as { result?: unknown };
            if ("result" in answer) answer.result = action.rewrite(answer.result);
            return reply(upstreamReply.status, answer);
          }
          case "forward":
            break;
        }
        const upstreamReply = await forward(body);
        reply(upstreamReply.status, upstreamReply.text);
      })().catch((error: unknown) => {
        if (!response.headersSent) {
          response.writeHead(502, { "content-type": "application/json" });
          response.end(JSON.stringify({ error: String(error) }));
        }
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    setRule(next) {
      rule = next;
      seen.clear();
    },
    counts,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
