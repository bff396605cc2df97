// The chain's HTTP face: JSON-RPC over POST on 127.0.0.1 (CORS open, so the public Solana Explorer
// can be pointed at it), a body limit, GET /health, and WebSocket subscriptions on the same port and on
// port + 1 (where `Connection` looks for them by default, as with solana-test-validator).
import http from "node:http";
import type { AddressInfo, Socket } from "node:net";
import WebSocket from "ws";
import { Chain } from "./chain";
import { deployProgram, type ProgramSource } from "./programs";
import { PubSub } from "./pubsub";
import { handleBody } from "./rpc";

/** Agave's limit on a JSON-RPC request body. */
export const MAX_BODY_BYTES = 50 * 1024;

export interface ChainServerOptions {
  dataDir: string;
  /** 0 picks a free pair of ports. */
  port: number;
  host?: string;
  slotMs: number;
  testMode: boolean;
  programs: ProgramSource[];
  /** Journal records between snapshots (default 5,000; tests use fewer to exercise the path). */
  snapshotEvery?: number;
  log?: (line: string) => void;
}

export interface RunningChainServer {
  url: string;
  wsUrl: string;
  port: number;
  chain: Chain;
  close(): Promise<void>;
}

const CORS_HEADERS = {
  "access-control-allow-origin": "*",
  "access-control-allow-methods": "POST, GET, OPTIONS",
  "access-control-max-age": "86400",
};

export async function startChainServer(options: ChainServerOptions): Promise<RunningChainServer> {
  const log = options.log ?? ((line: string) => console.log(line));
  const chain = new Chain({ dataDir: options.dataDir, slotMs: options.slotMs, snapshotEvery: options.snapshotEvery ?? 5_000, log });
  for (const program of options.programs) {
    const outcome = deployProgram(chain, program, log);
    if (outcome === "deployed" || outcome === "upgraded") log(`chain: program ${program.programId} ${outcome} from ${program.soPath}`);
  }
  const context = { chain, testMode: options.testMode };
  const pubsub = new PubSub(chain);
  const wss = new WebSocket.Server({ noServer: true, maxPayload: 64 * 1024 });
  wss.on("connection", (socket, request) => pubsub.accept(socket, request));

  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse) => {
    res.on("error", () => undefined);
    req.on("error", () => res.destroy());
    const preflightHeaders = req.headers["access-control-request-headers"];
    const cors = { ...CORS_HEADERS, "access-control-allow-headers": preflightHeaders ?? "content-type" };
    if (req.method === "OPTIONS") {
      res.writeHead(204, cors).end();
      return;
    }
    if (req.method === "GET" && (req.url === "/health" || req.url === "/health/")) {
      res.writeHead(200, { ...cors, "content-type": "text/plain" }).end("ok");
      return;
    }
    if (req.method !== "POST") {
      res.writeHead(405, { ...cors, allow: "POST, OPTIONS", "content-type": "text/plain" }).end("Method Not Allowed: use JSON-RPC over POST");
      return;
    }
    const declared = Number(req.headers["content-length"] ?? 0);
    const tooLarge = () => {
      res.writeHead(413, { ...cors, "content-type": "application/json", connection: "close" });
      res.end(JSON.stringify({ jsonrpc: "2.0", id: null, error: { code: -32600, message: `Request body larger than ${MAX_BODY_BYTES} bytes` } }));
      // Stop reading an oversize body; the answer above is already on its way.
      req.pause();
      setTimeout(() => req.destroy(), 50).unref();
    };
    if (declared > MAX_BODY_BYTES) return tooLarge();
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    req.on("data", (chunk: Buffer) => {
      if (refused) return;
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        refused = true;
        tooLarge();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => {
      if (refused) return;
      let body: string | undefined;
      try {
        body = handleBody(Buffer.concat(chunks).toString("utf8"), context, (error) => log(`chain: internal error: ${(error as Error)?.stack ?? error}`));
      } catch (error) {
        log(`chain: internal error: ${(error as Error)?.stack ?? error}`);
        body = JSON.stringify({ jsonrpc: "2.0", id: null, error: { code: -32603, message: "Internal error" } });
      }
      res.writeHead(200, { ...cors, "content-type": "application/json" }).end(body ?? "");
    });
  };
  const onUpgrade = (req: http.IncomingMessage, socket: Socket, head: Buffer) => {
    socket.on("error", () => socket.destroy());
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit("connection", ws, req));
  };
  const makeServer = () => {
    const server = http.createServer(onRequest);
    server.keepAliveTimeout = 65_000;
    server.on("upgrade", (req, socket, head) => onUpgrade(req, socket as Socket, head));
    server.on("clientError", (_error, socket) => socket.destroy());
    return server;
  };

  const host = options.host ?? "127.0.0.1";
  const { rpc, ws, port } = await listenPair(makeServer, host, options.port);
  chain.start();
  return {
    url: `http://${host}:${port}`,
    wsUrl: `ws://${host}:${port + 1}`,
    port,
    chain,
    async close() {
      for (const client of wss.clients) client.terminate();
      await Promise.all([rpc, ws].map((server) => new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      })));
      chain.close();
    },
  };
}

function listen(server: http.Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => reject(error);
    server.once("error", onError);
    server.listen(port, host, () => {
      server.off("error", onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** The RPC port and the next one for WebSockets; with port 0, retries until a free pair is found. */
async function listenPair(make: () => http.Server, host: string, wanted: number) {
  for (let attempt = 0; ; attempt += 1) {
    const rpc = make();
    const port = await listen(rpc, host, wanted);
    const ws = make();
    try {
      await listen(ws, host, port + 1);
      return { rpc, ws, port };
    } catch (error) {
      await new Promise<void>((resolve) => rpc.close(() => resolve()));
      if (wanted !== 0 || attempt >= 20) throw error;
    }
  }
}
