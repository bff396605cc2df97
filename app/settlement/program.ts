// The one TypeScript client of the stableflow_payouts program, for the server, the CLIs and the
// tests: program id, PDAs, the split plan hash, account decoding and instruction builders, all read
// from the IDL the crate generates (idl/stableflow_payouts.json); its events and errors are read by
// program-logs.ts. Pure: no RPC calls, no runtime, no Node-only module, so it also runs in a browser bundle.
// Longer than most files (~470 lines) because its sections share the IDL readers and seed helpers at the
// top: splitting the instruction builders off would export those private helpers.
import anchor, { BorshCoder, Program, type Idl } from "@coral-xyz/anchor";
import { sha256 } from "@noble/hashes/sha2";
import { PublicKey, SystemProgram, TransactionInstruction, type AccountMeta, type Connection } from "@solana/web3.js";
import { Buffer } from "buffer";
import idlJson from "../../idl/stableflow_payouts.json" with { type: "json" };

const { BN } = anchor;
type BNValue = InstanceType<typeof BN>;

/** The program's Anchor IDL, as generated from the crate. */
export const IDL = idlJson as unknown as Idl;
export const PROGRAM_ID = new PublicKey(IDL.address);
export const PROGRAM_VERSION: string = IDL.metadata.version;

/** A failure the caller can cause (bad input, data that is not what it claims). */
export class ProgramClientError extends Error {
  constructor(
    readonly code: "INVALID_ARGUMENT" | "NOT_A_PROGRAM_ACCOUNT" | "IDL_MISMATCH",
    message: string,
  ) {
    super(message);
    this.name = "ProgramClientError";
  }
}

// ------------------------------------------------------------------------------------ constants

function idlConstant(name: string): string {
  const entry = (IDL.constants ?? []).find((c) => c.name === name);
  if (!entry) throw new ProgramClientError("IDL_MISMATCH", `the IDL declares no constant ${name}`);
  return entry.value;
}

function bytesConstant(name: string): Uint8Array {
  return Uint8Array.from(JSON.parse(idlConstant(name)) as number[]);
}

/** Most recipients in one execute_split. */
export const MAX_RECIPIENTS = Number(idlConstant("MAX_RECIPIENTS"));
/** First byte string of every plan hash ("stableflow:split-plan:v1"). */
export const PLAN_HASH_DOMAIN = bytesConstant("PLAN_HASH_DOMAIN");
/** A refused recipient at position p fails execute_split with custom error RECIPIENT_REFUSED_BASE + p. */
export const RECIPIENT_REFUSED_BASE = Number(idlConstant("RECIPIENT_REFUSED_BASE"));

const U64_MAX = (1n << 64n) - 1n;

// ----------------------------------------------------------------------------------------- PDAs

type IdlInstruction = Idl["instructions"][number];
type IdlSeed = { kind: "const"; value: number[] } | { kind: "account"; path: string } | { kind: "arg"; path: string };

function idlInstruction(name: string): IdlInstruction {
  const ix = IDL.instructions.find((i) => i.name === name);
  if (!ix) throw new ProgramClientError("IDL_MISMATCH", `the IDL declares no instruction ${name}`);
  return ix;
}

/** The seed list the IDL gives one account of one instruction (the crate's state/seeds.rs). */
function idlSeeds(instruction: string, account: string): IdlSeed[] {
  const entry = idlInstruction(instruction).accounts.find((a) => a.name === account) as { pda?: { seeds: IdlSeed[] } } | undefined;
  if (!entry?.pda) throw new ProgramClientError("IDL_MISMATCH", `${instruction}.${account} has no PDA seeds in the IDL`);
  return entry.pda.seeds;
}

/** Derives a PDA by the IDL's seed list, taking account and argument seeds from `values`. */
function findPda(seeds: IdlSeed[], values: Record<string, Uint8Array>, programId: PublicKey): [PublicKey, number] {
  const bytes = seeds.map((seed) => {
    if (seed.kind === "const") return Uint8Array.from(seed.value);
    const value = values[seed.path];
    if (!value) throw new ProgramClientError("IDL_MISMATCH", `no value for PDA seed ${seed.kind} ${seed.path}`);
    return value;
  });
  return PublicKey.findProgramAddressSync(bytes, programId);
}

const TREASURY_SEEDS = idlSeeds("initialize_treasury", "treasury");
const VAULT_SEEDS = idlSeeds("initialize_treasury", "vault");
const SPLIT_RECORD_SEEDS = idlSeeds("execute_split", "split_record");

function fixedBytes(value: Uint8Array, length: number, what: string): Uint8Array {
  if (value.length !== length) throw new ProgramClientError("INVALID_ARGUMENT", `${what} must be ${length} bytes, got ${value.length}`);
  return value;
}

function u16le(value: number, what: string): Uint8Array {
  if (!Number.isInteger(value) || value < 0 || value > 0xffff) {
    throw new ProgramClientError("INVALID_ARGUMENT", `${what} must be an integer in 0..=65535, got ${value}`);
  }
  return Uint8Array.of(value & 0xff, value >> 8);
}

function u64le(value: bigint, what: string): Uint8Array {
  if (value < 0n || value > U64_MAX) throw new ProgramClientError("INVALID_ARGUMENT", `${what} must fit a u64, got ${value}`);
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, value, true);
  return out;
}

export interface TreasuryAddressArgs {
  mint: PublicKey;
  /** The authority that initialized the treasury (its `seedAuthority`; set_authority never changes it). */
  seedAuthority: PublicKey;
  /** The organization's 16-byte id. */
  orgId: Uint8Array;
  programId?: PublicKey;
}

/** `["treasury", mint, seed_authority, org_id]` and its bump. */
export function findTreasuryAddress(args: TreasuryAddressArgs): [PublicKey, number] {
  const values = { mint: args.mint.toBytes(), authority: args.seedAuthority.toBytes(), org_id: fixedBytes(args.orgId, 16, "orgId") };
  return findPda(TREASURY_SEEDS, values, args.programId ?? PROGRAM_ID);
}

export function treasuryAddress(args: TreasuryAddressArgs): PublicKey {
  return findTreasuryAddress(args)[0];
}

/** `["vault", treasury]`: the treasury's token account, owned by the treasury PDA. */
export function vaultAddress(treasury: PublicKey, programId: PublicKey = PROGRAM_ID): PublicKey {
  return findPda(VAULT_SEEDS, { treasury: treasury.toBytes() }, programId)[0];
}

export interface SplitRecordAddressArgs {
  treasury: PublicKey;
  /** The payout run's 16-byte id. */
  runId: Uint8Array;
  batchIndex: number;
  programId?: PublicKey;
}

/** `["split", treasury, run_id, batch_index u16 LE]` and its bump. */
export function findSplitRecordAddress(args: SplitRecordAddressArgs): [PublicKey, number] {
  const values = {
    treasury: args.treasury.toBytes(),
    run_id: fixedBytes(args.runId, 16, "runId"),
    batch_index: u16le(args.batchIndex, "batchIndex"),
  };
  return findPda(SPLIT_RECORD_SEEDS, values, args.programId ?? PROGRAM_ID);
}

export function splitRecordAddress(args: SplitRecordAddressArgs): PublicKey {
  return findSplitRecordAddress(args)[0];
}

// ------------------------------------------------------------------------------------ plan hash

export interface SplitTransfer {
  /** The recipient's token account (not its wallet). */
  tokenAccount: PublicKey;
  /** Minor units of the treasury's mint. */
  amount: bigint;
}

export interface SplitPlanHashArgs {
  programId?: PublicKey;
  treasury: PublicKey;
  runId: Uint8Array;
  batchIndex: number;
  transfers: readonly SplitTransfer[];
}

/**
 * sha256(PLAN_HASH_DOMAIN || program id || treasury || run id (16) || batch index (u16 LE) ||
 * for each transfer in order: token account (32) || amount (u64 LE)): the layout the program
 * recomputes (programs/stableflow_payouts/src/plan.rs). Amounts may be any u64 here, zero
 * included, so a refused plan can still be hashed; the program refuses zero amounts itself.
 */
export function splitPlanHash(args: SplitPlanHashArgs): Uint8Array {
  const hash = sha256.create();
  hash.update(PLAN_HASH_DOMAIN);
  hash.update((args.programId ?? PROGRAM_ID).toBytes());
  hash.update(args.treasury.toBytes());
  hash.update(fixedBytes(args.runId, 16, "runId"));
  hash.update(u16le(args.batchIndex, "batchIndex"));
  args.transfers.forEach((transfer, i) => {
    hash.update(transfer.tokenAccount.toBytes());
    hash.update(u64le(transfer.amount, `transfers[${i}].amount`));
  });
  return hash.digest();
}

// ------------------------------------------------------------------------------- coder, program

/** Borsh coder over the IDL as generated (snake_case names). */
export const coder = new BorshCoder(IDL);

/** What Anchor's Program needs to read accounts and build or simulate transactions. */
export interface ProgramProvider {
  connection: Connection;
  publicKey?: PublicKey;
}

/** An Anchor `Program` over this IDL (camelCase methods and accounts, as Anchor converts them). */
export function createProgram(provider: ProgramProvider | Connection): Program<Idl> {
  const asProvider = "connection" in provider && typeof (provider as ProgramProvider).connection === "object"
    ? (provider as ProgramProvider)
    : { connection: provider as Connection };
  return new Program(IDL, asProvider as unknown as anchor.Provider);
}

// ------------------------------------------------------------------------------------- accounts

export interface TreasuryAccount {
  authority: PublicKey;
  /** The founding authority: part of the treasury's address. */
  seedAuthority: PublicKey;
  mint: PublicKey;
  tokenProgram: PublicKey;
  vault: PublicKey;
  orgId: Uint8Array;
  bump: number;
  vaultBump: number;
  paused: boolean;
  totalSettled: bigint;
  splitsExecuted: bigint;
}

export interface SplitRecordAccount {
  treasury: PublicKey;
  runId: Uint8Array;
  batchIndex: number;
  recipientCount: number;
  total: bigint;
  planHash: Uint8Array;
  slot: bigint;
  unixTimestamp: bigint;
  executor: PublicKey;
  bump: number;
}

export type ProgramAccountName = "Treasury" | "SplitRecord";

const toBigInt = (value: BNValue): bigint => BigInt(value.toString());
const toBytes = (value: number[]): Uint8Array => Uint8Array.from(value);

function discriminatorOf(kind: "accounts" | "events", name: string): Uint8Array {
  const entry = (IDL[kind] ?? []).find((item) => item.name === name);
  if (!entry) throw new ProgramClientError("IDL_MISMATCH", `the IDL declares no ${kind} entry ${name}`);
  return Uint8Array.from(entry.discriminator);
}

const ACCOUNT_DISCRIMINATORS: ReadonlyArray<[ProgramAccountName, Uint8Array]> = [
  ["Treasury", discriminatorOf("accounts", "Treasury")],
  ["SplitRecord", discriminatorOf("accounts", "SplitRecord")],
];

function startsWith(data: Uint8Array, prefix: Uint8Array): boolean {
  return data.length >= prefix.length && prefix.every((byte, i) => data[i] === byte);
}

/** Which of the program's account types `data` is, by its discriminator; null for anything else. */
export function programAccountName(data: Uint8Array): ProgramAccountName | null {
  return ACCOUNT_DISCRIMINATORS.find(([, disc]) => startsWith(data, disc))?.[0] ?? null;
}

function decodeAccount(name: ProgramAccountName, data: Uint8Array): Record<string, unknown> {
  if (programAccountName(data) !== name) {
    throw new ProgramClientError("NOT_A_PROGRAM_ACCOUNT", `the data is not a ${name} account (discriminator mismatch)`);
  }
  try {
    return coder.accounts.decode(name, Buffer.from(data.buffer, data.byteOffset, data.byteLength)) as Record<string, unknown>;
  } catch (error) {
    throw new ProgramClientError("NOT_A_PROGRAM_ACCOUNT", `${name} data does not decode: ${String(error)}`);
  }
}

export function decodeTreasury(data: Uint8Array): TreasuryAccount {
  const raw = decodeAccount("Treasury", data);
  return {
    authority: raw.authority as PublicKey,
    seedAuthority: raw.seed_authority as PublicKey,
    mint: raw.mint as PublicKey,
    tokenProgram: raw.token_program as PublicKey,
    vault: raw.vault as PublicKey,
    orgId: toBytes(raw.org_id as number[]),
    bump: raw.bump as number,
    vaultBump: raw.vault_bump as number,
    paused: raw.paused as boolean,
    totalSettled: toBigInt(raw.total_settled as BNValue),
    splitsExecuted: toBigInt(raw.splits_executed as BNValue),
  };
}

export function decodeSplitRecord(data: Uint8Array): SplitRecordAccount {
  const raw = decodeAccount("SplitRecord", data);
  return {
    treasury: raw.treasury as PublicKey,
    runId: toBytes(raw.run_id as number[]),
    batchIndex: raw.batch_index as number,
    recipientCount: raw.recipient_count as number,
    total: toBigInt(raw.total as BNValue),
    planHash: toBytes(raw.plan_hash as number[]),
    slot: toBigInt(raw.slot as BNValue),
    unixTimestamp: toBigInt(raw.unix_timestamp as BNValue),
    executor: raw.executor as PublicKey,
    bump: raw.bump as number,
  };
}

// --------------------------------------------------------------------------------- instructions

/**
 * Builds one of the program's instructions from the IDL: accounts in IDL order with its signer
 * and writable flags (by snake_case name; fixed addresses such as the system program filled in),
 * data = discriminator + borsh args. The typed builders below are the way in; this one is for
 * deliberately malformed instructions in tests.
 */
export function buildInstruction(
  name: string,
  accounts: Record<string, PublicKey>,
  args: Record<string, unknown>,
  remainingAccounts: readonly AccountMeta[] = [],
  programId: PublicKey = PROGRAM_ID,
): TransactionInstruction {
  const keys: AccountMeta[] = idlInstruction(name).accounts.map((item) => {
    const account = item as { name: string; signer?: boolean; writable?: boolean; address?: string };
    const pubkey = accounts[account.name] ?? (account.address ? new PublicKey(account.address) : undefined);
    if (!pubkey) throw new ProgramClientError("INVALID_ARGUMENT", `${name} needs the ${account.name} account`);
    return { pubkey, isSigner: account.signer ?? false, isWritable: account.writable ?? false };
  });
  const data = coder.instruction.encode(name, args);
  return new TransactionInstruction({ programId, keys: [...keys, ...remainingAccounts], data });
}

const toBN = (value: bigint, what: string): BNValue => {
  u64le(value, what);
  return new BN(value.toString());
};

export interface InitializeTreasuryArgs {
  payer: PublicKey;
  /** Signs, becomes the authority and, for good, the seed authority of the address. */
  authority: PublicKey;
  mint: PublicKey;
  tokenProgram: PublicKey;
  orgId: Uint8Array;
  programId?: PublicKey;
}

export function initializeTreasuryInstruction(args: InitializeTreasuryArgs): TransactionInstruction {
  const programId = args.programId ?? PROGRAM_ID;
  const treasury = treasuryAddress({ mint: args.mint, seedAuthority: args.authority, orgId: args.orgId, programId });
  return buildInstruction(
    "initialize_treasury",
    {
      payer: args.payer,
      authority: args.authority,
      treasury,
      vault: vaultAddress(treasury, programId),
      mint: args.mint,
      token_program: args.tokenProgram,
      system_program: SystemProgram.programId,
    },
    { org_id: Array.from(fixedBytes(args.orgId, 16, "orgId")) },
    [],
    programId,
  );
}

/** The accounts every treasury instruction names besides its signers. */
export interface TreasuryAccounts {
  treasury: PublicKey;
  vault: PublicKey;
  mint: PublicKey;
  tokenProgram: PublicKey;
  programId?: PublicKey;
}

export function depositInstruction(args: TreasuryAccounts & { depositor: PublicKey; source: PublicKey; amount: bigint }): TransactionInstruction {
  return buildInstruction(
    "deposit",
    {
      depositor: args.depositor,
      source: args.source,
      treasury: args.treasury,
      vault: args.vault,
      mint: args.mint,
      token_program: args.tokenProgram,
    },
    { amount: toBN(args.amount, "amount") },
    [],
    args.programId,
  );
}

export interface ExecuteSplitArgs extends TreasuryAccounts {
  /** Pays the SplitRecord's rent; may be the authority. */
  payer: PublicKey;
  authority: PublicKey;
  runId: Uint8Array;
  batchIndex: number;
  transfers: readonly SplitTransfer[];
  /** Defaults to splitPlanHash of these transfers. */
  planHash?: Uint8Array;
  /** Defaults to the batch's SplitRecord PDA. */
  splitRecord?: PublicKey;
}

export function executeSplitInstruction(args: ExecuteSplitArgs): TransactionInstruction {
  const programId = args.programId ?? PROGRAM_ID;
  const planHash =
    args.planHash ??
    splitPlanHash({ programId, treasury: args.treasury, runId: args.runId, batchIndex: args.batchIndex, transfers: args.transfers });
  const splitRecord =
    args.splitRecord ?? splitRecordAddress({ treasury: args.treasury, runId: args.runId, batchIndex: args.batchIndex, programId });
  return buildInstruction(
    "execute_split",
    {
      payer: args.payer,
      authority: args.authority,
      treasury: args.treasury,
      vault: args.vault,
      mint: args.mint,
      split_record: splitRecord,
      token_program: args.tokenProgram,
      system_program: SystemProgram.programId,
    },
    {
      run_id: Array.from(fixedBytes(args.runId, 16, "runId")),
      batch_index: args.batchIndex,
      plan_hash: Array.from(fixedBytes(planHash, 32, "planHash")),
      amounts: args.transfers.map((t, i) => toBN(t.amount, `transfers[${i}].amount`)),
    },
    args.transfers.map((t) => ({ pubkey: t.tokenAccount, isSigner: false, isWritable: true })),
    programId,
  );
}

export function withdrawInstruction(args: TreasuryAccounts & { authority: PublicKey; destination: PublicKey; amount: bigint }): TransactionInstruction {
  return buildInstruction(
    "withdraw",
    {
      authority: args.authority,
      treasury: args.treasury,
      vault: args.vault,
      destination: args.destination,
      mint: args.mint,
      token_program: args.tokenProgram,
    },
    { amount: toBN(args.amount, "amount") },
    [],
    args.programId,
  );
}

export function setAuthorityInstruction(args: {
  authority: PublicKey;
  newAuthority: PublicKey;
  treasury: PublicKey;
  programId?: PublicKey;
}): TransactionInstruction {
  return buildInstruction(
    "set_authority",
    { authority: args.authority, new_authority: args.newAuthority, treasury: args.treasury },
    {},
    [],
    args.programId,
  );
}

export function setPausedInstruction(args: { authority: PublicKey; treasury: PublicKey; paused: boolean; programId?: PublicKey }): TransactionInstruction {
  return buildInstruction("set_paused", { authority: args.authority, treasury: args.treasury }, { paused: args.paused }, [], args.programId);
}
