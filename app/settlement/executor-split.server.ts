// One split batch on chain: build its execute_split transaction (compute-unit limit from a simulation
// plus a margin, priority fee from recent fees), find out before signing who the program would refuse,
// and, once it landed, read its SplitRecord back and compare it with the batch (count, total, plan hash).
import { PublicKey, type AddressLookupTableAccount, type TransactionInstruction, type VersionedTransaction } from "@solana/web3.js";
import type { BatchRecord } from "~/models/settlement.server";
import { uuidBytes } from "~/models/settlement.server";
import { splitTransaction } from "./batch-transaction";
import { latestBlockhash, priorityFee, type ExecutorContext, type SplitChain } from "./executor-context.server";
import { decodeSplitRecord, splitRecordAddress, type SplitRecordAccount } from "./program";
import { programErrorFromError, recipientRefusalFromError, recipientRefusalsFromLogs } from "./program-logs";
import { RpcError } from "./rpc-errors";
import type { TreasuryIdentity } from "./treasury.server";

/** The simulated units times this, plus MARGIN_UNITS: a real cluster's execution varies slightly. */
const CU_MARGIN = 1.1;
const MARGIN_UNITS = 1_000;
const MAX_UNITS = 1_400_000;

export interface SplitParts {
  batch: BatchRecord;
  identity: TreasuryIdentity;
  tokenProgram: PublicKey;
  lookupTables: AddressLookupTableAccount[];
  /** A preview only: instructions simulated ahead of the split (see SplitTransactionArgs.prelude). */
  prelude?: TransactionInstruction[];
}

export function splitRecordOf(ctx: Pick<ExecutorContext, "target">, parts: Pick<SplitParts, "batch" | "identity">): PublicKey {
  return splitRecordAddress({
    treasury: parts.identity.treasury,
    runId: uuidBytes(parts.batch.runId),
    batchIndex: parts.batch.batchIndex,
    programId: ctx.target.programId,
  });
}

function build(ctx: SplitChain, parts: SplitParts, blockhash: string, units: number, microLamports: bigint): VersionedTransaction {
  return splitTransaction({
    programId: ctx.target.programId,
    treasury: parts.identity.treasury,
    vault: parts.identity.vault,
    mint: parts.identity.mint,
    tokenProgram: parts.tokenProgram,
    feePayer: ctx.signers.feePayer.publicKey,
    authority: ctx.signers.authority.publicKey,
    runId: uuidBytes(parts.batch.runId),
    batchIndex: parts.batch.batchIndex,
    transfers: parts.batch.items.map((item) => ({ tokenAccount: new PublicKey(item.tokenAccount), amount: item.amount })),
    version: parts.batch.version,
    lookupTables: parts.lookupTables,
    recentBlockhash: blockhash,
    computeUnitLimit: units,
    microLamports,
    prelude: parts.prelude,
  });
}

export type Simulated =
  /** Unsigned, its compute-unit limit sized from the simulation (`unitsConsumed` plus a margin) and priced. */
  | { kind: "READY"; tx: VersionedTransaction; blockhash: string; lastValidBlockHeight: number; units: number; unitsConsumed: number; microLamports: bigint }
  /** The program would refuse these recipients (positions in the batch), with its reasons. */
  | { kind: "REFUSED"; refusals: { position: number; reason: string }[] }
  /** The program refuses the whole split (vault short, treasury paused, ...): not worth sending. */
  | { kind: "REJECTED"; error: string };

export type Prepared = Exclude<Simulated, { kind: "READY" }> | { kind: "READY"; tx: VersionedTransaction; blockhash: string; lastValidBlockHeight: number; units: number };

/**
 * Simulates the batch's execute_split, sizes the compute budget from the simulation and prices it: the
 * transaction the executor signs next (prepareSplit), and what the console's preview shows before approval.
 */
export async function simulateSplit(ctx: SplitChain, parts: SplitParts): Promise<Simulated> {
  const { blockhash, lastValidBlockHeight } = await latestBlockhash(ctx);
  const probe = build(ctx, parts, blockhash, MAX_UNITS, 0n);
  const simulated = await ctx.client.read("simulateTransaction", (c) =>
    c.simulateTransaction(probe, { sigVerify: false, replaceRecentBlockhash: false, commitment: "confirmed" }),
  );
  const { err, logs, unitsConsumed } = simulated.value;
  if (err) {
    if (err === "BlockhashNotFound") throw new RpcError("RPC_BLOCKHASH_NOT_FOUND", "the blockhash expired between fetching and simulating", { transient: true });
    const refusals = recipientRefusalsFromLogs(logs ?? []);
    if (refusals.length > 0) return { kind: "REFUSED", refusals: refusals.map((r) => ({ position: r.position, reason: r.reason })) };
    const single = recipientRefusalFromError({ err, logs });
    if (single) return { kind: "REFUSED", refusals: [{ position: single.position, reason: single.reason }] };
    const program = programErrorFromError({ err, logs });
    return { kind: "REJECTED", error: program ? `${program.name}: ${program.message}` : `simulation failed: ${JSON.stringify(err)}` };
  }
  const consumed = unitsConsumed ?? 200_000;
  const units = Math.min(MAX_UNITS, Math.ceil(consumed * CU_MARGIN) + MARGIN_UNITS);
  const microLamports = await priorityFee(ctx, [parts.identity.vault, parts.identity.treasury]);
  return { kind: "READY", tx: build(ctx, parts, blockhash, units, microLamports), blockhash, lastValidBlockHeight, units, unitsConsumed: consumed, microLamports };
}

/** Simulates, sizes the compute budget from the simulation, prices it, and signs. */
export async function prepareSplit(ctx: ExecutorContext, parts: SplitParts): Promise<Prepared> {
  const simulated = await simulateSplit(ctx, parts);
  if (simulated.kind !== "READY") return simulated;
  const { tx, blockhash, lastValidBlockHeight, units } = simulated;
  const { feePayer, authority } = ctx.signers;
  tx.sign(feePayer.publicKey.equals(authority.publicKey) ? [feePayer] : [feePayer, authority]);
  return { kind: "READY", tx, blockhash, lastValidBlockHeight, units };
}

/** The batch's SplitRecord as the chain holds it at `minContextSlot` or later, or null. */
export async function readSplitRecord(ctx: ExecutorContext, address: PublicKey, minContextSlot?: number): Promise<SplitRecordAccount | null> {
  const info = await ctx.client.account(address, { commitment: "confirmed", minContextSlot });
  if (!info || info.lamports === 0n) return null;
  return decodeSplitRecord(Uint8Array.from(info.data));
}

/** Why a SplitRecord does not say what the batch planned; null when it matches in every field. */
export function splitRecordMismatch(record: SplitRecordAccount, batch: BatchRecord, identity: TreasuryIdentity): string | null {
  const problems: string[] = [];
  if (!record.treasury.equals(identity.treasury)) problems.push(`treasury ${record.treasury.toBase58()} != ${identity.treasury.toBase58()}`);
  if (Buffer.from(record.runId).toString("hex") !== batch.runId.replaceAll("-", "")) problems.push("run id differs");
  if (record.batchIndex !== batch.batchIndex) problems.push(`batch index ${record.batchIndex} != ${batch.batchIndex}`);
  if (record.recipientCount !== batch.recipientCount) problems.push(`recipient count ${record.recipientCount} != ${batch.recipientCount}`);
  if (record.total !== batch.total) problems.push(`total ${record.total} != ${batch.total}`);
  if (Buffer.from(record.planHash).toString("hex") !== batch.planHash) problems.push("plan hash differs");
  return problems.length ? problems.join("; ") : null;
}

/** The signature that created an existing SplitRecord (the oldest successful transaction naming it). */
export async function splitRecordSignature(ctx: ExecutorContext, address: PublicKey): Promise<{ signature: string; slot: number } | null> {
  const signatures = await ctx.client.read("getSignaturesForAddress", (c) => c.getSignaturesForAddress(address, { limit: 100 }, "confirmed"));
  const landed = signatures.filter((s) => s.err === null).sort((a, b) => a.slot - b.slot)[0];
  return landed ? { signature: landed.signature, slot: landed.slot } : null;
}

/** A failed attempt's reason, from its error (and logs when the node kept them). */
export function failureReason(transactionError: unknown, logs: string[] | null): { reason: string; refusal: { position: number; reason: string } | null } {
  const refusal = recipientRefusalFromError({ err: transactionError, logs: logs ?? undefined });
  const program = programErrorFromError({ err: transactionError, logs: logs ?? undefined });
  const reason = program ? `${program.name}: ${program.message}` : `failed on chain: ${JSON.stringify(transactionError)}`;
  return { reason, refusal: refusal ? { position: refusal.position, reason: refusal.reason } : null };
}
