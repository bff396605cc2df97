// Wire codecs of the chain server: transactions as a sender serialises them, base58/base64, and the
// account-key layout rules (which keys are signers, which are writable) every RPC answer depends on.
import { PublicKey, VersionedTransaction } from "@solana/web3.js";
import bs58 from "bs58";
import { RpcError, RPC_INVALID_PARAMS } from "./errors";

export const SYSTEM_PROGRAM = "11111111111111111111111111111111";
export const COMPUTE_BUDGET_PROGRAM = "ComputeBudget111111111111111111111111111111";
export const UPGRADEABLE_LOADER = "BPFLoaderUpgradeab1e11111111111111111111111";
export const ADDRESS_LOOKUP_TABLE_PROGRAM = "AddressLookupTab1e1111111111111111111111111";
export const SYSVAR_OWNER = "Sysvar1111111111111111111111111111111111111";
export const NATIVE_LOADER = "NativeLoader1111111111111111111111111111111";
/** Agave's default: 5,000 lamports per signature. */
export const LAMPORTS_PER_SIGNATURE = 5_000n;

export interface CompiledInstructionJson {
  programIdIndex: number;
  accounts: number[];
  /** base58, as the `json` encoding writes instruction data. */
  data: string;
  stackHeight?: number | null;
}

export interface AddressTableLookupJson {
  accountKey: string;
  writableIndexes: number[];
  readonlyIndexes: number[];
}

/** A transaction from the wire, with what every handler needs read once. */
export interface DecodedTransaction {
  raw: Uint8Array;
  version: "legacy" | 0;
  /** base58 signatures, the first being the transaction's id. */
  signatures: string[];
  signature: string;
  header: { numRequiredSignatures: number; numReadonlySignedAccounts: number; numReadonlyUnsignedAccounts: number };
  staticKeys: string[];
  recentBlockhash: string;
  instructions: CompiledInstructionJson[];
  lookups: AddressTableLookupJson[];
  /** Compute-budget requests from the message (price in micro-lamports per CU). */
  computeUnitLimit: number;
  computeUnitPrice: bigint;
}

export function decodeBase64(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, "base64"));
}

export function encodeBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
}

export function encodeBase58(bytes: Uint8Array): string {
  return bs58.encode(bytes);
}

export function decodeBase58(text: string): Uint8Array {
  return bs58.decode(text);
}

/** A 32-byte address from base58, or undefined when it is not one. */
export function parseAddress(text: string): Uint8Array | undefined {
  if (typeof text !== "string" || text.length < 32 || text.length > 44) return undefined;
  try {
    const bytes = bs58.decode(text);
    return bytes.length === 32 ? bytes : undefined;
  } catch {
    return undefined;
  }
}

const MAX_COMPUTE_UNIT_LIMIT = 1_400_000;
const DEFAULT_UNITS_PER_INSTRUCTION = 200_000;

/** Parses a serialised transaction; an unparseable one is an invalid-params error, as on a real node. */
export function decodeTransaction(raw: Uint8Array): DecodedTransaction {
  let tx: VersionedTransaction;
  try {
    tx = VersionedTransaction.deserialize(raw);
  } catch (error) {
    throw new RpcError(RPC_INVALID_PARAMS, `invalid transaction: failed to deserialize (${(error as Error).message})`);
  }
  const message = tx.message;
  const header = message.header;
  const staticKeys = message.staticAccountKeys.map((key) => key.toBase58());
  if (
    tx.signatures.length !== header.numRequiredSignatures ||
    header.numRequiredSignatures === 0 ||
    header.numRequiredSignatures > staticKeys.length ||
    header.numReadonlySignedAccounts >= header.numRequiredSignatures ||
    header.numReadonlyUnsignedAccounts > staticKeys.length - header.numRequiredSignatures
  ) {
    throw new RpcError(RPC_INVALID_PARAMS, "invalid transaction: Transaction failed to sanitize accounts offsets correctly");
  }
  const lookups = message.addressTableLookups.map((lookup) => ({
    accountKey: lookup.accountKey.toBase58(),
    writableIndexes: [...lookup.writableIndexes],
    readonlyIndexes: [...lookup.readonlyIndexes],
  }));
  const totalKeys = staticKeys.length + lookups.reduce((n, l) => n + l.writableIndexes.length + l.readonlyIndexes.length, 0);
  const instructions = message.compiledInstructions.map((ix) => ({
    programIdIndex: ix.programIdIndex,
    accounts: [...ix.accountKeyIndexes],
    data: encodeBase58(ix.data),
  }));
  for (const ix of message.compiledInstructions) {
    if (ix.programIdIndex >= staticKeys.length || ix.accountKeyIndexes.some((i) => i >= totalKeys)) {
      throw new RpcError(RPC_INVALID_PARAMS, "invalid transaction: Transaction failed to sanitize accounts offsets correctly");
    }
  }
  const signatures = tx.signatures.map((sig) => encodeBase58(sig));
  const budget = readComputeBudget(message.compiledInstructions, staticKeys);
  return {
    raw,
    version: message.version === 0 ? 0 : "legacy",
    signatures,
    signature: signatures[0]!,
    header: { ...header },
    staticKeys,
    recentBlockhash: message.recentBlockhash,
    instructions,
    lookups,
    ...budget,
  };
}

function readComputeBudget(
  instructions: readonly { programIdIndex: number; data: Uint8Array }[],
  staticKeys: readonly string[],
): { computeUnitLimit: number; computeUnitPrice: bigint } {
  let limit: number | undefined;
  let price = 0n;
  let others = 0;
  for (const ix of instructions) {
    if (staticKeys[ix.programIdIndex] !== COMPUTE_BUDGET_PROGRAM) {
      others += 1;
      continue;
    }
    const data = Buffer.from(ix.data);
    if (data[0] === 2 && data.length >= 5) limit = data.readUInt32LE(1);
    if (data[0] === 3 && data.length >= 9) price = data.readBigUInt64LE(1);
  }
  const computeUnitLimit = Math.min(limit ?? others * DEFAULT_UNITS_PER_INSTRUCTION, MAX_COMPUTE_UNIT_LIMIT);
  return { computeUnitLimit, computeUnitPrice: price };
}

/** The fee a real cluster charges: per signature, plus the priority fee the compute budget asks. */
export function transactionFee(tx: Pick<DecodedTransaction, "header" | "computeUnitLimit" | "computeUnitPrice">): bigint {
  const priority = (tx.computeUnitPrice * BigInt(tx.computeUnitLimit) + 999_999n) / 1_000_000n;
  return LAMPORTS_PER_SIGNATURE * BigInt(tx.header.numRequiredSignatures) + priority;
}

/** Whether static key `index` is writable by the message header's rules. */
export function isStaticWritable(tx: Pick<DecodedTransaction, "header" | "staticKeys">, index: number): boolean {
  const { numRequiredSignatures, numReadonlySignedAccounts, numReadonlyUnsignedAccounts } = tx.header;
  if (index < numRequiredSignatures) return index < numRequiredSignatures - numReadonlySignedAccounts;
  return index < tx.staticKeys.length - numReadonlyUnsignedAccounts;
}

/** Addresses an address lookup table holds (after its 56-byte header). */
export function lookupTableAddresses(data: Uint8Array): string[] {
  const addresses: string[] = [];
  for (let offset = 56; offset + 32 <= data.length; offset += 32) {
    addresses.push(encodeBase58(data.subarray(offset, offset + 32)));
  }
  return addresses;
}

export function publicKeyBytes(address: string): Uint8Array {
  return new PublicKey(address).toBytes();
}
