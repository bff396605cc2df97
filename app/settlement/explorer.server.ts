// What the app's explorer pages show: a transaction or an account read through the chain client and
// decoded with the program's IDL (instructions, the SplitExecuted event, Treasury and SplitRecord
// accounts) and the token program's layouts. Works for every cluster, offline included: nothing here
// calls anything but the configured RPC endpoint. Amounts stay bigint; pages format them.
import { AccountLayout, MintLayout, ACCOUNT_SIZE, MINT_SIZE } from "@solana/spl-token";
import { PublicKey, type VersionedTransactionResponse } from "@solana/web3.js";
import bs58 from "bs58";
import { TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID } from "~/ledger/wallet";
import type { ChainClient } from "./chain.server";
import { coder, IDL, programAccountName } from "./program";
import { decodeEvents } from "./program-logs";

export class ExplorerNotFoundError extends Error {
  readonly code = "EXPLORER_NOT_FOUND";
  constructor(message: string) {
    super(message);
    this.name = "ExplorerNotFoundError";
  }
}

const KNOWN_PROGRAMS: Record<string, string> = {
  "11111111111111111111111111111111": "System",
  [TOKEN_PROGRAM_ID.toBase58()]: "SPL Token",
  [TOKEN_2022_PROGRAM_ID.toBase58()]: "Token-2022",
  ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL: "Associated Token Account",
  ComputeBudget111111111111111111111111111111: "Compute Budget",
  AddressLookupTab1e1111111111111111111111111: "Address Lookup Table",
  BPFLoaderUpgradeab1e11111111111111111111111: "BPF Upgradeable Loader",
};


const SIGNATURE = /^[1-9A-HJ-NP-Za-km-z]{64,88}$/;

/** A transaction signature from a URL, or null: 64 bytes in base58. */
export function parseSignature(text: string): string | null {
  if (!SIGNATURE.test(text)) return null;
  try {
    return bs58.decode(text).length === 64 ? text : null;
  } catch {
    return null;
  }
}

/** An account address from a URL, or null. */
export function parseAddress(text: string): PublicKey | null {
  if (!/^[1-9A-HJ-NP-Za-km-z]{32,44}$/.test(text)) return null;
  try {
    return new PublicKey(text);
  } catch {
    return null;
  }
}

export interface DecodedValue {
  name: string;
  /** Display text: integers as exact decimal strings, keys in base58, byte arrays in hex. */
  value: string;
}

export interface ExplainedInstruction {
  index: number;
  programId: string;
  programName: string;
  /** The instruction's name when the IDL (or a known layout) decodes it. */
  name?: string;
  accounts: { name?: string; address: string; signer: boolean; writable: boolean }[];
  args: DecodedValue[];
  /** execute_split: each recipient token account with its amount, in instruction order. */
  split?: { recipients: { tokenAccount: string; amount: bigint }[]; total: bigint };
  dataBase58: string;
}

export interface TokenBalanceChange {
  account: string;
  mint: string;
  owner?: string;
  decimals: number;
  before: bigint;
  after: bigint;
}

export interface ExplainedTransaction {
  signature: string;
  status: "succeeded" | "failed";
  error?: string;
  slot: number;
  blockTime: number | null;
  fee: bigint;
  computeUnits?: number;
  version: "legacy" | 0;
  instructions: ExplainedInstruction[];
  events: { name: string; fields: DecodedValue[] }[];
  tokenBalances: TokenBalanceChange[];
  logs: string[];
}

/** Anchor's decoded values (BN, PublicKey, byte arrays, nested structs) as display text. */
export function displayValue(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "bigint") return value.toString();
  if (value instanceof PublicKey) return value.toBase58();
  if (typeof value === "object" && value !== null && "toArrayLike" in value && typeof (value as { toString: unknown }).toString === "function") {
    return (value as { toString(base?: number): string }).toString(10);
  }
  if (Array.isArray(value) && value.every((v) => typeof v === "number")) return Buffer.from(value as number[]).toString("hex");
  if (value instanceof Uint8Array) return Buffer.from(value).toString("hex");
  if (Array.isArray(value)) return `[${value.map(displayValue).join(", ")}]`;
  if (typeof value === "object") {
    return `{ ${Object.entries(value as Record<string, unknown>).map(([k, v]) => `${k}: ${displayValue(v)}`).join(", ")} }`;
  }
  return String(value);
}

function fieldsOf(data: Record<string, unknown>): DecodedValue[] {
  return Object.entries(data).map(([name, value]) => ({ name, value: displayValue(value) }));
}

function toBigInt(value: unknown): bigint {
  return BigInt(displayValue(value));
}

function programName(programId: PublicKey, ours: PublicKey): string {
  if (programId.equals(ours)) return "StableFlow payouts";
  return KNOWN_PROGRAMS[programId.toBase58()] ?? "Unknown program";
}

function explainInstruction(
  ours: PublicKey,
  index: number,
  programId: PublicKey,
  accounts: { address: PublicKey; signer: boolean; writable: boolean }[],
  data: Uint8Array,
): ExplainedInstruction {
  const base: ExplainedInstruction = {
    index,
    programId: programId.toBase58(),
    programName: programName(programId, ours),
    accounts: accounts.map((a) => ({ address: a.address.toBase58(), signer: a.signer, writable: a.writable })),
    args: [],
    dataBase58: bs58.encode(data),
  };
  if (!programId.equals(ours)) return base;
  const decoded = coder.instruction.decode(Buffer.from(data));
  if (!decoded) return base;
  const metas = accounts.map((a) => ({ pubkey: a.address, isSigner: a.signer, isWritable: a.writable }));
  const formatted = coder.instruction.format(decoded, metas);
  const named = formatted?.accounts ?? [];
  const explained: ExplainedInstruction = {
    ...base,
    name: decoded.name,
    accounts: base.accounts.map((a, i) => ({ ...a, name: named[i]?.name && named[i].name !== "Unknown" ? named[i].name : undefined })),
    args: fieldsOf(decoded.data as Record<string, unknown>),
  };
  if (decoded.name === "execute_split") {
    const amounts = ((decoded.data as { amounts?: unknown[] }).amounts ?? []).map(toBigInt);
    const fixed = (IDL.instructions.find((ix) => ix.name === "execute_split")?.accounts ?? []).length;
    const recipients = accounts.slice(fixed).map((a, i) => ({ tokenAccount: a.address.toBase58(), amount: amounts[i] ?? 0n }));
    explained.split = { recipients, total: amounts.reduce((sum, a) => sum + a, 0n) };
    explained.accounts = explained.accounts.map((a, i) => (i >= fixed ? { ...a, name: `recipient ${i - fixed}` } : a));
  }
  return explained;
}

function tokenBalanceChanges(tx: VersionedTransactionResponse, keys: PublicKey[]): TokenBalanceChange[] {
  const pre = tx.meta?.preTokenBalances ?? [];
  const post = tx.meta?.postTokenBalances ?? [];
  const indexes = [...new Set([...pre, ...post].map((b) => b.accountIndex))].sort((a, b) => a - b);
  return indexes.map((accountIndex) => {
    const before = pre.find((b) => b.accountIndex === accountIndex);
    const after = post.find((b) => b.accountIndex === accountIndex);
    const any = (after ?? before)!;
    return {
      account: keys[accountIndex]?.toBase58() ?? `#${accountIndex}`,
      mint: any.mint,
      owner: any.owner,
      decimals: any.uiTokenAmount.decimals,
      before: BigInt(before?.uiTokenAmount.amount ?? "0"),
      after: BigInt(after?.uiTokenAmount.amount ?? "0"),
    };
  });
}

export async function explainTransaction(client: ChainClient, signatureText: string): Promise<ExplainedTransaction> {
  const signature = parseSignature(signatureText);
  if (!signature) throw new ExplorerNotFoundError("That is not a transaction signature (64 bytes in base58).");
  const tx = await client.read("getTransaction", (c) =>
    c.getTransaction(signature, { maxSupportedTransactionVersion: 0, commitment: "confirmed" }),
  );
  if (!tx) throw new ExplorerNotFoundError(`No transaction ${signature} is known to this cluster.`);
  const message = tx.transaction.message;
  const keyList = message.getAccountKeys({ accountKeysFromLookups: tx.meta?.loadedAddresses ?? undefined });
  const keys: PublicKey[] = [];
  for (let i = 0; i < keyList.length; i++) keys.push(keyList.get(i)!);
  const ours = client.config.programId;
  const instructions = message.compiledInstructions.map((ix, index) =>
    explainInstruction(
      ours,
      index,
      keys[ix.programIdIndex],
      ix.accountKeyIndexes.map((k) => ({ address: keys[k], signer: message.isAccountSigner(k), writable: message.isAccountWritable(k) })),
      ix.data,
    ),
  );
  const logs = tx.meta?.logMessages ?? [];
  const events = decodeEvents(logs, ours).map((event) => ({ name: event.name, fields: fieldsOf(event.data) }));
  return {
    signature,
    status: tx.meta?.err ? "failed" : "succeeded",
    error: tx.meta?.err ? JSON.stringify(tx.meta.err) : undefined,
    slot: tx.slot,
    blockTime: tx.blockTime ?? null,
    fee: BigInt(tx.meta?.fee ?? 0),
    computeUnits: tx.meta?.computeUnitsConsumed ?? undefined,
    version: tx.version === 0 ? 0 : "legacy",
    instructions,
    events,
    tokenBalances: tokenBalanceChanges(tx, keys),
    logs,
  };
}

export type DecodedAccount =
  | { kind: "Treasury" | "SplitRecord"; fields: DecodedValue[] }
  | { kind: "TokenAccount"; mint: string; owner: string; amount: bigint; decimals?: number; state: "initialized" | "frozen" | "uninitialized" }
  | { kind: "Mint"; decimals: number; supply: bigint; mintAuthority?: string; freezeAuthority?: string }
  | { kind: "Program"; }
  | { kind: "Unknown" };

export interface ExplainedAccount {
  address: string;
  owner: string;
  ownerName?: string;
  lamports: bigint;
  executable: boolean;
  dataLength: number;
  decoded: DecodedAccount;
}

function decodeProgramAccount(data: Buffer): DecodedAccount {
  const name = programAccountName(data);
  if (!name) return { kind: "Unknown" };
  try {
    return { kind: name, fields: fieldsOf(coder.accounts.decode(name, data) as Record<string, unknown>) };
  } catch {
    return { kind: "Unknown" };
  }
}

export async function explainAccount(client: ChainClient, addressText: string): Promise<ExplainedAccount> {
  const address = parseAddress(addressText);
  if (!address) throw new ExplorerNotFoundError("That is not an account address (32 bytes in base58).");
  const account = await client.account(address);
  if (!account) throw new ExplorerNotFoundError(`No account ${address.toBase58()} exists on this cluster.`);
  const owner = account.owner.toBase58();
  const ownerName = account.owner.equals(client.config.programId) ? "StableFlow payouts" : KNOWN_PROGRAMS[owner];
  let decoded: DecodedAccount = { kind: "Unknown" };
  if (account.executable) decoded = { kind: "Program" };
  else if (account.owner.equals(client.config.programId)) decoded = decodeProgramAccount(account.data);
  else if (account.owner.equals(TOKEN_PROGRAM_ID) || account.owner.equals(TOKEN_2022_PROGRAM_ID)) {
    decoded = await decodeTokenAccount(client, account.data);
  }
  return {
    address: address.toBase58(),
    owner,
    ownerName,
    lamports: account.lamports,
    executable: account.executable,
    dataLength: account.data.length,
    decoded,
  };
}

// Token-2022 accounts carry extensions after the base layout and an account-type byte at 165 (1 =
// mint, 2 = account); a classic account is exactly 165 bytes and a classic mint 82.
async function decodeTokenAccount(client: ChainClient, data: Buffer): Promise<DecodedAccount> {
  const isMint = data.length === MINT_SIZE || (data.length > ACCOUNT_SIZE && data[ACCOUNT_SIZE] === 1);
  if (isMint) {
    const mint = MintLayout.decode(data.subarray(0, MINT_SIZE));
    return {
      kind: "Mint",
      decimals: mint.decimals,
      supply: BigInt(mint.supply.toString()),
      mintAuthority: mint.mintAuthorityOption ? mint.mintAuthority.toBase58() : undefined,
      freezeAuthority: mint.freezeAuthorityOption ? mint.freezeAuthority.toBase58() : undefined,
    };
  }
  if (data.length < ACCOUNT_SIZE) return { kind: "Unknown" };
  const token = AccountLayout.decode(data.subarray(0, ACCOUNT_SIZE));
  let decimals: number | undefined;
  const mintAccount = await client.account(token.mint);
  if (mintAccount && mintAccount.data.length >= MINT_SIZE) decimals = MintLayout.decode(mintAccount.data.subarray(0, MINT_SIZE)).decimals;
  return {
    kind: "TokenAccount",
    mint: token.mint.toBase58(),
    owner: token.owner.toBase58(),
    amount: BigInt(token.amount.toString()),
    decimals,
    state: token.state === 2 ? "frozen" : token.state === 1 ? "initialized" : "uninitialized",
  };
}
