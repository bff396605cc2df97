// A webhook receiver on loopback for outbound-webhook tests: a real node:http server that verifies every
// request's Standard Webhooks signature with `standardwebhooks`' Webhook.verify (as a customer's server
// would), records it, and answers as the test says: a status, or "hang" (the request waits until released).
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook } from "standardwebhooks";

export interface ReceivedWebhook {
  webhookId: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** The verified payload, or null when verification failed (see `verifyError`). */
  payload: { type: string; timestamp: string; data: Record<string, unknown> } | null;
  verifyError: string | null;
  /** What the receiver answered (null while hanging). */
  answered: number | null;
}

export type Answer = number | "hang";

export interface WebhookReceiver {
  url: string;
  received: ReceivedWebhook[];
  /** The secret requests are verified with (set after registering the endpoint). */
  secret: string | null;
  /** Decides each answer; `n` is the 1-based count of requests so far. Default: 200. */
  answer: (request: ReceivedWebhook, n: number) => Answer;
  /** Answers every hanging request with `status`. */
  release(status?: number): void;
  hanging(): number;
  close(): Promise<void>;
}

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const hung: { request: ReceivedWebhook; finish: (status: number) => void }[] = [];
  const receiver: WebhookReceiver = {
    url: "",
    received: [],
    secret: null,
    answer: () => 200,
    release(status = 200) {
      for (const h of hung.splice(0)) h.finish(status);
    },
    hanging: () => hung.length,
    close: async () => undefined,
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(", ") : (v ?? "")]));
      let payload: ReceivedWebhook["payload"] = null;
      let verifyError: string | null = null;
      try {
        if (!receiver.secret) throw new Error("the receiver has no secret");
        payload = new Webhook(receiver.secret).verify(body, headers) as ReceivedWebhook["payload"];
      } catch (error) {
        verifyError = error instanceof Error ? error.message : String(error);
      }
      const request: ReceivedWebhook = { webhookId: String(req.headers["webhook-id"] ?? ""), headers: req.headers, body, payload, verifyError, answered: null };
      receiver.received.push(request);
      const finish = (status: number) => {
        request.answered = status;
        res.writeHead(status, { "content-type": "text/plain" }).end(status < 300 ? "ok" : "no");
      };
      const answer = receiver.answer(request, receiver.received.length);
      if (answer === "hang") hung.push({ request, finish });
      else finish(answer);
    });
  });
  server.listen(0, "127.0.0.1");
  await new Promise<void>((resolve) => server.once("listening", resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
  receiver.close = async () => {
    receiver.release(503);
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return receiver;
}

/** Polls `probe` until it holds (a state, never a timing): the tests' generous deadline, then a sentence. */
export async function waitUntil(what: string, probe: () => Promise<boolean> | boolean, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
