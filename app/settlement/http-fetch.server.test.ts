// The chain client's HTTP: answers, headers and bodies as a fetch gives them, one socket reused across
// calls (keep-alive), and a timeout that ends a request the server never answers (as typedRpcFetch uses it).
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { typedRpcFetch } from "./chain.server";
import { keepAliveFetch } from "./http-fetch.server";
import { RpcError } from "./rpc-errors";

describe("keepAliveFetch", () => {
  let server: http.Server;
  let url: string;
  const remotePorts: number[] = [];

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      remotePorts.push(req.socket.remotePort!);
      let body = "";
      req.on("data", (chunk) => (body += chunk));
      req.on("end", () => {
        if (req.url === "/never") return; // never answers
        if (req.url?.startsWith("/auth")) {
          res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ authorization: req.headers.authorization ?? null, path: req.url }));
          return;
        }
        if (req.url === "/limited") {
          res.writeHead(429, { "retry-after": "3", "content-type": "text/plain" }).end("slow down");
          return;
        }
        res.writeHead(200, { "content-type": "application/json", "x-echo-method": req.method ?? "" });
        res.end(JSON.stringify({ jsonrpc: "2.0", id: 1, result: { echoed: body, type: req.headers["content-type"] } }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it("posts the body with its headers and gives back status, headers and text, over one reused socket", async () => {
    const fetchIt = keepAliveFetch({ maxSockets: 1 });
    remotePorts.length = 0;
    for (const n of [1, 2, 3]) {
      const response = await fetchIt(`${url}/rpc`, { method: "POST", headers: { "content-type": "application/json" }, body: `{"n":${n}}` });
      expect(response.status).toBe(200);
      expect(response.headers.get("x-echo-method")).toBe("POST");
      expect(await response.json()).toEqual({ jsonrpc: "2.0", id: 1, result: { echoed: `{"n":${n}}`, type: "application/json" } });
    }
    expect(remotePorts).toHaveLength(3);
    expect(new Set(remotePorts).size).toBe(1);
  });

  it("sends credentials given in the URL as Basic auth, and keeps the path and query", async () => {
    const withCredentials = url.replace("http://", "http://rpc%20user:s3cr%3At@");
    const response = await keepAliveFetch()(`${withCredentials}/auth/x?api-key=abc`, { method: "POST", body: "{}" });
    expect(await response.json()).toEqual({
      authorization: `Basic ${Buffer.from("rpc user:s3cr:t").toString("base64")}`,
      path: "/auth/x?api-key=abc",
    });
    const plain = await keepAliveFetch()(`${url}/auth`, { method: "POST", body: "{}" });
    expect(await plain.json()).toEqual({ authorization: null, path: "/auth" });
  });

  it("hands a 429 and its Retry-After to typedRpcFetch, which types it", async () => {
    const rpcFetch = typedRpcFetch(url, 5_000, keepAliveFetch());
    const error = await rpcFetch(`${url}/limited`, { method: "POST", body: "{}" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RpcError);
    expect((error as RpcError).code).toBe("RPC_RATE_LIMITED");
    expect((error as RpcError).details.retryAfterMs).toBe(3_000);
  });

  it("ends a request the server never answers when its signal fires: RPC_TIMEOUT through typedRpcFetch", async () => {
    const rpcFetch = typedRpcFetch(url, 200, keepAliveFetch());
    const error = await rpcFetch(`${url}/never`, { method: "POST", body: "{}" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RpcError);
    expect((error as RpcError).code).toBe("RPC_TIMEOUT");
    const aborted = new AbortController();
    aborted.abort();
    await expect(keepAliveFetch()(`${url}/rpc`, { method: "POST", body: "{}", signal: aborted.signal })).rejects.toMatchObject({ name: "AbortError" });
  });

  it("refuses what it cannot send instead of sending something else", async () => {
    await expect(keepAliveFetch()("ftp://127.0.0.1/x")).rejects.toThrow(/unsupported protocol ftp:/);
    await expect(keepAliveFetch()(`${url}/rpc`, { method: "POST", body: new Uint8Array([1]) as never })).rejects.toThrow(/string bodies only/);
  });
});
