// Migration 0008 and the Prisma schema describe the same tables: every settlement model is written and
// read back through the Prisma client, and the rules the database enforces hold (insert-only evidence,
// a SIGNED event carries its bytes, a batch supersedes one of its own run at most once, an approval is
// an operator's or the system's). On PGlite and PostgreSQL.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PrismaClient } from "~/generated/prisma/client";
import { databaseTargets, type TestDatabase } from "../setup/databases";

const ADDRESS = "Es9vMFrzaCERmJfrF4H2FYD4KCoNkY11McCe8BenwNYB";
const SIGNATURE = "5".repeat(88);

async function graph(prisma: PrismaClient) {
  const org = await prisma.organization.create({ data: { slug: `s-${randomUUID().slice(0, 8)}`, name: "S" } });
  const recipient = await prisma.recipient.create({ data: { organizationId: org.id, name: "R", walletAddress: ADDRESS, tokenAccount: ADDRESS } });
  const run = await prisma.payoutRun.create({
    data: { organizationId: org.id, kind: "SWEEP", tokenDecimals: 6, distributable: 10n, totalTransfers: 10n, treasuryRemainder: 0n },
  });
  const other = await prisma.payoutRun.create({
    data: { organizationId: org.id, kind: "SWEEP", tokenDecimals: 6, distributable: 10n, totalTransfers: 10n, treasuryRemainder: 0n },
  });
  const transfer = await prisma.payoutTransfer.create({ data: { runId: run.id, recipientId: recipient.id, tokenAccount: ADDRESS, amount: 10n } });
  const batch = await prisma.splitBatch.create({
    data: { runId: run.id, batchIndex: 0, recipientCount: 1, total: 10n, planHash: "ab".repeat(32), treasury: ADDRESS, transactionVersion: "V0" },
  });
  await prisma.splitBatchItem.create({ data: { batchId: batch.id, transferId: transfer.id, position: 0 } });
  return { org, recipient, run, other, transfer, batch };
}

describe.each(databaseTargets())("settlement schema on $name", (target) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await target.create();
  }, 120_000);
  afterAll(async () => {
    await db?.destroy();
  });

  it("every settlement model round-trips through Prisma with its money and bytes intact", async () => {
    const prisma = db.prisma;
    const g = await graph(prisma);
    const signed = await prisma.splitBatchEvent.create({
      data: { batchId: g.batch.id, status: "SIGNED", signature: SIGNATURE, blockhash: ADDRESS, lastValidBlockHeight: 150n, transaction: Uint8Array.from([9, 8, 7]), lookupTables: [ADDRESS], holder: "h" },
    });
    const confirmed = await prisma.splitBatchEvent.create({
      data: { batchId: g.batch.id, status: "CONFIRMED", signature: SIGNATURE, blockhash: ADDRESS, slot: 99n, feeLamports: 5_000n, computeUnits: 30_123n },
    });
    expect(confirmed.seq).toBeGreaterThan(signed.seq);
    expect(Array.from((await prisma.splitBatchEvent.findUniqueOrThrow({ where: { id: signed.id } })).transaction!)).toEqual([9, 8, 7]);
    const successor = await prisma.splitBatch.create({
      data: { runId: g.run.id, batchIndex: 1, recipientCount: 1, total: 10n, planHash: "cd".repeat(32), treasury: ADDRESS, transactionVersion: "LEGACY", supersedesId: g.batch.id },
    });
    // A superseding batch may carry a transfer of the batch it replaces.
    await prisma.splitBatchItem.create({ data: { batchId: successor.id, transferId: g.transfer.id, position: 0 } });
    expect((await prisma.splitBatch.findUniqueOrThrow({ where: { id: g.batch.id }, include: { supersededBy: true } })).supersededBy.map((b) => b.id)).toEqual([successor.id]);
    const entry = await prisma.recipientBalanceEntry.create({ data: { organizationId: g.org.id, recipientId: g.recipient.id, kind: "ACCRUAL", amount: 10n, tokenDecimals: 6 } });
    const hold = await prisma.transferHold.create({ data: { transferId: g.transfer.id, batchId: g.batch.id, reason: "RecipientFrozen", balanceEntryId: entry.id } });
    expect((await prisma.transferHold.findUniqueOrThrow({ where: { id: hold.id }, include: { balanceEntry: true } })).balanceEntry.amount).toBe(10n);
    await prisma.payoutRunCost.create({ data: { runId: g.run.id, batchId: g.batch.id, kind: "SPLIT_FEE", lamports: 5_000n, signature: SIGNATURE } });
    expect((await prisma.payoutRunCost.findFirstOrThrow({ where: { runId: g.run.id } })).lamports).toBe(5_000n);
    await prisma.settlementLease.create({ data: { key: `batch:${g.batch.id}`, holder: "h", expiresAt: new Date(Date.now() + 1_000) } });
    const table = await prisma.addressLookupTable.create({ data: { treasury: ADDRESS, address: `${ADDRESS.slice(0, -1)}C`, authority: ADDRESS, recentSlot: 5n } });
    await prisma.addressLookupTableEntry.create({ data: { tableId: table.id, position: 0, address: ADDRESS } });
    const setup = await prisma.settlementSetupTransaction.create({
      data: { treasury: ADDRESS, runId: g.run.id, kind: "LOOKUP_TABLE_EXTEND", signature: "4".repeat(88), lastValidBlockHeight: 10n, lookupTableId: table.id, addresses: [ADDRESS] },
    });
    expect(setup.status).toBe("PENDING");
    const version = await prisma.payoutPolicyVersion.create({
      data: { policyId: (await prisma.payoutPolicy.create({ data: { organizationId: g.org.id, name: "P" } })).id, organizationId: g.org.id, version: 1, autoApproveBelow: 1_000n },
    });
    expect(version.autoApproveBelow).toBe(1_000n);
    const approval = await prisma.payoutApproval.create({ data: { runId: g.run.id, bySystem: true, decision: "APPROVE" } });
    expect(approval.operatorId).toBeNull();
  });

  it("error: evidence is insert-only, a SIGNED event needs its bytes, supersession stays in its run and happens once, an approval has one actor", async () => {
    const prisma = db.prisma;
    const g = await graph(prisma);
    await expect(prisma.splitBatchEvent.create({ data: { batchId: g.batch.id, status: "SIGNED", signature: SIGNATURE, blockhash: ADDRESS, lastValidBlockHeight: 1n } })).rejects.toThrow();
    await expect(prisma.splitBatchEvent.create({ data: { batchId: g.batch.id, status: "CONFIRMED", signature: SIGNATURE, blockhash: ADDRESS } })).rejects.toThrow();
    await expect(
      prisma.splitBatch.create({ data: { runId: g.other.id, batchIndex: 0, recipientCount: 1, total: 1n, planHash: "ef".repeat(32), supersedesId: g.batch.id } }),
    ).rejects.toThrow();
    await prisma.splitBatch.create({ data: { runId: g.run.id, batchIndex: 1, recipientCount: 1, total: 1n, planHash: "ef".repeat(32), supersedesId: g.batch.id } });
    await expect(prisma.splitBatch.create({ data: { runId: g.run.id, batchIndex: 2, recipientCount: 1, total: 1n, planHash: "ef".repeat(32), supersedesId: g.batch.id } })).rejects.toThrow();
    const entry = await prisma.recipientBalanceEntry.create({ data: { organizationId: g.org.id, recipientId: g.recipient.id, kind: "ACCRUAL", amount: 10n, tokenDecimals: 6 } });
    const hold = await prisma.transferHold.create({ data: { transferId: g.transfer.id, batchId: g.batch.id, reason: "x", balanceEntryId: entry.id } });
    await expect(prisma.transferHold.update({ where: { id: hold.id }, data: { reason: "y" } })).rejects.toThrow(/insert-only/);
    await expect(prisma.transferHold.delete({ where: { id: hold.id } })).rejects.toThrow(/insert-only/);
    const other = "6".repeat(88);
    const cost = await prisma.payoutRunCost.create({ data: { runId: g.run.id, kind: "SPLIT_FEE", lamports: 1n, signature: other } });
    await expect(prisma.payoutRunCost.update({ where: { id: cost.id }, data: { lamports: 0n } })).rejects.toThrow(/insert-only/);
    await expect(prisma.payoutRunCost.create({ data: { runId: g.run.id, kind: "SPLIT_FEE", lamports: 2n, signature: other } })).rejects.toThrow();
    const operator = await prisma.operator.create({ data: { organizationId: g.org.id, email: `o-${randomUUID().slice(0, 6)}@x.test`, name: "o", role: "ADMIN", passwordHash: "x" } });
    await expect(prisma.payoutApproval.create({ data: { runId: g.run.id, operatorId: operator.id, bySystem: true, decision: "APPROVE" } })).rejects.toThrow();
    await expect(prisma.payoutApproval.create({ data: { runId: g.run.id, decision: "APPROVE" } })).rejects.toThrow();
  });
});
