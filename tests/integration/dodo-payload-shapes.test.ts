// Real Dodo payload shapes (built from the SDK's types, tests/mocks/dodo-payloads.ts) are recorded as
// intended; a verified delivery the ledger cannot apply is kept FAILED, counted, and replays after a fix;
// a redelivery with other bytes is a conflict that keeps the first. On PGlite and PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDodoEventParser, PAYMENT_INTENT_STATUSES } from "~/integrations/dodo-events";
import { handleDodoWebhook } from "~/integrations/dodo-webhook-handler.server";
import { DodoWebhookVerifier, generateWebhookSecret } from "~/integrations/webhook-verification.server";
import { replayFailedWebhookEvents, replayWebhookEvent, webhookFailureCounter } from "~/models/webhook-failures.server";
import { databaseTargets, type TestDatabase } from "../setup/databases";
import { disputeEventOf, dodoDispute, dodoEvent, dodoId, dodoPayment, dodoRefund, signed, type SignedBody } from "../mocks/dodo-payloads";

describe.each(databaseTargets())("Dodo's real payload shapes on $name", (target) => {
  let db: TestDatabase;
  const secret = generateWebhookSecret();
  const verifier = new DodoWebhookVerifier(secret);

  beforeAll(async () => {
    db = await target.create();
  });
  afterAll(async () => {
    await db?.destroy();
  });

  async function deliver(delivery: SignedBody) {
    const response = await handleDodoWebhook(
      new Request("http://127.0.0.1/api/webhooks/dodo", { method: "POST", headers: delivery.headers, body: delivery.body }),
      { db, verifier },
    );
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  async function paid(totalAmount = 400n) {
    const paymentId = dodoId("pay");
    expect((await deliver(signed(secret, dodoEvent("payment.succeeded", dodoPayment({ paymentId, totalAmount }))))).status).toBe(200);
    return paymentId;
  }

  describe("disputes", () => {
    for (const amountAs of ["sdk", "cli", "decimal"] as const) {
      it(`amount as ${amountAs === "sdk" ? "the SDK's string" : amountAs === "cli" ? "the CLI's JSON number" : "a string with a zero fraction"}: recorded in minor units`, async () => {
        const paymentId = await paid();
        const disputeId = dodoId("dsp");
        const response = await deliver(signed(secret, disputeEventOf(dodoDispute({ disputeId, paymentId, status: "dispute_opened", amount: 400n, amountAs }))));
        expect(response).toMatchObject({ status: 200, body: { status: "recorded" } });
        expect(await db.prisma.dispute.findUniqueOrThrow({ where: { dodoDisputeId: disputeId } })).toMatchObject({ amountMinor: 400n, status: "OPENED" });
        expect(await db.prisma.payment.findUniqueOrThrow({ where: { dodoPaymentId: paymentId } })).toMatchObject({
          disputeState: "OPEN",
          payoutHold: "DISPUTE_OPEN",
        });
      });
    }

    it("a currency in any spelling is kept (upper-cased)", async () => {
      const paymentId = await paid();
      const disputeId = dodoId("dsp");
      const dispute = dodoDispute({ disputeId, paymentId, status: "dispute_opened", amount: 400n, currency: " usd " });
      expect((await deliver(signed(secret, disputeEventOf(dispute)))).status).toBe(200);
      expect((await db.prisma.dispute.findUniqueOrThrow({ where: { dodoDisputeId: disputeId } })).currency).toBe("USD");
    });

    it("error: a fraction of a minor unit, or an amount beyond the bigint column, is kept FAILED (202), never a 500 loop", async () => {
      for (const amount of ["4.5", "99999999999999999999"]) {
        const paymentId = await paid();
        const dispute = { ...dodoDispute({ paymentId, status: "dispute_opened", amount: 1n }), amount };
        const delivery = signed(secret, disputeEventOf(dispute));
        const failedBefore = webhookFailureCounter.failed;
        expect(await deliver(delivery)).toMatchObject({ status: 202, body: { status: "failed" } });
        expect(webhookFailureCounter.failed).toBe(failedBefore + 1);
        const stored = await db.prisma.webhookEvent.findUniqueOrThrow({ where: { webhookId: delivery.webhookId } });
        expect(stored).toMatchObject({ status: "FAILED", eventType: "dispute.opened", rawBody: delivery.body });
        expect(stored.error).toMatch(/amount/);
        // Dodo's retry of the same bytes is a duplicate: 200, nothing more
        expect(await deliver(delivery)).toMatchObject({ status: 200, body: { status: "duplicate" } });
        expect(await db.prisma.dispute.count({ where: { dodoPaymentId: paymentId } })).toBe(0);
      }
    });
  });

  describe("refunds", () => {
    it("amount and currency null with is_partial false: the whole payment is refunded", async () => {
      const paymentId = await paid(1_000n);
      const refundId = dodoId("ref");
      const refund = dodoRefund({ refundId, paymentId, amount: null, currency: null, isPartial: false });
      expect((await deliver(signed(secret, dodoEvent("refund.succeeded", refund)))).status).toBe(200);
      expect(await db.prisma.refund.findUniqueOrThrow({ where: { dodoRefundId: refundId } })).toMatchObject({
        amountMinor: null,
        currency: null,
        isPartial: false,
        reviewReason: null,
      });
      expect(await db.prisma.payment.findUniqueOrThrow({ where: { dodoPaymentId: paymentId } })).toMatchObject({ netSettlementMinor: 0n, payoutHold: null });
    });

    it("a partial refund without an amount is unknown: flagged for review, the payment held", async () => {
      const paymentId = await paid(1_000n);
      const refundId = dodoId("ref");
      const refund = dodoRefund({ refundId, paymentId, amount: null, currency: null, isPartial: true });
      expect((await deliver(signed(secret, dodoEvent("refund.succeeded", refund)))).status).toBe(200);
      expect((await db.prisma.refund.findUniqueOrThrow({ where: { dodoRefundId: refundId } })).reviewReason).toBe("REFUND_AMOUNT_UNKNOWN");
      expect(await db.prisma.payment.findUniqueOrThrow({ where: { dodoPaymentId: paymentId } })).toMatchObject({ netSettlementMinor: 1_000n, payoutHold: "NEEDS_REVIEW" });
    });
  });

  describe("payments", () => {
    it("without settlement fields, metadata or customer: recorded, its basis unknown (compiled later, when Dodo reports it)", async () => {
      const paymentId = dodoId("pay");
      const payment = { ...dodoPayment({ paymentId, totalAmount: 700n, settlementAmount: null, settlementCurrency: null, metadata: null }), customer: null };
      expect((await deliver(signed(secret, dodoEvent("payment.succeeded", payment as never)))).status).toBe(200);
      expect(await db.prisma.payment.findUniqueOrThrow({ where: { dodoPaymentId: paymentId } })).toMatchObject({
        status: "SUCCEEDED",
        settlementAmountMinor: null,
        netSettlementMinor: null,
        customerEmail: null,
      });
      // A later report with the settlement fills it in and asks the worker again.
      const later = dodoEvent("payment.succeeded", dodoPayment({ paymentId, totalAmount: 700n, settlementAmount: 680n }), new Date(Date.now() + 1000).toISOString());
      expect((await deliver(signed(secret, later))).status).toBe(200);
      const row = await db.prisma.payment.findUniqueOrThrow({ where: { dodoPaymentId: paymentId }, include: { payoutRunRequest: true } });
      expect(row).toMatchObject({ settlementAmountMinor: 680n, netSettlementMinor: 680n });
      expect(row.payoutRunRequest).toMatchObject({ completedAt: null });
    });

    it("an unknown status is kept FAILED, and replays once a deploy's schema knows it", async () => {
      const paymentId = dodoId("pay");
      const event = dodoEvent("payment.processing", { ...dodoPayment({ paymentId, totalAmount: 500n }), status: "requires_3ds" as never });
      const delivery = signed(secret, event);
      expect(await deliver(delivery)).toMatchObject({ status: 202, body: { status: "failed" } });
      const stored = await db.prisma.webhookEvent.findUniqueOrThrow({ where: { webhookId: delivery.webhookId } });
      expect(stored.status).toBe("FAILED");
      expect(stored.error).toMatch(/unknown payment status/);
      expect(await db.prisma.payment.count({ where: { dodoPaymentId: paymentId } })).toBe(0);
      // Replayed by today's parser: still failed, the row says why
      expect(await replayWebhookEvent(db, delivery.webhookId)).toMatchObject({ outcome: "still_failed" });
      // A deploy that learned the status: the replay records the payment (read through its event type)
      const learned = createDodoEventParser({ paymentStatuses: [...PAYMENT_INTENT_STATUSES, "requires_3ds"] });
      expect(await replayWebhookEvent(db, delivery.webhookId, { parse: learned })).toEqual({ webhookId: delivery.webhookId, outcome: "processed" });
      expect(await db.prisma.webhookEvent.findUniqueOrThrow({ where: { webhookId: delivery.webhookId } })).toMatchObject({ status: "PROCESSED", error: null });
      expect(await db.prisma.payment.findUniqueOrThrow({ where: { dodoPaymentId: paymentId } })).toMatchObject({ status: "PROCESSING", totalAmountMinor: 500n });
      // Replaying again changes nothing
      expect(await replayWebhookEvent(db, delivery.webhookId, { parse: learned })).toMatchObject({ outcome: "not_failed", status: "PROCESSED" });
    });

    it("replay --failed applies every stored failure in order and leaves the rest FAILED", async () => {
      const good = dodoId("pay");
      const first = signed(secret, dodoEvent("payment.succeeded", { ...dodoPayment({ paymentId: good, totalAmount: 900n }), status: "requires_3ds" as never }));
      const broken = signed(secret, '{"not":"dodo"');
      expect((await deliver(first)).status).toBe(202);
      expect((await deliver(broken)).status).toBe(202);
      const learned = createDodoEventParser({ paymentStatuses: [...PAYMENT_INTENT_STATUSES, "requires_3ds"] });
      const outcomes = await replayFailedWebhookEvents(db, { parse: learned });
      const mine = outcomes.filter((o) => [first.webhookId, broken.webhookId].includes(o.webhookId));
      expect(mine.map((o) => [o.webhookId, o.outcome])).toEqual([
        [first.webhookId, "processed"],
        [broken.webhookId, "still_failed"],
      ]);
      // Succeeded: its compile request is written like any delivery's
      const payment = await db.prisma.payment.findUniqueOrThrow({ where: { dodoPaymentId: good }, include: { payoutRunRequest: true } });
      expect(payment.status).toBe("SUCCEEDED");
      expect(payment.payoutRunRequest).not.toBeNull();
    });
  });

  it("a redelivery with the same webhook-id and different bytes: a conflict, kept once and audited; the first stays authoritative", async () => {
    const paymentId = dodoId("pay");
    const webhookId = dodoId("msg");
    const first = signed(secret, dodoEvent("payment.succeeded", dodoPayment({ paymentId, totalAmount: 1_000n })), { webhookId });
    const other = signed(secret, dodoEvent("payment.succeeded", dodoPayment({ paymentId, totalAmount: 9_000n })), { webhookId });
    expect(await deliver(first)).toMatchObject({ status: 200, body: { status: "recorded" } });
    const conflictsBefore = webhookFailureCounter.conflicts;
    expect(await deliver(other)).toMatchObject({ status: 200, body: { status: "conflict" } });
    expect(await deliver(other)).toMatchObject({ status: 200, body: { status: "conflict" } });
    expect(webhookFailureCounter.conflicts).toBe(conflictsBefore + 1);
    expect(await db.prisma.payment.findUniqueOrThrow({ where: { dodoPaymentId: paymentId } })).toMatchObject({ totalAmountMinor: 1_000n });
    const conflicts = await db.prisma.webhookEventConflict.findMany({ where: { webhookId } });
    expect(conflicts.map((c) => c.rawBody)).toEqual([other.body]);
    expect(await db.prisma.auditLog.count({ where: { action: "webhook.conflict", entityId: webhookId } })).toBe(1);
    // the same bytes again are an ordinary duplicate
    expect(await deliver(first)).toMatchObject({ status: 200, body: { status: "duplicate" } });
  });
});
