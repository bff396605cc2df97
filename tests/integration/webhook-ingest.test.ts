// POST /api/webhooks/dodo's handler against a fresh migrated database (PGlite, and PostgreSQL when
// DATABASE_URL is set): signature matrix, malformed input, idempotency under concurrency, ordering.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import fc from "fast-check";
import {
  DodoWebhookVerifier,
  generateWebhookSecret,
  signWebhook,
  webhookRejectionCounter,
} from "~/integrations/webhook-verification.server";
import { WEBHOOK_BODY_LIMIT_BYTES, handleDodoWebhook } from "~/integrations/dodo-webhook-handler.server";
import { loadPaymentState } from "~/models/payments.server";
import { writeDelivery, writeRefundsAndDisputes } from "~/models/payment-delivery.server";
import { foldPaymentObservations } from "~/ledger/payment-state";
import { paymentObservationOf, parseDodoWebhookEvent } from "~/integrations/dodo-events";
import { databaseTargets, type TestDatabase } from "../setup/databases";
import { disputeEvent, newDodoId, paymentEvent, refundEvent, signedDelivery } from "../mocks/dodo";

// Compiling runs is the worker's job (tests/integration/webhook-payout.test.ts); here the delivery writes
// its compile request, so "exactly one request per payment" is a database fact the tests count. The
// writers are wrapped in spies so tests can make a write fail: the delivery's one statement, or the
// refund/dispute writes after it in the locked path's transaction.
vi.mock("~/models/payment-delivery.server", async (importOriginal) => {
  const actual = await importOriginal<typeof import("~/models/payment-delivery.server")>();
  return {
    ...actual,
    writeDelivery: vi.fn(actual.writeDelivery),
    writeRefundsAndDisputes: vi.fn(actual.writeRefundsAndDisputes),
  };
});

const URL_ = "http://127.0.0.1/api/webhooks/dodo";

function post(body: BodyInit | null, headers: Record<string, string>, init: RequestInit = {}): Request {
  return new Request(URL_, { method: "POST", body, headers, ...init });
}

describe.each(databaseTargets())("Dodo webhook ingestion on $name", (target) => {
  let db: TestDatabase;
  const secret = generateWebhookSecret();
  const verifier = new DodoWebhookVerifier(secret);
  const deliver = (request: Request) => handleDodoWebhook(request, { db, verifier });
  const send = (event: Record<string, unknown>, options?: { webhookId?: string; timestampSeconds?: number }) => {
    const d = signedDelivery(secret, event, options);
    return deliver(post(d.body, d.headers));
  };

  async function counts() {
    const [events, payments, refunds, disputes, audits, requests, orgs] = await Promise.all([
      db.prisma.webhookEvent.count(),
      db.prisma.payment.count(),
      db.prisma.refund.count(),
      db.prisma.dispute.count(),
      db.prisma.auditLog.count(),
      db.prisma.payoutRunRequest.count(),
      db.prisma.organization.count(),
    ]);
    return { events, payments, refunds, disputes, audits, requests, orgs };
  }

  beforeAll(async () => {
    db = await target.create();
  });
  afterAll(async () => {
    await db?.destroy();
  });

  describe("signature matrix: 401 and nothing recorded", () => {
    const event = paymentEvent({ status: "succeeded", totalAmount: 1500n });
    const now = () => Math.floor(Date.now() / 1000);
    const cases: [string, () => Request][] = [
      ["wrong secret", () => {
        const d = signedDelivery(generateWebhookSecret(), event);
        return post(d.body, d.headers);
      }],
      ["body changed by one byte", () => {
        const d = signedDelivery(secret, event);
        return post(d.body.replace('"total_amount":1500', '"total_amount":1600'), d.headers);
      }],
      ["timestamp 5 min 1 s old", () => {
        const d = signedDelivery(secret, event, { timestampSeconds: now() - 301 });
        return post(d.body, d.headers);
      }],
      ["timestamp 6 min in the future", () => {
        const d = signedDelivery(secret, event, { timestampSeconds: now() + 360 });
        return post(d.body, d.headers);
      }],
      ...(["webhook-id", "webhook-timestamp", "webhook-signature"] as const).map(
        (header): [string, () => Request] => [`missing ${header}`, () => {
          const d = signedDelivery(secret, event);
          const headers = { ...d.headers };
          delete headers[header];
          return post(d.body, headers);
        }],
      ),
      ["garbage signature format", () => {
        const d = signedDelivery(secret, event);
        return post(d.body, { ...d.headers, "webhook-signature": "v1,not base64 at all!!" });
      }],
      ["two signatures, neither valid", () => {
        const d = signedDelivery(secret, event);
        const other = signWebhook({ secret: generateWebhookSecret(), webhookId: d.webhookId, timestampSeconds: now(), body: d.body });
        return post(d.body, { ...d.headers, "webhook-signature": `${other["webhook-signature"]} v1,${"A".repeat(43)}=` });
      }],
    ];
    for (const [name, build] of cases) {
      it(`error: ${name}`, async () => {
        const before = await counts();
        const rejectionsBefore = webhookRejectionCounter.total;
        const response = await deliver(build());
        expect(response.status).toBe(401);
        expect(webhookRejectionCounter.total).toBe(rejectionsBefore + 1);
        const text = await response.text();
        expect(text).not.toContain(secret);
        expect(await counts()).toEqual(before);
      });
    }

    it("two signatures of which one is valid: recorded", async () => {
      const d = signedDelivery(secret, paymentEvent({ status: "succeeded", totalAmount: 10n }));
      const bad = signWebhook({ secret: generateWebhookSecret(), webhookId: d.webhookId, timestampSeconds: Number(d.headers["webhook-timestamp"]), body: d.body });
      const response = await deliver(post(d.body, { ...d.headers, "webhook-signature": `${bad["webhook-signature"]} ${d.headers["webhook-signature"]}` }));
      expect(response.status).toBe(200);
      expect(await db.prisma.webhookEvent.count({ where: { webhookId: d.webhookId } })).toBe(1);
    });
  });

  // Verified bodies that cannot be applied are Dodo's: kept FAILED with the error and acknowledged (202),
  // so Dodo's retries stop and an operator can replay them; nothing else is written.
  describe("malformed but verified input: stored FAILED, answered 202, nothing else recorded", () => {
    async function expectStoredFailed(response: Response, webhookId: string, before: Awaited<ReturnType<typeof counts>>, error: RegExp) {
      expect(response.status).toBe(202);
      expect(await response.json()).toMatchObject({ status: "failed" });
      const stored = await db.prisma.webhookEvent.findUniqueOrThrow({ where: { webhookId } });
      expect(stored.status).toBe("FAILED");
      expect(stored.error).toMatch(error);
      expect(await counts()).toEqual({ ...before, events: before.events + 1 });
    }

    it("error: malformed JSON with a valid signature is kept FAILED", async () => {
      const before = await counts();
      const body = '{"business_id":"bus_1","type":"payment.succeeded",';
      const webhookId = newDodoId("msg");
      const headers = { ...signWebhook({ secret, webhookId, timestampSeconds: Math.floor(Date.now() / 1000), body }), "content-type": "application/json" };
      await expectStoredFailed(await deliver(post(body, headers)), webhookId, before, /not JSON/);
    });

    it("error: a known type whose data breaks the schema is kept FAILED", async () => {
      const before = await counts();
      const event = paymentEvent({ status: "succeeded", totalAmount: 100n });
      (event.data as Record<string, unknown>).total_amount = "100";
      const webhookId = newDodoId("msg");
      await expectStoredFailed(await send(event, { webhookId }), webhookId, before, /total_amount/);
    });

    it("error: a fractional amount is kept FAILED", async () => {
      const before = await counts();
      const event = paymentEvent({ status: "succeeded", totalAmount: 100n });
      (event.data as Record<string, unknown>).settlement_amount = 99.5;
      const webhookId = newDodoId("msg");
      await expectStoredFailed(await send(event, { webhookId }), webhookId, before, /settlement_amount/);
    });

    it("error: Content-Length over 256 KiB is 413", async () => {
      const before = await counts();
      const d = signedDelivery(secret, paymentEvent({ status: "succeeded", totalAmount: 1n }));
      const big = d.body + " ".repeat(WEBHOOK_BODY_LIMIT_BYTES);
      const response = await deliver(post(big, { ...d.headers, "content-length": String(Buffer.byteLength(big)) }));
      expect(response.status).toBe(413);
      expect(await counts()).toEqual(before);
    });

    it("error: a streamed body without Content-Length that exceeds 256 KiB is 413", async () => {
      const before = await counts();
      const d = signedDelivery(secret, paymentEvent({ status: "succeeded", totalAmount: 1n }));
      const chunk = new TextEncoder().encode(" ".repeat(64 * 1024));
      let sent = 0;
      const stream = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (sent > WEBHOOK_BODY_LIMIT_BYTES + chunk.byteLength) return controller.close();
          sent += chunk.byteLength;
          controller.enqueue(chunk);
        },
      });
      const request = new Request(URL_, { method: "POST", body: stream, headers: d.headers, duplex: "half" } as RequestInit);
      expect(request.headers.get("content-length")).toBeNull();
      const response = await deliver(request);
      expect(response.status).toBe(413);
      expect(await counts()).toEqual(before);
    });

    it("accepts a body of exactly 256 KiB (the limit is inclusive) and judges it on its signature", async () => {
      const event = paymentEvent({ status: "succeeded", totalAmount: 1n });
      let body = JSON.stringify(event);
      body = body + " ".repeat(WEBHOOK_BODY_LIMIT_BYTES - Buffer.byteLength(body));
      expect(Buffer.byteLength(body)).toBe(WEBHOOK_BODY_LIMIT_BYTES);
      const headers = { ...signWebhook({ secret, webhookId: newDodoId("msg"), timestampSeconds: Math.floor(Date.now() / 1000), body }), "content-type": "application/json" };
      expect((await deliver(post(body, headers))).status).toBe(200);
    });

    for (const contentType of ["text/plain", "application/x-www-form-urlencoded", ""]) {
      it(`error: content type ${JSON.stringify(contentType)} is 415`, async () => {
        const before = await counts();
        const d = signedDelivery(secret, paymentEvent({ status: "succeeded", totalAmount: 1n }));
        const headers: Record<string, string> = { ...d.headers, "content-type": contentType };
        if (!contentType) delete headers["content-type"];
        const response = await deliver(post(contentType ? d.body : new TextEncoder().encode(d.body), headers));
        expect(response.status).toBe(415);
        expect(await counts()).toEqual(before);
      });
    }

    it("error: GET is 405", async () => {
      const response = await deliver(new Request(URL_, { method: "GET" }));
      expect(response.status).toBe(405);
    });
  });

  describe("recording", () => {
    it("records payment.succeeded once; a redelivery answers 200 and changes nothing", async () => {
      const paymentId = newDodoId("pay");
      const event = paymentEvent({ paymentId, status: "succeeded", totalAmount: 2599n, settlementAmount: 2450n });
      const d = signedDelivery(secret, event);
      const first = await deliver(post(d.body, d.headers));
      expect(first.status).toBe(200);
      expect(await first.json()).toMatchObject({ status: "recorded" });
      const payment = await db.prisma.payment.findUniqueOrThrow({ where: { dodoPaymentId: paymentId } });
      expect(payment.status).toBe("SUCCEEDED");
      expect(payment.totalAmountMinor).toBe(2599n);
      expect(payment.settlementAmountMinor).toBe(2450n);
      const stored = await db.prisma.webhookEvent.findUniqueOrThrow({ where: { webhookId: d.webhookId } });
      expect(stored.rawBody).toBe(d.body);
      expect(stored.status).toBe("PROCESSED");
      expect(await db.prisma.payoutRunRequest.count({ where: { paymentId: payment.id } })).toBe(1);
      const audits = await db.prisma.auditLog.findMany({ where: { entityId: payment.id } });
      expect(audits.map((a) => a.action)).toEqual(["payment.status.succeeded"]);

      const before = await counts();
      const again = await deliver(post(d.body, d.headers));
      expect(again.status).toBe(200);
      expect(await again.json()).toEqual({ status: "duplicate" });
      expect(await counts()).toEqual(before);
    });

    it("error: a failure of the delivery's write answers 500 and leaves nothing; Dodo's retry then records it once", async () => {
      const paymentId = newDodoId("pay");
      const d = signedDelivery(secret, paymentEvent({ paymentId, status: "succeeded", totalAmount: 3100n }));
      vi.mocked(writeDelivery).mockRejectedValueOnce(new Error("write exploded"));
      const before = await counts();
      const failed = await deliver(post(d.body, d.headers));
      expect(failed.status).toBe(500);
      expect(await failed.text()).not.toContain("write exploded");
      // The webhook event row rolled back with everything else, so the retry is not mistaken for a duplicate.
      expect(await counts()).toEqual(before);
      const retried = await deliver(post(d.body, d.headers));
      expect(retried.status).toBe(200);
      expect(await retried.json()).toMatchObject({ status: "recorded" });
      const after = await counts();
      expect(after.payments - before.payments).toBe(1);
      expect(after.requests - before.requests).toBe(1);
      expect(after.events - before.events).toBe(1);
    });

    it("error: a failure after the delivery's statement in the locked transaction rolls that statement back too", async () => {
      // Given: a recorded payment
      const paymentId = newDodoId("pay");
      const paid = signedDelivery(secret, paymentEvent({ paymentId, status: "succeeded", totalAmount: 5100n }));
      expect((await deliver(post(paid.body, paid.headers))).status).toBe(200);
      // When: its refund (written in a transaction: event row, version, audit, then the refund row) fails at the refund row
      const refund = signedDelivery(secret, refundEvent({ paymentId, status: "succeeded", amount: 100n }));
      vi.mocked(writeRefundsAndDisputes).mockRejectedValueOnce(new Error("refund write exploded"));
      const before = await counts();
      const version = await db.prisma.paymentStateVersion.findUniqueOrThrow({ where: { dodoPaymentId: paymentId } });
      const failed = await deliver(post(refund.body, refund.headers));
      // Then: 500, and the event row, audit row and version bump written before the failure are gone
      expect(failed.status).toBe(500);
      expect(await counts()).toEqual(before);
      expect(await db.prisma.paymentStateVersion.findUniqueOrThrow({ where: { dodoPaymentId: paymentId } })).toEqual(version);
      // And Dodo's retry records it once
      const retried = await deliver(post(refund.body, refund.headers));
      expect(retried.status).toBe(200);
      const after = await counts();
      expect([after.events - before.events, after.refunds - before.refunds]).toEqual([1, 1]);
      expect((await db.prisma.payment.findUniqueOrThrow({ where: { dodoPaymentId: paymentId } })).refundedAmountMinor).toBe(100n);
    });

    it("a payment recorded without a version row (before migration 0004) still takes its next event", async () => {
      // Given: a recorded payment whose version row is missing, as for rows that predate it
      const paymentId = newDodoId("pay");
      const t0 = Date.now() - 60_000;
      const processing = signedDelivery(secret, paymentEvent({ paymentId, status: "processing", totalAmount: 2500n, timestamp: new Date(t0).toISOString() }));
      expect((await deliver(post(processing.body, processing.headers))).status).toBe(200);
      await db.prisma.paymentStateVersion.delete({ where: { dodoPaymentId: paymentId } });
      // When: its next event arrives (the first-sighting write collides with the payment row)
      const succeeded = signedDelivery(secret, paymentEvent({ paymentId, status: "succeeded", totalAmount: 2500n, timestamp: new Date(t0 + 1000).toISOString() }));
      const response = await deliver(post(succeeded.body, succeeded.headers));
      // Then: recorded against the row as read, not refused
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ status: "recorded" });
      const payment = await db.prisma.payment.findUniqueOrThrow({ where: { dodoPaymentId: paymentId } });
      expect(payment.status).toBe("SUCCEEDED");
      expect(await db.prisma.payoutRunRequest.count({ where: { paymentId: payment.id } })).toBe(1);
      expect((await db.prisma.paymentStateVersion.findUniqueOrThrow({ where: { dodoPaymentId: paymentId } })).version).toBe(1n);
    });

    it("a payment without our metadata is recorded for the default organization", async () => {
      const paymentId = newDodoId("pay");
      expect((await send(paymentEvent({ paymentId, status: "succeeded", totalAmount: 700n }))).status).toBe(200);
      const payment = await db.prisma.payment.findUniqueOrThrow({ where: { dodoPaymentId: paymentId }, include: { organization: true } });
      expect(payment.organization.slug).toBe("default");
    });

    it("a payment carrying our metadata is linked to its checkout and organization", async () => {
      const organization = await db.prisma.organization.create({ data: { slug: `shop-${Date.now()}`, name: "Shop" } });
      const dodoSessionId = newDodoId("cks");
      const checkout = await db.prisma.checkoutSession.create({
        data: { organizationId: organization.id, amountMinor: 1200n, currency: "USD", customerEmail: "c@example.com", customerName: "C", status: "REDIRECTED", dodoSessionId },
      });
      const paymentId = newDodoId("pay");
      const response = await send(
        paymentEvent({
          paymentId,
          status: "succeeded",
          totalAmount: 1200n,
          checkoutSessionId: dodoSessionId,
          metadata: { stableflow_checkout_id: checkout.id, stableflow_org: organization.id },
        }),
      );
      expect(response.status).toBe(200);
      const payment = await db.prisma.payment.findUniqueOrThrow({ where: { dodoPaymentId: paymentId } });
      expect(payment.organizationId).toBe(organization.id);
      expect(payment.checkoutSessionId).toBe(checkout.id);
      expect((await db.prisma.checkoutSession.findUniqueOrThrow({ where: { id: checkout.id } })).status).toBe("COMPLETED");
    });

    it("unknown event types are stored and acknowledged", async () => {
      const before = await counts();
      const response = await send({ business_id: "bus_1", type: "subscription.renewed", timestamp: new Date().toISOString(), data: { subscription_id: "sub_1" } });
      expect(response.status).toBe(200);
      const after = await counts();
      expect(after.events).toBe(before.events + 1);
      expect({ ...after, events: before.events }).toEqual(before);
      const stored = await db.prisma.webhookEvent.findFirstOrThrow({ where: { eventType: "subscription.renewed" } });
      expect(stored.status).toBe("IGNORED");
    });

    it("a refund before its payment is kept, then linked and counted when the payment arrives", async () => {
      const paymentId = newDodoId("pay");
      const t = Date.now();
      const refund = refundEvent({ paymentId, status: "succeeded", amount: 300n, timestamp: new Date(t + 5000).toISOString() });
      expect((await send(refund)).status).toBe(200);
      const early = await db.prisma.refund.findFirstOrThrow({ where: { dodoPaymentId: paymentId } });
      expect(early.paymentId).toBeNull();
      expect((await send(paymentEvent({ paymentId, status: "succeeded", totalAmount: 1000n, timestamp: new Date(t).toISOString() }))).status).toBe(200);
      const payment = await db.prisma.payment.findUniqueOrThrow({ where: { dodoPaymentId: paymentId } });
      expect(payment.refundedAmountMinor).toBe(300n);
      expect((await db.prisma.refund.findFirstOrThrow({ where: { dodoPaymentId: paymentId } })).paymentId).toBe(payment.id);
    });

    it("a refund without amount or currency is recorded as unknown, not as zero; review is kept", async () => {
      const paymentId = newDodoId("pay");
      const refundId = newDodoId("ref");
      const event = refundEvent({ paymentId, refundId, status: "succeeded", amount: 1n });
      Object.assign(event.data as Record<string, unknown>, { amount: null, currency: null, status: "review" });
      expect((await send(event)).status).toBe(200);
      const refund = await db.prisma.refund.findUniqueOrThrow({ where: { dodoRefundId: refundId } });
      expect(refund.amountMinor).toBeNull();
      expect(refund.currency).toBeNull();
      expect(refund.status).toBe("REVIEW");
    });

    it("disputes are recorded and advance by stage and status", async () => {
      const paymentId = newDodoId("pay");
      const disputeId = newDodoId("dsp");
      const t = Date.now();
      await send(paymentEvent({ paymentId, status: "succeeded", totalAmount: 1000n, timestamp: new Date(t).toISOString() }));
      await send(disputeEvent({ paymentId, disputeId, event: "lost", stage: "pre_arbitration", amount: 1000n, timestamp: new Date(t + 2000).toISOString() }));
      await send(disputeEvent({ paymentId, disputeId, event: "opened", amount: 1000n, timestamp: new Date(t + 1000).toISOString() }));
      const dispute = await db.prisma.dispute.findUniqueOrThrow({ where: { dodoDisputeId: disputeId } });
      expect(dispute.status).toBe("LOST");
      expect(dispute.stage).toBe("pre_arbitration");
    });
  });

  describe("concurrency", () => {
    it("100 concurrent deliveries of the same event: exactly one payment, one run, one audit trail", async () => {
      const paymentId = newDodoId("pay");
      const d = signedDelivery(secret, paymentEvent({ paymentId, status: "succeeded", totalAmount: 4200n }));
      const before = await counts();
      const responses = await Promise.all(Array.from({ length: 100 }, () => deliver(post(d.body, d.headers))));
      const bodies = await Promise.all(responses.map((r) => r.json()));
      expect(responses.map((r) => r.status)).toEqual(Array(100).fill(200));
      expect(bodies.filter((b) => b.status === "recorded")).toHaveLength(1);
      expect(bodies.filter((b) => b.status === "duplicate")).toHaveLength(99);
      const after = await counts();
      expect(after.events - before.events).toBe(1);
      expect(after.payments - before.payments).toBe(1);
      expect(after.requests - before.requests).toBe(1);
      const payment = await db.prisma.payment.findUniqueOrThrow({ where: { dodoPaymentId: paymentId } });
      expect(await db.prisma.auditLog.count({ where: { entityId: payment.id } })).toBe(1);
    });

    it("100 concurrent distinct events: 100 payments", async () => {
      const before = await counts();
      const ids = Array.from({ length: 100 }, () => newDodoId("pay"));
      const responses = await Promise.all(ids.map((paymentId, i) => send(paymentEvent({ paymentId, status: "succeeded", totalAmount: BigInt(100 + i) }))));
      expect(responses.map((r) => r.status)).toEqual(Array(100).fill(200));
      const after = await counts();
      expect(after.payments - before.payments).toBe(100);
      expect(after.requests - before.requests).toBe(100);
      expect(await db.prisma.payment.count({ where: { dodoPaymentId: { in: ids } } })).toBe(100);
    });

    it("concurrent different events of one payment all apply (no lost update)", async () => {
      const paymentId = newDodoId("pay");
      const t = Date.now();
      const events = [
        paymentEvent({ paymentId, status: "succeeded", totalAmount: 5000n, timestamp: new Date(t).toISOString() }),
        ...Array.from({ length: 10 }, (_, i) =>
          refundEvent({ paymentId, status: "succeeded", amount: BigInt(100 + i), timestamp: new Date(t + i + 1).toISOString() }),
        ),
      ];
      const responses = await Promise.all(events.map((e) => send(e)));
      expect(responses.map((r) => r.status)).toEqual(Array(events.length).fill(200));
      const payment = await db.prisma.payment.findUniqueOrThrow({ where: { dodoPaymentId: paymentId } });
      expect(payment.refundedAmountMinor).toBe(Array.from({ length: 10 }, (_, i) => BigInt(100 + i)).reduce((a, b) => a + b, 0n));
      expect(await db.prisma.refund.count({ where: { dodoPaymentId: paymentId } })).toBe(10);
    });
  });

  describe("ordering", () => {
    type Step =
      | { kind: "payment"; status: "processing" | "succeeded" | "failed" | "cancelled"; t: number; settle: bigint }
      | { kind: "refund"; ref: number; status: "succeeded" | "failed"; t: number; amount: bigint }
      | { kind: "dispute"; ref: number; event: "opened" | "challenged" | "won" | "lost"; stage: "dispute" | "pre_arbitration"; t: number };

    const step: fc.Arbitrary<Step> = fc.oneof(
      fc.record({ kind: fc.constant("payment" as const), status: fc.constantFrom("processing", "succeeded", "failed", "cancelled"), t: fc.integer({ min: 0, max: 3 }), settle: fc.bigInt({ min: 900n, max: 1000n }) }),
      fc.record({ kind: fc.constant("refund" as const), ref: fc.integer({ min: 0, max: 1 }), status: fc.constantFrom("succeeded", "failed"), t: fc.integer({ min: 0, max: 3 }), amount: fc.bigInt({ min: 1n, max: 500n }) }),
      fc.record({ kind: fc.constant("dispute" as const), ref: fc.constant(0), event: fc.constantFrom("opened", "challenged", "won", "lost"), stage: fc.constantFrom("dispute", "pre_arbitration"), t: fc.integer({ min: 0, max: 3 }) }),
    ) as fc.Arbitrary<Step>;

    function eventsFor(paymentId: string, steps: Step[]): Record<string, unknown>[] {
      const t0 = Date.parse("2026-11-25T10:00:00.000Z");
      return steps.map((s) => {
        const timestamp = new Date(t0 + s.t * 1000).toISOString();
        if (s.kind === "payment") return paymentEvent({ paymentId, status: s.status, totalAmount: 1000n, settlementAmount: s.settle, timestamp });
        if (s.kind === "refund") return refundEvent({ paymentId, refundId: `${paymentId}_r${s.ref}`, status: s.status, amount: s.amount, timestamp });
        return disputeEvent({ paymentId, disputeId: `${paymentId}_d${s.ref}`, event: s.event, stage: s.stage, amount: 1000n, timestamp });
      });
    }

    /** The ledger state with the payment-specific ids taken out, so two payments can be compared. */
    async function ledgerOf(paymentId: string) {
      const { state } = await db.transaction((tx) => loadPaymentState(tx, paymentId));
      const strip = (id: string) => id.slice(paymentId.length);
      const payment = await db.prisma.payment.findUnique({ where: { dodoPaymentId: paymentId }, select: { refundedAmountMinor: true, status: true } });
      return {
        payment: state.payment,
        refunds: Object.fromEntries(Object.entries(state.refunds).map(([k, v]) => [strip(k), { ...v, refundId: strip(v.refundId) }])),
        disputes: Object.fromEntries(Object.entries(state.disputes).map(([k, v]) => [strip(k), { ...v, disputeId: strip(v.disputeId) }])),
        row: payment,
        requests: await db.prisma.payoutRunRequest.count({ where: { payment: { dodoPaymentId: paymentId } } }),
      };
    }

    it("property: any permutation of a payment's events ends in the same ledger state as in order", async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(step, { minLength: 1, maxLength: 7 }).chain((steps) =>
            fc.tuple(fc.constant(steps), fc.shuffledSubarray(steps, { minLength: steps.length, maxLength: steps.length })),
          ),
          async ([steps, permuted]) => {
            const inOrderId = newDodoId("pay");
            const permutedId = newDodoId("pay");
            for (const event of eventsFor(inOrderId, steps)) expect((await send(event)).status).toBe(200);
            for (const event of eventsFor(permutedId, permuted)) expect((await send(event)).status).toBe(200);
            const inOrder = await ledgerOf(inOrderId);
            expect(await ledgerOf(permutedId)).toEqual(inOrder);
            // And the rows agree with the pure fold of the same events.
            const pure = foldPaymentObservations(eventsFor(inOrderId, steps).map((e) => paymentObservationOf(parseDodoWebhookEvent(JSON.parse(JSON.stringify(e))))!));
            expect(inOrder.payment).toEqual(pure.payment);
            expect(inOrder.requests).toBe(pure.payment?.status === "succeeded" ? 1 : 0);
          },
        ),
        { numRuns: target.name === "pglite" ? 25 : 40 },
      );
    });

    it("property: a payment's events delivered all at once (racing writers, locked retries) end in the same state as in order", async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(step, { minLength: 2, maxLength: 8 }), async (steps) => {
          const inOrderId = newDodoId("pay");
          const racingId = newDodoId("pay");
          for (const event of eventsFor(inOrderId, steps)) expect((await send(event)).status).toBe(200);
          // Every delivery at once: the fast path's conditional writes lose to each other and retry locked.
          const answers = await Promise.all(eventsFor(racingId, steps).map((event) => send(event)));
          expect(answers.map((r) => r.status)).toEqual(steps.map(() => 200));
          expect(await ledgerOf(racingId)).toEqual(await ledgerOf(inOrderId));
          // Each delivery wrote its state exactly once: one version bump and one event row per delivery.
          const version = await db.prisma.paymentStateVersion.findUnique({ where: { dodoPaymentId: racingId } });
          expect(version?.version).toBe(BigInt(steps.length));
        }),
        { numRuns: target.name === "pglite" ? 15 : 30 },
      );
    });
  });
});
