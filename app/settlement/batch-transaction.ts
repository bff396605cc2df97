// One split batch as the transaction the executor signs: the compute-budget instructions, then
// execute_split (app/settlement/program.ts), as a legacy message or a v0 message over the treasury's
// address lookup tables. Pure: no RPC. The capacity measurement (batch-capacity.ts) builds exactly this.
import {
  ComputeBudgetProgram,
  PublicKey,
  SystemProgram,
  TransactionMessage,
  VersionedTransaction,
  type AddressLookupTableAccount,
  type Keypair,
  type TransactionInstruction,
} from "@solana/web3.js";
import bs58 from "bs58";
import { executeSplitInstruction, type SplitTransfer } from "./program";

/** The packet a transaction must fit (a cluster drops anything larger). */
export const PACKET_DATA_SIZE = 1232;
/** Accounts one transaction may lock. */
export const MAX_ACCOUNT_LOCKS = 64;

export interface SplitTransactionArgs {
  programId: PublicKey;
  treasury: PublicKey;
  vault: PublicKey;
  mint: PublicKey;
  tokenProgram: PublicKey;
  /** Pays the fee and the SplitRecord's rent. */
  feePayer: PublicKey;
  authority: PublicKey;
  runId: Uint8Array;
  batchIndex: number;
  transfers: readonly SplitTransfer[];
  version: "LEGACY" | "V0";
  /** V0: the tables that hold the fixed accounts and the recipients. */
  lookupTables?: readonly AddressLookupTableAccount[];
  recentBlockhash: string;
  computeUnitLimit: number;
  /** Priority fee in micro-lamports per compute unit (0 included: the instruction is always there). */
  microLamports: bigint;
  /** False only to measure bench:program's shape (execute_split alone); the executor always sends both. */
  computeBudget?: boolean;
  /** Instructions before execute_split, only in a preview's simulation (the token accounts the executor creates first); never sent. */
  prelude?: readonly TransactionInstruction[];
}

/**
 * The accounts every lookup table of a treasury starts with: those of execute_split that do not change
 * from split to split and need not sign (program ids must stay static keys; the SplitRecord is new per split).
 */
export function fixedLookupAddresses(args: { treasury: PublicKey; vault: PublicKey; mint: PublicKey; tokenProgram: PublicKey }): PublicKey[] {
  return [args.treasury, args.vault, args.mint, args.tokenProgram, SystemProgram.programId];
}

export function splitTransaction(args: SplitTransactionArgs): VersionedTransaction {
  const budget =
    args.computeBudget === false
      ? []
      : [
          ComputeBudgetProgram.setComputeUnitLimit({ units: args.computeUnitLimit }),
          ComputeBudgetProgram.setComputeUnitPrice({ microLamports: args.microLamports }),
        ];
  const instructions = [
    ...budget,
    ...(args.prelude ?? []),
    executeSplitInstruction({
      payer: args.feePayer,
      authority: args.authority,
      treasury: args.treasury,
      vault: args.vault,
      mint: args.mint,
      tokenProgram: args.tokenProgram,
      runId: args.runId,
      batchIndex: args.batchIndex,
      transfers: args.transfers,
      programId: args.programId,
    }),
  ];
  const message = new TransactionMessage({ payerKey: args.feePayer, recentBlockhash: args.recentBlockhash, instructions });
  const compiled = args.version === "LEGACY" ? message.compileToLegacyMessage() : message.compileToV0Message([...(args.lookupTables ?? [])]);
  return new VersionedTransaction(compiled);
}

/** Bytes on the wire (signatures included, whether or not they are filled in yet). */
export function transactionSize(tx: VersionedTransaction): number {
  return tx.serialize().length;
}

/** Accounts the transaction locks: its static keys and every address it loads from tables. */
export function accountLocks(tx: VersionedTransaction): number {
  const lookups = tx.message.addressTableLookups ?? [];
  return tx.message.staticAccountKeys.length + lookups.reduce((n, l) => n + l.writableIndexes.length + l.readonlyIndexes.length, 0);
}

export function fitsPacket(tx: VersionedTransaction): boolean {
  return transactionSize(tx) <= PACKET_DATA_SIZE && accountLocks(tx) <= MAX_ACCOUNT_LOCKS;
}

/** Signs with the fee payer (first) and the authority; answers the bytes and the signature that names them. */
export function signSplitTransaction(tx: VersionedTransaction, feePayer: Keypair, authority: Keypair): { bytes: Uint8Array; signature: string } {
  tx.sign(feePayer.publicKey.equals(authority.publicKey) ? [feePayer] : [feePayer, authority]);
  return { bytes: tx.serialize(), signature: bs58.encode(tx.signatures[0]!) };
}
