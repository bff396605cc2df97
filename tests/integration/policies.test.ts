// Recipients and payout policies against the database (PGlite, and PostgreSQL when DATABASE_URL is set):
// wallet validation and ownership proof, policy versions validated before insert, activation, loading.
import { randomUUID } from "node:crypto";
import { ed25519 } from "@noble/curves/ed25519";
import { getAssociatedTokenAddressSync } from "@solana/spl-token";
import { Keypair, PublicKey } from "@solana/web3.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PrismaClient } from "~/generated/prisma/client";
import { isValidatedPolicy, PolicyError } from "~/ledger/policy";
import { createPolicyVersion, activatePolicyVersion, loadActivePolicy, PolicyModelError } from "~/models/policies.server";
import {
  createRecipient,
  issueWalletChallenge,
  loadRecipientStates,
  recordClawback,
  RecipientError,
  setRecipientStatus,
  verifyRecipientWallet,
} from "~/models/recipients.server";
import { toDatabaseError } from "~/utils/db-errors.server";
import { databaseTargets, type TestDatabase } from "../setup/databases";

const MINT = "So11111111111111111111111111111111111111112";

function keypairFor(label: string): { keypair: Keypair; seed: Uint8Array } {
  const seed = new Uint8Array(32);
  for (let i = 0; i < label.length; i++) seed[i % 32] = (seed[i % 32]! * 31 + label.charCodeAt(i)) & 0xff;
  seed[31] = label.length;
  return { keypair: Keypair.fromSeed(seed), seed };
}

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (error) {
    const typed = toDatabaseError(error) as { code?: string };
    return typed.code;
  }
  return undefined;
}

describe.each(databaseTargets())("recipients and policies on $name", (target) => {
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

  async function newRecipient(organizationId: string, label: string) {
    const { keypair } = keypairFor(`${organizationId}:${label}`);
    return createRecipient(prisma, { organizationId, name: label, walletAddress: keypair.publicKey.toBase58(), mint: MINT });
  }

  describe("recipients", () => {
    it("stores the wallet and its derived associated token account", async () => {
      const org = await newOrganization();
      const { keypair } = keypairFor("artist");
      const recipient = await createRecipient(prisma, { organizationId: org.id, name: " Artist ", walletAddress: keypair.publicKey.toBase58(), mint: MINT });
      expect(recipient).toMatchObject({ name: "Artist", walletKind: "ED25519", tokenAccountDerived: true, status: "ACTIVE", walletVerifiedAt: null });
      expect(recipient.tokenAccount).toBe(getAssociatedTokenAddressSync(new PublicKey(MINT), keypair.publicKey).toBase58());
    });

    it("error: the same wallet twice in one organization", async () => {
      const org = await newOrganization();
      const { keypair } = keypairFor("twice");
      const input = { organizationId: org.id, name: "A", walletAddress: keypair.publicKey.toBase58(), mint: MINT };
      await createRecipient(prisma, input);
      expect(await codeOf(createRecipient(prisma, { ...input, name: "B" }))).toBe("RECIPIENT_WALLET_TAKEN");
    });

    it("error: an off-curve wallet unless marked as a PDA owner", async () => {
      const org = await newOrganization();
      const pda = getAssociatedTokenAddressSync(new PublicKey(MINT), keypairFor("owner").keypair.publicKey).toBase58();
      expect(await codeOf(createRecipient(prisma, { organizationId: org.id, name: "Vault", walletAddress: pda, mint: MINT }))).toBe("WALLET_OFF_CURVE");
      const accepted = await createRecipient(prisma, { organizationId: org.id, name: "Vault", walletAddress: pda, walletKind: "PDA_OWNER", mint: MINT });
      expect(accepted.walletKind).toBe("PDA_OWNER");
      // a PDA cannot sign, so it is never offered a challenge it could not answer
      expect(await codeOf(issueWalletChallenge(prisma, { organizationId: org.id, recipientId: accepted.id, now: new Date() }))).toBe(
        "RECIPIENT_WALLET_CANNOT_SIGN",
      );
    });

    it("proves wallet ownership once with a real signature", async () => {
      const org = await newOrganization();
      const { keypair, seed } = keypairFor("signer");
      const recipient = await createRecipient(prisma, { organizationId: org.id, name: "Signer", walletAddress: keypair.publicKey.toBase58(), mint: MINT });
      const now = new Date("2026-11-25T10:00:00Z");
      const challenge = await issueWalletChallenge(prisma, { organizationId: org.id, recipientId: recipient.id, now });
      expect(challenge.message).toContain(`Recipient: ${recipient.id}`);
      // a signature over another text is refused and leaves the challenge usable
      const wrong = ed25519.sign(new TextEncoder().encode(`${challenge.message}.`), seed);
      expect(await codeOf(verifyRecipientWallet(prisma, { organizationId: org.id, challengeId: challenge.challengeId, signature: wrong, now }))).toBe(
        "SIGNATURE_INVALID",
      );
      const signature = ed25519.sign(new TextEncoder().encode(challenge.message), seed);
      const verified = await verifyRecipientWallet(prisma, { organizationId: org.id, challengeId: challenge.challengeId, signature, now });
      expect(verified.walletVerifiedAt?.toISOString()).toBe(now.toISOString());
      expect(await codeOf(verifyRecipientWallet(prisma, { organizationId: org.id, challengeId: challenge.challengeId, signature, now }))).toBe(
        "CHALLENGE_USED",
      );
      // another organization cannot use the challenge
      const other = await newOrganization();
      const second = await issueWalletChallenge(prisma, { organizationId: org.id, recipientId: recipient.id, now });
      expect(await codeOf(verifyRecipientWallet(prisma, { organizationId: other.id, challengeId: second.challengeId, signature, now }))).toBe(
        "CHALLENGE_NOT_FOUND",
      );
    });

    it("error: an expired challenge", async () => {
      const org = await newOrganization();
      const { keypair, seed } = keypairFor("late");
      const recipient = await createRecipient(prisma, { organizationId: org.id, name: "Late", walletAddress: keypair.publicKey.toBase58(), mint: MINT });
      const now = new Date("2026-11-25T10:00:00Z");
      const challenge = await issueWalletChallenge(prisma, { organizationId: org.id, recipientId: recipient.id, now, ttlMs: 60_000 });
      const signature = ed25519.sign(new TextEncoder().encode(challenge.message), seed);
      const later = new Date(now.getTime() + 60_000);
      expect(await codeOf(verifyRecipientWallet(prisma, { organizationId: org.id, challengeId: challenge.challengeId, signature, now: later }))).toBe(
        "CHALLENGE_EXPIRED",
      );
    });

    it("a removed recipient stays removed", async () => {
      const org = await newOrganization();
      const recipient = await newRecipient(org.id, "gone");
      await setRecipientStatus(prisma, { organizationId: org.id, recipientId: recipient.id, status: "PAUSED" });
      await setRecipientStatus(prisma, { organizationId: org.id, recipientId: recipient.id, status: "REMOVED" });
      const error = await setRecipientStatus(prisma, { organizationId: org.id, recipientId: recipient.id, status: "ACTIVE" }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RecipientError);
      expect((error as RecipientError).code).toBe("RECIPIENT_REMOVED");
    });

    it("folds balance entries into balances and open clawbacks, in id order", async () => {
      const org = await newOrganization();
      const a = await newRecipient(org.id, "a");
      const b = await newRecipient(org.id, "b");
      const base = { organizationId: org.id, tokenDecimals: 6 };
      await prisma.recipientBalanceEntry.createMany({
        data: [
          { ...base, recipientId: a.id, kind: "ACCRUAL", amount: 700n },
          { ...base, recipientId: a.id, kind: "ACCRUAL", amount: 300n },
          { ...base, recipientId: a.id, kind: "ACCRUAL_PAID", amount: 250n },
        ],
      });
      await recordClawback(prisma, { ...base, recipientId: b.id, amount: 90n, memo: "refund after settlement" });
      await prisma.recipientBalanceEntry.create({ data: { ...base, recipientId: b.id, kind: "CLAWBACK_NETTED", amount: 40n } });
      const { states } = await loadRecipientStates(db, org.id, [b.id, a.id]);
      expect(states.get(a.id)).toMatchObject({ balance: 750n, clawbackOwed: 0n, walletVerified: false, status: "ACTIVE" });
      expect(states.get(b.id)).toMatchObject({ balance: 0n, clawbackOwed: 50n });
      const ids = [...states.keys()];
      expect(ids).toEqual([...ids].sort());
      expect(await codeOf(recordClawback(prisma, { ...base, recipientId: b.id, amount: 0n }))).toBe("CLAWBACK_AMOUNT_INVALID");
    });
  });

  describe("policy versions", () => {
    it("creates numbered versions and activates one at a time", async () => {
      const org = await newOrganization();
      const a = await newRecipient(org.id, "a");
      const b = await newRecipient(org.id, "b");
      const v1 = await createPolicyVersion(prisma, {
        organizationId: org.id,
        policyName: "Default split",
        rules: [
          { recipientId: a.id, kind: "PERCENTAGE", basisPoints: 6000, minPayout: 5_000_000n },
          { recipientId: b.id, kind: "FIXED", fixedAmount: 250_000n, priority: 1, capPerPeriod: 10_000_000n, periodDays: 30 },
        ],
      });
      const v2 = await createPolicyVersion(prisma, { organizationId: org.id, policyName: "Default split", rules: [{ recipientId: a.id, kind: "PERCENTAGE", basisPoints: 10_000 }] });
      expect([v1.version, v2.version]).toEqual([1, 2]);
      expect(v1.status).toBe("DRAFT");
      expect(await loadActivePolicy(db, org.id)).toBeNull();

      await activatePolicyVersion(prisma, { organizationId: org.id, versionId: v1.id });
      const loaded = await loadActivePolicy(db, org.id);
      expect(loaded?.policy).toMatchObject({ id: v1.id, version: 1, requireVerifiedRecipients: false });
      expect(isValidatedPolicy(loaded!.policy)).toBe(true);
      const recipientIds = loaded!.policy.rules.map((rule) => rule.recipientId);
      expect(recipientIds).toEqual([a.id, b.id].sort());
      const fixedRule = loaded!.policy.rules.find((rule) => rule.kind === "FIXED")!;
      expect(fixedRule).toMatchObject({ fixedAmount: 250_000n, priority: 1, capPerPeriod: 10_000_000n });
      expect(loaded!.periodDays.get(fixedRule.id)).toBe(30);

      await activatePolicyVersion(prisma, { organizationId: org.id, versionId: v2.id });
      const statuses = await prisma.payoutPolicyVersion.findMany({ where: { organizationId: org.id }, orderBy: { version: "asc" } });
      expect(statuses.map((v) => v.status)).toEqual(["RETIRED", "ACTIVE"]);
      const error = await activatePolicyVersion(prisma, { organizationId: org.id, versionId: v1.id }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PolicyModelError);
      expect((error as PolicyModelError).code).toBe("POLICY_VERSION_NOT_DRAFT");
    });

    it("error: invalid rules are refused before anything is written, naming the rule", async () => {
      const org = await newOrganization();
      const a = await newRecipient(org.id, "a");
      const removed = await newRecipient(org.id, "removed");
      await setRecipientStatus(prisma, { organizationId: org.id, recipientId: removed.id, status: "REMOVED" });
      const stranger = await newRecipient((await newOrganization()).id, "stranger");
      const cases: Array<[string, Parameters<typeof createPolicyVersion>[1]["rules"]]> = [
        ["RULE_BPS_SUM_EXCEEDED", [{ recipientId: a.id, kind: "PERCENTAGE", basisPoints: 10_001 - 1 }, { recipientId: removed.id, kind: "PERCENTAGE", basisPoints: 2 }]],
        ["RULE_RECIPIENT_REMOVED", [{ recipientId: removed.id, kind: "PERCENTAGE", basisPoints: 100 }]],
        ["RULE_RECIPIENT_UNKNOWN", [{ recipientId: stranger.id, kind: "PERCENTAGE", basisPoints: 100 }]],
        ["RULE_RECIPIENT_DUPLICATE", [{ recipientId: a.id, kind: "PERCENTAGE", basisPoints: 100 }, { recipientId: a.id, kind: "FIXED", fixedAmount: 5n }]],
        ["RULE_FIXED_AMOUNT_INVALID", [{ recipientId: a.id, kind: "FIXED", fixedAmount: 0n }]],
        ["RULE_CAP_INVALID", [{ recipientId: a.id, kind: "FIXED", fixedAmount: 5n, capPerPeriod: 100n }]],
      ];
      for (const [code, rules] of cases) {
        const error = await createPolicyVersion(prisma, { organizationId: org.id, policyName: "Bad", rules }).catch((e: unknown) => e);
        expect(error, code).toBeInstanceOf(PolicyError);
        expect((error as PolicyError).issues.map((issue) => issue.code), code).toContain(code);
      }
      expect(await prisma.payoutPolicyVersion.count({ where: { organizationId: org.id } })).toBe(0);
      const named = (await createPolicyVersion(prisma, {
        organizationId: org.id,
        policyName: "Bad",
        rules: [{ recipientId: a.id, kind: "PERCENTAGE", basisPoints: 100 }, { recipientId: removed.id, kind: "PERCENTAGE", basisPoints: 100 }],
      }).catch((e: unknown) => e)) as PolicyError;
      expect(named).toBeInstanceOf(PolicyError);
      expect(named.issues[0]).toMatchObject({ code: "RULE_RECIPIENT_REMOVED", ruleIndex: 1, recipientId: removed.id });
    });
  });
});
