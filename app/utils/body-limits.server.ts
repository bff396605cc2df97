// How many request-body bytes each endpoint reads at most, enforced by the server (scripts/app.mjs) before
// Remix parses anything: a 5 MB JSON body to /api/checkout is refused with a 413 and a sentence, unread.
import type { IncomingMessage, ServerResponse } from "node:http";

/** A customer's checkout: a product id, a quantity, a name and an e-mail address fit in far less. */
export const CHECKOUT_BODY_LIMIT_BYTES = 16 * 1024;
/** Every other form of the site (sign-in, team, console forms, verification): generous for a form, small for a server. */
export const DEFAULT_BODY_LIMIT_BYTES = 256 * 1024;

const ROUTE_LIMITS: [prefix: string, limit: number][] = [["/api/checkout", CHECKOUT_BODY_LIMIT_BYTES]];

export function bodyLimitFor(pathname: string): number {
  for (const [prefix, limit] of ROUTE_LIMITS) if (pathname === prefix || pathname.startsWith(`${prefix}/`)) return limit;
  return DEFAULT_BODY_LIMIT_BYTES;
}

function kib(bytes: number): string {
  return `${Math.floor(bytes / 1024)} KiB`;
}

export interface BodyLimitRefusal {
  status: 411 | 413;
  message: string;
}

/**
 * Whether a request's declared body may be read. Node's parser never delivers more than Content-Length bytes,
 * so a declared length within the limit bounds the body; a body without one (chunked) is refused here, since
 * nothing upstream would bound it (Dodo's webhook, which counts its own bytes, is served before this check).
 */
export function refuseOversizedBody(
  request: Pick<IncomingMessage, "method" | "headers">,
  pathname: string,
): BodyLimitRefusal | null {
  const limit = bodyLimitFor(pathname);
  const declared = request.headers["content-length"];
  if (declared !== undefined) {
    const length = Number(declared);
    if (!/^[0-9]+$/.test(declared) || !Number.isSafeInteger(length)) {
      return { status: 413, message: "The request's Content-Length is not a number of bytes." };
    }
    if (length > limit) {
      return { status: 413, message: `The request body is ${kib(length)}; this address accepts at most ${kib(limit)}.` };
    }
    return null;
  }
  if (request.headers["transfer-encoding"] !== undefined) {
    return { status: 411, message: `Send the request body with a Content-Length (at most ${kib(limit)}).` };
  }
  return null;
}

/** Answers a refused body: JSON for API callers, a line of text for everyone else; the connection is closed. */
export function answerOversizedBody(request: IncomingMessage, response: ServerResponse, refusal: BodyLimitRefusal): void {
  const wantsJson =
    (request.headers["content-type"] ?? "").toLowerCase().startsWith("application/json") ||
    (request.headers.accept ?? "").toLowerCase().includes("application/json");
  const body = wantsJson
    ? JSON.stringify({ error: refusal.status === 413 ? "BODY_TOO_LARGE" : "LENGTH_REQUIRED", message: refusal.message })
    : `${refusal.message}\n`;
  response.writeHead(refusal.status, {
    "content-type": wantsJson ? "application/json" : "text/plain; charset=utf-8",
    "content-length": Buffer.byteLength(body),
    // The unread body makes the connection unusable for a next request.
    connection: "close",
  });
  response.end(body);
}
