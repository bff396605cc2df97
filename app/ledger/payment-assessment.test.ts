// The payout basis of a payment's folded state: conversion by the payment's own ratio (toward the
// customer), full refunds without amount, take-backs capped at what was captured, holds and flags; and,
// since it is a function of the fold, the same for every arrival order.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { assessPayment } from "./payment-assessment";
import { foldPaymentObservations, type PaymentObservation } from "./payment-state";

const T0 = Date.parse("2031-01-01T00:00:00Z");

function paid(total: bigint, settlement: bigint | null = total, extra: Partial<Extract<PaymentObservation, { kind: "payment" }>> = {}): PaymentObservation {
  return {
    kind: "payment",
    status: "succeeded",
    observedAtMs: T0,
    totalAmount: total,
    currency: "INR",
    settlementAmount: settlement,
    settlementCurrency: settlement === null ? null : "USD",
    checkoutSessionId: null,
    ...extra,
  };
}

function refund(id: string, amount: bigint | null, extra: Partial<Extract<PaymentObservation, { kind: "refund" }>> = {}): PaymentObservation {
  return { kind: "refund", refundId: id, status: "succeeded", observedAtMs: T0 + 1, amount, currency: "INR", isPartial: true, createdAtMs: T0 + 1, ...extra };
}

function lost(id: string, amount: bigint, createdAtMs = T0 + 1, currency = "INR"): PaymentObservation {
  return { kind: "dispute", disputeId: id, status: "dispute_lost", stage: "dispute", observedAtMs: createdAtMs, amount, currency, createdAtMs };
}

const assess = (...observations: PaymentObservation[]) => assessPayment(foldPaymentObservations(observations));

describe("assessPayment", () => {
  it("converts a charge-currency refund by the payment's ratio, rounded toward the customer", () => {
    // ₹3,213.56 settled as $34.22; ₹1,000.00 back: 1,064.86… cents, 1,065 deducted
    expect(assess(paid(321_356n, 3_422n), refund("r", 100_000n))).toMatchObject({ netSettlement: 2_357n, deduction: 1_065n, payoutHold: null });
  });

  it("takes a refund already in the settlement currency as it is; one in neither is flagged and holds", () => {
    expect(assess(paid(321_356n, 3_422n), refund("r", 500n, { currency: "USD" })).netSettlement).toBe(2_922n);
    const other = assess(paid(321_356n, 3_422n), refund("r", 500n, { currency: "EUR" }));
    expect(other).toMatchObject({ netSettlement: 3_422n, payoutHold: "NEEDS_REVIEW", refundReviews: { r: "CURRENCY_UNRELATED" } });
  });

  it("a full refund without an amount is the whole payment; a partial one without is unknown", () => {
    expect(assess(paid(1_000n, 950n), refund("r", null, { isPartial: false, currency: null }))).toMatchObject({ netSettlement: 0n, deduction: 950n });
    expect(assess(paid(1_000n, 950n), refund("r", null, { currency: null })).refundReviews).toEqual({ r: "REFUND_AMOUNT_UNKNOWN" });
  });

  it("take-backs beyond what was captured are flagged in Dodo's order of creation; INCLUDE caps at the settlement", () => {
    const state = foldPaymentObservations([paid(1_000n), lost("d", 600n, T0 + 1), refund("r", 600n, { createdAtMs: T0 + 2 })]);
    expect(assessPayment(state)).toMatchObject({ netSettlement: 400n, payoutHold: "NEEDS_REVIEW", refundReviews: { r: "EXCEEDS_CAPTURED" }, disputeReviews: { d: null } });
    expect(assessPayment(state, { refundDecisions: { r: "EXCLUDE" } })).toMatchObject({ netSettlement: 400n, payoutHold: null });
    expect(assessPayment(state, { refundDecisions: { r: "INCLUDE" } })).toMatchObject({ netSettlement: 0n, deduction: 1_000n, payoutHold: null });
  });

  it("an open dispute holds; a payment that is not captured has no basis and its take-backs are flagged", () => {
    const open: PaymentObservation = { ...(lost("d", 100n) as Extract<PaymentObservation, { kind: "dispute" }>), status: "dispute_opened" };
    expect(assess(paid(1_000n), open)).toMatchObject({ payoutHold: "DISPUTE_OPEN", disputeState: "OPEN", netSettlement: 1_000n });
    expect(assess(paid(1_000n, 1_000n, { status: "failed" }), refund("r", 10n))).toMatchObject({
      netSettlement: null,
      refundReviews: { r: "TAKEBACK_OF_UNCAPTURED_PAYMENT" },
    });
    // still processing: nothing to count or flag yet
    expect(assess(paid(1_000n, null, { status: "processing" }), refund("r", 10n))).toMatchObject({ netSettlement: null, refundReviews: { r: null } });
  });

  it("property: refunding in pieces never deducts more than refunding the same total at once", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: 10_000_000n }), fc.bigInt({ min: 1n, max: 10_000_000n }), fc.array(fc.bigInt({ min: 1n, max: 1_000n }), { minLength: 1, maxLength: 6 }), (total, settlement, pieces) => {
        const sum = pieces.reduce((a, b) => a + b, 0n);
        fc.pre(sum <= total);
        const inPieces = assess(paid(total, settlement), ...pieces.map((amount, i) => refund(`r${i}`, amount, { createdAtMs: T0 + i })));
        const whole = assess(paid(total, settlement), refund("all", sum));
        expect(inPieces.deduction).toBe(whole.deduction);
        // rounded toward the customer: the deduction is the least whole number of cents covering sum/total of the settlement
        expect(whole.deduction * total >= sum * settlement && (whole.deduction - 1n) * total < sum * settlement).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it("property: any order and repetition of the observations gives the same basis, within 0..settlement", () => {
    const observation = fc.oneof(
      fc.bigInt({ min: 1n, max: 3_000n }).map((amount): PaymentObservation => refund("r1", amount)),
      fc.bigInt({ min: 1n, max: 3_000n }).map((amount): PaymentObservation => refund("r2", amount, { createdAtMs: T0 + 5 })),
      fc.constant(refund("r3", null, { isPartial: false, currency: null, createdAtMs: T0 + 9 })),
      fc.bigInt({ min: 1n, max: 3_000n }).map((amount): PaymentObservation => lost("d1", amount, T0 + 3)),
      fc.constant(paid(2_000n, 1_900n)),
    );
    const histories = fc
      .array(observation, { minLength: 1, maxLength: 8 })
      .chain((observations) =>
        fc.record({
          observations: fc.constant(observations),
          // every observation at least once, some twice, in any order
          delivered: fc
            .subarray(observations)
            .chain((again) => fc.shuffledSubarray([...observations, ...again], { minLength: observations.length + again.length })),
        }),
      );
    fc.assert(
      fc.property(histories, ({ observations, delivered }) => {
        const a = assess(...observations);
        expect(assess(...delivered)).toEqual(a);
        if (a.netSettlement !== null) {
          expect(a.netSettlement).toBeGreaterThanOrEqual(0n);
          expect(a.netSettlement + a.deduction).toBe(1_900n);
        }
      }),
      { numRuns: 300 },
    );
  });
});
