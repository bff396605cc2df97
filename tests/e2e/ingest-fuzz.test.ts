// Fuzz of the RUNNING server's webhook endpoint: ≥ 10,000 malformed deliveries (bad signatures, bad
// headers, bad JSON, wrong shapes, wrong methods and types, oversize) must give zero 5xx and write zero
// ledger rows. Validly signed bodies the schema refuses are Dodo's own: each is kept as one FAILED event
// row (202), and nothing else.
import http from "node:http";
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { generateWebhookSecret, signWebhook } from "~/integrations/webhook-verification.server";
import { databaseTargets } from "../setup/databases";
import { useServedApp } from "../setup/app-server";
import { disputeEvent, paymentEvent, refundEvent } from "../mocks/dodo";

const FUZZ_REQUESTS = 10_000;
const CONCURRENCY = 16;
const secret = generateWebhookSecret();
process.env.DODO_PAYMENTS_WEBHOOK_KEY = secret;
process.env.DODO_PAYMENTS_API_KEY = "sk_test_fuzz";
process.env.DODO_PAYMENTS_BASE_URL = "http://127.0.0.1:9";
// Ten thousand refusals would be ten thousand warn lines; the assertions are the record here.
process.env.LOG_LEVEL = "error";

interface FuzzRequest {
  method: string;
  headers: Record<string, string>;
  body: string | null;
  label: string;
}

const now = () => Math.floor(Date.now() / 1000);
const validEvents = () => [
  paymentEvent({ status: "succeeded", totalAmount: 1000n }),
  refundEvent({ paymentId: "pay_x", status: "succeeded", amount: 10n }),
  disputeEvent({ paymentId: "pay_x", event: "opened", amount: 10n }),
];

const notAString = [null, 12.5, -1, {}, [], true];
const notAnAmount = ["12", 1.5, -1, 2 ** 60, {}, true];
const notAStringOrNull = [12.5, -1, {}, [], true];
/** Fields our schemas require, with values each of which must fail them. */
const BREAKABLE: Record<"payment" | "refund" | "dispute", [string, unknown[]][]> = {
  payment: [
    ["business_id", notAString], ["type", [12, null, {}, ""]], ["timestamp", ["yesterday", 12, null]], ["data", [null, "x", 5]],
    ["data.payment_id", notAString], ["data.total_amount", [...notAnAmount, null]], ["data.currency", [...notAString, "usd", "DOLLARS"]],
    // settlement fields may be null (not reported yet): only wrong types break them
    ["data.settlement_amount", notAnAmount], ["data.settlement_currency", [...notAStringOrNull, "us"]], ["data.status", ["paid", 3]],
  ],
  refund: [
    ["data.refund_id", notAString], ["data.payment_id", notAString], ["data.status", ["done", null, 1]], ["data.amount", notAnAmount],
  ],
  dispute: [
    // a dispute amount may be a number (Dodo's CLI sends one): fractions, signs and non-amounts break it
    ["data.dispute_id", notAString], ["data.amount", [10.5, null, "1.5", "-3", "", "1e3"]], ["data.currency", [...notAString, ""]],
    ["data.dispute_status", ["dispute_maybe", null, 2]], ["data.dispute_stage", ["final", null]],
  ],
};

let signedGarbageCount = 0;

/** Every generated request is malformed in at least one way that must stop it before the ledger. */
const fuzzRequest: fc.Arbitrary<FuzzRequest> = fc.oneof(
  // 1. A valid event body with a broken signature header.
  fc.record({
    event: fc.constantFrom(...validEvents()),
    signature: fc.oneof(
      fc.string({ maxLength: 120 }),
      fc.constant("v1,"),
      fc.base64String({ minLength: 44, maxLength: 44 }).map((s) => `v1,${s}`),
      fc.base64String({ minLength: 44, maxLength: 44 }).map((s) => `v2,${s} v1,${s}`),
      fc.array(fc.base64String({ minLength: 44, maxLength: 44 }), { minLength: 1, maxLength: 12 }).map((a) => a.map((s) => `v1,${s}`).join(" ")),
    ),
    id: fc.oneof(fc.constant("msg_fuzz"), fc.string({ maxLength: 300 })),
  }).map(({ event, signature, id }) => ({
    method: "POST",
    headers: { "content-type": "application/json", "webhook-id": id || "x", "webhook-timestamp": String(now()), "webhook-signature": signature || "x" },
    body: JSON.stringify(event),
    label: "bad signature",
  })),
  // 2. Correctly signed but outside the time window, or with a broken timestamp header.
  fc.record({
    event: fc.constantFrom(...validEvents()),
    // Requests are generated up front and sent over tens of seconds: a future timestamp must stay out
    // of the window until it is sent, so future skews start well past 5 minutes.
    skew: fc.oneof(fc.integer({ min: 301, max: 10_000_000 }), fc.integer({ min: -10_000_000, max: -3600 })),
    brokenTimestamp: fc.option(fc.constantFrom("", "abc", "1e9", "-1", " 123", "99999999999999999999", "1.5"), { nil: undefined }),
  }).map(({ event, skew, brokenTimestamp }) => {
    const body = JSON.stringify(event);
    const signed = signWebhook({ secret, webhookId: "msg_fuzz_time", timestampSeconds: now() - skew, body });
    const headers: Record<string, string> = { ...signed, "content-type": "application/json" };
    if (brokenTimestamp !== undefined) headers["webhook-timestamp"] = brokenTimestamp;
    return { method: "POST", headers, body, label: "bad timestamp" };
  }),
  // 3. Missing headers.
  fc.record({
    event: fc.constantFrom(...validEvents()),
    drop: fc.subarray(["webhook-id", "webhook-timestamp", "webhook-signature"], { minLength: 1 }),
  }).map(({ event, drop }) => {
    const body = JSON.stringify(event);
    const headers: Record<string, string> = { ...signWebhook({ secret, webhookId: "msg_fuzz_drop", timestampSeconds: now(), body }), "content-type": "application/json" };
    for (const name of drop) delete headers[name];
    return { method: "POST", headers, body, label: "missing header" };
  }),
  // 4. VALIDLY signed bodies that are not JSON or not Dodo's shape: only the schema stands in the way.
  fc.oneof(
    fc.string({ maxLength: 400 }),
    fc.json({ maxDepth: 3 }),
    fc.constantFrom(...validEvents()).chain((event) => {
      const kind = String(event.type).split(".")[0] as "payment" | "refund" | "dispute";
      const paths = BREAKABLE[kind];
      return fc
        .constantFrom(...paths)
        .chain(([path, values]) => fc.constantFrom(...values).map((value) => ({ path, value })))
        .map(({ path, value }) => {
          const copy = JSON.parse(JSON.stringify(event)) as Record<string, any>;
          const [head, tail] = path.split(".");
          if (tail) copy[head!][tail] = value;
          else copy[head!] = value;
          return JSON.stringify(copy);
        });
    }),
  ).map((body) => {
    // Each its own delivery: the same id with other bytes would be a conflict (tests/integration/dodo-payload-shapes.test.ts).
    const webhookId = `msg_fuzz_body_${++signedGarbageCount}`;
    return {
      method: "POST",
      headers: { ...signWebhook({ secret, webhookId, timestampSeconds: now(), body }), "content-type": "application/json" },
      body,
      label: "signed garbage",
    };
  }),
  // 5. Wrong method or content type (with an otherwise valid, signed delivery).
  fc.record({
    event: fc.constantFrom(...validEvents()),
    method: fc.constantFrom("PUT", "PATCH", "DELETE", "POST"),
    contentType: fc.constantFrom("text/plain", "application/xml", "multipart/form-data; boundary=x", "application/x-www-form-urlencoded", "application/jsonx", "json"),
  }).map(({ event, method, contentType }) => {
    const body = JSON.stringify(event);
    return {
      method,
      headers: { ...signWebhook({ secret, webhookId: "msg_fuzz_ct", timestampSeconds: now(), body }), "content-type": contentType },
      body,
      label: "wrong method/type",
    };
  }),
  // 6. Oversize bodies (the limit is 256 KiB).
  fc.integer({ min: 256 * 1024 + 1, max: 300 * 1024 }).map((size) => ({
    method: "POST",
    headers: { "content-type": "application/json", "webhook-id": "msg_big", "webhook-timestamp": String(now()), "webhook-signature": "v1," + "A".repeat(43) + "=" },
    body: "[" + " ".repeat(size - 2) + "]",
    label: "oversize",
  })),
);

/**
 * One request over node:http, resolving with the status as soon as the response head arrives. The server
 * answers an oversize body with 413 without reading it and closes the connection; fetch reports that as
 * ECONNRESET and loses the status, a plain client still sees the 413.
 */
function send(url: string, request: FuzzRequest, agent: http.Agent, retries = 1): Promise<number> {
  return new Promise((resolve, reject) => {
    const body = request.body === null ? undefined : Buffer.from(request.body, "utf8");
    const req = http.request(url, {
      method: request.method,
      agent,
      headers: { ...request.headers, ...(body ? { "content-length": String(body.byteLength) } : {}) },
    });
    let settled = false;
    req.on("response", (res) => {
      settled = true;
      res.resume();
      res.on("error", () => undefined);
      resolve(res.statusCode ?? 0);
    });
    req.on("error", (error: NodeJS.ErrnoException) => {
      if (settled) return;
      settled = true;
      const reset = error.code === "ECONNRESET" || error.code === "EPIPE";
      // An oversize body the server refused to read: it may close the socket before this client has
      // finished writing, and the 413 is then lost with the connection. That is still a refusal.
      if (reset && request.label === "oversize") return resolve(CONNECTION_REFUSED_BODY);
      // Node's documented keep-alive race: the server closed an idle socket as this request was put on
      // it. The request never reached the handler, so sending it again is the faithful retry.
      if (reset && req.reusedSocket && retries > 0) return resolve(send(url, request, agent, retries - 1));
      reject(error);
    });
    req.end(body);
  });
}

/** Status recorded when the server cut an oversize upload short instead of letting the 413 through. */
const CONNECTION_REFUSED_BODY = 0;

describe.each(databaseTargets())("webhook fuzz against the running server on $name", (target) => {
  const app = useServedApp(target);

  async function rowCounts() {
    const rows = await app.db.prisma.$queryRaw<{ table: string; n: bigint }[]>`
      SELECT 'webhook_events' AS table, count(*) AS n FROM webhook_events
      UNION ALL SELECT 'payments', count(*) FROM payments
      UNION ALL SELECT 'refunds', count(*) FROM refunds
      UNION ALL SELECT 'disputes', count(*) FROM disputes
      UNION ALL SELECT 'audit_log', count(*) FROM audit_log
      UNION ALL SELECT 'organizations', count(*) FROM organizations
      UNION ALL SELECT 'payout_runs', count(*) FROM payout_runs`;
    return Object.fromEntries(rows.map((r) => [r.table, Number(r.n)]));
  }

  it(`${FUZZ_REQUESTS} malformed requests: zero 5xx, zero ledger rows; signed garbage kept FAILED, one event row each`, async () => {
    const before = await rowCounts();
    const requests = fc.sample(fuzzRequest, { numRuns: FUZZ_REQUESTS, seed: 20261125 });
    const statuses = new Map<number, number>();
    const fiveXx: string[] = [];
    let accepted = 0;
    let acceptedGarbage = 0;
    let next = 0;
    // Oversize bodies get their own connection each: the server closes a connection whose body it refused
    // to read, and a request queued behind it on a shared keep-alive socket would see that as its own failure.
    const keepAlive = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
    const oneShot = new http.Agent({ keepAlive: false, maxSockets: CONCURRENCY });
    async function worker() {
      while (next < requests.length) {
        const request = requests[next++]!;
        const status = await send(`${app.server.url}/api/webhooks/dodo`, request, request.label === "oversize" ? oneShot : keepAlive);
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        if (status >= 500) fiveXx.push(`${request.label} -> ${status}`);
        if (status >= 200 && status < 300) {
          if (request.label === "signed garbage" && status === 202) acceptedGarbage += 1;
          else accepted += 1;
        }
      }
    }
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    keepAlive.destroy();
    oneShot.destroy();
    const total = [...statuses.values()].reduce((a, b) => a + b, 0);
    expect(total).toBe(FUZZ_REQUESTS);
    expect(fiveXx).toEqual([]);
    expect(accepted).toBe(0);
    const garbage = requests.filter((r) => r.label === "signed garbage").length;
    expect(acceptedGarbage).toBe(garbage);
    const after = await rowCounts();
    expect(after).toEqual({ ...before, webhook_events: before.webhook_events! + garbage });
    expect(await app.db.prisma.webhookEvent.count({ where: { status: "FAILED" } })).toBe(garbage);
    // Every class of refusal was exercised (guards against a generator that only ever makes one kind).
    for (const status of [202, 401, 405, 413, 415]) expect(statuses.get(status) ?? 0).toBeGreaterThan(0);
    // Cut connections are allowed for oversize uploads only (send() rejects any other reset).
    expect(statuses.get(CONNECTION_REFUSED_BODY) ?? 0).toBeLessThanOrEqual(requests.filter((r) => r.label === "oversize").length);
  }, 600_000);

  it("control: one valid delivery through the same server IS recorded", async () => {
    const body = JSON.stringify(paymentEvent({ status: "succeeded", totalAmount: 500n }));
    const response = await fetch(`${app.server.url}/api/webhooks/dodo`, {
      method: "POST",
      headers: { ...signWebhook({ secret, webhookId: "msg_control", timestampSeconds: now(), body }), "content-type": "application/json" },
      body,
    });
    expect(response.status).toBe(200);
    expect(await app.db.prisma.payment.count()).toBe(1);
  });
});
