// Exact period caps (PGlite and PostgreSQL): a rule's cap per period counts what the rule itself allocated
// in the period (paid or accrued: payout_rule_shares), not the transfers of the period. Counting transfers
// let an accrued share escape the cap until it was paid, and charged the period for balances accrued
// before it.
import { Keypair } from "@solana/web3.js";
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RecordedPayment } from "~/models/payments.server";
import { activatePolicyVersion, createPolicyVersion } from "~/models/policies.server";
import { compilePayoutRunForPayment } from "~/models/payout-runs.server";
import { createRecipient, loadRecipientStates } from "~/models/recipients.server";
import { databaseTargets, type TestDatabase } from "../setup/databases";

const MINT = "So11111111111111111111111111111111111111112";
const NOW = new Date("2031-03-01T10:00:00Z");
const DAY = 86_400_000;

describe.each(databaseTargets())("period caps count shares on $name", (target) => {
  let db: TestDatabase;
  let seed = 0;

  beforeAll(async () => {
    db = await target.create();
  });
  afterAll(async () => {
    await db?.destroy();
  });

  /** An organization whose one rule pays 50 %, at most 10,000,000 per 30 days, from 8,000,000 up. */
  async function organization() {
    const org = await db.prisma.organization.create({ data: { slug: `caps-${randomUUID().slice(0, 8)}`, name: "Caps" } });
    const artist = await createRecipient(db.prisma, {
      organizationId: org.id,
      name: "artist",
      walletAddress: Keypair.fromSeed(new Uint8Array(32).fill(++seed + 90)).publicKey.toBase58(),
      mint: MINT,
    });
    const version = await createPolicyVersion(db.prisma, {
      organizationId: org.id,
      policyName: "Capped",
      rules: [{ recipientId: artist.id, kind: "PERCENTAGE", basisPoints: 5000, capPerPeriod: 10_000_000n, periodDays: 30, minPayout: 8_000_000n }],
    });
    await activatePolicyVersion(db.prisma, { organizationId: org.id, versionId: version.id });
    const rule = await db.prisma.payoutRule.findFirstOrThrow({ where: { policyVersionId: version.id } });
    return { org, artist, rule };
  }

  /** A succeeded payment of 1,200 cents (12,000,000 base units: a 6,000,000 share) compiled at `at`. */
  async function compileAt(organizationId: string, at: Date) {
    const row = await db.prisma.payment.create({
      data: {
        organizationId, dodoPaymentId: `pay_${randomUUID()}`, status: "SUCCEEDED", totalAmountMinor: 1_200n, currency: "USD",
        settlementAmountMinor: 1_200n, settlementCurrency: "USD", netSettlementMinor: 1_200n, lastEventAt: at,
      },
    });
    const payment: RecordedPayment = {
      id: row.id, organizationId, dodoPaymentId: row.dodoPaymentId, checkoutSessionId: null, status: "succeeded", totalAmountMinor: 1_200n,
      currency: "USD", settlementAmountMinor: 1_200n, settlementCurrency: "USD", refundedAmountMinor: 0n, netSettlementMinor: 1_200n, payoutHold: null,
    };
    const compiled = await db.transaction((tx) => compilePayoutRunForPayment(tx, payment, { now: at }));
    return db.prisma.payoutRun.findUniqueOrThrow({ where: { id: compiled.payoutRunId! }, include: { transfers: true, ruleShares: true } });
  }

  it("a share that accrued counts at once: the next payment gets only what is left of the cap", async () => {
    const { org, artist, rule } = await organization();
    const first = await compileAt(org.id, NOW); // 6,000,000 accrues (under 8,000,000)
    expect(first.transfers).toEqual([]);
    expect(first.ruleShares.map((s) => [s.ruleId, s.share])).toEqual([[rule.id, 6_000_000n]]);
    const second = await compileAt(org.id, new Date(NOW.getTime() + 1000)); // 4,000,000 left of the cap; with the accrual, paid
    expect(second.ruleShares.map((s) => s.share)).toEqual([4_000_000n]);
    expect(second.transfers.map((t) => t.amount)).toEqual([10_000_000n]);
    // counting transfers, the first share would not have counted and the second would have been 6,000,000
    const third = await compileAt(org.id, new Date(NOW.getTime() + 2000));
    expect(third.ruleShares).toEqual([]);
    expect(third.treasuryRemainder).toBe(12_000_000n);
    const { states } = await loadRecipientStates(db, org.id, [artist.id]);
    expect(states.get(artist.id)!.balance).toBe(0n);
  });

  it("a balance accrued before the period is paid without charging this period's cap", async () => {
    const { org } = await organization();
    await compileAt(org.id, new Date(NOW.getTime() - 40 * DAY)); // 6,000,000 accrued 40 days ago
    const now = await compileAt(org.id, NOW); // 6,000,000 more: 12,000,000 paid, 6,000,000 of it this period's
    expect(now.transfers.map((t) => t.amount)).toEqual([12_000_000n]);
    const next = await compileAt(org.id, new Date(NOW.getTime() + 1000)); // 4,000,000 of the cap left
    expect(next.ruleShares.map((s) => s.share)).toEqual([4_000_000n]);
    // counting transfers, the 12,000,000 paid would have used up the whole cap (and more)
  });

  it("a cancelled run's share no longer counts", async () => {
    const { org } = await organization();
    const first = await compileAt(org.id, NOW);
    await db.prisma.payoutRun.update({ where: { id: first.id }, data: { status: "CANCELLED", cancelReason: "test: refunded" } });
    const second = await compileAt(org.id, new Date(NOW.getTime() + 1000));
    expect(second.ruleShares.map((s) => s.share)).toEqual([6_000_000n]);
  });
});
