// Property test of the payout-run model over the database: for random policies and random sequences of
// payments, clawbacks and pauses, what the balance entries fold to always equals what the compiler said
// each recipient's balance and open clawback became, every run conserves its payment to the unit, and
// compiling consecutive payments as one batch (as the worker does) writes the same money as one by one.
import { randomUUID } from "node:crypto";
import { Keypair } from "@solana/web3.js";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PrismaClient } from "~/generated/prisma/client";
import type { RecordedPayment } from "~/models/payments.server";
import { activatePolicyVersion, createPolicyVersion, type PolicyRuleInput } from "~/models/policies.server";
import { compilePaymentRuns } from "~/models/payout-runs.server";
import { createRecipient, loadRecipientStates, recordClawback, setRecipientStatus } from "~/models/recipients.server";
import { databaseTargets, type TestDatabase } from "../setup/databases";

const MINT = "So11111111111111111111111111111111111111112";
const NOW = new Date("2031-03-01T10:00:00Z");

type Step =
  | { kind: "payment"; cents: number }
  | { kind: "clawback"; recipient: number; amount: number }
  | { kind: "pause"; recipient: number; paused: boolean };

const ruleArb = fc.record({
  percentage: fc.boolean(),
  capPerPeriod: fc.option(fc.integer({ min: 0, max: 9_000_000 }), { nil: undefined }),
  basisPoints: fc.integer({ min: 1, max: 4000 }),
  fixedAmount: fc.integer({ min: 1, max: 3_000_000 }),
  minPayout: fc.option(fc.integer({ min: 1, max: 8_000_000 }), { nil: undefined }),
  capPerPayment: fc.option(fc.integer({ min: 0, max: 5_000_000 }), { nil: undefined }),
  priority: fc.integer({ min: 0, max: 2 }),
});

type RuleDraft = typeof ruleArb extends fc.Arbitrary<infer T> ? T : never;

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant("payment" as const), cents: fc.integer({ min: 0, max: 5_000 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("clawback" as const), recipient: fc.nat(3), amount: fc.integer({ min: 1, max: 6_000_000 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("pause" as const), recipient: fc.nat(3), paused: fc.boolean() }) },
);

describe.each(databaseTargets())("payout runs over random histories on $name", (target) => {
  let db: TestDatabase;
  let prisma: PrismaClient;
  let walletCounter = 0;

  beforeAll(async () => {
    db = await target.create();
    prisma = db.prisma;
  });
  afterAll(async () => {
    await db?.destroy();
  });

  /** An organization with one recipient per rule draft and the drafts' policy active. */
  async function organizationWithPolicy(ruleDrafts: RuleDraft[]) {
    const org = await prisma.organization.create({ data: { slug: `org-${randomUUID().slice(0, 8)}`, name: "Prop" } });
    const recipients: Awaited<ReturnType<typeof createRecipient>>[] = [];
    for (let i = 0; i < ruleDrafts.length; i++) {
      const seed = new Uint8Array(32);
      seed.set(new TextEncoder().encode(`prop:${++walletCounter}`));
      recipients.push(await createRecipient(prisma, { organizationId: org.id, name: `r${i}`, walletAddress: Keypair.fromSeed(seed).publicKey.toBase58(), mint: MINT }));
    }
    // Rule i goes to the i-th recipient in id order: ties between rules break on the recipient id, so two
    // organizations playing one history must order their recipients alike.
    recipients.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    let bpsLeft = 10_000;
    const rules: PolicyRuleInput[] = ruleDrafts.map((draft, i) => {
      const common = {
        recipientId: recipients[i]!.id,
        minPayout: draft.minPayout === undefined ? null : BigInt(draft.minPayout),
        capPerPayment: draft.capPerPayment === undefined ? null : BigInt(draft.capPerPayment),
        ...(draft.capPerPeriod === undefined ? {} : { capPerPeriod: BigInt(draft.capPerPeriod), periodDays: 30 }),
      };
      if (draft.percentage && bpsLeft >= draft.basisPoints) {
        bpsLeft -= draft.basisPoints;
        return { ...common, kind: "PERCENTAGE", basisPoints: draft.basisPoints };
      }
      return { ...common, kind: "FIXED", fixedAmount: BigInt(draft.fixedAmount), priority: draft.priority };
    });
    const version = await createPolicyVersion(prisma, { organizationId: org.id, policyName: "Prop", rules });
    await activatePolicyVersion(prisma, { organizationId: org.id, versionId: version.id });
    return { org, recipients };
  }

  async function succeededPayment(organizationId: string, cents: bigint): Promise<RecordedPayment> {
    const payment = await prisma.payment.create({
      data: {
        organizationId, dodoPaymentId: `pay_${randomUUID()}`, status: "SUCCEEDED", totalAmountMinor: cents,
        currency: "USD", settlementAmountMinor: cents, settlementCurrency: "USD", lastEventAt: NOW,
      },
    });
    return {
      id: payment.id, organizationId, dodoPaymentId: payment.dodoPaymentId, checkoutSessionId: null, status: "succeeded",
      totalAmountMinor: cents, currency: "USD", settlementAmountMinor: cents, settlementCurrency: "USD", refundedAmountMinor: 0n,
      netSettlementMinor: cents, payoutHold: null,
    };
  }

  /**
   * Plays a history in a fresh organization: payments compiled one transaction each ("single"), or every
   * run of consecutive payments compiled together in one transaction ("batched", as the worker does).
   * After each compile the ledger, folded from its insert-only entries, must say what the last plan said,
   * and every run must conserve its payment. Returns each run's money, recipients named by rule index.
   */
  async function playHistory(ruleDrafts: RuleDraft[], steps: Step[], mode: "single" | "batched") {
    const { org, recipients } = await organizationWithPolicy(ruleDrafts);
    const index = new Map(recipients.map((r, i) => [r.id, i]));
    const runs: unknown[] = [];
    let pending: RecordedPayment[] = [];
    const compilePending = async () => {
      if (pending.length === 0) return;
      const batch = pending;
      pending = [];
      const compiled = await db.transaction((tx) => compilePaymentRuns(tx, batch, { now: NOW }));
      expect(compiled.map((c) => c.created)).toEqual(batch.map(() => true));
      // the ledger, folded from its insert-only entries, says what the batch's last plan said
      const { states } = await loadRecipientStates(db, org.id, recipients.map((r) => r.id));
      for (const line of compiled.at(-1)!.plan!.lines) {
        expect(states.get(line.recipientId)).toMatchObject({ balance: line.balanceAfter, clawbackOwed: line.clawbackCarried });
      }
      for (const [i, result] of compiled.entries()) {
        // and each run's rows conserve its payment
        const run = await prisma.payoutRun.findUniqueOrThrow({ where: { id: result.payoutRunId! }, include: { transfers: true, balanceEntries: true } });
        const sum = (kind: string) => run.balanceEntries.filter((e) => e.kind === kind).reduce((s, e) => s + e.amount, 0n);
        const transferred = run.transfers.reduce((s, t) => s + t.amount, 0n);
        expect(run.distributable).toBe(batch[i]!.settlementAmountMinor! * 10_000n);
        expect(transferred + sum("ACCRUAL") - sum("ACCRUAL_PAID") + sum("CLAWBACK_NETTED") + run.treasuryRemainder).toBe(run.distributable);
        expect(run.transfers.every((t) => t.amount > 0n)).toBe(true);
        runs.push({
          distributable: run.distributable,
          totalTransfers: run.totalTransfers,
          treasuryRemainder: run.treasuryRemainder,
          transfers: run.transfers.map((t) => `${index.get(t.recipientId)}:${t.amount}`).sort(),
          entries: run.balanceEntries.map((e) => `${index.get(e.recipientId)}:${e.kind}:${e.amount}`).sort(),
        });
      }
    };
    for (const step of steps) {
      if (step.kind === "payment") {
        pending.push(await succeededPayment(org.id, BigInt(step.cents)));
        if (mode === "single") await compilePending();
        continue;
      }
      await compilePending();
      const recipient = recipients[step.recipient % recipients.length]!;
      if (step.kind === "clawback") {
        await recordClawback(prisma, { organizationId: org.id, recipientId: recipient.id, amount: BigInt(step.amount), tokenDecimals: 6 });
      } else {
        await setRecipientStatus(prisma, { organizationId: org.id, recipientId: recipient.id, status: step.paused ? "PAUSED" : "ACTIVE" });
      }
    }
    await compilePending();
    return runs;
  }

  it("balances and clawbacks in the ledger always equal the compiler's figures, one payment per transaction", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(ruleArb, { minLength: 1, maxLength: 4 }), fc.array(stepArb, { minLength: 1, maxLength: 6 }), async (ruleDrafts, steps) => {
        await playHistory(ruleDrafts, steps, "single");
      }),
      { numRuns: 15 },
    );
  });

  it("a batch compiled in one transaction writes exactly the runs that compiling its payments one by one writes", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(ruleArb, { minLength: 1, maxLength: 4 }), fc.array(stepArb, { minLength: 2, maxLength: 10 }), async (ruleDrafts, steps) => {
        // The worker's batches carry each run's balances, clawback netting and period-cap use forward in
        // memory; reading them back from the rows after every run must give the same money.
        const single = await playHistory(ruleDrafts, steps, "single");
        const batched = await playHistory(ruleDrafts, steps, "batched");
        expect(batched).toEqual(single);
      }),
      { numRuns: 15 },
    );
  });
});
