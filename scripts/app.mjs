// The HTTP app over the production build, for `npm start` (scripts/serve.mjs) and the tests' in-process
// server (tests/setup/app-server.ts) alike, so tests exercise what ships.
import { createRequestHandler } from "@remix-run/express";
import express from "express";

/**
 * Dodo's webhook is answered on Node's request and response directly, ahead of static files and Remix:
 * it is the one machine-to-machine hot path, it needs the raw bytes for the signature, and building a
 * Fetch Request and Response per delivery was a tenth of the server's CPU per webhook
 * (docs/ingest-bench.md). The same core serves the Remix route under `remix vite:dev`.
 */
export function createApp(build) {
  const app = express();
  app.disable("x-powered-by");
  const { serveDodoWebhook } = build.entry.module;
  app.all("/api/webhooks/dodo", (req, res, next) => {
    serveDodoWebhook(req, res).catch(next);
  });
  app.use("/assets", express.static("build/client/assets", { immutable: true, maxAge: "1y" }));
  app.use(express.static("build/client", { maxAge: "1h" }));
  app.all("*", createRequestHandler({ build, mode: "production" }));
  return app;
}
