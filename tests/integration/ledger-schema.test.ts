// The migrations and the Prisma schema describe the same database: every model is created, read
// back and refused on a duplicate key through the Prisma client, on PGlite and on real PostgreSQL.
// The rules the database enforces (insert-only rows, CHECKs, immutable used policy versions,
// legal run transitions) are proven here too.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConstraintViolationError, UniqueViolationError, toDatabaseError, withDatabaseErrors } from "~/utils/db-errors.server";
import type { PrismaClient } from "~/generated/prisma/client";
import { openDatabase } from "~/utils/db.server";
import { databaseTargets, type TestDatabase } from "../setup/databases";

const WALLET_A = "9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin";
const WALLET_B = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v";
const TOKEN_ACCOUNT = "Es9vMFrzaCERmJfrF4H2FYD4KCoNkY11McCe8BenwNYB";
const PLAN_HASH = "ab".repeat(32);

/** Builds one row of every model, in dependency order, returning the ids. */
async function buildLedgerGraph(prisma: PrismaClient) {
  const org = await prisma.organization.create({ data: { slug: `org-${randomUUID().slice(0, 8)}`, name: "Acme Audio" } });
  const operator = await prisma.operator.create({
    data: { organizationId: org.id, email: "ops@acme.test", name: "Ops", role: "ADMIN", passwordHash: "scrypt$x" },
  });
  const session = await prisma.operatorSession.create({
    data: { operatorId: operator.id, tokenHash: "h".repeat(64), expiresAt: new Date(Date.now() + 3600_000) },
  });
  const product = await prisma.product.create({
    data: { organizationId: org.id, dodoProductId: "pdt_1", name: "Plugin", priceMinor: 4_999n, currency: "USD" },
  });
  const checkout = await prisma.checkoutSession.create({
    data: {
      organizationId: org.id, productId: product.id, amountMinor: 4_999n, currency: "USD",
      customerEmail: "buyer@example.test", customerName: "Buyer", dodoSessionId: "cks_1",
    },
  });
  const webhookEvent = await prisma.webhookEvent.create({
    data: {
      organizationId: org.id, webhookId: "msg_1", eventType: "payment.succeeded", webhookTimestamp: new Date(),
      rawBody: '{"type":"payment.succeeded"}', headers: { "webhook-id": "msg_1" },
    },
  });
  const payment = await prisma.payment.create({
    data: {
      organizationId: org.id, dodoPaymentId: "pay_1", checkoutSessionId: checkout.id, status: "SUCCEEDED",
      totalAmountMinor: 4_999n, currency: "USD", settlementAmountMinor: 4_850n, settlementCurrency: "USD",
      lastEventAt: new Date(),
    },
  });
  const refund = await prisma.refund.create({
    data: {
      organizationId: org.id, dodoRefundId: "ref_1", dodoPaymentId: "pay_1", paymentId: payment.id,
      amountMinor: 1_000n, currency: "USD", status: "SUCCEEDED", lastEventAt: new Date(),
    },
  });
  const dispute = await prisma.dispute.create({
    data: {
      organizationId: org.id, dodoDisputeId: "dsp_1", dodoPaymentId: "pay_1", paymentId: payment.id,
      amountMinor: 4_999n, currency: "USD", status: "OPENED", lastEventAt: new Date(),
    },
  });
  const recipient = await prisma.recipient.create({
    data: { organizationId: org.id, name: "Artist", walletAddress: WALLET_A, tokenAccount: TOKEN_ACCOUNT },
  });
  const challenge = await prisma.walletChallenge.create({
    data: { recipientId: recipient.id, message: "StableFlow wallet proof", expiresAt: new Date(Date.now() + 600_000) },
  });
  const policy = await prisma.payoutPolicy.create({ data: { organizationId: org.id, name: "Default" } });
  const policyVersion = await prisma.payoutPolicyVersion.create({
    data: { policyId: policy.id, organizationId: org.id, version: 1, status: "ACTIVE" },
  });
  const rule = await prisma.payoutRule.create({
    data: { policyVersionId: policyVersion.id, recipientId: recipient.id, kind: "PERCENTAGE", basisPoints: 7_000 },
  });
  const run = await prisma.payoutRun.create({
    data: {
      organizationId: org.id, kind: "PAYMENT", paymentId: payment.id, policyVersionId: policyVersion.id,
      tokenDecimals: 6, distributable: 48_500_000n, totalTransfers: 33_950_000n, treasuryRemainder: 14_550_000n,
    },
  });
  const balanceEntry = await prisma.recipientBalanceEntry.create({
    data: { organizationId: org.id, recipientId: recipient.id, kind: "ACCRUAL", amount: 10n, tokenDecimals: 6, paymentId: payment.id, payoutRunId: run.id },
  });
  const transfer = await prisma.payoutTransfer.create({
    data: { runId: run.id, recipientId: recipient.id, ruleId: rule.id, tokenAccount: TOKEN_ACCOUNT, amount: 33_950_000n },
  });
  const batch = await prisma.splitBatch.create({
    data: { runId: run.id, batchIndex: 0, recipientCount: 1, total: 33_950_000n, planHash: PLAN_HASH },
  });
  const batchItem = await prisma.splitBatchItem.create({ data: { batchId: batch.id, transferId: transfer.id, position: 0 } });
  const batchEvent = await prisma.splitBatchEvent.create({
    data: {
      batchId: batch.id, status: "SIGNED", signature: "5".repeat(88), blockhash: "B".repeat(44), lastValidBlockHeight: 150n,
      transaction: Uint8Array.from([1, 2, 3]),
    },
  });
  const approval = await prisma.payoutApproval.create({ data: { runId: run.id, operatorId: operator.id, decision: "APPROVE" } });
  const audit = await prisma.auditLog.create({
    data: { organizationId: org.id, actorType: "SYSTEM", action: "run.compiled", entityType: "payout_run", entityId: run.id, data: { total: "33950000" } },
  });
  const ruleShare = await prisma.payoutRuleShare.create({ data: { runId: run.id, ruleId: rule.id, share: 33_950_000n, createdAt: new Date() } });
  const conflict = await prisma.webhookEventConflict.create({
    data: { webhookId: webhookEvent.webhookId, bodySha256: "c".repeat(64), rawBody: "{}", headers: { "webhook-id": "msg_1" } },
  });
  const window = await prisma.payoutWindow.create({
    data: { organizationId: org.id, schedule: "DAILY", timeZone: "Europe/Berlin", startsAt: new Date("2031-01-01T23:00:00Z"), endsAt: new Date("2031-01-02T23:00:00Z") },
  });
  return {
    org, operator, session, product, checkout, webhookEvent, payment, refund, dispute, recipient, challenge, policy,
    policyVersion, rule, run, balanceEntry, transfer, batch, batchItem, batchEvent, approval, audit, ruleShare, conflict, window,
  };
}

async function expectUnique(promise: Promise<unknown>) {
  const error = await withDatabaseErrors(() => promise).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(UniqueViolationError);
  expect((error as UniqueViolationError).code).toBe("UNIQUE_VIOLATION");
}

async function expectViolation(promise: Promise<unknown>, code: string) {
  const error = await withDatabaseErrors(() => promise).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, `expected ${code}`).toBeInstanceOf(ConstraintViolationError);
  expect((error as ConstraintViolationError).code).toBe(code);
}

describe.each(databaseTargets())("ledger schema on $name", (target) => {
  let db: TestDatabase;
  let prisma: PrismaClient;
  let graph: Awaited<ReturnType<typeof buildLedgerGraph>>;

  beforeAll(async () => {
    db = await target.create();
    prisma = db.prisma;
    graph = await buildLedgerGraph(prisma);
  });
  afterAll(async () => {
    await db?.destroy();
  });

  it("creates and reads back every model with BigInt money intact", async () => {
    const run = await prisma.payoutRun.findUniqueOrThrow({
      where: { id: graph.run.id },
      include: { transfers: true, batches: { include: { items: true, events: true } }, approvals: true, balanceEntries: true },
    });
    expect(run.distributable).toBe(48_500_000n);
    expect(run.totalTransfers + run.treasuryRemainder).toBe(run.distributable);
    expect(run.transfers.map((t) => t.amount)).toEqual([33_950_000n]);
    expect(run.batches[0].items[0].transferId).toBe(graph.transfer.id);
    expect(run.batches[0].events[0].lastValidBlockHeight).toBe(150n);
    expect(run.approvals[0].decision).toBe("APPROVE");
    expect(run.balanceEntries[0].amount).toBe(10n);

    const payment = await prisma.payment.findUniqueOrThrow({
      where: { dodoPaymentId: "pay_1" },
      include: { refunds: true, disputes: true, checkoutSession: { include: { product: true } } },
    });
    expect(payment.settlementAmountMinor).toBe(4_850n);
    expect(payment.refunds[0].amountMinor).toBe(1_000n);
    expect(payment.disputes[0].status).toBe("OPENED");
    expect(payment.checkoutSession?.product?.priceMinor).toBe(4_999n);

    const org = await prisma.organization.findUniqueOrThrow({
      where: { id: graph.org.id },
      include: {
        operators: { include: { sessions: true } }, webhookEvents: true, recipients: { include: { challenges: true, rules: true } },
        payoutPolicies: { include: { versions: true } }, auditLog: true,
      },
    });
    expect(org.operators[0].sessions[0].id).toBe(graph.session.id);
    expect(org.webhookEvents[0].webhookId).toBe("msg_1");
    expect(org.recipients[0].challenges[0].id).toBe(graph.challenge.id);
    expect(org.recipients[0].rules[0].basisPoints).toBe(7_000);
    expect(org.payoutPolicies[0].versions[0].version).toBe(1);
    expect(org.auditLog[0].id).toBe(graph.audit.id);
    expect(typeof graph.audit.id).toBe("bigint");
  });

  it("error: duplicate natural keys are typed unique violations", async () => {
    const { org, operator, recipient, run, batch, policy } = graph;
    await expectUnique(prisma.organization.create({ data: { slug: org.slug, name: "Again" } }));
    await expectUnique(prisma.operator.create({ data: { organizationId: org.id, email: "ops@acme.test", name: "x", role: "VIEWER", passwordHash: "x" } }));
    await expectUnique(prisma.operatorSession.create({ data: { operatorId: operator.id, tokenHash: "h".repeat(64), expiresAt: new Date() } }));
    await expectUnique(prisma.product.create({ data: { organizationId: org.id, dodoProductId: "pdt_1", name: "x", priceMinor: 1n, currency: "USD" } }));
    await expectUnique(prisma.checkoutSession.create({ data: { organizationId: org.id, amountMinor: 1n, currency: "USD", customerEmail: "a@b.c", customerName: "a", dodoSessionId: "cks_1" } }));
    await expectUnique(prisma.webhookEvent.create({ data: { webhookId: "msg_1", eventType: "x", webhookTimestamp: new Date(), rawBody: "{}", headers: {} } }));
    await expectUnique(prisma.payment.create({ data: { organizationId: org.id, dodoPaymentId: "pay_1", status: "PROCESSING", totalAmountMinor: 1n, currency: "USD", lastEventAt: new Date() } }));
    await expectUnique(prisma.refund.create({ data: { organizationId: org.id, dodoRefundId: "ref_1", dodoPaymentId: "pay_1", amountMinor: 1n, currency: "USD", status: "PENDING", lastEventAt: new Date() } }));
    await expectUnique(prisma.dispute.create({ data: { organizationId: org.id, dodoDisputeId: "dsp_1", dodoPaymentId: "pay_1", amountMinor: 1n, currency: "USD", status: "OPENED", lastEventAt: new Date() } }));
    await expectUnique(prisma.recipient.create({ data: { organizationId: org.id, name: "Dup", walletAddress: recipient.walletAddress, tokenAccount: TOKEN_ACCOUNT } }));
    await expectUnique(prisma.payoutPolicy.create({ data: { organizationId: org.id, name: policy.name } }));
    await expectUnique(prisma.payoutPolicyVersion.create({ data: { policyId: policy.id, organizationId: org.id, version: 1 } }));
    await expectUnique(prisma.payoutRun.create({ data: { organizationId: org.id, kind: "PAYMENT", paymentId: run.paymentId, tokenDecimals: 6, distributable: 0n, totalTransfers: 0n, treasuryRemainder: 0n } }));
    await expectUnique(prisma.splitBatch.create({ data: { runId: run.id, batchIndex: 0, recipientCount: 1, total: 1n, planHash: PLAN_HASH } }));
    await expectUnique(prisma.splitBatchItem.create({ data: { batchId: batch.id, transferId: graph.transfer.id, position: 1 } }));
    await expectUnique(prisma.payoutApproval.create({ data: { runId: run.id, operatorId: operator.id, decision: "REJECT" } }));
  });

  it("error: a second row with an existing primary key is a typed unique violation, for every model", async () => {
    const g = graph;
    await expectUnique(prisma.walletChallenge.create({ data: { id: g.challenge.id, recipientId: g.recipient.id, message: "m", expiresAt: new Date() } }));
    // (the rule's own version is locked by its run, so the duplicate goes through an unlocked draft)
    const draft = await prisma.payoutPolicyVersion.create({ data: { policyId: g.policy.id, organizationId: g.org.id, version: 9 } });
    await expectUnique(prisma.payoutRule.create({ data: { id: g.rule.id, policyVersionId: draft.id, recipientId: g.recipient.id, kind: "FIXED", fixedAmount: 1n } }));
    await expectUnique(prisma.recipientBalanceEntry.create({ data: { id: g.balanceEntry.id, organizationId: g.org.id, recipientId: g.recipient.id, kind: "CLAWBACK", amount: 1n, tokenDecimals: 6 } }));
    await expectUnique(prisma.payoutTransfer.create({ data: { id: g.transfer.id, runId: g.run.id, recipientId: g.recipient.id, tokenAccount: TOKEN_ACCOUNT, amount: 1n } }));
    await expectUnique(prisma.splitBatchEvent.create({ data: { id: g.batchEvent.id, batchId: g.batch.id, status: "FAILED" } }));
    await expectUnique(prisma.auditLog.create({ data: { id: g.audit.id, actorType: "SYSTEM", action: "x", entityType: "x", entityId: "x" } }));
  });

  describe("insert-only tables", () => {
    const cases = [
      ["payout_transfers", (p: PrismaClient, g: typeof graph) => p.payoutTransfer.update({ where: { id: g.transfer.id }, data: { amount: 1n } }), (p: PrismaClient, g: typeof graph) => p.payoutTransfer.delete({ where: { id: g.transfer.id } })],
      ["split_batches", (p: PrismaClient, g: typeof graph) => p.splitBatch.update({ where: { id: g.batch.id }, data: { total: 1n } }), (p: PrismaClient, g: typeof graph) => p.splitBatch.delete({ where: { id: g.batch.id } })],
      ["split_batch_items", (p: PrismaClient, g: typeof graph) => p.splitBatchItem.update({ where: { id: g.batchItem.id }, data: { position: 5 } }), (p: PrismaClient, g: typeof graph) => p.splitBatchItem.delete({ where: { id: g.batchItem.id } })],
      ["split_batch_events", (p: PrismaClient, g: typeof graph) => p.splitBatchEvent.update({ where: { id: g.batchEvent.id }, data: { status: "CONFIRMED" } }), (p: PrismaClient, g: typeof graph) => p.splitBatchEvent.delete({ where: { id: g.batchEvent.id } })],
      ["payout_approvals", (p: PrismaClient, g: typeof graph) => p.payoutApproval.update({ where: { id: g.approval.id }, data: { decision: "REJECT" } }), (p: PrismaClient, g: typeof graph) => p.payoutApproval.delete({ where: { id: g.approval.id } })],
      ["audit_log", (p: PrismaClient, g: typeof graph) => p.auditLog.update({ where: { id: g.audit.id }, data: { action: "forged" } }), (p: PrismaClient, g: typeof graph) => p.auditLog.delete({ where: { id: g.audit.id } })],
      ["recipient_balance_entries", (p: PrismaClient, g: typeof graph) => p.recipientBalanceEntry.update({ where: { id: g.balanceEntry.id }, data: { amount: 999n } }), (p: PrismaClient, g: typeof graph) => p.recipientBalanceEntry.delete({ where: { id: g.balanceEntry.id } })],
      ["payout_rule_shares", (p: PrismaClient, g: typeof graph) => p.payoutRuleShare.update({ where: { runId_ruleId: { runId: g.run.id, ruleId: g.rule.id } }, data: { share: 1n } }), (p: PrismaClient, g: typeof graph) => p.payoutRuleShare.delete({ where: { runId_ruleId: { runId: g.run.id, ruleId: g.rule.id } } })],
      ["webhook_event_conflicts", (p: PrismaClient, g: typeof graph) => p.webhookEventConflict.update({ where: { id: g.conflict.id }, data: { rawBody: "forged" } }), (p: PrismaClient, g: typeof graph) => p.webhookEventConflict.delete({ where: { id: g.conflict.id } })],
    ] as const;

    it.each(cases)("error: %s refuses UPDATE and DELETE", async (_table, update, remove) => {
      await expectViolation(update(prisma, graph), "INSERT_ONLY_VIOLATION");
      await expectViolation(remove(prisma, graph), "INSERT_ONLY_VIOLATION");
    });

    it("error: raw SQL UPDATE, DELETE and TRUNCATE are refused too, and the row is unchanged", async () => {
      await expectViolation(prisma.$executeRawUnsafe(`UPDATE payout_transfers SET amount = 1 WHERE id = '${graph.transfer.id}'`), "INSERT_ONLY_VIOLATION");
      await expectViolation(prisma.$executeRawUnsafe(`DELETE FROM audit_log`), "INSERT_ONLY_VIOLATION");
      // With two roles the app's role may not TRUNCATE at all (tests/integration/db-roles.test.ts): the trigger is
      // then proven on the owner, whom no privilege holds back.
      const owner = db.migrationUrl ? await openDatabase({ databaseUrl: db.migrationUrl, poolSize: 1 }) : db;
      try {
        await expectViolation(owner.prisma.$executeRawUnsafe(`TRUNCATE payout_transfers CASCADE`), "INSERT_ONLY_VIOLATION");
      } finally {
        if (owner !== db) await owner.close();
      }
      const transfer = await prisma.payoutTransfer.findUniqueOrThrow({ where: { id: graph.transfer.id } });
      expect(transfer.amount).toBe(33_950_000n);
    });

    it("a correction is a new row pointing at the original", async () => {
      const correction = await prisma.payoutTransfer.create({
        data: { runId: graph.run.id, recipientId: graph.recipient.id, tokenAccount: TOKEN_ACCOUNT, amount: 5n, correctsId: graph.transfer.id },
      });
      const original = await prisma.payoutTransfer.findUniqueOrThrow({ where: { id: graph.transfer.id }, include: { correctedBy: true } });
      expect(original.correctedBy.map((c) => c.id)).toEqual([correction.id]);
    });
  });

  describe("constraints on money and state", () => {
    it("error: negative or zero money is refused", async () => {
      const g = graph;
      await expectViolation(prisma.product.create({ data: { organizationId: g.org.id, dodoProductId: "neg", name: "x", priceMinor: -1n, currency: "USD" } }), "CHECK_VIOLATION");
      await expectViolation(prisma.payoutTransfer.create({ data: { runId: g.run.id, recipientId: g.recipient.id, tokenAccount: TOKEN_ACCOUNT, amount: 0n } }), "CHECK_VIOLATION");
      await expectViolation(prisma.recipientBalanceEntry.create({ data: { organizationId: g.org.id, recipientId: g.recipient.id, kind: "ACCRUAL", amount: -5n, tokenDecimals: 6 } }), "CHECK_VIOLATION");
      await expectViolation(prisma.payment.create({ data: { organizationId: g.org.id, dodoPaymentId: "pay_neg", status: "SUCCEEDED", totalAmountMinor: -100n, currency: "USD", lastEventAt: new Date() } }), "CHECK_VIOLATION");
    });

    it("error: malformed currency, plan hash, basis points and rule terms are refused", async () => {
      const g = graph;
      await expectViolation(prisma.product.create({ data: { organizationId: g.org.id, dodoProductId: "cur", name: "x", priceMinor: 1n, currency: "usd" } }), "CHECK_VIOLATION");
      await expectViolation(prisma.splitBatch.create({ data: { runId: g.run.id, batchIndex: 7, recipientCount: 1, total: 1n, planHash: "not-a-hash" } }), "CHECK_VIOLATION");
      const draft = await prisma.payoutPolicyVersion.create({ data: { policyId: g.policy.id, organizationId: g.org.id, version: 2 } });
      await expectViolation(prisma.payoutRule.create({ data: { policyVersionId: draft.id, recipientId: g.recipient.id, kind: "PERCENTAGE", basisPoints: 10_001 } }), "CHECK_VIOLATION");
      await expectViolation(prisma.payoutRule.create({ data: { policyVersionId: draft.id, recipientId: g.recipient.id, kind: "FIXED", basisPoints: 100 } }), "CHECK_VIOLATION");
    });

    it("error: a batch is never marked sent without a persisted signature", async () => {
      await expectViolation(prisma.splitBatchEvent.create({ data: { batchId: graph.batch.id, status: "SENT" } }), "CHECK_VIOLATION");
    });

    it("error: a second active policy version in one organization is refused", async () => {
      const other = await prisma.payoutPolicy.create({ data: { organizationId: graph.org.id, name: "Other" } });
      await expectUnique(prisma.payoutPolicyVersion.create({ data: { policyId: other.id, organizationId: graph.org.id, version: 1, status: "ACTIVE" } }));
    });

    it("error: a policy version used by a run and its rules never change; retiring it is allowed", async () => {
      const version = await prisma.payoutPolicyVersion.findUniqueOrThrow({ where: { id: graph.policyVersion.id } });
      expect(version.lockedAt).not.toBeNull(); // locked by the run's insert, in the database
      await expectViolation(prisma.payoutPolicyVersion.update({ where: { id: version.id }, data: { requireVerifiedRecipients: true } }), "IMMUTABLE_POLICY_VERSION");
      await expectViolation(prisma.payoutRule.update({ where: { id: graph.rule.id }, data: { basisPoints: 9_000 } }), "IMMUTABLE_POLICY_VERSION");
      await expectViolation(prisma.payoutRule.create({ data: { policyVersionId: version.id, recipientId: graph.recipient.id, kind: "FIXED", fixedAmount: 5n } }), "IMMUTABLE_POLICY_VERSION");
      await expectViolation(prisma.payoutRule.delete({ where: { id: graph.rule.id } }), "IMMUTABLE_POLICY_VERSION");
      const retired = await prisma.payoutPolicyVersion.update({ where: { id: version.id }, data: { status: "RETIRED" } });
      expect(retired.status).toBe("RETIRED");
      await expectViolation(prisma.payoutPolicyVersion.update({ where: { id: version.id }, data: { status: "ACTIVE" } }), "IMMUTABLE_POLICY_VERSION");
    });

    it("payout runs move only along legal edges, and their figures are fixed", async () => {
      const run = graph.run;
      await expectViolation(prisma.payoutRun.update({ where: { id: run.id }, data: { status: "SETTLED" } }), "ILLEGAL_RUN_TRANSITION");
      await expectViolation(prisma.payoutRun.update({ where: { id: run.id }, data: { distributable: 1n } }), "INSERT_ONLY_VIOLATION");
      await expectViolation(prisma.payoutRun.delete({ where: { id: run.id } }), "INSERT_ONLY_VIOLATION");
      for (const status of ["APPROVED", "EXECUTING", "PARTIAL", "EXECUTING", "SETTLED"] as const) {
        const moved = await prisma.payoutRun.update({ where: { id: run.id }, data: { status } });
        expect(moved.status).toBe(status);
      }
      await expectViolation(prisma.payoutRun.update({ where: { id: run.id }, data: { status: "CANCELLED" } }), "ILLEGAL_RUN_TRANSITION");
    });

    it("one live run per payment: a second is refused until the first is cancelled, then it may supersede it; its links are fixed", async () => {
      const g = graph;
      const payment = await prisma.payment.create({
        data: { organizationId: g.org.id, dodoPaymentId: `pay_${randomUUID()}`, status: "SUCCEEDED", totalAmountMinor: 100n, currency: "USD", lastEventAt: new Date() },
      });
      const runOf = (extra: object = {}) =>
        prisma.payoutRun.create({ data: { organizationId: g.org.id, kind: "PAYMENT", paymentId: payment.id, tokenDecimals: 6, distributable: 1n, totalTransfers: 0n, treasuryRemainder: 1n, ...extra } });
      const first = await runOf();
      await expectUnique(runOf());
      await expectViolation(prisma.payoutRun.update({ where: { id: first.id }, data: { cancelReason: "not cancelled" } }), "CHECK_VIOLATION");
      await prisma.payoutRun.update({ where: { id: first.id }, data: { status: "CANCELLED", cancelReason: "refunded" } });
      const second = await runOf({ supersedesRunId: first.id });
      expect(second.seq).toBeGreaterThan(first.seq);
      await expectViolation(prisma.payoutRun.update({ where: { id: second.id }, data: { supersedesRunId: null } }), "INSERT_ONLY_VIOLATION");
      // an accrual run belongs to a payment too; a sweep to none
      await expectViolation(prisma.payoutRun.create({ data: { organizationId: g.org.id, kind: "ACCRUAL", tokenDecimals: 6, distributable: 0n, totalTransfers: 0n, treasuryRemainder: 0n } }), "CHECK_VIOLATION");
    });

    it("one live sweep per schedule window, and one window per (organization, schedule, start)", async () => {
      const g = graph;
      const sweep = () =>
        prisma.payoutRun.create({ data: { organizationId: g.org.id, kind: "SWEEP", payoutWindowId: g.window.id, tokenDecimals: 6, distributable: 0n, totalTransfers: 0n, treasuryRemainder: 0n } });
      await sweep();
      await expectUnique(sweep());
      await expectUnique(prisma.payoutWindow.create({ data: { organizationId: g.org.id, schedule: "DAILY", timeZone: "UTC", startsAt: g.window.startsAt, endsAt: g.window.endsAt } }));
      await expectViolation(prisma.payoutWindow.create({ data: { organizationId: g.org.id, schedule: "INSTANT", timeZone: "UTC", startsAt: new Date(1), endsAt: new Date(2) } }), "CHECK_VIOLATION");
    });
  });

  it("interactive transactions roll back every write when one fails", async () => {
    const before = await prisma.auditLog.count();
    const error = await prisma
      .$transaction(async (tx) => {
        await tx.auditLog.create({ data: { actorType: "SYSTEM", action: "inside", entityType: "x", entityId: "1" } });
        await tx.payoutTransfer.create({ data: { runId: graph.run.id, recipientId: graph.recipient.id, tokenAccount: TOKEN_ACCOUNT, amount: 0n } });
      })
      .catch((e: unknown) => toDatabaseError(e));
    expect(error).toBeInstanceOf(ConstraintViolationError);
    expect(await prisma.auditLog.count()).toBe(before);
  });
});
