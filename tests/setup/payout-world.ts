// One organization with recipients and an active payout policy, fed by signed Dodo deliveries through the
// real webhook handler, compiled by the real worker drain, and settled the way the executor will move runs
// (advancePayoutRun): the fixture of the ledger-rules tests. Its payments come through a checkout of the
// organization (metadata + Dodo's session id + the amount), so several worlds can share one database.
import { randomUUID } from "node:crypto";
import { Keypair } from "@solana/web3.js";
import { handleDodoWebhook } from "~/integrations/dodo-webhook-handler.server";
import { DodoWebhookVerifier, generateWebhookSecret } from "~/integrations/webhook-verification.server";
import type { PayoutSchedule } from "~/ledger/payout-schedule";
import { drainPayoutRunRequests } from "~/models/payout-run-worker.server";
import { advancePayoutRun } from "~/models/payout-run-lifecycle.server";
import { activatePolicyVersion, createPolicyVersion, type PolicyRuleInput } from "~/models/policies.server";
import { createRecipient, loadRecipientStates } from "~/models/recipients.server";
import { dodoId, signed, type SignedBody } from "../mocks/dodo-payloads";
import type { TestDatabase } from "./databases";

const MINT = "So11111111111111111111111111111111111111112";
let walletCounter = 0;

export interface PayoutWorld {
  db: TestDatabase;
  organizationId: string;
  /** Recipient ids in ascending id order (rule i of the policy goes to recipient i). */
  recipients: string[];
  secret: string;
  /** A checkout of this organization for a payment of `amount`: the metadata and session id Dodo echoes. */
  checkout(amount: bigint, currency?: string): Promise<{ metadata: Record<string, string>; checkoutSessionId: string }>;
  sign(event: unknown, webhookId?: string): SignedBody;
  deliver(delivery: SignedBody): Promise<Response>;
  drain(now?: Date): ReturnType<typeof drainPayoutRunRequests>;
  /** Moves the payment's live run READY -> APPROVED -> EXECUTING -> SETTLED; false when it cannot (held, accrual). */
  settle(dodoPaymentId: string): Promise<boolean>;
  /** Every run of a payment, oldest first. */
  runsOf(dodoPaymentId: string): ReturnType<TestDatabase["prisma"]["payoutRun"]["findMany"]>;
  /** What the ledger holds for the organization, from its rows (see LedgerMoney). */
  money(): Promise<LedgerMoney>;
}

export interface LedgerMoney {
  /** Per recipient: transfers of live runs, accrued balance, clawback owed (folded as the compiler reads them). */
  recipients: Record<string, { transferred: bigint; balance: bigint; owed: bigint }>;
  /** Treasury remainders of live runs. */
  remainder: bigint;
  /** Per executed run: what it distributed minus its payment's basis now (the deduction after execution). */
  executedDeduction: bigint;
  /** Net clawbacks recorded against executed runs (CLAWBACK - CLAWBACK_REVERSED). */
  clawbacks: bigint;
}

export async function createPayoutWorld(
  db: TestDatabase,
  options: { rules: (recipients: string[]) => PolicyRuleInput[]; recipientCount: number; schedule?: PayoutSchedule; timeZone?: string },
): Promise<PayoutWorld> {
  const prisma = db.prisma;
  const organization = await prisma.organization.create({
    data: { slug: `org-${randomUUID().slice(0, 8)}`, name: "Ledger world", timeZone: options.timeZone ?? "UTC" },
  });
  const recipients: string[] = [];
  for (let i = 0; i < options.recipientCount; i++) {
    const seed = new Uint8Array(32);
    seed.set(new TextEncoder().encode(`world:${++walletCounter}:${organization.id.slice(0, 8)}`).slice(0, 32));
    const recipient = await createRecipient(prisma, {
      organizationId: organization.id,
      name: `recipient ${i}`,
      walletAddress: Keypair.fromSeed(seed).publicKey.toBase58(),
      mint: MINT,
    });
    recipients.push(recipient.id);
  }
  recipients.sort();
  const version = await createPolicyVersion(prisma, {
    organizationId: organization.id,
    policyName: "Split",
    payoutSchedule: options.schedule ?? "INSTANT",
    rules: options.rules(recipients),
  });
  await activatePolicyVersion(prisma, { organizationId: organization.id, versionId: version.id });
  const secret = generateWebhookSecret();
  const verifier = new DodoWebhookVerifier(secret);
  const organizationId = organization.id;

  return {
    db,
    organizationId,
    recipients,
    secret,
    async checkout(amount, currency = "USD") {
      const checkoutSessionId = dodoId("cks");
      const row = await prisma.checkoutSession.create({
        data: { organizationId, amountMinor: amount, currency, customerEmail: "c@example.com", customerName: "C", status: "REDIRECTED", dodoSessionId: checkoutSessionId },
      });
      return { metadata: { stableflow_checkout_id: row.id, stableflow_org: organizationId }, checkoutSessionId };
    },
    sign: (event, webhookId) => signed(secret, event, { webhookId }),
    deliver(delivery) {
      return handleDodoWebhook(
        new Request("http://127.0.0.1/api/webhooks/dodo", { method: "POST", headers: delivery.headers, body: delivery.body }),
        { db, verifier },
      );
    },
    drain: (now) => drainPayoutRunRequests(db, { now, limit: 10_000 }),
    async settle(dodoPaymentId) {
      const run = await prisma.payoutRun.findFirst({ where: { payment: { dodoPaymentId }, status: { not: "CANCELLED" } } });
      if (!run || run.kind === "ACCRUAL" || run.holdReason || !["READY", "APPROVED"].includes(run.status)) return false;
      const steps = run.status === "READY" ? (["APPROVED", "EXECUTING", "SETTLED"] as const) : (["EXECUTING", "SETTLED"] as const);
      for (const to of steps) await advancePayoutRun(db, { runId: run.id, to, actor: "executor" });
      return true;
    },
    runsOf: (dodoPaymentId) => prisma.payoutRun.findMany({ where: { payment: { dodoPaymentId } }, orderBy: { seq: "asc" } }),
    async money() {
      const { states } = await loadRecipientStates(db, organizationId, recipients);
      const live = await prisma.payoutRun.findMany({
        where: { organizationId, status: { not: "CANCELLED" } },
        include: { transfers: true, payment: true },
      });
      const out: LedgerMoney = { recipients: {}, remainder: 0n, executedDeduction: 0n, clawbacks: 0n };
      for (const id of recipients) out.recipients[id] = { transferred: 0n, balance: states.get(id)!.balance, owed: states.get(id)!.clawbackOwed };
      for (const run of live) {
        out.remainder += run.treasuryRemainder;
        for (const t of run.transfers) out.recipients[t.recipientId]!.transferred += t.amount;
        if (["EXECUTING", "SETTLED", "PARTIAL"].includes(run.status) && run.payment) {
          const basis = (run.payment.netSettlementMinor ?? 0n) * 10n ** BigInt(run.tokenDecimals - 2);
          out.executedDeduction += run.distributable - basis;
        }
      }
      const clawbacks = await prisma.recipientBalanceEntry.findMany({ where: { organizationId, kind: { in: ["CLAWBACK", "CLAWBACK_REVERSED"] } } });
      for (const entry of clawbacks) out.clawbacks += entry.kind === "CLAWBACK" ? entry.amount : -entry.amount;
      return out;
    },
  };
}
