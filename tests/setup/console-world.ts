// Two organizations as the console's payments, recipients and policies pages see them: signed-in people of
// every role (and an operator of the other organization), recipients, an active policy version, and
// payments with chosen states, amounts, currencies and dates. What these pages may change is captured by
// `snapshot`, so that a refused request can be shown to have changed nothing.
import { Keypair } from "@solana/web3.js";
import type { PaymentStatus } from "~/generated/prisma/client";
import { ensureDefaultOrganization } from "~/models/organizations.server";
import { activatePolicyVersion, createPolicyVersion } from "~/models/policies.server";
import { createRecipient } from "~/models/recipients.server";
import type { TestDatabase } from "./databases";
import { createTestOrganization, signedInOperator, type SignedInOperator } from "./operators";

/** A payout mint for derived token accounts (no chain needed: derivation is pure). */
export const TEST_MINT = Keypair.generate().publicKey;

export interface ConsoleWorld {
  organizationId: string;
  otherOrganizationId: string;
  admin: SignedInOperator;
  operator: SignedInOperator;
  viewer: SignedInOperator;
  /** An operator (role OPERATOR) of the other organization. */
  stranger: SignedInOperator;
  recipients: { ada: string; bea: string; cy: string };
  /** A recipient of the other organization. */
  foreignRecipient: string;
  /** The active version (v1 of "default": Ada 50 %). */
  policyV1: string;
  /** A version of the other organization. */
  foreignVersion: string;
}

export function newWallet(): string {
  return Keypair.generate().publicKey.toBase58();
}

/** `useDefaultOrganization`: the deployment's default organization, which owns webhook payments that name no checkout. */
export async function createConsoleWorld(db: TestDatabase, options: { useDefaultOrganization?: boolean } = {}): Promise<ConsoleWorld> {
  const prisma = db.prisma;
  const org = options.useDefaultOrganization ? await ensureDefaultOrganization(prisma) : await createTestOrganization(prisma, "Console org");
  const other = await createTestOrganization(prisma, "Other org");
  const recipient = (organizationId: string, name: string) => createRecipient(prisma, { organizationId, name, walletAddress: newWallet(), mint: TEST_MINT.toBase58() });
  const [ada, bea, cy, foreign] = [await recipient(org.id, "Ada"), await recipient(org.id, "Bea"), await recipient(org.id, "Cy"), await recipient(other.id, "Foreign")];
  const v1 = await createPolicyVersion(prisma, { organizationId: org.id, policyName: "default", rules: [{ recipientId: ada.id, kind: "PERCENTAGE", basisPoints: 5000 }] });
  await activatePolicyVersion(prisma, { organizationId: org.id, versionId: v1.id });
  const foreignVersion = await createPolicyVersion(prisma, { organizationId: other.id, policyName: "theirs", rules: [{ recipientId: foreign.id, kind: "PERCENTAGE", basisPoints: 100 }] });
  return {
    organizationId: org.id,
    otherOrganizationId: other.id,
    admin: await signedInOperator(prisma, { organizationId: org.id, role: "ADMIN" }),
    operator: await signedInOperator(prisma, { organizationId: org.id, role: "OPERATOR" }),
    viewer: await signedInOperator(prisma, { organizationId: org.id, role: "VIEWER" }),
    stranger: await signedInOperator(prisma, { organizationId: other.id, role: "OPERATOR" }),
    recipients: { ada: ada.id, bea: bea.id, cy: cy.id },
    foreignRecipient: foreign.id,
    policyV1: v1.id,
    foreignVersion: foreignVersion.id,
  };
}

/** A payment row as the webhook would leave it, with a chosen creation time. */
export async function insertPayment(
  db: TestDatabase,
  args: { organizationId: string; dodoPaymentId: string; status: PaymentStatus; total: bigint; currency?: string; createdAt: Date },
) {
  return db.prisma.payment.create({
    data: {
      organizationId: args.organizationId,
      dodoPaymentId: args.dodoPaymentId,
      status: args.status,
      totalAmountMinor: args.total,
      currency: args.currency ?? "USD",
      settlementAmountMinor: args.total,
      settlementCurrency: args.currency ?? "USD",
      netSettlementMinor: args.status === "SUCCEEDED" ? args.total : null,
      lastEventAt: args.createdAt,
      createdAt: args.createdAt,
    },
  });
}

/** Everything the recipients and policies pages could change. */
export async function snapshot(db: TestDatabase) {
  const p = db.prisma;
  const [recipients, versions, rules, audit, policies] = await Promise.all([
    p.recipient.findMany({ orderBy: { id: "asc" } }),
    p.payoutPolicyVersion.findMany({ orderBy: { id: "asc" }, select: { id: true, status: true, version: true } }),
    p.payoutRule.count(),
    p.auditLog.count(),
    p.payoutPolicy.count(),
  ]);
  return { recipients, versions, rules, audit, policies };
}
