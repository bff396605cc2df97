// Checkouts matched, not trusted (PGlite and PostgreSQL): a payment completes our checkout only when
// Dodo's checkout session id, the amount and the currency are the checkout's; otherwise it is recorded for
// the checkout's organization (never one named in metadata alone) with a review reason, and its payout
// waits until an operator releases it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureDefaultOrganization } from "~/models/organizations.server";
import { decidePaymentReview } from "~/models/payment-reviews.server";
import type { PolicyRuleInput } from "~/models/policies.server";
import { databaseTargets, type TestDatabase } from "../setup/databases";
import { createPayoutWorld, type PayoutWorld } from "../setup/payout-world";
import { dodoEvent, dodoId, dodoPayment } from "../mocks/dodo-payloads";

const rules = ([artist]: string[]): PolicyRuleInput[] => [{ recipientId: artist!, kind: "PERCENTAGE", basisPoints: 5000 }];

describe.each(databaseTargets())("checkout matching on $name", (target) => {
  let db: TestDatabase;
  let world: PayoutWorld;
  let other: PayoutWorld;

  beforeAll(async () => {
    db = await target.create();
    world = await createPayoutWorld(db, { rules, recipientCount: 1 });
    other = await createPayoutWorld(db, { rules, recipientCount: 1 });
  });
  afterAll(async () => {
    await db?.destroy();
  });

  /** Pays a checkout of 2,500 USD cents of `world` with the payment's fields changed by `change`. */
  async function payCheckout(change: (c: { metadata: Record<string, string>; checkoutSessionId: string }) => Partial<Parameters<typeof dodoPayment>[0]>) {
    const checkout = await world.checkout(2_500n);
    const paymentId = dodoId("pay");
    const fields = { totalAmount: 2_500n, ...checkout, ...change(checkout) };
    expect((await world.deliver(world.sign(dodoEvent("payment.succeeded", dodoPayment({ paymentId, ...fields })))))).toMatchObject({ status: 200 });
    const payment = await db.prisma.payment.findUniqueOrThrow({ where: { dodoPaymentId: paymentId }, include: { checkoutSession: true } });
    return { paymentId, payment, checkoutId: checkout.metadata.stableflow_checkout_id! };
  }

  it("the same session id, amount and currency: the checkout is completed, the payment is paid out", async () => {
    const { payment, paymentId } = await payCheckout(() => ({}));
    expect(payment).toMatchObject({ organizationId: world.organizationId, reviewReason: null, payoutHold: null });
    expect(payment.checkoutSession?.status).toBe("COMPLETED");
    await world.drain();
    expect((await world.runsOf(paymentId)).map((r) => r.status)).toEqual(["READY"]);
  });

  it("a price before tax with the tax on top still matches", async () => {
    const { payment } = await payCheckout(() => ({ totalAmount: 2_700n, tax: 200n }));
    expect(payment.reviewReason).toBeNull();
    expect(payment.checkoutSession?.status).toBe("COMPLETED");
  });

  const mismatches: [string, (c: { metadata: Record<string, string>; checkoutSessionId: string }) => Partial<Parameters<typeof dodoPayment>[0]>, string][] = [
    ["another session id", () => ({ checkoutSessionId: dodoId("cks") }), "CHECKOUT_SESSION_MISMATCH"],
    ["no session id at all", () => ({ checkoutSessionId: null }), "CHECKOUT_SESSION_MISMATCH"],
    ["a smaller amount", () => ({ totalAmount: 2_499n }), "CHECKOUT_AMOUNT_MISMATCH"],
    ["another currency", () => ({ currency: "EUR" }), "CHECKOUT_CURRENCY_MISMATCH"],
    ["a metadata organization that is not the checkout's", (c) => ({ metadata: { ...c.metadata, stableflow_org: other.organizationId } }), "METADATA_ORGANIZATION_MISMATCH"],
  ];
  for (const [name, change, reason] of mismatches) {
    it(`error: ${name}: recorded for the checkout's organization, needs review (${reason}), held until released`, async () => {
      const { payment, paymentId } = await payCheckout(change);
      expect(payment).toMatchObject({ organizationId: world.organizationId, reviewReason: reason, payoutHold: "NEEDS_REVIEW" });
      expect(payment.checkoutSession?.status).toBe("REDIRECTED");
      expect(await db.prisma.auditLog.count({ where: { action: "review.flagged", entityType: "payment", entityId: payment.id } })).toBe(1);
      await world.drain();
      expect(await world.runsOf(paymentId)).toEqual([]);
      // An operator looked and releases it: the payment is paid out (its checkout stays as it was)
      expect(await decidePaymentReview(db, { target: { kind: "payment", dodoPaymentId: paymentId }, decision: "RELEASE", operator: "ops" })).toMatchObject({
        payoutHold: null,
      });
      await world.drain();
      expect((await world.runsOf(paymentId)).map((r) => r.status)).toEqual(reason === "CHECKOUT_CURRENCY_MISMATCH" ? [] : ["READY"]);
      expect((await db.prisma.payment.findUniqueOrThrow({ where: { id: payment.id } })).reviewReleasedBy).toBe("ops");
    });
  }

  it("metadata naming an organization but no checkout: the default organization's, as any payment link", async () => {
    const paymentId = dodoId("pay");
    const event = dodoEvent("payment.succeeded", dodoPayment({ paymentId, totalAmount: 900n, metadata: { stableflow_org: world.organizationId } }));
    expect((await world.deliver(world.sign(event))).status).toBe(200);
    const payment = await db.prisma.payment.findUniqueOrThrow({ where: { dodoPaymentId: paymentId } });
    expect(payment).toMatchObject({ organizationId: (await ensureDefaultOrganization(db.prisma)).id, reviewReason: null, checkoutSessionId: null });
  });

  it("error: metadata naming a checkout we never created: the default organization's, needs review", async () => {
    const paymentId = dodoId("pay");
    const metadata = { stableflow_checkout_id: "00000000-0000-4000-8000-000000000000", stableflow_org: world.organizationId };
    expect((await world.deliver(world.sign(dodoEvent("payment.succeeded", dodoPayment({ paymentId, totalAmount: 900n, metadata })))))).toMatchObject({ status: 200 });
    expect(await db.prisma.payment.findUniqueOrThrow({ where: { dodoPaymentId: paymentId } })).toMatchObject({
      organizationId: (await ensureDefaultOrganization(db.prisma)).id,
      reviewReason: "CHECKOUT_UNKNOWN",
      payoutHold: "NEEDS_REVIEW",
    });
  });

  it("Dodo's checkout session id alone (no metadata) finds our checkout too", async () => {
    const { payment } = await payCheckout(() => ({ metadata: {} }));
    expect(payment).toMatchObject({ organizationId: world.organizationId, reviewReason: null });
    expect(payment.checkoutSession?.status).toBe("COMPLETED");
  });
});
