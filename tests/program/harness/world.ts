// Test worlds for stableflow_payouts: a runtime with the repo's program loaded, a mint, an
// initialized and funded treasury, recipients, and one-call split execution.
import { Keypair, PublicKey, type AccountMeta, type TransactionInstruction } from "@solana/web3.js";
import { TOKEN_PROGRAM_ID } from "@solana/spl-token";
import { findSplitRecordAddress, splitPlanHash } from "../../../app/settlement/program.js";
import { loadIdl, loadProgramBinary } from "./artifacts.js";
import { startBankrun } from "./bankrun.js";
import { PayoutsClient, newOrgId, newRunId, type SendOptions, type SentTransaction, type TreasuryAccount } from "./client.js";
import { startLiteSvm } from "./litesvm.js";
import type { RuntimeKind, SvmRuntime } from "./runtime.js";
import type { ProgramBinary } from "./runtime.js";

export const RUNTIME_KINDS: readonly RuntimeKind[] = ["bankrun", "litesvm"];

export async function startRuntime(kind: RuntimeKind): Promise<PayoutsClient> {
  // Both artifacts are checked before any runtime starts: a missing .so must fail loudly, not hang.
  const bytes = loadProgramBinary();
  const idl = loadIdl();
  const program: ProgramBinary = { programId: new PublicKey(idl.address), bytes };
  const runtime: SvmRuntime = kind === "bankrun" ? await startBankrun([program]) : await startLiteSvm([program]);
  return new PayoutsClient(runtime);
}

export interface TreasuryWorld {
  client: PayoutsClient;
  mint: PublicKey;
  decimals: number;
  tokenProgram: PublicKey;
  orgId: Buffer;
  treasury: PublicKey;
  vault: PublicKey;
  authority: Keypair;
  /** Holds tokens outside the treasury and funds the vault through `deposit`. */
  funder: Keypair;
  funderAccount: PublicKey;
}

/** Mint + treasury + funder, with `deposit` tokens moved into the vault through the program. */
export async function setupTreasury(
  client: PayoutsClient,
  options: {
    tokenProgram?: PublicKey;
    deposit?: bigint;
    funderBalance?: bigint;
    freezable?: boolean;
    /** An existing mint (e.g. Token-2022 with extensions) instead of a fresh plain one. */
    mint?: { mint: PublicKey; decimals: number; tokenProgram: PublicKey };
    /** A chosen org id, e.g. one whose PDAs were pre-funded. */
    orgId?: Buffer;
    /** A chosen (funded) authority, e.g. one whose treasury address was derived beforehand. */
    authority?: Keypair;
  } = {},
): Promise<TreasuryWorld> {
  const tokenProgram = options.mint?.tokenProgram ?? options.tokenProgram ?? TOKEN_PROGRAM_ID;
  const { mint, decimals } = options.mint ?? (await client.createMint({ tokenProgram, freezable: options.freezable ?? false }));
  const authority = options.authority ?? (await client.newFundedKeypair());
  const funder = await client.newFundedKeypair();
  const orgId = options.orgId ?? newOrgId();
  const treasury = client.treasuryAddress(mint, authority.publicKey, orgId);
  const vault = client.vaultAddress(treasury);
  const initIx = client.initializeTreasuryIx({
    payer: client.runtime.payer.publicKey,
    authority: authority.publicKey,
    mint,
    orgId,
    tokenProgram,
  });
  await client.expectOk(client.send([initIx], [authority]), "initialize_treasury");
  const [funderAccount] = await client.createTokenAccounts(mint, [funder.publicKey], tokenProgram);
  const funderBalance = options.funderBalance ?? 1_000_000_000_000n;
  await client.mintTo(mint, funderAccount!, funderBalance, decimals, tokenProgram);
  const world: TreasuryWorld = { client, mint, decimals, tokenProgram, orgId, treasury, vault, authority, funder, funderAccount: funderAccount! };
  if (options.deposit && options.deposit > 0n) await deposit(world, options.deposit);
  return world;
}

export async function deposit(world: TreasuryWorld, amount: bigint): Promise<SentTransaction> {
  const ix = world.client.depositIx({
    depositor: world.funder.publicKey,
    source: world.funderAccount,
    treasury: world.treasury,
    vault: world.vault,
    mint: world.mint,
    tokenProgram: world.tokenProgram,
    amount,
  });
  return world.client.expectOk(world.client.send([ix], [world.funder]), "deposit");
}

/** Token accounts (ATAs of fresh owners) of the world's mint. */
export async function newRecipients(world: TreasuryWorld, count: number): Promise<PublicKey[]> {
  const owners = Array.from({ length: count }, () => Keypair.generate().publicKey);
  return world.client.createTokenAccounts(world.mint, owners, world.tokenProgram);
}

/** Distinct, non-zero amounts so a mix-up between recipients cannot go unnoticed. */
export function distinctAmounts(count: number, base = 1_000n): bigint[] {
  return Array.from({ length: count }, (_, i) => base + BigInt(i) * 7n + 1n);
}

export interface SplitPlan {
  runId: Buffer;
  batchIndex: number;
  recipients: PublicKey[];
  amounts: bigint[];
  planHash: Buffer;
  splitRecord: PublicKey;
}

export function planSplit(
  world: TreasuryWorld,
  recipients: PublicKey[],
  amounts: bigint[],
  batchIndex = 0,
  runId: Buffer = newRunId(),
): SplitPlan {
  return {
    runId,
    batchIndex,
    recipients,
    amounts,
    planHash: planHashOf(world, recipients, amounts, batchIndex, runId),
    splitRecord: world.client.splitRecordAddress(world.treasury, runId, batchIndex),
  };
}

/** The plan hash the program expects for these pairs in this world's treasury, run and batch. */
export function planHashOf(
  world: TreasuryWorld,
  recipients: readonly PublicKey[],
  amounts: readonly bigint[],
  batchIndex: number,
  runId: Uint8Array,
): Buffer {
  const transfers = recipients.map((tokenAccount, i) => ({ tokenAccount, amount: amounts[i]! }));
  return Buffer.from(splitPlanHash({ treasury: world.treasury, runId, batchIndex, transfers }));
}

/**
 * A run id whose SplitRecord PDA has bump 255, so the program's find_program_address takes one
 * round: compute figures then do not jitter by 1,500 CU per extra bump round.
 */
export function runIdWithCanonicalFirstBump(world: TreasuryWorld, batchIndex = 0): Buffer {
  for (;;) {
    const runId = newRunId();
    const [, bump] = findSplitRecordAddress({ treasury: world.treasury, runId, batchIndex });
    if (bump === 255) return runId;
  }
}

/** Overrides for building a deliberately wrong execute_split. */
export interface SplitOverrides {
  payer?: PublicKey;
  authority?: PublicKey;
  treasury?: PublicKey;
  vault?: PublicKey;
  mint?: PublicKey;
  tokenProgram?: PublicKey;
  splitRecord?: PublicKey;
  planHash?: Uint8Array;
  amounts?: bigint[];
  recipients?: PublicKey[];
}

export function executeSplitIx(world: TreasuryWorld, plan: SplitPlan, overrides: SplitOverrides = {}): TransactionInstruction {
  return world.client.executeSplitIx({
    payer: overrides.payer ?? world.client.runtime.payer.publicKey,
    authority: overrides.authority ?? world.authority.publicKey,
    treasury: overrides.treasury ?? world.treasury,
    vault: overrides.vault ?? world.vault,
    mint: overrides.mint ?? world.mint,
    splitRecord: overrides.splitRecord ?? plan.splitRecord,
    tokenProgram: overrides.tokenProgram ?? world.tokenProgram,
    runId: plan.runId,
    batchIndex: plan.batchIndex,
    planHash: overrides.planHash ?? plan.planHash,
    amounts: overrides.amounts ?? plan.amounts,
    recipients: overrides.recipients ?? plan.recipients,
  });
}

export async function sendSplit(
  world: TreasuryWorld,
  plan: SplitPlan,
  options: SendOptions & { signers?: Keypair[]; overrides?: SplitOverrides } = {},
): Promise<SentTransaction> {
  // Whoever pays the fee also pays the SplitRecord rent, unless a test says otherwise.
  const ix = executeSplitIx(world, plan, { payer: options.feePayer?.publicKey, ...options.overrides });
  return world.client.send([ix], options.signers ?? [world.authority], options);
}

export interface SplitBefore {
  recipientBalances: bigint[];
  vaultBalance: bigint;
  treasury: TreasuryAccount;
}

/** Balances and treasury state right before a split, for before/after assertions. */
export async function captureBeforeSplit(world: TreasuryWorld, plan: SplitPlan): Promise<SplitBefore> {
  return {
    recipientBalances: await world.client.tokenBalances(plan.recipients),
    vaultBalance: await world.client.tokenBalance(world.vault),
    treasury: await world.client.fetchTreasury(world.treasury),
  };
}

/** Every token balance and the treasury's bytes: what a refused instruction must leave untouched. */
export interface StateSnapshot {
  balances: Map<string, bigint>;
  treasuryData: string;
}

export async function snapshot(world: TreasuryWorld, tokenAccounts: readonly PublicKey[]): Promise<StateSnapshot> {
  const accounts = [world.vault, world.funderAccount, ...tokenAccounts];
  const balances = new Map<string, bigint>();
  for (const account of accounts) balances.set(account.toBase58(), await world.client.tokenBalance(account));
  const treasury = await world.client.runtime.getAccount(world.treasury);
  return { balances, treasuryData: Buffer.from(treasury?.data ?? []).toString("hex") };
}

export const writableMeta = (pubkey: PublicKey): AccountMeta => ({ pubkey, isSigner: false, isWritable: true });
