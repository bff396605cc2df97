// Impossible money events are anomalies, not facts (PGlite and PostgreSQL): a refund of a failed or a
// cancelled payment, a second open dispute, a full refund after a lost dispute are recorded, flagged for
// review with the reason, audited, kept out of the payout basis until an operator decides, and the
// payment's summary shows its dispute state and net amount.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decidePaymentReview } from "~/models/payment-reviews.server";
import { findPaymentWithDisputes, listRecentPayments } from "~/models/payment-views.server";
import type { PolicyRuleInput } from "~/models/policies.server";
import { databaseTargets, type TestDatabase } from "../setup/databases";
import { createPayoutWorld, type PayoutWorld } from "../setup/payout-world";
import { disputeEventOf, dodoDispute, dodoEvent, dodoId, dodoPayment, dodoRefund } from "../mocks/dodo-payloads";

const UNIT = 10_000n;
const rules = ([artist]: string[]): PolicyRuleInput[] => [{ recipientId: artist!, kind: "PERCENTAGE", basisPoints: 5000 }];

describe.each(databaseTargets())("money anomalies on $name", (target) => {
  let db: TestDatabase;
  let world: PayoutWorld;

  beforeAll(async () => {
    db = await target.create();
    world = await createPayoutWorld(db, { rules, recipientCount: 1 });
  });
  afterAll(async () => {
    await db?.destroy();
  });

  async function send(event: unknown) {
    expect((await world.deliver(world.sign(event))).status).toBe(200);
  }

  async function payment(status: "succeeded" | "failed" | "cancelled", cents = 10_000n) {
    const paymentId = dodoId("pay");
    const checkout = await world.checkout(cents);
    await send(dodoEvent(`payment.${status}`, dodoPayment({ paymentId, status, totalAmount: cents, ...checkout })));
    return paymentId;
  }

  const row = (dodoPaymentId: string) => db.prisma.payment.findUniqueOrThrow({ where: { dodoPaymentId } });
  const liveRuns = async (dodoPaymentId: string) => (await world.runsOf(dodoPaymentId)).filter((r) => r.status !== "CANCELLED");

  for (const status of ["failed", "cancelled"] as const) {
    it(`a refund of a ${status} payment is recorded, flagged TAKEBACK_OF_UNCAPTURED_PAYMENT and audited; nothing is paid`, async () => {
      const paymentId = await payment(status);
      const refundId = dodoId("ref");
      await send(dodoEvent("refund.succeeded", dodoRefund({ refundId, paymentId, amount: 10_000n, isPartial: false })));
      await world.drain();
      const refund = await db.prisma.refund.findUniqueOrThrow({ where: { dodoRefundId: refundId } });
      expect(refund).toMatchObject({ status: "SUCCEEDED", reviewReason: "TAKEBACK_OF_UNCAPTURED_PAYMENT", reviewDecision: null });
      expect(await db.prisma.auditLog.count({ where: { action: "review.flagged", entityType: "refund", entityId: refundId } })).toBe(1);
      expect(await row(paymentId)).toMatchObject({ status: status.toUpperCase(), netSettlementMinor: null, refundedAmountMinor: 10_000n });
      expect(await world.runsOf(paymentId)).toEqual([]);
      // the delivery itself is processed: an anomaly is a fact about money, not a broken delivery
      expect(await db.prisma.webhookEvent.count({ where: { status: "FAILED" } })).toBe(0);
    });
  }

  it("two open disputes on one payment: the second is flagged SECOND_OPEN_DISPUTE; the payment is held", async () => {
    const paymentId = await payment("succeeded");
    await world.drain();
    const [first, second] = [dodoId("dsp"), dodoId("dsp")];
    const t = Date.now();
    await send(disputeEventOf(dodoDispute({ disputeId: first, paymentId, status: "dispute_opened", amount: 10_000n, createdAt: new Date(t).toISOString() })));
    await send(disputeEventOf(dodoDispute({ disputeId: second, paymentId, status: "dispute_opened", amount: 10_000n, createdAt: new Date(t + 1000).toISOString() })));
    await world.drain();
    const disputes = await db.prisma.dispute.findMany({ where: { dodoPaymentId: paymentId }, orderBy: { dodoCreatedAt: "asc" } });
    expect(disputes.map((d) => [d.dodoDisputeId, d.reviewReason])).toEqual([
      [first, null],
      [second, "SECOND_OPEN_DISPUTE"],
    ]);
    expect(await row(paymentId)).toMatchObject({ disputeState: "OPEN", payoutHold: "DISPUTE_OPEN" });
    expect(await liveRuns(paymentId)).toEqual([]);
    const view = await findPaymentWithDisputes(db.prisma, paymentId);
    expect(view).toMatchObject({ disputeState: "OPEN", payoutHold: "DISPUTE_OPEN", netSettlementMinor: 10_000n });
  });

  it("a full refund after a lost dispute (the customer made whole twice): the refund is flagged, never deducted twice", async () => {
    const paymentId = await payment("succeeded");
    const disputeId = dodoId("dsp");
    const refundId = dodoId("ref");
    const t = Date.now();
    await send(disputeEventOf(dodoDispute({ disputeId, paymentId, status: "dispute_lost", amount: 10_000n, createdAt: new Date(t).toISOString() })));
    await send(dodoEvent("refund.succeeded", dodoRefund({ refundId, paymentId, amount: null, currency: null, isPartial: false, createdAt: new Date(t + 1000).toISOString() })));
    await world.drain();
    expect((await db.prisma.refund.findUniqueOrThrow({ where: { dodoRefundId: refundId } })).reviewReason).toBe("EXCEEDS_CAPTURED");
    expect((await db.prisma.dispute.findUniqueOrThrow({ where: { dodoDisputeId: disputeId } })).reviewReason).toBeNull();
    expect(await row(paymentId)).toMatchObject({ netSettlementMinor: 0n, disputeState: "LOST", payoutHold: "NEEDS_REVIEW" });
    const listed = (await listRecentPayments(db.prisma, world.organizationId)).find((p) => p.dodoPaymentId === paymentId);
    expect(listed).toMatchObject({ status: "succeeded", disputeState: "LOST", netSettlementMinor: 0n });
  });

  it("an operator's decisions: INCLUDE counts an excess refund (never beyond the settlement), EXCLUDE keeps it out and releases the hold", async () => {
    // $100: a lost dispute of $60, then a refund of $60 (together $120, more than was captured)
    const make = async () => {
      const paymentId = await payment("succeeded");
      const refundId = dodoId("ref");
      const t = Date.now();
      await send(disputeEventOf(dodoDispute({ paymentId, status: "dispute_lost", amount: 6_000n, createdAt: new Date(t).toISOString() })));
      await send(dodoEvent("refund.succeeded", dodoRefund({ refundId, paymentId, amount: 6_000n, isPartial: true, createdAt: new Date(t + 1000).toISOString() })));
      await world.drain();
      expect(await row(paymentId)).toMatchObject({ netSettlementMinor: 4_000n, payoutHold: "NEEDS_REVIEW" });
      expect(await liveRuns(paymentId)).toEqual([]);
      return { paymentId, refundId };
    };
    const excluded = await make();
    expect(await decidePaymentReview(db, { target: { kind: "refund", dodoRefundId: excluded.refundId }, decision: "EXCLUDE", operator: "ops@example.com" })).toEqual({
      netSettlementMinor: 4_000n,
      payoutHold: null,
    });
    await world.drain();
    expect((await liveRuns(excluded.paymentId)).map((r) => r.distributable)).toEqual([4_000n * UNIT]);
    await expect(
      decidePaymentReview(db, { target: { kind: "refund", dodoRefundId: excluded.refundId }, decision: "INCLUDE", operator: "ops@example.com" }),
    ).rejects.toMatchObject({ code: "REVIEW_ALREADY_DECIDED" });

    const included = await make();
    expect(await decidePaymentReview(db, { target: { kind: "refund", dodoRefundId: included.refundId }, decision: "INCLUDE", operator: "ops@example.com" })).toEqual({
      netSettlementMinor: 0n,
      payoutHold: null,
    });
    await world.drain();
    expect(await liveRuns(included.paymentId)).toEqual([]);
    expect(await db.prisma.refund.findUniqueOrThrow({ where: { dodoRefundId: included.refundId } })).toMatchObject({
      reviewDecision: "INCLUDE",
      reviewedBy: "ops@example.com",
    });
    expect(await db.prisma.auditLog.count({ where: { action: "review.include", entityId: included.refundId } })).toBe(1);
  });

  it("error: a refund of unknown amount cannot be included, only excluded; a refund that needs no review cannot be decided", async () => {
    const paymentId = await payment("succeeded");
    const unknown = dodoId("ref");
    await send(dodoEvent("refund.succeeded", dodoRefund({ refundId: unknown, paymentId, amount: null, currency: null, isPartial: true })));
    await expect(decidePaymentReview(db, { target: { kind: "refund", dodoRefundId: unknown }, decision: "INCLUDE", operator: "ops" })).rejects.toMatchObject({
      code: "REVIEW_CANNOT_INCLUDE",
    });
    const fine = dodoId("ref");
    await send(dodoEvent("refund.succeeded", dodoRefund({ refundId: fine, paymentId, amount: 100n, isPartial: true })));
    await expect(decidePaymentReview(db, { target: { kind: "refund", dodoRefundId: fine }, decision: "EXCLUDE", operator: "ops" })).rejects.toMatchObject({
      code: "REVIEW_NOT_NEEDED",
    });
    await decidePaymentReview(db, { target: { kind: "refund", dodoRefundId: unknown }, decision: "EXCLUDE", operator: "ops" });
    expect(await row(paymentId)).toMatchObject({ netSettlementMinor: 9_900n, payoutHold: null });
  });
});
