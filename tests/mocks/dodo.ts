// A local HTTP double of Dodo Payments' API (POST /checkouts, GET /checkouts/:id) on 127.0.0.1, for tests
// only: the real SDK talks to it over real HTTP. It never enters the production bundle (the checkout
// simulator has its own in-process stand-in, app/integrations/simulator-api.server.ts). The Dodo-shaped
// webhook payload builders live in the app (the simulator sends them too) and are re-exported here.
import { randomBytes } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
export * from "../../app/integrations/dodo-payloads.server";

export interface RecordedDodoRequest {
  method: string;
  path: string;
  /** Lower-cased header names; `authorization` is reduced to its scheme so no key is kept. */
  headers: Record<string, string>;
  body: unknown;
}

export interface DodoDoubleSession {
  sessionId: string;
  checkoutUrl: string;
  request: Record<string, unknown>;
  createdAt: string;
}

interface Failure {
  status: number;
  body: unknown;
  remaining: number;
}

export interface DodoDouble {
  /** Pass to `new DodoPayments({ baseURL })`. */
  baseURL: string;
  requests: RecordedDodoRequest[];
  sessions: Map<string, DodoDoubleSession>;
  /** The next `times` requests answer `status` with `body` (Dodo's error shape by default); status 0 drops the connection. */
  failNext(status: number, times?: number, body?: unknown): void;
  reset(): void;
  close(): Promise<void>;
}

export interface DodoDoubleOptions {
  /**
   * Where hosted checkout pages live when the request carries no `return_url`. With a `return_url`, the
   * checkout URL is `/simulator/checkout/<session>` on the return URL's origin: the app's own simulator.
   */
  checkoutBaseUrl?: string;
  /** Bearer token the double insists on; any non-empty token when unset. */
  expectedApiKey?: string;
}

function randomId(prefix: string): string {
  return `${prefix}_${randomBytes(12).toString("base64url")}`;
}

function redactHeaders(headers: http.IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    const text = Array.isArray(value) ? value.join(", ") : value;
    out[name.toLowerCase()] = name.toLowerCase() === "authorization" ? text.split(" ")[0] ?? "" : text;
  }
  return out;
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > 1024 * 1024) {
        reject(new Error("request too large"));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

/** Mirrors the checks Dodo's API makes on `POST /checkouts` that our code could get wrong. */
function checkoutRequestProblem(body: unknown): string | null {
  if (!body || typeof body !== "object") return "body must be a JSON object";
  const b = body as Record<string, unknown>;
  if (!Array.isArray(b.product_cart)) return "product_cart is required";
  if (b.product_cart.length > 20) return "product_cart holds at most 20 items";
  for (const item of b.product_cart) {
    if (!item || typeof item !== "object") return "product_cart items must be objects";
    const i = item as Record<string, unknown>;
    if (typeof i.product_id !== "string" || i.product_id.length === 0) return "product_id is required";
    if (typeof i.quantity !== "number" || !Number.isInteger(i.quantity) || i.quantity < 0) return "quantity must be an integer";
  }
  if (b.metadata !== undefined && b.metadata !== null) {
    if (typeof b.metadata !== "object" || Array.isArray(b.metadata)) return "metadata must be an object";
    for (const value of Object.values(b.metadata as object)) {
      if (!["string", "number", "boolean"].includes(typeof value)) return "metadata values must be scalars";
    }
  }
  if (b.return_url !== undefined && b.return_url !== null) {
    try {
      new URL(String(b.return_url));
    } catch {
      return "return_url must be a URL";
    }
  }
  return null;
}

export async function startDodoDouble(options: DodoDoubleOptions = {}): Promise<DodoDouble> {
  const requests: RecordedDodoRequest[] = [];
  const sessions = new Map<string, DodoDoubleSession>();
  let failure: Failure | null = null;

  const server = http.createServer(async (req, res) => {
    try {
      const raw = await readBody(req);
      let body: unknown = null;
      if (raw.length > 0) {
        try {
          body = JSON.parse(raw);
        } catch {
          body = raw;
        }
      }
      const url = new URL(req.url ?? "/", "http://dodo.local");
      requests.push({ method: req.method ?? "", path: url.pathname, headers: redactHeaders(req.headers), body });

      const auth = req.headers.authorization ?? "";
      const token = auth.startsWith("Bearer ") ? auth.slice(7) : "";
      if (!token || (options.expectedApiKey !== undefined && token !== options.expectedApiKey)) {
        send(res, 401, { code: "UNAUTHORIZED", message: "Invalid or missing API key" });
        return;
      }
      if (failure && failure.remaining > 0) {
        failure.remaining -= 1;
        const { status, body: failBody } = failure;
        if (failure.remaining === 0) failure = null;
        // Status 0: the connection dies without an answer, as when Dodo is unreachable mid-request.
        if (status === 0) {
          req.socket.destroy();
          return;
        }
        send(res, status, failBody);
        return;
      }
      if (req.method === "POST" && url.pathname === "/checkouts") {
        const problem = checkoutRequestProblem(body);
        if (problem) {
          send(res, 422, { code: "UNPROCESSABLE_ENTITY", message: problem });
          return;
        }
        const request = body as Record<string, unknown>;
        const sessionId = randomId("cks");
        const base =
          typeof request.return_url === "string"
            ? new URL("/simulator/checkout/", request.return_url).toString()
            : `${options.checkoutBaseUrl ?? "http://127.0.0.1"}/simulator/checkout/`;
        const checkoutUrl = `${base}${sessionId}`;
        sessions.set(sessionId, { sessionId, checkoutUrl, request, createdAt: new Date().toISOString() });
        send(res, 200, { session_id: sessionId, checkout_url: checkoutUrl });
        return;
      }
      const match = /^\/checkouts\/([^/]+)$/.exec(url.pathname);
      if (req.method === "GET" && match) {
        const session = sessions.get(decodeURIComponent(match[1]!));
        if (!session) {
          send(res, 404, { code: "NOT_FOUND", message: "Checkout session not found" });
          return;
        }
        send(res, 200, { id: session.sessionId, created_at: session.createdAt, payment_id: null, payment_status: null });
        return;
      }
      send(res, 404, { code: "NOT_FOUND", message: `No route ${req.method} ${url.pathname}` });
    } catch {
      if (!res.headersSent) send(res, 500, { code: "INTERNAL", message: "double failed" });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  // The double must never be what keeps a process (a dev server, a test worker) alive.
  server.unref();
  const { port } = server.address() as AddressInfo;

  return {
    baseURL: `http://127.0.0.1:${port}`,
    requests,
    sessions,
    failNext(status, times = 1, body = { code: status >= 500 ? "INTERNAL_SERVER_ERROR" : "BAD_REQUEST", message: "simulated failure" }) {
      failure = { status, body, remaining: times };
    },
    reset() {
      requests.length = 0;
      sessions.clear();
      failure = null;
    },
    close() {
      return new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
    },
  };
}
