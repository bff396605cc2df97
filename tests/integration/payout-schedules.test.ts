// Payout schedules (PGlite and PostgreSQL): under a DAILY policy a payment's shares accrue (an ACCRUAL run
// that transfers nothing), and at the window's close, in the organization's time zone, one SWEEP run per
// (organization, window) pays each recipient its accrued total in one transfer. The close is a row the
// worker claims: a restart across the close time neither skips nor doubles it; a refund before the close
// changes what is accrued, one after the sweep was compiled (not yet executed) sweeps the window again.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { payoutWindowOf } from "~/ledger/payout-schedule";
import { setOrganizationTimeZone } from "~/models/organizations.server";
import { advancePayoutRun } from "~/models/payout-run-lifecycle.server";
import { startPayoutRunWorker } from "~/models/payout-run-worker.server";
import type { PolicyRuleInput } from "~/models/policies.server";
import { sql } from "~/utils/sql.server";
import { databaseTargets, type TestDatabase } from "../setup/databases";
import { createPayoutWorld, type PayoutWorld } from "../setup/payout-world";
import { dodoEvent, dodoId, dodoPayment, dodoRefund } from "../mocks/dodo-payloads";

const HOUR = 3_600_000;
const rules = ([r0, r1, r2]: string[]): PolicyRuleInput[] => [
  { recipientId: r0!, kind: "PERCENTAGE", basisPoints: 5000, minPayout: 1_000_000n },
  { recipientId: r1!, kind: "FIXED", fixedAmount: 100_000n },
  { recipientId: r2!, kind: "PERCENTAGE", basisPoints: 2000 },
];

describe.each(databaseTargets())("payout schedules on $name", (target) => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await target.create();
  });
  afterAll(async () => {
    await db?.destroy();
  });

  const daily = (timeZone: string) => createPayoutWorld(db, { rules, recipientCount: 3, schedule: "DAILY", timeZone });

  /** `count` succeeded payments of `cents` each, written with their compile requests in one statement (what webhooks leave). */
  async function payments(world: PayoutWorld, count: number, cents: bigint, at = new Date("2031-01-01T00:00:00Z")) {
    await db.query(sql`
      WITH p AS (
        INSERT INTO payments (organization_id, dodo_payment_id, status, total_amount_minor, currency, settlement_amount_minor,
                              settlement_currency, net_settlement_minor, last_event_at)
        SELECT ${world.organizationId}::uuid, 'pay_bulk_' || md5(random()::text || g::text), 'SUCCEEDED', ${cents}::bigint, 'USD',
               ${cents}::bigint, 'USD', ${cents}::bigint, now()
        FROM generate_series(1, ${count}::int) g
        RETURNING id, organization_id)
      INSERT INTO payout_run_requests (organization_id, payment_id, created_at, available_at)
      SELECT organization_id, id, ${at}::timestamptz, ${at}::timestamptz FROM p`);
  }

  async function runsOf(world: PayoutWorld) {
    return db.prisma.payoutRun.findMany({ where: { organizationId: world.organizationId }, include: { transfers: true }, orderBy: { seq: "asc" } });
  }

  it("1,000 payments in a day: one sweep run per organization at its close, one transfer per recipient", async () => {
    const berlin = await daily("Europe/Berlin");
    const tokyo = await daily("Asia/Tokyo");
    const day = new Date(Date.UTC(2031, 5, 10, 12));
    for (const world of [berlin, tokyo]) await payments(world, 500, 1_000n);
    // Compiled during the day, in batches, as the worker does
    const during = await berlin.drain(day);
    expect(during).toMatchObject({ compiled: 1_000, held: 0, failed: 0, windowsClosed: 0 });
    for (const world of [berlin, tokyo]) {
      const runs = await runsOf(world);
      expect(runs).toHaveLength(500);
      expect(runs.every((r) => r.kind === "ACCRUAL" && r.transfers.length === 0 && r.status === "READY")).toBe(true);
      await expect(advancePayoutRun(db, { runId: runs[0]!.id, to: "APPROVED", actor: "ops" })).rejects.toMatchObject({ code: "RUN_NOT_EXECUTABLE" });
    }
    const berlinWindow = payoutWindowOf(day, "DAILY", "Europe/Berlin");
    const tokyoWindow = payoutWindowOf(day, "DAILY", "Asia/Tokyo");
    expect(tokyoWindow.endsAt.getTime()).toBeLessThan(berlinWindow.endsAt.getTime());
    // Tokyo's day closes first (15:00 UTC), Berlin's later (22:00 UTC): each at its own close, not before
    expect(await berlin.drain(new Date(tokyoWindow.endsAt.getTime() - 1))).toMatchObject({ windowsClosed: 0 });
    expect(await berlin.drain(new Date(tokyoWindow.endsAt.getTime() + 1))).toMatchObject({ windowsClosed: 1 });
    expect(await berlin.drain(new Date(berlinWindow.endsAt.getTime() + HOUR))).toMatchObject({ windowsClosed: 1 });
    expect(await berlin.drain(new Date(berlinWindow.endsAt.getTime() + 2 * HOUR))).toMatchObject({ windowsClosed: 0 });
    for (const [world, bounds] of [[berlin, berlinWindow], [tokyo, tokyoWindow]] as const) {
      const sweeps = (await runsOf(world)).filter((r) => r.kind === "SWEEP");
      expect(sweeps).toHaveLength(1);
      const sweep = sweeps[0]!;
      // each recipient's accrued total, in one transfer: 500 × (5,000,000 | 100,000 | 1,980,000)
      expect(Object.fromEntries(sweep.transfers.map((t) => [t.recipientId, t.amount]))).toEqual({
        [world.recipients[0]!]: 500n * 4_950_000n,
        [world.recipients[1]!]: 500n * 100_000n,
        [world.recipients[2]!]: 500n * 1_980_000n,
      });
      const window = await db.prisma.payoutWindow.findFirstOrThrow({ where: { organizationId: world.organizationId } });
      expect(window).toMatchObject({ schedule: "DAILY", timeZone: bounds.timeZone, startsAt: bounds.startsAt, endsAt: bounds.endsAt, sweepRunId: sweep.id });
      expect(sweep.payoutWindowId).toBe(window.id);
      const money = await world.money();
      expect(Object.values(money.recipients).every((r) => r.balance === 0n && r.owed === 0n)).toBe(true);
      expect(Object.values(money.recipients).reduce((s, r) => s + r.transferred, 0n) + money.remainder).toBe(500n * 10_000_000n);
    }
  }, 600_000);

  it("an organization's time zone is an IANA zone; the next windows open in it", async () => {
    const world = await daily("UTC");
    await expect(setOrganizationTimeZone(db.prisma, { organizationId: world.organizationId, timeZone: "Mars/Olympus_Mons" })).rejects.toMatchObject({
      code: "SCHEDULE_TIME_ZONE_INVALID",
    });
    await setOrganizationTimeZone(db.prisma, { organizationId: world.organizationId, timeZone: "Asia/Tokyo" });
    await payments(world, 1, 1_000n);
    const at = new Date(Date.UTC(2031, 5, 1, 14, 30)); // 23:30 in Tokyo
    await world.drain(at);
    const window = await db.prisma.payoutWindow.findFirstOrThrow({ where: { organizationId: world.organizationId } });
    expect(window).toMatchObject({ timeZone: "Asia/Tokyo", endsAt: new Date(Date.UTC(2031, 5, 1, 15)) });
  });

  it("a restart across the close time neither skips nor doubles the sweep", async () => {
    const world = await daily("UTC");
    // Yesterday (by the wall clock): the window closed while nothing ran.
    const yesterday = new Date(Date.now() - 24 * HOUR);
    await payments(world, 20, 500n, yesterday);
    expect(await world.drain(yesterday)).toMatchObject({ compiled: 20, windowsClosed: 0 });
    // The process restarts after the close: two workers (two processes) start at once, on the wall clock.
    const workers = [startPayoutRunWorker(db, { intervalMs: 50 }), startPayoutRunWorker(db, { intervalMs: 50 })];
    const deadline = Date.now() + 60_000;
    while ((await db.prisma.payoutWindow.count({ where: { organizationId: world.organizationId, closedAt: { not: null } } })) === 0) {
      if (Date.now() > deadline) throw new Error("the window was never closed");
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await new Promise((resolve) => setTimeout(resolve, 500)); // a few more polls of both
    await Promise.all(workers.map((w) => w.stop()));
    // And once more after another restart
    const again = startPayoutRunWorker(db, { intervalMs: 50 });
    await new Promise((resolve) => setTimeout(resolve, 500));
    await again.stop();
    const sweeps = (await runsOf(world)).filter((r) => r.kind === "SWEEP");
    expect(sweeps).toHaveLength(1);
    expect(sweeps[0]!.transfers.reduce((s, t) => s + t.amount, 0n)).toBe(20n * (2_450_000n + 100_000n + 980_000n));
  }, 120_000);

  it("a refund before the close shrinks what accrues; one after the sweep was compiled sweeps the window again", async () => {
    const world = await daily("UTC");
    const day = new Date(Date.UTC(2031, 7, 1, 9));
    const bounds = payoutWindowOf(day, "DAILY", "UTC");
    const pay = async () => {
      const paymentId = dodoId("pay");
      const checkout = await world.checkout(10_000n);
      expect((await world.deliver(world.sign(dodoEvent("payment.succeeded", dodoPayment({ paymentId, totalAmount: 10_000n, ...checkout }))))).status).toBe(200);
      return paymentId;
    };
    const refund = async (paymentId: string, cents: bigint) =>
      expect((await world.deliver(world.sign(dodoEvent("refund.succeeded", dodoRefund({ paymentId, amount: cents, isPartial: true }))))).status).toBe(200);
    const [a, b] = [await pay(), await pay()];
    await world.drain(day);
    await refund(a, 5_000n); // before the close: a's accrual is compiled again for $50
    await world.drain(new Date(day.getTime() + HOUR));
    expect((await world.runsOf(a)).map((r) => [r.kind, r.status, r.distributable])).toEqual([
      ["ACCRUAL", "CANCELLED", 100_000_000n],
      ["ACCRUAL", "READY", 50_000_000n],
    ]);
    await world.drain(new Date(bounds.endsAt.getTime() + 1));
    const firstSweep = (await runsOf(world)).find((r) => r.kind === "SWEEP")!;
    // a ($50): 100,000 fixed, then 50 % and 20 % of 49,900,000; b ($100): the same of 99,900,000
    expect(firstSweep.transfers.reduce((s, t) => s + t.amount, 0n)).toBe(100_000n + 24_950_000n + 9_980_000n + 100_000n + 49_950_000n + 19_980_000n);
    // after the sweep was compiled (not executed): b refunded in full; the sweep paid b's accrual, so it is
    // cancelled, the window reopens and the next drain sweeps it again with a's money only
    await refund(b, 10_000n);
    await world.drain(new Date(bounds.endsAt.getTime() + 2 * HOUR));
    const sweeps = (await runsOf(world)).filter((r) => r.kind === "SWEEP");
    expect(sweeps.map((r) => r.status)).toEqual(["CANCELLED", "READY"]);
    expect(sweeps[0]!.cancelReason).toMatch(/^CASCADE/);
    const money = await world.money();
    expect(Object.values(money.recipients).reduce((s, r) => s + r.transferred + r.balance - r.owed, 0n) + money.remainder).toBe(50_000_000n);
    expect(sweeps[1]!.transfers.reduce((s, t) => s + t.amount, 0n)).toBe(100_000n + 24_950_000n + 9_980_000n);
    expect(await db.prisma.payoutWindow.findFirstOrThrow({ where: { organizationId: world.organizationId } })).toMatchObject({ sweepRunId: sweeps[1]!.id });
  }, 120_000);
});
