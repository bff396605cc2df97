// Property test of the payout-run model over the database: for random policies and random sequences of
// payments, clawbacks and pauses, what the balance entries fold to always equals what the compiler said
// each recipient's balance and open clawback became, and every run conserves its payment to the unit.
import { randomUUID } from "node:crypto";
import { Keypair } from "@solana/web3.js";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PrismaClient } from "~/generated/prisma/client";
import { activatePolicyVersion, createPolicyVersion, type PolicyRuleInput } from "~/models/policies.server";
import { compilePayoutRunForPayment } from "~/models/payout-runs.server";
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
  basisPoints: fc.integer({ min: 1, max: 4000 }),
  fixedAmount: fc.integer({ min: 1, max: 3_000_000 }),
  minPayout: fc.option(fc.integer({ min: 1, max: 8_000_000 }), { nil: undefined }),
  capPerPayment: fc.option(fc.integer({ min: 0, max: 5_000_000 }), { nil: undefined }),
  priority: fc.integer({ min: 0, max: 2 }),
});

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("payment" as const), cents: fc.integer({ min: 0, max: 5_000 }) }) },
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

  it("balances and clawbacks in the ledger always equal the compiler's figures", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(ruleArb, { minLength: 1, maxLength: 4 }), fc.array(stepArb, { minLength: 1, maxLength: 6 }), async (ruleDrafts, steps) => {
        const org = await prisma.organization.create({ data: { slug: `org-${randomUUID().slice(0, 8)}`, name: "Prop" } });
        const recipients: Awaited<ReturnType<typeof createRecipient>>[] = [];
        for (let i = 0; i < ruleDrafts.length; i++) {
          const seed = new Uint8Array(32);
          seed.set(new TextEncoder().encode(`prop:${++walletCounter}`));
          recipients.push(await createRecipient(prisma, { organizationId: org.id, name: `r${i}`, walletAddress: Keypair.fromSeed(seed).publicKey.toBase58(), mint: MINT }));
        }
        let bpsLeft = 10_000;
        const rules: PolicyRuleInput[] = ruleDrafts.map((draft, i) => {
          const common = {
            recipientId: recipients[i]!.id,
            minPayout: draft.minPayout === undefined ? null : BigInt(draft.minPayout),
            capPerPayment: draft.capPerPayment === undefined ? null : BigInt(draft.capPerPayment),
          };
          if (draft.percentage && bpsLeft >= draft.basisPoints) {
            bpsLeft -= draft.basisPoints;
            return { ...common, kind: "PERCENTAGE", basisPoints: draft.basisPoints };
          }
          return { ...common, kind: "FIXED", fixedAmount: BigInt(draft.fixedAmount), priority: draft.priority };
        });
        const version = await createPolicyVersion(prisma, { organizationId: org.id, policyName: "Prop", rules });
        await activatePolicyVersion(prisma, { organizationId: org.id, versionId: version.id });

        for (const step of steps) {
          if (step.kind === "clawback") {
            const recipient = recipients[step.recipient % recipients.length]!;
            await recordClawback(prisma, { organizationId: org.id, recipientId: recipient.id, amount: BigInt(step.amount), tokenDecimals: 6 });
            continue;
          }
          if (step.kind === "pause") {
            const recipient = recipients[step.recipient % recipients.length]!;
            await setRecipientStatus(prisma, { organizationId: org.id, recipientId: recipient.id, status: step.paused ? "PAUSED" : "ACTIVE" });
            continue;
          }
          const cents = BigInt(step.cents);
          const payment = await prisma.payment.create({
            data: {
              organizationId: org.id, dodoPaymentId: `pay_${randomUUID()}`, status: "SUCCEEDED", totalAmountMinor: cents,
              currency: "USD", settlementAmountMinor: cents, settlementCurrency: "USD", lastEventAt: NOW,
            },
          });
          const compiled = await prisma.$transaction((tx) =>
            compilePayoutRunForPayment(
              tx,
              {
                id: payment.id, organizationId: org.id, dodoPaymentId: payment.dodoPaymentId, checkoutSessionId: null, status: "succeeded",
                totalAmountMinor: cents, currency: "USD", settlementAmountMinor: cents, settlementCurrency: "USD", refundedAmountMinor: 0n,
              },
              { now: NOW },
            ),
          );
          const plan = compiled.plan!;
          // the ledger, folded from its insert-only entries, says what the compiler said
          const { states } = await loadRecipientStates(prisma, org.id, recipients.map((r) => r.id));
          for (const line of plan.lines) {
            expect(states.get(line.recipientId)).toMatchObject({ balance: line.balanceAfter, clawbackOwed: line.clawbackCarried });
          }
          // and the run's rows conserve the payment
          const run = await prisma.payoutRun.findUniqueOrThrow({ where: { id: compiled.payoutRunId! }, include: { transfers: true, balanceEntries: true } });
          const sum = (kind: string) => run.balanceEntries.filter((e) => e.kind === kind).reduce((s, e) => s + e.amount, 0n);
          const transferred = run.transfers.reduce((s, t) => s + t.amount, 0n);
          expect(run.distributable).toBe(cents * 10_000n);
          expect(transferred + sum("ACCRUAL") - sum("ACCRUAL_PAID") + sum("CLAWBACK_NETTED") + run.treasuryRemainder).toBe(run.distributable);
          expect(run.transfers.every((t) => t.amount > 0n)).toBe(true);
        }
      }),
      { numRuns: 15 },
    );
  });
});
