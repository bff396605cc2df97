// A settled payout as the ledger records it: a payout run with its transfers, one split batch with its items
// in instruction order, and the batch's CONFIRMED event (signature, blockhash, slot), the rows the settlement
// executor writes. `settleOnChain` makes the split for real on a test chain first (tests/setup/chain-split.ts)
// and records what the chain confirmed; `recordBatchRows` records rows alone, for tests of the ledger side.
import { randomBytes } from "node:crypto";
import { getAccount } from "@solana/spl-token";
import { Keypair, PublicKey } from "@solana/web3.js";
import bs58 from "bs58";
import type { PrismaClient } from "~/generated/prisma/client";
import { createRecipient } from "~/models/recipients.server";
import { runIdBytes } from "~/models/payout-verification.server";
import { PROGRAM_ID, splitPlanHash } from "~/settlement/program";
import type { SplitWorld } from "./chain-split";

export interface RecordedBatch {
  runId: string;
  batchId: string;
  signature: string;
  slot: bigint;
  transfers: { recipientId: string; tokenAccount: string; amount: bigint }[];
}

export interface BatchRowsInput {
  organizationId: string;
  /** In instruction order. */
  transfers: { recipientId: string; tokenAccount: string; amount: bigint }[];
  batchIndex?: number;
  treasury?: string;
  /** Defaults to the hash of `transfers` under PROGRAM_ID and `treasury`. */
  planHash?: string;
  /** The batch's confirmation; without it the batch stays SENT (not settled). */
  confirmed?: { signature: string; blockhash: string; slot: bigint } | false;
  /** Record the rows under this run (a second batch of the same run). */
  runId?: string;
}

export function fakeSignature(): string {
  return bs58.encode(randomBytes(64));
}

/** The ledger rows of one split batch of a new (or given) SWEEP run, settled unless told otherwise. */
export async function recordBatchRows(prisma: PrismaClient, input: BatchRowsInput): Promise<RecordedBatch> {
  const total = input.transfers.reduce((sum, t) => sum + t.amount, 0n);
  const run =
    input.runId !== undefined
      ? { id: input.runId }
      : await prisma.payoutRun.create({
          data: { organizationId: input.organizationId, kind: "SWEEP", tokenDecimals: 6, distributable: total, totalTransfers: total, treasuryRemainder: 0n },
        });
  const transferIds: string[] = [];
  for (const t of input.transfers) {
    const row = await prisma.payoutTransfer.create({ data: { runId: run.id, recipientId: t.recipientId, tokenAccount: t.tokenAccount, amount: t.amount } });
    transferIds.push(row.id);
  }
  const treasury = input.treasury ?? Keypair.generate().publicKey.toBase58();
  const batchIndex = input.batchIndex ?? 0;
  const planHash =
    input.planHash ??
    Buffer.from(
      splitPlanHash({
        programId: PROGRAM_ID,
        treasury: new PublicKey(treasury),
        runId: runIdBytes(run.id),
        batchIndex,
        transfers: input.transfers.map((t) => ({ tokenAccount: new PublicKey(t.tokenAccount), amount: t.amount })),
      }),
    ).toString("hex");
  const batch = await prisma.splitBatch.create({
    data: { runId: run.id, batchIndex, recipientCount: input.transfers.length, total, planHash, treasury, transactionVersion: "LEGACY" },
  });
  await prisma.splitBatchItem.createMany({ data: transferIds.map((transferId, position) => ({ batchId: batch.id, transferId, position })) });
  const confirmed = input.confirmed === undefined ? { signature: fakeSignature(), blockhash: bs58.encode(randomBytes(32)), slot: 1000n } : input.confirmed;
  const sent = confirmed || { signature: fakeSignature(), blockhash: bs58.encode(randomBytes(32)), slot: 0n };
  await prisma.splitBatchEvent.create({ data: { batchId: batch.id, status: "SENT", signature: sent.signature, blockhash: sent.blockhash } });
  if (confirmed) {
    await prisma.splitBatchEvent.create({
      data: { batchId: batch.id, status: "CONFIRMED", signature: confirmed.signature, blockhash: confirmed.blockhash, slot: confirmed.slot },
    });
  }
  return {
    runId: run.id,
    batchId: batch.id,
    signature: sent.signature,
    slot: confirmed ? confirmed.slot : 0n,
    transfers: input.transfers,
  };
}

export interface ChainRecipient {
  recipientId: string;
  wallet: string;
  tokenAccount: PublicKey;
}

/** `count` recipients of the organization, each with a token account of the world's mint on chain. */
export async function chainRecipients(prisma: PrismaClient, world: SplitWorld, organizationId: string, count: number): Promise<ChainRecipient[]> {
  const accounts = await world.newRecipients(count);
  const recipients: ChainRecipient[] = [];
  for (const [i, tokenAccount] of accounts.entries()) {
    const { owner } = await getAccount(world.client.connection, tokenAccount, "confirmed");
    const row = await createRecipient(prisma, { organizationId, name: `Recipient ${i + 1}`, walletAddress: owner.toBase58(), mint: world.mint.toBase58() });
    if (row.tokenAccount !== tokenAccount.toBase58()) throw new Error("the recipient's derived token account is not the one on chain");
    recipients.push({ recipientId: row.id, wallet: owner.toBase58(), tokenAccount });
  }
  return recipients;
}

/**
 * Pays `transfers` in one execute_split of a new run on the world's chain (the run's UUID bytes as its
 * on-chain id) and records the settled batch as the executor would.
 */
export async function settleOnChain(
  prisma: PrismaClient,
  world: SplitWorld,
  args: { organizationId: string; transfers: { recipient: ChainRecipient; amount: bigint }[]; batchIndex?: number },
): Promise<RecordedBatch> {
  const total = args.transfers.reduce((sum, t) => sum + t.amount, 0n);
  const run = await prisma.payoutRun.create({
    data: { organizationId: args.organizationId, kind: "SWEEP", tokenDecimals: 6, distributable: total, totalTransfers: total, treasuryRemainder: 0n },
  });
  await prisma.payoutRun.update({ where: { id: run.id }, data: { status: "APPROVED" } });
  await prisma.payoutRun.update({ where: { id: run.id }, data: { status: "EXECUTING" } });
  const batchIndex = args.batchIndex ?? 0;
  const signature = await world.split({
    runId: runIdBytes(run.id),
    batchIndex,
    transfers: args.transfers.map((t) => ({ tokenAccount: t.recipient.tokenAccount, amount: t.amount })),
  });
  const tx = await world.client.connection.getTransaction(signature, { commitment: "confirmed", maxSupportedTransactionVersion: 0 });
  if (!tx) throw new Error(`the split ${signature} is not on chain`);
  const recorded = await recordBatchRows(prisma, {
    organizationId: args.organizationId,
    runId: run.id,
    batchIndex,
    treasury: world.identity.treasury.toBase58(),
    transfers: args.transfers.map((t) => ({ recipientId: t.recipient.recipientId, tokenAccount: t.recipient.tokenAccount.toBase58(), amount: t.amount })),
    confirmed: { signature, blockhash: tx.transaction.message.recentBlockhash, slot: BigInt(tx.slot) },
  });
  await prisma.payoutRun.update({ where: { id: run.id }, data: { status: "SETTLED" } });
  return recorded;
}
