// Property and case tests for the payment state fold: order and repetition of Dodo events must not matter.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  DISPUTE_STAGE_ORDER,
  DISPUTE_STATUS_ORDER,
  EMPTY_PAYMENT_STATE,
  PAYMENT_STATUS_ORDER,
  REFUND_STATUS_ORDER,
  applyPaymentObservation,
  becameSucceeded,
  diffPaymentStates,
  foldPaymentObservations,
  joinPaymentStates,
  stateOfObservation,
  summarizePaymentState,
  type PaymentObservation,
} from "./payment-state";

const T0 = Date.parse("2026-11-25T10:00:00Z");
// Few distinct timestamps, so ties on (rank, timestamp) with different contents are common.

const paymentObservation: fc.Arbitrary<PaymentObservation> = fc.record({
  kind: fc.constant("payment" as const),
  status: fc.constantFrom(...PAYMENT_STATUS_ORDER),
  observedAtMs: fc.integer({ min: T0, max: T0 + 4 }),
  totalAmount: fc.bigInt({ min: 1n, max: 10_000_000n }),
  currency: fc.constantFrom("USD", "EUR"),
  settlementAmount: fc.option(fc.bigInt({ min: 1n, max: 10_000_000n }), { nil: null }),
  settlementCurrency: fc.option(fc.constant("USD"), { nil: null }),
  checkoutSessionId: fc.constantFrom(null, "cks_1"),
});

const refundObservation: fc.Arbitrary<PaymentObservation> = fc.record({
  kind: fc.constant("refund" as const),
  refundId: fc.constantFrom("rfd_1", "rfd_2", "rfd_3"),
  status: fc.constantFrom(...REFUND_STATUS_ORDER),
  observedAtMs: fc.integer({ min: T0, max: T0 + 4 }),
  amount: fc.option(fc.bigInt({ min: 1n, max: 1_000_000n }), { nil: null }),
  currency: fc.option(fc.constantFrom("USD", "EUR"), { nil: null }),
  isPartial: fc.constantFrom(null, true, false),
  createdAtMs: fc.integer({ min: T0, max: T0 + 2 }),
});

const disputeObservation: fc.Arbitrary<PaymentObservation> = fc.record({
  kind: fc.constant("dispute" as const),
  disputeId: fc.constantFrom("dsp_1", "dsp_2"),
  status: fc.constantFrom(...DISPUTE_STATUS_ORDER),
  stage: fc.constantFrom(...DISPUTE_STAGE_ORDER),
  observedAtMs: fc.integer({ min: T0, max: T0 + 4 }),
  amount: fc.bigInt({ min: 1n, max: 1_000_000n }),
  currency: fc.constant("USD"),
  createdAtMs: fc.integer({ min: T0, max: T0 + 2 }),
});

const observation = fc.oneof(paymentObservation, refundObservation, disputeObservation);

/** A sequence of events, a permutation of it, and the same with random redeliveries mixed in. */
const eventsWithRedeliveries = fc
  .array(observation, { minLength: 1, maxLength: 25 })
  .chain((events) =>
    fc.tuple(
      fc.constant(events),
      fc.shuffledSubarray(events, { minLength: events.length, maxLength: events.length }),
      fc.array(fc.nat({ max: events.length - 1 }), { maxLength: 30 }),
    ),
  );

describe("payment state fold", () => {
  it("property: any permutation with any redeliveries folds to the same state", () => {
    fc.assert(
      fc.property(eventsWithRedeliveries, ([events, permuted, repeats]) => {
        const inOrder = foldPaymentObservations(events);
        const withDuplicates = [...permuted];
        for (const index of repeats) withDuplicates.splice(index % (withDuplicates.length + 1), 0, events[index]!);
        expect(foldPaymentObservations(permuted)).toEqual(inOrder);
        expect(foldPaymentObservations(withDuplicates)).toEqual(inOrder);
      }),
      { numRuns: 500 },
    );
  });

  it("property: join is commutative, associative and idempotent", () => {
    const state = fc.array(observation, { maxLength: 6 }).map((obs) => foldPaymentObservations(obs));
    fc.assert(
      fc.property(state, state, state, (a, b, c) => {
        expect(joinPaymentStates(a, b)).toEqual(joinPaymentStates(b, a));
        expect(joinPaymentStates(joinPaymentStates(a, b), c)).toEqual(joinPaymentStates(a, joinPaymentStates(b, c)));
        expect(joinPaymentStates(a, a)).toEqual(a);
        expect(joinPaymentStates(a, EMPTY_PAYMENT_STATE)).toEqual(a);
      }),
      { numRuns: 300 },
    );
  });

  it("property: applying an event twice yields no change the second time", () => {
    fc.assert(
      fc.property(fc.array(observation, { maxLength: 10 }), observation, (history, event) => {
        const before = foldPaymentObservations(history);
        const once = applyPaymentObservation(before, event);
        const twice = applyPaymentObservation(once, event);
        expect(twice).toEqual(once);
        expect(diffPaymentStates(once, twice)).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });

  it("property: the state only moves up (status rank never decreases)", () => {
    fc.assert(
      fc.property(fc.array(observation, { maxLength: 20 }), (events) => {
        let state = EMPTY_PAYMENT_STATE;
        let lastRank = -1;
        for (const event of events) {
          state = applyPaymentObservation(state, event);
          const rank = state.payment ? PAYMENT_STATUS_ORDER.indexOf(state.payment.status) : -1;
          expect(rank).toBeGreaterThanOrEqual(lastRank);
          lastRank = rank;
        }
      }),
      { numRuns: 300 },
    );
  });

  it("property: becameSucceeded fires at most once along any delivery order", () => {
    fc.assert(
      fc.property(fc.array(observation, { maxLength: 20 }), (events) => {
        let state = EMPTY_PAYMENT_STATE;
        let fired = 0;
        for (const event of events) {
          const next = applyPaymentObservation(state, event);
          if (becameSucceeded(state, next)) fired += 1;
          state = next;
        }
        const everSucceeded = events.some((e) => e.kind === "payment" && e.status === "succeeded");
        expect(fired).toBe(everSucceeded ? 1 : 0);
      }),
      { numRuns: 300 },
    );
  });

  it("case: refund.succeeded before payment.succeeded is kept and counted", () => {
    const refund: PaymentObservation = {
      kind: "refund",
      refundId: "rfd_1",
      status: "succeeded",
      observedAtMs: T0 + 5,
      amount: 400n,
      currency: "USD",
      isPartial: true,
      createdAtMs: T0,
    };
    const paid: PaymentObservation = {
      kind: "payment",
      status: "succeeded",
      observedAtMs: T0,
      totalAmount: 1000n,
      currency: "USD",
      settlementAmount: 950n,
      settlementCurrency: "USD",
      checkoutSessionId: null,
    };
    const state = foldPaymentObservations([refund, paid]);
    const summary = summarizePaymentState(state);
    expect(summary.status).toBe("succeeded");
    expect(summary.refundedByCurrency).toEqual({ USD: 400n });
    expect(summary.refundState).toBe("partial");
  });

  it("case: a stale payment.processing after payment.succeeded changes nothing", () => {
    const paid: PaymentObservation = {
      kind: "payment",
      status: "succeeded",
      observedAtMs: T0 + 10,
      totalAmount: 1000n,
      currency: "USD",
      settlementAmount: 950n,
      settlementCurrency: "USD",
      checkoutSessionId: null,
    };
    const stale: PaymentObservation = { ...paid, status: "processing", observedAtMs: T0 };
    const state = foldPaymentObservations([paid]);
    const after = applyPaymentObservation(state, stale);
    expect(after).toEqual(state);
    expect(diffPaymentStates(state, after)).toEqual([]);
  });

  it("case: a second payment.succeeded with a later timestamp updates the amounts, not the status", () => {
    const first: PaymentObservation = {
      kind: "payment",
      status: "succeeded",
      observedAtMs: T0,
      totalAmount: 1000n,
      currency: "USD",
      settlementAmount: 950n,
      settlementCurrency: "USD",
      checkoutSessionId: null,
    };
    const second: PaymentObservation = { ...first, observedAtMs: T0 + 60_000, settlementAmount: 940n };
    const before = foldPaymentObservations([first]);
    const after = applyPaymentObservation(before, second);
    expect(after.payment?.settlementAmount).toBe(940n);
    expect(diffPaymentStates(before, after).map((c) => c.kind)).toEqual(["payment_amounts"]);
    expect(becameSucceeded(before, after)).toBe(false);
    // The earlier report arriving last does not roll the amounts back.
    expect(applyPaymentObservation(after, first)).toEqual(after);
  });

  it("case: a lost dispute in pre-arbitration outranks a win in the first stage", () => {
    const won: PaymentObservation = {
      kind: "dispute",
      disputeId: "dsp_1",
      status: "dispute_won",
      stage: "dispute",
      observedAtMs: T0 + 100,
      amount: 500n,
      currency: "USD",
      createdAtMs: T0,
    };
    const lost: PaymentObservation = { ...won, status: "dispute_lost", stage: "pre_arbitration", observedAtMs: T0 + 50 };
    const state = foldPaymentObservations([lost, won]);
    expect(state.disputes.dsp_1?.status).toBe("dispute_lost");
    expect(summarizePaymentState(state).disputedLostByCurrency).toEqual({ USD: 500n });
  });

  it("case: full refund is recognised when refunds add up to the total", () => {
    const paid = stateOfObservation({
      kind: "payment",
      status: "succeeded",
      observedAtMs: T0,
      totalAmount: 1000n,
      currency: "USD",
      settlementAmount: 950n,
      settlementCurrency: "USD",
      checkoutSessionId: null,
    });
    const state = foldPaymentObservations(
      [
        { kind: "refund", refundId: "a", status: "succeeded", observedAtMs: T0 + 1, amount: 600n, currency: "USD", isPartial: true, createdAtMs: T0 },
        { kind: "refund", refundId: "b", status: "succeeded", observedAtMs: T0 + 2, amount: 400n, currency: "USD", isPartial: true, createdAtMs: T0 },
        { kind: "refund", refundId: "c", status: "failed", observedAtMs: T0 + 3, amount: 999n, currency: "USD", isPartial: true, createdAtMs: T0 },
      ],
      paid,
    );
    expect(summarizePaymentState(state).refundState).toBe("full");
    expect(summarizePaymentState(state).refundedByCurrency).toEqual({ USD: 1000n });
  });
});
