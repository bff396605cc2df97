// Refunds and disputes reach payouts, through signed deliveries, the worker's drain and the run lifecycle
// (PGlite and PostgreSQL): before a run executes it is cancelled and compiled again for what is left,
// linked and audited; after, the recipients owe back their part; an open dispute holds the run.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { advancePayoutRun } from "~/models/payout-run-lifecycle.server";
import type { PolicyRuleInput } from "~/models/policies.server";
import { databaseTargets, type TestDatabase } from "../setup/databases";
import { createPayoutWorld, type PayoutWorld } from "../setup/payout-world";
import { dodoDispute, dodoEvent, dodoId, dodoPayment, dodoRefund, disputeEventOf } from "../mocks/dodo-payloads";

const UNIT = 10_000n; // token base units per USD cent (sUSD has 6 decimals)

// artist 60 % and producer 20 % (paid from $50 up) of what is left after the mixer's fixed $1.
const rules = ([artist, producer, mixer]: string[]): PolicyRuleInput[] => [
  { recipientId: artist!, kind: "PERCENTAGE", basisPoints: 6000 },
  { recipientId: producer!, kind: "PERCENTAGE", basisPoints: 2000, minPayout: 50_000_000n },
  { recipientId: mixer!, kind: "FIXED", fixedAmount: 1_000_000n },
];

describe.each(databaseTargets())("refunds and disputes reach payouts on $name", (target) => {
  let db: TestDatabase;
  let world: PayoutWorld;

  beforeAll(async () => {
    db = await target.create();
  });
  afterAll(async () => {
    await db?.destroy();
  });

  async function newWorld() {
    world = await createPayoutWorld(db, { rules, recipientCount: 3 });
    return world;
  }

  /** A succeeded payment of `cents` through a matching checkout of the world's organization. */
  async function pay(cents: bigint, extra: Partial<Parameters<typeof dodoPayment>[0]> = {}) {
    const paymentId = dodoId("pay");
    const { metadata, checkoutSessionId } = await world.checkout(extra.currency ? cents : cents, extra.currency ?? "USD");
    const event = dodoEvent("payment.succeeded", dodoPayment({ paymentId, totalAmount: cents, metadata, checkoutSessionId, ...extra }));
    return { paymentId, delivery: world.sign(event) };
  }

  async function send(delivery: ReturnType<PayoutWorld["sign"]>) {
    const response = await world.deliver(delivery);
    expect(response.status).toBe(200);
  }

  async function liveRun(paymentId: string) {
    const runs = await world.runsOf(paymentId);
    const live = runs.filter((r) => r.status !== "CANCELLED");
    expect(live.length).toBeLessThanOrEqual(1);
    return live[0] ?? null;
  }

  /** A run's transfers, accruals and remainder add up to its distributable amount. */
  async function assertConserved(runId: string) {
    const run = await db.prisma.payoutRun.findUniqueOrThrow({ where: { id: runId }, include: { transfers: true, balanceEntries: true } });
    const sum = (kind: string) => run.balanceEntries.filter((e) => e.kind === kind).reduce((s, e) => s + e.amount, 0n);
    const transferred = run.transfers.reduce((s, t) => s + t.amount, 0n);
    expect(transferred + sum("ACCRUAL") - sum("ACCRUAL_PAID") + sum("CLAWBACK_NETTED") + run.treasuryRemainder).toBe(run.distributable);
    return run;
  }

  it("a refund.succeeded before payment.succeeded: the only run ever compiled is for the net amount", async () => {
    await newWorld();
    const { paymentId, delivery } = await pay(10_000n);
    await send(world.sign(dodoEvent("refund.succeeded", dodoRefund({ paymentId, amount: 2_500n, isPartial: true }))));
    await send(delivery);
    await world.drain();
    const runs = await world.runsOf(paymentId);
    expect(runs.map((r) => [r.status, r.distributable])).toEqual([["READY", 7_500n * UNIT]]);
    await assertConserved(runs[0]!.id);
    const payment = await db.prisma.payment.findUniqueOrThrow({ where: { dodoPaymentId: paymentId } });
    expect(payment).toMatchObject({ netSettlementMinor: 7_500n, refundedAmountMinor: 2_500n, payoutHold: null });
  });

  for (const approved of [false, true]) {
    it(`a partial refund of a ${approved ? "APPROVED" : "READY"} run: cancelled and compiled again for the net, linked and audited`, async () => {
      await newWorld();
      const { paymentId, delivery } = await pay(10_000n);
      await send(delivery);
      await world.drain();
      const first = (await liveRun(paymentId))!;
      expect(first.distributable).toBe(10_000n * UNIT);
      if (approved) await advancePayoutRun(db, { runId: first.id, to: "APPROVED", actor: "ops" });
      await send(world.sign(dodoEvent("refund.succeeded", dodoRefund({ paymentId, amount: 2_500n, isPartial: true }))));
      await world.drain();
      const [old, next] = await world.runsOf(paymentId);
      expect(old).toMatchObject({ id: first.id, status: "CANCELLED" });
      expect(old!.cancelReason).toMatch(/^PAYOUT_BASIS_CHANGED: distributable 100000000 -> 75000000/);
      expect(next).toMatchObject({ status: "READY", distributable: 7_500n * UNIT, supersedesRunId: first.id });
      await assertConserved(next!.id);
      const audit = await db.prisma.auditLog.findMany({ where: { entityId: { in: [first.id, next!.id] } }, orderBy: { id: "asc" } });
      expect(audit.map((a) => a.action)).toEqual(
        approved
          ? ["payout_run.compiled", "payout_run.approved", "payout_run.cancelled", "payout_run.compiled"]
          : ["payout_run.compiled", "payout_run.cancelled", "payout_run.compiled"],
      );
      // the producer's share of the cancelled run is no longer in its balance: only the new run's counts
      const money = await world.money();
      expect(money.recipients[world.recipients[1]!]!.balance).toBe(((7_500n * UNIT - 1_000_000n) * 2000n) / 10_000n);
    });
  }

  it("a full refund with no amount (is_partial: false) is the whole payment: the run is cancelled and none replaces it", async () => {
    await newWorld();
    const { paymentId, delivery } = await pay(4_200n);
    await send(delivery);
    await world.drain();
    await send(world.sign(dodoEvent("refund.succeeded", dodoRefund({ paymentId, amount: null, currency: null, isPartial: false }))));
    await world.drain();
    expect((await world.runsOf(paymentId)).map((r) => r.status)).toEqual(["CANCELLED"]);
    const payment = await db.prisma.payment.findUniqueOrThrow({ where: { dodoPaymentId: paymentId }, include: { payoutRunRequest: true } });
    expect(payment.netSettlementMinor).toBe(0n);
    expect(payment.payoutRunRequest).toMatchObject({ payoutRunId: null });
    expect(payment.payoutRunRequest!.holdReason).toMatch(/^NOTHING_TO_PAY/);
    const money = await world.money();
    expect(Object.values(money.recipients).every((r) => r.transferred === 0n && r.balance === 0n)).toBe(true);
  });

  it("a refund after settlement: each recipient owes its part of the refund, to the unit, once; the next run nets it", async () => {
    await newWorld();
    const [artist, producer, mixer] = world.recipients as [string, string, string];
    const { paymentId, delivery } = await pay(10_000n);
    await send(delivery);
    await world.drain();
    expect(await world.settle(paymentId)).toBe(true);
    const settled = (await liveRun(paymentId))!;
    const refund = world.sign(dodoEvent("refund.succeeded", dodoRefund({ paymentId, amount: 2_500n, isPartial: true })));
    await send(refund);
    await world.drain();
    await send(refund); // a redelivery
    await world.drain();
    // A quarter refunded: each owes a quarter of its share of the payment (artist 59,400,000, producer
    // 19,800,000 accrued, mixer 1,000,000); the treasury bears a quarter of its own remainder.
    const entries = await db.prisma.recipientBalanceEntry.findMany({ where: { sourceRunId: settled.id } });
    expect(Object.fromEntries(entries.map((e) => [e.recipientId, [e.kind, e.amount]]))).toEqual({
      [artist]: ["CLAWBACK", 14_850_000n],
      [producer]: ["CLAWBACK", 4_950_000n],
      [mixer]: ["CLAWBACK", 250_000n],
    });
    expect((await liveRun(paymentId))!).toMatchObject({ id: settled.id, status: "SETTLED" });
    let money = await world.money();
    expect(money).toMatchObject({ executedDeduction: 2_500n * UNIT, clawbacks: 20_050_000n });
    // recipients + treasury - what recipients still owe == what the payment distributes now
    const net = (m: typeof money) =>
      Object.values(m.recipients).reduce((s, r) => s + r.transferred + r.balance - r.owed, 0n) + m.remainder - (m.executedDeduction - m.clawbacks);
    expect(net(money)).toBe(7_500n * UNIT);
    // the next payment's run nets the clawbacks: the producer's against its accrued balance first
    const second = await pay(10_000n);
    await send(second.delivery);
    await world.drain();
    const run = await assertConserved((await liveRun(second.paymentId))!.id);
    expect(Object.fromEntries(run.transfers.map((t) => [t.recipientId, t.amount]))).toEqual({
      [artist]: 59_400_000n - 14_850_000n,
      [mixer]: 1_000_000n - 250_000n,
    });
    money = await world.money();
    expect(Object.values(money.recipients).map((r) => r.owed)).toEqual([0n, 0n, 0n]);
    // two accrued shares less its clawback, still under its $50 threshold
    expect(money.recipients[producer]!.balance).toBe(19_800_000n * 2n - 4_950_000n);
    expect(net(money)).toBe(17_500n * UNIT);
  });

  it("an open dispute holds the payment: its READY run is cancelled (nothing waits to pay it); won, it is compiled again", async () => {
    await newWorld();
    const { paymentId, delivery } = await pay(10_000n);
    await send(delivery);
    await world.drain();
    const run = (await liveRun(paymentId))!;
    const disputeId = dodoId("dsp");
    await send(world.sign(disputeEventOf(dodoDispute({ disputeId, paymentId, status: "dispute_opened", amount: 10_000n }))));
    await world.drain();
    expect(await liveRun(paymentId)).toBeNull();
    const held = (await world.runsOf(paymentId))[0]!;
    expect(held).toMatchObject({ id: run.id, status: "CANCELLED", cancelReason: "HELD: DISPUTE_OPEN" });
    // its shares are not in any balance while it is held
    expect(Object.values((await world.money()).recipients).every((r) => r.transferred === 0n && r.balance === 0n)).toBe(true);
    await send(world.sign(disputeEventOf(dodoDispute({ disputeId, paymentId, status: "dispute_won", amount: 10_000n }))));
    await world.drain();
    const released = (await liveRun(paymentId))!;
    expect(released).toMatchObject({ status: "READY", distributable: run.distributable, supersedesRunId: run.id });
    await advancePayoutRun(db, { runId: released.id, to: "APPROVED", actor: "ops" });
    expect((await db.prisma.payment.findUniqueOrThrow({ where: { dodoPaymentId: paymentId } })).disputeState).toBe("WON");
  });

  it("a dispute open before the compile holds the future run; lost, it is a refund of the disputed amount", async () => {
    await newWorld();
    const { paymentId, delivery } = await pay(10_000n);
    const disputeId = dodoId("dsp");
    await send(world.sign(disputeEventOf(dodoDispute({ disputeId, paymentId, status: "dispute_opened", amount: 4_000n, amountAs: "cli" }))));
    await send(delivery);
    await world.drain();
    expect(await world.runsOf(paymentId)).toEqual([]);
    const held = await db.prisma.payoutRunRequest.findFirstOrThrow({ where: { payment: { dodoPaymentId: paymentId } } });
    expect(held.holdReason).toMatch(/^DISPUTE_OPEN/);
    await send(world.sign(disputeEventOf(dodoDispute({ disputeId, paymentId, status: "dispute_lost", amount: 4_000n }))));
    await world.drain();
    expect((await world.runsOf(paymentId)).map((r) => [r.status, r.distributable])).toEqual([["READY", 6_000n * UNIT]]);
  });

  it("a refund in the charge currency is converted by the payment's own ratio, rounded toward the customer", async () => {
    await newWorld();
    // Adaptive pricing: charged ₹3,213.56, settled $34.22.
    const { paymentId, delivery } = await pay(321_356n, { currency: "INR", settlementAmount: 3_422n, settlementCurrency: "USD" });
    await send(delivery);
    await send(world.sign(dodoEvent("refund.succeeded", dodoRefund({ paymentId, amount: 100_000n, currency: "INR", isPartial: true }))));
    await world.drain();
    // 100,000 × 3,422 / 321,356 = 1,064.86… cents: 1,065 go back with the customer, 2,357 are left.
    const payment = await db.prisma.payment.findUniqueOrThrow({ where: { dodoPaymentId: paymentId } });
    expect(payment.netSettlementMinor).toBe(2_357n);
    expect((await liveRun(paymentId))!.distributable).toBe(2_357n * UNIT);
  });

  it("cascade: a later READY run that paid out the refunded payment's accrual is cancelled and compiled again", async () => {
    await newWorld();
    const producer = world.recipients[1]!;
    // A: the producer's 19,800,000 accrues (under $50). B: its 39,800,000 plus the accrual pass $50: paid.
    const a = await pay(10_000n);
    await send(a.delivery);
    await world.drain();
    const b = await pay(20_000n);
    await send(b.delivery);
    await world.drain();
    const bRun = (await liveRun(b.paymentId))!;
    const paidBefore = await db.prisma.payoutTransfer.findFirstOrThrow({ where: { runId: bRun.id, recipientId: producer } });
    expect(paidBefore.amount).toBe(59_600_000n);
    // A is refunded in full: its accrual is void, so B's transfer may not carry it any more.
    await send(world.sign(dodoEvent("refund.succeeded", dodoRefund({ paymentId: a.paymentId, amount: 10_000n, isPartial: false }))));
    await world.drain();
    const bRuns = await world.runsOf(b.paymentId);
    expect(bRuns.map((r) => r.status)).toEqual(["CANCELLED", "READY"]);
    expect(bRuns[0]!.cancelReason).toMatch(/^CASCADE/);
    const money = await world.money();
    // B alone now: the producer's 39,800,000 stays accrued (under $50), nobody is paid A's money
    expect(money.recipients[producer]).toEqual({ transferred: 0n, balance: 39_800_000n, owed: 0n });
    const total = Object.values(money.recipients).reduce((s, r) => s + r.transferred + r.balance - r.owed, 0n) + money.remainder;
    expect(total).toBe(20_000n * UNIT);
  });
});
