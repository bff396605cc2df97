// The heart of the ledger rules: random payments with partial and full refunds and disputes (opened, won,
// lost), delivered as signed webhooks in ANY order, with duplicates, the worker's compile at any point and
// (second property) runs settled at any point the way the executor moves them. On PGlite and PostgreSQL.
//
// Without settlement the end state is the same for every order (payments, their live runs, what each
// recipient holds, the treasury), it conserves every unit, and no live run carries refunded, lost or
// disputed money. With settlement interleaved the per-recipient split legitimately depends on when the run
// settled (a refund before it shrinks the run, after it claws back in proportion), so that property checks
// what must still hold for every order: the payments' facts, conservation (recipients + treasury -
// clawbacks outstanding == net revenue), and that nothing waiting to be paid carries refunded money.
// Rounds: PAYOUT_INTERLEAVING_RUNS (default 15 per property and database). A cascade (a later run paid out
// what a refunded payment accrued) needs the order "A compiled, B compiled, A refunded, compiled": about one
// run in 100 finds it, so the default relies on tests/integration/refunds-disputes-payouts.test.ts for it
// and 150 rounds find a missing cascade (checked by removing it).
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PolicyRuleInput } from "~/models/policies.server";
import { databaseTargets, type TestDatabase } from "../setup/databases";
import { createPayoutWorld, type PayoutWorld } from "../setup/payout-world";
import { disputeEventOf, dodoDispute, dodoEvent, dodoId, dodoPayment, dodoRefund, type SignedBody } from "../mocks/dodo-payloads";

const RUNS = Number(process.env.PAYOUT_INTERLEAVING_RUNS ?? 15);
const UNIT = 10_000n;
const T0 = Date.parse("2031-06-01T12:00:00Z");

// A threshold (r0), a fixed amount (r1) and a plain percentage (r2): accruals, releases and cascades happen.
const rules = ([r0, r1, r2]: string[]): PolicyRuleInput[] => [
  { recipientId: r0!, kind: "PERCENTAGE", basisPoints: 5000, minPayout: 40_000_000n },
  { recipientId: r1!, kind: "FIXED", fixedAmount: 2_000_000n },
  { recipientId: r2!, kind: "PERCENTAGE", basisPoints: 2000 },
];

interface RefundPlan {
  /** Null: a full refund reported without an amount (`is_partial: false`). */
  cents: bigint | null;
  failed: boolean;
}
interface PaymentPlan {
  cents: bigint;
  settlementPercent: bigint;
  staleProcessing: boolean;
  refunds: RefundPlan[];
  dispute: { cents: bigint; outcome: "open" | "won" | "lost"; beforeRefunds: boolean } | null;
}

const paymentArb: fc.Arbitrary<PaymentPlan> = fc.integer({ min: 300, max: 9_000 }).chain((cents) =>
  fc.record({
    cents: fc.constant(BigInt(cents)),
    settlementPercent: fc.bigInt({ min: 90n, max: 100n }),
    staleProcessing: fc.boolean(),
    refunds: fc.array(
      fc.record({
        cents: fc.oneof(fc.bigInt({ min: 1n, max: BigInt(cents) }).map((c): bigint | null => c), fc.constant(null)),
        failed: fc.boolean(),
      }),
      { maxLength: 2 },
    ),
    dispute: fc.option(
      fc.record({ cents: fc.bigInt({ min: 1n, max: BigInt(cents) }), outcome: fc.constantFrom("open", "won", "lost"), beforeRefunds: fc.boolean() }),
      { nil: null },
    ),
  }),
);

type Step = { kind: "event"; event: number } | { kind: "duplicate"; event: number } | { kind: "drain" } | { kind: "settle"; payment: number };

interface PlannedEvent {
  payment: number;
  timestampMs: number;
  build(paymentId: string, checkout: { metadata: Record<string, string>; checkoutSessionId: string }): unknown;
}

/** Every event of a scenario, in Dodo's own (canonical) order of time. */
function eventsOf(plans: PaymentPlan[]): PlannedEvent[] {
  const events: PlannedEvent[] = [];
  plans.forEach((plan, p) => {
    const base = T0 + p * 100_000;
    const settlement = (plan.cents * plan.settlementPercent) / 100n;
    const payment = (status: "processing" | "succeeded", at: number) => (paymentId: string, checkout: { metadata: Record<string, string>; checkoutSessionId: string }) =>
      dodoEvent(
        `payment.${status}`,
        dodoPayment({
          paymentId,
          status,
          totalAmount: plan.cents,
          settlementAmount: status === "processing" ? null : settlement,
          settlementCurrency: status === "processing" ? null : "USD",
          ...checkout,
        }),
        new Date(at).toISOString(),
      );
    if (plan.staleProcessing) events.push({ payment: p, timestampMs: base, build: payment("processing", base) });
    events.push({ payment: p, timestampMs: base + 1000, build: payment("succeeded", base + 1000) });
    const refundAt = (k: number) => base + 10_000 + k * 1000;
    const disputeAt = plan.dispute?.beforeRefunds ? base + 5_000 : base + 20_000;
    plan.refunds.forEach((refund, k) => {
      const refundId = `ref_plan_${p}_${k}`;
      events.push({
        payment: p,
        timestampMs: refundAt(k),
        build: (paymentId) =>
          dodoEvent(
            refund.failed ? "refund.failed" : "refund.succeeded",
            dodoRefund({
              refundId: `${refundId}_${paymentId}`,
              paymentId,
              status: refund.failed ? "failed" : "succeeded",
              amount: refund.cents,
              currency: refund.cents === null ? null : "USD",
              isPartial: refund.cents !== null && refund.cents < plan.cents,
              createdAt: new Date(refundAt(k)).toISOString(),
            }),
            new Date(refundAt(k)).toISOString(),
          ),
      });
    });
    const dispute = plan.dispute;
    if (dispute) {
      const statuses = dispute.outcome === "open" ? ["dispute_opened"] : ["dispute_opened", `dispute_${dispute.outcome}`];
      statuses.forEach((status, k) => {
        const at = disputeAt + k * 3000;
        events.push({
          payment: p,
          timestampMs: at,
          build: (paymentId) =>
            disputeEventOf(
              dodoDispute({
                disputeId: `dsp_plan_${p}_${paymentId}`,
                paymentId,
                status: status as "dispute_opened",
                amount: dispute.cents,
                amountAs: k === 0 ? "cli" : "sdk",
                createdAt: new Date(disputeAt).toISOString(),
              }),
              new Date(at).toISOString(),
            ),
        });
      });
    }
  });
  return events.sort((a, b) => a.timestampMs - b.timestampMs);
}

/** What the rules say each payment distributes (an independent reading of the rules). */
function oracle(plan: PaymentPlan): { net: bigint; hold: string | null; live: boolean; disputeState: string } {
  const total = plan.cents;
  const settlement = (plan.cents * plan.settlementPercent) / 100n;
  const takeBacks: { at: number; cents: bigint }[] = [];
  plan.refunds.forEach((refund, k) => {
    if (!refund.failed) takeBacks.push({ at: 10_000 + k * 1000, cents: refund.cents ?? total });
  });
  if (plan.dispute?.outcome === "lost") takeBacks.push({ at: plan.dispute.beforeRefunds ? 5_000 : 20_000, cents: plan.dispute.cents });
  takeBacks.sort((a, b) => a.at - b.at);
  let taken = 0n;
  let flagged = false;
  for (const t of takeBacks) {
    if (taken + t.cents > total) flagged = true;
    else taken += t.cents;
  }
  const deduction = (taken * settlement + total - 1n) / total;
  const net = settlement - (deduction > settlement ? settlement : deduction);
  const hold = plan.dispute?.outcome === "open" ? "DISPUTE_OPEN" : flagged ? "NEEDS_REVIEW" : null;
  const disputeState = plan.dispute ? { open: "OPEN", won: "WON", lost: "LOST" }[plan.dispute.outcome] : "NONE";
  return { net, hold, live: hold === null && !(net === 0n && taken > 0n), disputeState };
}

const scenarioArb = (withSettlement: boolean) =>
  fc.array(paymentArb, { minLength: 1, maxLength: 3 }).chain((plans) => {
    const events = eventsOf(plans);
    return fc
      .record({
        duplicates: fc.subarray(events.map((_, i) => i), { maxLength: Math.min(2, events.length) }),
        drains: fc.integer({ min: 0, max: 5 }),
        // a payment may be settled at several points (the executor finds its run, or its replacement)
        settles: withSettlement ? fc.array(fc.nat(plans.length - 1), { minLength: 1, maxLength: plans.length * 2 }) : fc.constant([] as number[]),
      })
      .chain(({ duplicates, drains, settles }) => {
        const steps: Step[] = [
          ...events.map((_, event): Step => ({ kind: "event", event })),
          ...duplicates.map((event): Step => ({ kind: "duplicate", event })),
          ...Array.from({ length: drains }, (): Step => ({ kind: "drain" })),
          ...settles.map((payment): Step => ({ kind: "settle", payment })),
        ];
        return fc.shuffledSubarray(steps, { minLength: steps.length, maxLength: steps.length }).map((order) => ({ plans, events, order }));
      });
  });

describe.each(databaseTargets())("payouts over every interleaving of Dodo events on $name", (target) => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await target.create();
  });
  afterAll(async () => {
    await db?.destroy();
  });

  /** Plays the steps in a fresh organization; drains until quiet at the end. */
  async function play(plans: PaymentPlan[], events: PlannedEvent[], order: Step[]) {
    const world = await createPayoutWorld(db, { rules, recipientCount: 3 });
    const paymentIds = plans.map(() => dodoId("pay"));
    const checkouts = await Promise.all(plans.map((plan) => world.checkout(plan.cents)));
    const deliveries: SignedBody[] = events.map((e) => world.sign(e.build(paymentIds[e.payment]!, checkouts[e.payment]!)));
    const settled = new Set<number>();
    for (const step of order) {
      if (step.kind === "drain") await world.drain();
      else if (step.kind === "settle") {
        // The executor acts on runs the worker compiled: whatever was committed is compiled first.
        await world.drain();
        if (await world.settle(paymentIds[step.payment]!)) settled.add(step.payment);
      } else {
        const response = await world.deliver(deliveries[step.event]!);
        expect(response.status).toBe(200);
      }
    }
    await world.drain();
    await world.drain();
    return { world, paymentIds, settled };
  }

  async function facts(world: PayoutWorld, paymentIds: string[]) {
    return Promise.all(
      paymentIds.map(async (dodoPaymentId) => {
        const payment = await db.prisma.payment.findUniqueOrThrow({ where: { dodoPaymentId } });
        return { status: payment.status, net: payment.netSettlementMinor, hold: payment.payoutHold, disputeState: payment.disputeState };
      }),
    );
  }

  /** The money state of a world, by scenario position (payments) and rule position (recipients). */
  async function endState(world: PayoutWorld, paymentIds: string[]) {
    const money = await world.money();
    const live = await Promise.all(
      paymentIds.map(async (id) => (await world.runsOf(id)).filter((r) => r.status !== "CANCELLED").map((r) => [r.kind, r.status, r.distributable])),
    );
    return {
      facts: await facts(world, paymentIds),
      live,
      recipients: world.recipients.map((id) => {
        const r = money.recipients[id]!;
        return r.transferred + r.balance - r.owed;
      }),
      remainder: money.remainder,
    };
  }

  /** Conservation and "nothing waiting to be paid carries money that went back", from the rows. */
  async function checkInvariants(world: PayoutWorld, plans: PaymentPlan[], paymentIds: string[]) {
    const money = await world.money();
    let netRevenue = 0n;
    for (const [p, plan] of plans.entries()) {
      const expected = oracle(plan);
      const payment = await db.prisma.payment.findUniqueOrThrow({ where: { dodoPaymentId: paymentIds[p]! } });
      expect({ net: payment.netSettlementMinor, hold: payment.payoutHold, disputeState: payment.disputeState }).toEqual({
        net: expected.net,
        hold: expected.hold,
        disputeState: expected.disputeState,
      });
      const live = (await world.runsOf(paymentIds[p]!)).filter((r) => r.status !== "CANCELLED");
      expect(live.length).toBeLessThanOrEqual(1);
      const run = live[0];
      const executed = run !== undefined && ["EXECUTING", "SETTLED", "PARTIAL"].includes(run.status);
      if (!executed) {
        // Waiting to be paid: exactly the payment's basis now, and only when nothing holds it.
        expect(run ? run.distributable : null).toBe(expected.live ? expected.net * UNIT : null);
      }
      if (run) netRevenue += expected.net * UNIT;
    }
    const recipients = Object.values(money.recipients).reduce((s, r) => s + r.transferred + r.balance - r.owed, 0n);
    const treasury = money.remainder - (money.executedDeduction - money.clawbacks);
    // recipients (paid + accrued) + treasury - clawbacks still owed == net revenue, to the unit
    expect(recipients + treasury).toBe(netRevenue);
    // the treasury never funds more than its own share of a take-back; recipients never keep more than came in
    expect(treasury).toBeGreaterThanOrEqual(0n);
    expect(recipients).toBeLessThanOrEqual(netRevenue);
  }

  it("without settlement: every order of deliveries, duplicates and compiles ends in the same state, conserved", async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb(false), async ({ plans, events, order }) => {
        const canonical: Step[] = events.flatMap((_, event): Step[] => [{ kind: "event", event }, { kind: "drain" }]);
        const shuffled = await play(plans, events, order);
        const inOrder = await play(plans, events, canonical);
        await checkInvariants(shuffled.world, plans, shuffled.paymentIds);
        await checkInvariants(inOrder.world, plans, inOrder.paymentIds);
        // Nothing executed, so nobody can owe anything: a recipient owing money here would mean a run
        // waiting to be paid carries a share whose payment went back (the cascade would be missing).
        for (const { world } of [shuffled, inOrder]) {
          expect(Object.values((await world.money()).recipients).map((r) => r.owed)).toEqual(world.recipients.map(() => 0n));
        }
        expect(await endState(shuffled.world, shuffled.paymentIds)).toEqual(await endState(inOrder.world, inOrder.paymentIds));
      }),
      { numRuns: RUNS },
    );
  }, 900_000);

  it("with runs settled at any point: the payments' facts, conservation and no refunded money waiting to be paid hold for every order", async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb(true), async ({ plans, events, order }) => {
        const shuffled = await play(plans, events, order);
        await checkInvariants(shuffled.world, plans, shuffled.paymentIds);
        const reversed = await play(plans, events, [...order].reverse());
        await checkInvariants(reversed.world, plans, reversed.paymentIds);
        expect(await facts(shuffled.world, shuffled.paymentIds)).toEqual(await facts(reversed.world, reversed.paymentIds));
      }),
      { numRuns: RUNS },
    );
  }, 900_000);
});
