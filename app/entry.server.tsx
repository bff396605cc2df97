// Server entry: streams the React document, and exposes `boot` / `shutdown` so the process that
// serves the build (scripts/serve.mjs) starts the database before taking requests, the payout-run
// worker's process entry, and the webhook's Node handler (scripts/app.mjs mounts it ahead of Remix).
import type { IncomingMessage, ServerResponse } from "node:http";
import { PassThrough } from "node:stream";
import type { AppLoadContext, EntryContext } from "@remix-run/node";
import { createReadableStreamFromReadable } from "@remix-run/node";
import { isRouteErrorResponse, RemixServer } from "@remix-run/react";
import { isbot } from "isbot";
import { renderToPipeableStream } from "react-dom/server";
import { describeError, log } from "~/utils/log.server";
import { handleDodoWebhookNode } from "~/integrations/dodo-webhook-handler.server";
import { appWebhookDeps } from "~/integrations/webhook-deps.server";
import { NonceProvider } from "~/utils/nonce";

export { boot, shutdown, startPayoutRunWorkerProcess } from "~/utils/boot.server";
// scripts/app.mjs sets these on every response before anything answers it.
export { applySecurityHeaders } from "~/utils/security-headers.server";
export { refuseOversizedBody, answerOversizedBody } from "~/utils/body-limits.server";
export { issueSetupTokenIfNoOperator } from "~/models/operators.server";

/** POST /api/webhooks/dodo on Node's request and response, for the server to mount ahead of Remix. */
export function serveDodoWebhook(request: IncomingMessage, response: ServerResponse): Promise<void> {
  return handleDodoWebhookNode(request, response, appWebhookDeps);
}

const ABORT_DELAY_MS = 5_000;

export default function handleRequest(
  request: Request,
  responseStatusCode: number,
  responseHeaders: Headers,
  remixContext: EntryContext,
  loadContext: AppLoadContext,
) {
  const waitForAll = isbot(request.headers.get("user-agent") ?? "");
  // The response's CSP nonce (scripts/app.mjs): React's and Remix's inline scripts must carry it.
  const nonce = loadContext?.cspNonce;
  return new Promise((resolve, reject) => {
    let shellRendered = false;
    const { pipe, abort } = renderToPipeableStream(
      <NonceProvider value={nonce}>
        <RemixServer context={remixContext} url={request.url} abortDelay={ABORT_DELAY_MS} nonce={nonce} />
      </NonceProvider>,
      {
        nonce,
        [waitForAll ? "onAllReady" : "onShellReady"]() {
          shellRendered = true;
          const body = new PassThrough();
          responseHeaders.set("Content-Type", "text/html; charset=utf-8");
          resolve(
            new Response(createReadableStreamFromReadable(body), {
              headers: responseHeaders,
              status: responseStatusCode,
            }),
          );
          pipe(body);
        },
        onShellError(error: unknown) {
          reject(error);
        },
        onError(error: unknown) {
          responseStatusCode = 500;
          // Errors after the shell are logged here; before it they reach the error boundary.
          if (shellRendered) log.error("render failed", { path: new URL(request.url).pathname, error: describeError(error) });
        },
      },
    );
    setTimeout(abort, ABORT_DELAY_MS);
  });
}

export function handleError(error: unknown, { request }: { request: Request }) {
  if (request.signal.aborted) return;
  const path = new URL(request.url).pathname;
  // A request for an address nobody serves (Remix's "no route matches") or another answer a route chose to
  // give (a thrown 4xx) is not a fault of the server: one info line saying what was asked for.
  if (isRouteErrorResponse(error) && error.status < 500) {
    log.info(error.status === 404 ? "page not found" : "request refused", { path, method: request.method, status: error.status });
    return;
  }
  log.error("request failed", { path, method: request.method, error: describeError(error) });
}
