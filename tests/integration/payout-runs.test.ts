// Payout runs compiled into the database (PGlite, and PostgreSQL when DATABASE_URL is set): transfers
// and balance entries that conserve the payment to the unit, idempotency per payment, holds, thresholds
// across payments, clawback netting, period caps, sweeps, and serialised concurrent compiles.
import { randomUUID } from "node:crypto";
import { Keypair } from "@solana/web3.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PrismaClient } from "~/generated/prisma/client";
import { activatePolicyVersion, createPolicyVersion, type PolicyRuleInput } from "~/models/policies.server";
import type { RecordedPayment } from "~/models/payments.server";
import { compilePayoutRunForPayment, compileSweepRun, getPayoutRun } from "~/models/payout-runs.server";
import { advancePayoutRun } from "~/models/payout-run-lifecycle.server";
import { createRecipient, loadRecipientStates, recordClawback, setRecipientStatus } from "~/models/recipients.server";
import { toDatabaseError } from "~/utils/db-errors.server";
import { linesFromTraceRecord, type TraceRecord } from "~/ledger/policy-trace";
import { databaseTargets, type TestDatabase } from "../setup/databases";

const MINT = "So11111111111111111111111111111111111111112";
// Far from the wall clock on purpose: period windows must follow the compile's clock, not the database's.
const NOW = new Date("2031-03-01T10:00:00Z");
let walletCounter = 0;

describe.each(databaseTargets())("payout runs on $name", (target) => {
  let db: TestDatabase;
  let prisma: PrismaClient;

  beforeAll(async () => {
    db = await target.create();
    prisma = db.prisma;
  });
  afterAll(async () => {
    await db?.destroy();
  });

  async function newOrganization() {
    return prisma.organization.create({ data: { slug: `org-${randomUUID().slice(0, 8)}`, name: "Acme" } });
  }

  async function newRecipient(organizationId: string, name: string) {
    const seed = new Uint8Array(32).fill(0);
    seed.set(new TextEncoder().encode(`${++walletCounter}:${name}`).slice(0, 32));
    return createRecipient(prisma, { organizationId, name, walletAddress: Keypair.fromSeed(seed).publicKey.toBase58(), mint: MINT });
  }

  async function activePolicy(organizationId: string, rules: PolicyRuleInput[], requireVerifiedRecipients = false) {
    const version = await createPolicyVersion(prisma, { organizationId, policyName: "Split", rules, requireVerifiedRecipients });
    await activatePolicyVersion(prisma, { organizationId, versionId: version.id });
    return version;
  }

  /** A succeeded payment row; settlement in USD cents unless told otherwise. */
  async function succeededPayment(organizationId: string, cents: bigint, currency = "USD"): Promise<RecordedPayment> {
    const row = await prisma.payment.create({
      data: {
        organizationId,
        dodoPaymentId: `pay_${randomUUID()}`,
        status: "SUCCEEDED",
        totalAmountMinor: cents,
        currency,
        settlementAmountMinor: cents,
        settlementCurrency: currency,
        lastEventAt: NOW,
      },
    });
    return {
      id: row.id,
      organizationId,
      dodoPaymentId: row.dodoPaymentId,
      checkoutSessionId: null,
      status: "succeeded",
      totalAmountMinor: cents,
      currency,
      settlementAmountMinor: cents,
      settlementCurrency: currency,
      refundedAmountMinor: 0n,
      netSettlementMinor: cents,
      payoutHold: null,
    };
  }

  function compile(payment: RecordedPayment, now = NOW) {
    return db.transaction((tx) => compilePayoutRunForPayment(tx, payment, { now }));
  }

  /** The run's money as the database holds it, checked against the conservation identity. */
  async function assertConserved(runId: string) {
    const run = await prisma.payoutRun.findUniqueOrThrow({ where: { id: runId }, include: { transfers: true, balanceEntries: true } });
    const sum = (kind: string) => run.balanceEntries.filter((e) => e.kind === kind).reduce((s, e) => s + e.amount, 0n);
    const transferred = run.transfers.reduce((s, t) => s + t.amount, 0n);
    expect(transferred).toBe(run.totalTransfers);
    // transfers + net accruals + clawbacks recovered + treasury remainder = distributable
    expect(transferred + (sum("ACCRUAL") - sum("ACCRUAL_PAID")) + sum("CLAWBACK_NETTED") + run.treasuryRemainder).toBe(run.distributable);
    return run;
  }

  it("compiles a USD payment into transfers, accruals and a treasury remainder that add up", async () => {
    const org = await newOrganization();
    const artist = await newRecipient(org.id, "artist");
    const producer = await newRecipient(org.id, "producer");
    const mixer = await newRecipient(org.id, "mixer");
    const version = await activePolicy(org.id, [
      { recipientId: artist.id, kind: "PERCENTAGE", basisPoints: 5000 },
      { recipientId: producer.id, kind: "PERCENTAGE", basisPoints: 2500, minPayout: 20_000_000n },
      { recipientId: mixer.id, kind: "FIXED", fixedAmount: 1_000_000n },
    ]);
    // $48.50 settled = 48,500,000 base units; mixer $1 first, then 50 % / 25 % of 47,500,000
    const compiled = await compile(await succeededPayment(org.id, 4_850n));
    expect(compiled).toMatchObject({ created: true, holdReason: null });
    const run = await assertConserved(compiled.payoutRunId!);
    expect(run).toMatchObject({ status: "READY", kind: "PAYMENT", distributable: 48_500_000n, tokenDecimals: 6, policyVersionId: version.id });
    const amounts = Object.fromEntries(run.transfers.map((t) => [t.recipientId, t.amount]));
    expect(amounts).toEqual({ [artist.id]: 23_750_000n, [mixer.id]: 1_000_000n });
    expect(run.transfers.find((t) => t.recipientId === artist.id)?.tokenAccount).toBe(artist.tokenAccount);
    const fetched = await getPayoutRun(prisma, run.id);
    expect(fetched?.transfers.map((t) => t.recipientId)).toEqual([artist.id, mixer.id].sort());
    // the producer's 11,875,000 is under its $20 threshold: accrued, not paid
    expect(run.balanceEntries.map((e) => [e.recipientId, e.kind, e.amount])).toEqual([[producer.id, "ACCRUAL", 11_875_000n]]);
    expect(run.treasuryRemainder).toBe(11_875_000n);
    // the version a run used is locked: its rules can no longer change
    expect((await prisma.payoutPolicyVersion.findUniqueOrThrow({ where: { id: version.id } })).lockedAt).not.toBeNull();
    const edit = await prisma.payoutRule.updateMany({ where: { policyVersionId: version.id }, data: { priority: 9 } }).catch((e: unknown) => e);
    expect((toDatabaseError(edit) as { code?: string }).code).toBe("IMMUTABLE_POLICY_VERSION");
    const audit = await prisma.auditLog.findFirstOrThrow({ where: { entityId: run.id, action: "payout_run.compiled" } });
    // the audit row keeps the compiler's whole trace: its lines decode to exactly the plan's
    expect(linesFromTraceRecord(audit.data as unknown as TraceRecord)).toEqual(compiled.plan!.lines);
    expect(compiled.plan!.lines).toHaveLength(3);
  });

  it("compiling a payment twice returns the first run and writes nothing more", async () => {
    const org = await newOrganization();
    const artist = await newRecipient(org.id, "artist");
    await activePolicy(org.id, [{ recipientId: artist.id, kind: "PERCENTAGE", basisPoints: 7000 }]);
    const payment = await succeededPayment(org.id, 1_000n);
    const first = await compile(payment);
    const second = await compile(payment);
    expect(second).toMatchObject({ payoutRunId: first.payoutRunId, created: false });
    expect(await prisma.payoutRun.count({ where: { organizationId: org.id } })).toBe(1);
    expect(await prisma.payoutTransfer.count({ where: { runId: first.payoutRunId! } })).toBe(1);
  });

  it("holds a payment settled in a currency the token cannot represent: a reason, no run", async () => {
    const org = await newOrganization();
    const artist = await newRecipient(org.id, "artist");
    await activePolicy(org.id, [{ recipientId: artist.id, kind: "PERCENTAGE", basisPoints: 7000 }]);
    const payment = await succeededPayment(org.id, 1_000n, "EUR");
    const compiled = await compile(payment);
    expect(compiled).toMatchObject({ payoutRunId: null, created: false });
    expect(compiled.holdReason).toMatch(/^UNSUPPORTED_SETTLEMENT_CURRENCY/);
    expect(await prisma.payoutRun.count({ where: { organizationId: org.id } })).toBe(0);
    const audit = await prisma.auditLog.findFirstOrThrow({ where: { entityId: payment.id, action: "payout.held" } });
    expect((audit.data as { holdReason: string }).holdReason).toBe(compiled.holdReason);
  });

  it("holds a payment while no policy fits, and compiles it once the operator fixed the policy", async () => {
    const org = await newOrganization();
    const payment = await succeededPayment(org.id, 500n);
    expect((await compile(payment)).holdReason).toMatch(/^NO_ACTIVE_POLICY/);
    const artist = await newRecipient(org.id, "artist");
    const dropped = await newRecipient(org.id, "dropped");
    await activePolicy(org.id, [
      { recipientId: artist.id, kind: "PERCENTAGE", basisPoints: 7000 },
      { recipientId: dropped.id, kind: "PERCENTAGE", basisPoints: 1000 },
    ]);
    await setRecipientStatus(prisma, { organizationId: org.id, recipientId: dropped.id, status: "REMOVED" });
    const removed = await compile(payment);
    expect(removed).toMatchObject({ payoutRunId: null });
    expect(removed.holdReason).toMatch(/^RULE_RECIPIENT_REMOVED/);
    expect(await prisma.payoutRun.count({ where: { organizationId: org.id } })).toBe(0);
    // the operator saves a version without the removed recipient; the same payment now compiles
    await activePolicy(org.id, [{ recipientId: artist.id, kind: "PERCENTAGE", basisPoints: 7000 }]);
    const compiled = await compile(payment);
    expect(compiled).toMatchObject({ created: true, holdReason: null });
    const run = await assertConserved(compiled.payoutRunId!);
    expect(run.transfers.map((t) => t.amount)).toEqual([3_500_000n]);
  });

  it("accrues below the threshold and pays the whole balance once it is reached", async () => {
    const org = await newOrganization();
    const artist = await newRecipient(org.id, "artist");
    await activePolicy(org.id, [{ recipientId: artist.id, kind: "PERCENTAGE", basisPoints: 5000, minPayout: 10_000_000n }]);
    const first = await compile(await succeededPayment(org.id, 1_200n)); // share 6,000,000 < 10,000,000
    expect(first.plan?.transfers).toEqual([]);
    await assertConserved(first.payoutRunId!);
    const second = await compile(await succeededPayment(org.id, 800n)); // 4,000,000 + 6,000,000 accrued
    const run = await assertConserved(second.payoutRunId!);
    expect(run.transfers.map((t) => t.amount)).toEqual([10_000_000n]);
    expect(run.balanceEntries.map((e) => [e.kind, e.amount])).toEqual([["ACCRUAL_PAID", 6_000_000n]]);
    const { states } = await loadRecipientStates(db, org.id, [artist.id]);
    expect(states.get(artist.id)?.balance).toBe(0n);
  });

  it("nets an open clawback against the next share and carries the rest", async () => {
    const org = await newOrganization();
    const artist = await newRecipient(org.id, "artist");
    await activePolicy(org.id, [{ recipientId: artist.id, kind: "PERCENTAGE", basisPoints: 5000 }]);
    await recordClawback(prisma, { organizationId: org.id, recipientId: artist.id, amount: 7_000_000n, tokenDecimals: 6, memo: "refund" });
    const first = await compile(await succeededPayment(org.id, 1_000n)); // share 5,000,000, all netted
    const firstRun = await assertConserved(first.payoutRunId!);
    expect(firstRun.transfers).toEqual([]);
    expect(firstRun.balanceEntries.map((e) => [e.kind, e.amount])).toEqual([["CLAWBACK_NETTED", 5_000_000n]]);
    const second = await compile(await succeededPayment(org.id, 1_000n)); // 2,000,000 netted, 3,000,000 paid
    const secondRun = await assertConserved(second.payoutRunId!);
    expect(secondRun.transfers.map((t) => t.amount)).toEqual([3_000_000n]);
    const { states } = await loadRecipientStates(db, org.id, [artist.id]);
    expect(states.get(artist.id)?.clawbackOwed).toBe(0n);
  });

  it("counts a rule's payments in its period toward the period cap", async () => {
    const org = await newOrganization();
    const artist = await newRecipient(org.id, "artist");
    await activePolicy(org.id, [{ recipientId: artist.id, kind: "PERCENTAGE", basisPoints: 5000, capPerPeriod: 8_000_000n, periodDays: 30 }]);
    const first = await compile(await succeededPayment(org.id, 1_000n)); // 5,000,000
    const second = await compile(await succeededPayment(org.id, 1_000n)); // capped to 3,000,000
    const third = await compile(await succeededPayment(org.id, 1_000n)); // nothing left this period
    const later = await compile(await succeededPayment(org.id, 1_000n), new Date(NOW.getTime() + 31 * 86_400_000)); // new period
    const paid = await Promise.all([first, second, third, later].map((c) => assertConserved(c.payoutRunId!)));
    expect(paid.map((run) => run.totalTransfers)).toEqual([5_000_000n, 3_000_000n, 0n, 5_000_000n]);
    expect(paid[1]!.treasuryRemainder).toBe(7_000_000n);
  });

  it("a paused recipient accrues; after resuming, a sweep pays the balance", async () => {
    const org = await newOrganization();
    const artist = await newRecipient(org.id, "artist");
    await activePolicy(org.id, [{ recipientId: artist.id, kind: "PERCENTAGE", basisPoints: 5000 }]);
    await setRecipientStatus(prisma, { organizationId: org.id, recipientId: artist.id, status: "PAUSED" });
    const held = await compile(await succeededPayment(org.id, 1_000n));
    expect(held.plan?.lines[0]).toMatchObject({ outcome: "HELD", holdReason: "PAUSED", accrued: 5_000_000n });
    expect(await compileSweepRun(db, { organizationId: org.id, now: NOW })).toBeNull();
    await setRecipientStatus(prisma, { organizationId: org.id, recipientId: artist.id, status: "ACTIVE" });
    const sweep = await compileSweepRun(db, { organizationId: org.id, now: NOW });
    const run = await assertConserved(sweep!.payoutRunId!);
    expect(run).toMatchObject({ kind: "SWEEP", paymentId: null, distributable: 0n, totalTransfers: 5_000_000n });
    expect(await compileSweepRun(db, { organizationId: org.id, now: NOW })).toBeNull();
  });

  it("a refund after settlement becomes proportional clawbacks, once, that the next run nets", async () => {
    const org = await newOrganization();
    const artist = await newRecipient(org.id, "artist");
    const producer = await newRecipient(org.id, "producer");
    await activePolicy(org.id, [
      { recipientId: artist.id, kind: "PERCENTAGE", basisPoints: 6000 },
      { recipientId: producer.id, kind: "PERCENTAGE", basisPoints: 2000, minPayout: 50_000_000n },
    ]);
    const payment = await succeededPayment(org.id, 1_000n); // 10,000,000: artist paid 6,000,000, producer accrues 2,000,000
    const compiled = await compile(payment);
    for (const to of ["APPROVED", "EXECUTING", "SETTLED"] as const) {
      await advancePayoutRun(db, { runId: compiled.payoutRunId!, to, actor: "executor" });
    }
    // A quarter refunded after settlement: the payment's basis drops to 750 cents and the worker reconciles.
    await prisma.payment.update({ where: { id: payment.id }, data: { netSettlementMinor: 750n } });
    const refunded = { ...payment, netSettlementMinor: 750n };
    expect(await compile(refunded)).toMatchObject({ payoutRunId: compiled.payoutRunId, created: false });
    // the artist owes a quarter of 6,000,000, the producer a quarter of its accrued 2,000,000
    const clawbacks = async () =>
      Object.fromEntries(
        (await prisma.recipientBalanceEntry.findMany({ where: { sourceRunId: compiled.payoutRunId!, kind: "CLAWBACK" } })).map((e) => [e.recipientId, e.amount]),
      );
    expect(await clawbacks()).toEqual({ [artist.id]: 1_500_000n, [producer.id]: 500_000n });
    // reconciling again (a redelivery, another drain) records nothing more
    await compile(refunded);
    expect(await prisma.recipientBalanceEntry.count({ where: { sourceRunId: compiled.payoutRunId! } })).toBe(2);
    expect((await prisma.payoutRun.findUniqueOrThrow({ where: { id: compiled.payoutRunId! } })).status).toBe("SETTLED");
    // the producer's clawback is netted against its accrued balance; the artist's against its next share
    const next = await compile(await succeededPayment(org.id, 1_000n));
    const run = await assertConserved(next.payoutRunId!);
    expect(run.transfers.map((t) => [t.recipientId, t.amount])).toEqual([[artist.id, 4_500_000n]]);
    const { states } = await loadRecipientStates(db, org.id, [artist.id, producer.id]);
    expect(states.get(producer.id)).toMatchObject({ balance: 3_500_000n, clawbackOwed: 0n });
    expect(states.get(artist.id)).toMatchObject({ balance: 0n, clawbackOwed: 0n });
  });

  it("concurrent compiles never pay one accrued balance twice", async () => {
    const org = await newOrganization();
    const artist = await newRecipient(org.id, "artist");
    await activePolicy(org.id, [{ recipientId: artist.id, kind: "PERCENTAGE", basisPoints: 5000, minPayout: 1_000_000n }]);
    await prisma.recipientBalanceEntry.create({
      data: { organizationId: org.id, recipientId: artist.id, kind: "ACCRUAL", amount: 9_000_000n, tokenDecimals: 6 },
    });
    const payments = await Promise.all([1, 2, 3, 4].map(() => succeededPayment(org.id, 100n)));
    const runs = await Promise.all(payments.map((payment) => compile(payment)));
    // what the artist was owed before plus its four shares is exactly what it was paid plus what it is still owed:
    // a balance paid out by two runs at once would make the left side larger
    const transferred = await prisma.payoutTransfer.aggregate({ where: { runId: { in: runs.map((r) => r.payoutRunId!) } }, _sum: { amount: true } });
    const { states } = await loadRecipientStates(db, org.id, [artist.id]);
    const stillOwed = states.get(artist.id)!.balance;
    expect(stillOwed).toBeGreaterThanOrEqual(0n);
    expect(transferred._sum.amount! + stillOwed).toBe(9_000_000n + 4n * 500_000n);
    for (const run of runs) await assertConserved(run.payoutRunId!);
  });
});
