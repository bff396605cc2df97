// The small surface every program test needs from an SVM, so one suite runs unchanged on
// solana-bankrun (Solana 1.18, classic SPL Token) and LiteSVM (Agave 4.x, p-token).
import type { Keypair, PublicKey, Transaction, VersionedTransaction } from "@solana/web3.js";

export type RuntimeKind = "bankrun" | "litesvm";

export interface ProgramBinary {
  programId: PublicKey;
  bytes: Uint8Array;
}

export interface RawAccount {
  lamports: bigint;
  owner: PublicKey;
  data: Uint8Array;
  executable: boolean;
}

export interface TxFailure {
  /** Index of the failing top-level instruction, when the runtime reports one. */
  instructionIndex: number | null;
  /** The custom program error number (`Custom(n)`), when the failure is one. */
  customCode: number | null;
  /** The runtime's own wording, for assertion messages. */
  message: string;
}

export interface TxOutcome {
  ok: boolean;
  logs: string[];
  computeUnits: bigint;
  signature: string;
  error: TxFailure | null;
}

export interface SvmRuntime {
  readonly kind: RuntimeKind;
  /** A well-funded system account that pays for every setup transaction. */
  readonly payer: Keypair;
  latestBlockhash(): Promise<string>;
  /** Executes a fully signed transaction; never throws for an on-chain failure. */
  send(tx: Transaction | VersionedTransaction): Promise<TxOutcome>;
  getAccount(address: PublicKey): Promise<RawAccount | null>;
  /**
   * Overwrites an account. Only for states no transaction can reach (a forged account).
   * bankrun aborts the process if a slot warp follows a write that changes total lamports,
   * so callers keep the lamports of the account they overwrite.
   */
  setAccount(address: PublicKey, account: RawAccount): Promise<void>;
  /** Moves to the next slot and a fresh blockhash (ALT entries become usable; resends differ). */
  advanceSlot(): Promise<void>;
  slot(): Promise<bigint>;
  /** The Clock sysvar's unix timestamp, as the program reads it. */
  unixTimestamp(): Promise<bigint>;
  minimumBalanceForRentExemption(space: number): Promise<bigint>;
}

/** Parses the two error shapes both runtimes print for a failed instruction. */
export function parseFailureMessage(message: string): TxFailure {
  const indexMatch = /Instruction(?:Error\(| )(\d+)/.exec(message) ?? /Instruction (\d+):/.exec(message);
  const customHex = /custom program error: 0x([0-9a-fA-F]+)/.exec(message);
  const customDec = /Custom\((\d+)\)/.exec(message);
  let customCode: number | null = null;
  if (customHex) customCode = Number.parseInt(customHex[1]!, 16);
  else if (customDec) customCode = Number.parseInt(customDec[1]!, 10);
  return {
    instructionIndex: indexMatch ? Number.parseInt(indexMatch[1]!, 10) : null,
    customCode,
    message,
  };
}
