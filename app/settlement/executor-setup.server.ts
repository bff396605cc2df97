// Recipients made ready before a batch is sent, and the set-up transactions that takes. Each recipient's
// token account is read from the chain and checked as the program will check it (batch-readiness.ts); a
// missing associated token account is created with CreateIdempotent in transactions of its own (rent
// paid by the fee payer, recorded as a cost of the run); one that still cannot receive is held out.
// Set-up transactions are written (signature, last valid block height) before they are sent and resolved
// from the chain afterwards, so a restart waits for what may still land instead of doing it twice.
import { createAssociatedTokenAccountIdempotentInstruction, getAssociatedTokenAddressSync } from "@solana/spl-token";
import { ComputeBudgetProgram, PublicKey, Transaction, type TransactionInstruction } from "@solana/web3.js";
import bs58 from "bs58";
import type { BatchRecord, HeldTransfer } from "~/models/settlement.server";
import {
  insertSetupTransaction,
  pendingSetupTransactions,
  resolveSetupTransaction,
  type RunCostKind,
  type SetupKind,
  type SetupTransactionRow,
} from "~/models/settlement-setup.server";
import { recipientReadiness, type ChainAccount } from "./batch-readiness";
import { crashPoint, latestBlockhash, priorityFee, type CrashPoint, type ExecutorContext } from "./executor-context.server";
import { driveAttempt, landedFacts } from "./executor-send.server";
import type { TreasuryIdentity } from "./treasury.server";

const COST_KINDS: Record<SetupKind, { fee: RunCostKind; rent: RunCostKind }> = {
  TOKEN_ACCOUNTS: { fee: "TOKEN_ACCOUNT_FEE", rent: "TOKEN_ACCOUNT_RENT" },
  LOOKUP_TABLE_CREATE: { fee: "LOOKUP_TABLE_FEE", rent: "LOOKUP_TABLE_RENT" },
  LOOKUP_TABLE_EXTEND: { fee: "LOOKUP_TABLE_FEE", rent: "LOOKUP_TABLE_RENT" },
};

export type SetupResult = { kind: "CONFIRMED"; slot: number } | { kind: "EXPIRED" } | { kind: "FAILED"; error: string };

async function resolveLanded(ctx: ExecutorContext, row: Pick<SetupTransactionRow, "id" | "kind" | "runId" | "signature">): Promise<SetupResult> {
  const facts = await landedFacts(ctx, row.signature);
  const kinds = COST_KINDS[row.kind];
  const costs = row.runId
    ? [
        { runId: row.runId, kind: kinds.fee, lamports: facts.fee, signature: row.signature },
        ...(facts.rent > 0n ? [{ runId: row.runId, kind: kinds.rent, lamports: facts.rent, signature: row.signature }] : []),
      ]
    : [];
  await resolveSetupTransaction(ctx.db, { id: row.id, status: "CONFIRMED", slot: BigInt(facts.slot), costs });
  return { kind: "CONFIRMED", slot: facts.slot };
}

/**
 * Resolves set-up transactions of a treasury that a previous process left in flight: landed (costs
 * recorded), failed, or definitively expired. Waits while one may still land.
 */
export async function resolvePendingSetup(ctx: ExecutorContext, treasury: string, kinds?: readonly SetupKind[]): Promise<SetupTransactionRow[]> {
  const pending = (await pendingSetupTransactions(ctx.db, treasury)).filter((row) => !kinds || kinds.includes(row.kind));
  for (const row of pending) {
    // The bytes are not kept for set-up transactions: a resend is not needed to learn the outcome, only the status.
    const status = await ctx.client.signatureStatus(row.signature, true);
    if (status?.err) {
      await resolveSetupTransaction(ctx.db, { id: row.id, status: "FAILED", slot: BigInt(status.slot), error: JSON.stringify(status.err) });
      continue;
    }
    if (status && (status.confirmationStatus === "confirmed" || status.confirmationStatus === "finalized")) {
      await resolveLanded(ctx, row);
      continue;
    }
    for (;;) {
      const height = await ctx.client.read("getBlockHeight", (c) => c.getBlockHeight("confirmed"));
      const now = await ctx.client.signatureStatus(row.signature, true);
      if (now?.err) {
        await resolveSetupTransaction(ctx.db, { id: row.id, status: "FAILED", error: JSON.stringify(now.err) });
        break;
      }
      if (now && (now.confirmationStatus === "confirmed" || now.confirmationStatus === "finalized")) {
        await resolveLanded(ctx, row);
        break;
      }
      if (!now && height > Number(row.lastValidBlockHeight)) {
        await resolveSetupTransaction(ctx.db, { id: row.id, status: "EXPIRED" });
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, ctx.pollMs));
    }
  }
  return pending;
}

/**
 * Signs `instructions` as one legacy transaction paid by the fee payer, writes it as PENDING, sends it
 * and drives it to an outcome (resolving the row). `crash` names the crash point between the two.
 */
export async function sendSetupTransaction(
  ctx: ExecutorContext,
  args: {
    treasury: string;
    runId: string | null;
    kind: SetupKind;
    instructions: TransactionInstruction[];
    signers?: import("@solana/web3.js").Signer[];
    lookupTableId?: string | null;
    addresses: readonly string[];
    crash: CrashPoint;
  },
): Promise<SetupResult> {
  const { blockhash, lastValidBlockHeight } = await latestBlockhash(ctx);
  const fee = await priorityFee(ctx, [ctx.signers.feePayer.publicKey]);
  const tx = new Transaction({ feePayer: ctx.signers.feePayer.publicKey, blockhash, lastValidBlockHeight }).add(
    ComputeBudgetProgram.setComputeUnitPrice({ microLamports: fee }),
    ...args.instructions,
  );
  tx.sign(ctx.signers.feePayer, ...(args.signers ?? []));
  const signature = bs58.encode(tx.signature!);
  const bytes = tx.serialize();
  const id = await insertSetupTransaction(ctx.db, {
    treasury: args.treasury,
    runId: args.runId,
    kind: args.kind,
    signature,
    lastValidBlockHeight: BigInt(lastValidBlockHeight),
    lookupTableId: args.lookupTableId ?? null,
    addresses: [...args.addresses],
  });
  const outcome = await driveAttempt(ctx, { signature, bytes, lastValidBlockHeight }, { onSent: async () => crashPoint(args.crash) });
  if (outcome.kind === "LANDED") return resolveLanded(ctx, { id, kind: args.kind, runId: args.runId, signature });
  if (outcome.kind === "FAILED") {
    const error = JSON.stringify(outcome.transactionError);
    await resolveSetupTransaction(ctx.db, { id, status: "FAILED", error });
    return { kind: "FAILED", error };
  }
  await resolveSetupTransaction(ctx.db, { id, status: "EXPIRED" });
  return { kind: "EXPIRED" };
}

/** The accounts at `addresses` as the chain holds them (null: none). */
export function readAccounts(ctx: Pick<ExecutorContext, "client">, addresses: readonly PublicKey[]): Promise<(ChainAccount | null)[]> {
  return ctx.client.accounts(addresses, { commitment: "confirmed" });
}

export interface RecipientSetup {
  /** Positions whose associated token account is missing and will be created (CreateIdempotent) before sending. */
  creatable: { index: number; owner: PublicKey }[];
  /** Those that cannot receive as their accounts stand (missing ones included until created), with the held-out reason. */
  notReady: { index: number; transfer: HeldTransfer }[];
}

/** Who of `batch` can receive as the chain holds `infos`, who gets a token account made first, who would be held out. Pure. */
export function recipientSetup(batch: Pick<BatchRecord, "items">, infos: readonly (ChainAccount | null)[], identity: Pick<TreasuryIdentity, "mint">, tokenProgram: PublicKey): RecipientSetup {
  const setup: RecipientSetup = { creatable: [], notReady: [] };
  batch.items.forEach((item, i) => {
    const readiness = recipientReadiness(infos[i] ?? null, identity.mint, tokenProgram);
    if (readiness.ok) return;
    setup.notReady.push({ index: i, transfer: { transferId: item.transferId, reason: `${readiness.reason}: token account ${item.tokenAccount} cannot receive` } });
    if (readiness.reason !== "RecipientMissing") return;
    const owner = new PublicKey(item.walletAddress);
    const derived = getAssociatedTokenAddressSync(identity.mint, owner, item.walletKind === "PDA_OWNER", tokenProgram);
    if (derived.toBase58() === item.tokenAccount) setup.creatable.push({ index: i, owner });
  });
  return setup;
}

/** The CreateIdempotent instructions that make these associated token accounts (rent paid by `payer`). */
export function tokenAccountInstructions(payer: PublicKey, accounts: readonly { account: PublicKey; owner: PublicKey }[], mint: PublicKey, tokenProgram: PublicKey): TransactionInstruction[] {
  return accounts.map(({ account, owner }) => createAssociatedTokenAccountIdempotentInstruction(payer, account, owner, mint, tokenProgram));
}

/** Associated token accounts per creation transaction: each CreateIdempotent names six accounts. */
export const TOKEN_ACCOUNTS_PER_TRANSACTION = 8;

/**
 * Checks every recipient of `batch` on chain; creates the missing associated token accounts (of a wallet
 * for the treasury's mint); answers who still cannot receive, with the program's reason.
 */
export async function prepareRecipients(
  ctx: ExecutorContext,
  batch: BatchRecord,
  identity: TreasuryIdentity,
  tokenProgram: PublicKey,
): Promise<HeldTransfer[]> {
  const accounts = batch.items.map((item) => new PublicKey(item.tokenAccount));
  let infos = await readAccounts(ctx, accounts);
  const { creatable } = recipientSetup(batch, infos, identity, tokenProgram);
  if (creatable.length > 0) {
    await resolvePendingSetup(ctx, batch.treasury, ["TOKEN_ACCOUNTS"]);
    for (let i = 0; i < creatable.length; i += TOKEN_ACCOUNTS_PER_TRANSACTION) {
      const chunk = creatable.slice(i, i + TOKEN_ACCOUNTS_PER_TRANSACTION);
      const instructions = [
        // About 25,000 CU each on Solana's runtime (classic Token); far less with p-token.
        ComputeBudgetProgram.setComputeUnitLimit({ units: 40_000 * chunk.length }),
        ...tokenAccountInstructions(ctx.signers.feePayer.publicKey, chunk.map(({ index, owner }) => ({ account: accounts[index]!, owner })), identity.mint, tokenProgram),
      ];
      // An expired creation is simply sent again: CreateIdempotent cannot create an account twice.
      for (let tries = 0; tries < 3; tries++) {
        const result = await sendSetupTransaction(ctx, {
          treasury: batch.treasury,
          runId: batch.runId,
          kind: "TOKEN_ACCOUNTS",
          instructions,
          addresses: chunk.map(({ index }) => accounts[index]!.toBase58()),
          crash: "token-accounts",
        });
        if (result.kind !== "EXPIRED") break;
      }
    }
    infos = await readAccounts(ctx, accounts);
  }
  const held = recipientSetup(batch, infos, identity, tokenProgram).notReady.map((n) => n.transfer);
  return held;
}
