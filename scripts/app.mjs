// The HTTP server over the production build, for `npm start` (scripts/serve.mjs) and the tests' in-process
// server (tests/setup/app-server.ts) alike, so tests exercise what ships.
import http from "node:http";
import { createRequestHandler } from "@remix-run/express";
import express from "express";

const WEBHOOK_PATHS = new Set(["/api/webhooks/dodo", "/api/webhooks/dodo/"]);
const CSP_NONCE = Symbol("stableflow.cspNonce");

/**
 * The origin of the address a connection arrived on (http://127.0.0.1:3000): what links point at when no
 * STABLEFLOW_PUBLIC_URL is configured (development). Chosen by the server's socket, never by the Host header.
 */
function localOriginOf(socket) {
  const address = (socket.localAddress ?? "127.0.0.1").replace(/^::ffff:/, "");
  return `http://${address.includes(":") ? `[${address}]` : address}:${socket.localPort}`;
}

/**
 * The client's address, for sign-in rate limiting: the peer's, or, when the peer is a reverse proxy on this
 * machine (loopback), the address that proxy appended last to X-Forwarded-For. Anyone else's header is
 * ignored, so a remote client cannot choose the address it is counted under.
 */
function clientAddressOf(request) {
  const peer = (request.socket.remoteAddress ?? "").replace(/^::ffff:/, "");
  const forwarded = request.headers["x-forwarded-for"];
  if ((peer === "127.0.0.1" || peer === "::1") && typeof forwarded === "string") {
    const last = forwarded.split(",").pop()?.trim();
    if (last) return last.slice(0, 100);
  }
  return peer || undefined;
}

/**
 * Dodo's webhook is answered on Node's request and response directly, ahead of express, static files and
 * Remix: it is the one machine-to-machine hot path, it needs the raw bytes for the signature, and building
 * a Fetch Request and Response per delivery was a tenth of the server's CPU per webhook, express's router
 * and middleware another 5 % (docs/ingest-bench.md). The same core serves the Remix route under
 * `remix vite:dev`. Returns an http.Server, not yet listening.
 */
export function createAppServer(build) {
  const app = express();
  app.disable("x-powered-by");
  app.use("/assets", express.static("build/client/assets", { immutable: true, maxAge: "1y" }));
  app.use(express.static("build/client", { maxAge: "1h" }));
  app.all(
    "*",
    createRequestHandler({
      build,
      mode: "production",
      // clientAddress: what sign-in rate limiting counts per address (app/utils/session.server.ts).
      getLoadContext: (request) => ({ cspNonce: request[CSP_NONCE], localOrigin: localOriginOf(request.socket), clientAddress: clientAddressOf(request) }),
    }),
  );
  const { serveDodoWebhook, applySecurityHeaders, refuseOversizedBody, answerOversizedBody } = build.entry.module;
  return http.createServer((request, response) => {
    // Every response, whoever writes it (webhook, static file, Remix, express's own 404), starts with these.
    request[CSP_NONCE] = applySecurityHeaders(response);
    const url = request.url ?? "/";
    const query = url.indexOf("?");
    const pathname = query === -1 ? url : url.slice(0, query);
    if (!WEBHOOK_PATHS.has(pathname)) {
      // Every other endpoint's body is bounded here, before Remix reads a byte of it (the webhook bounds its own).
      const refusal = refuseOversizedBody(request, pathname);
      if (refusal) return answerOversizedBody(request, response, refusal);
      return app(request, response);
    }
    serveDodoWebhook(request, response).catch(() => {
      // The handler answers its own failures (5xx, so Dodo retries); this is the last resort.
      if (!response.headersSent) {
        response.writeHead(500, { "content-type": "application/json" });
        response.end(JSON.stringify({ error: "internal error" }));
      } else {
        response.destroy();
      }
    });
  });
}
