// The organization's treasury on chain: its address (derived from the mint, the founding authority and
// the organization), its state and vault balance, and the commands that create, fund and drain it. The
// app refuses a treasury whose authority is not its own. The embedded chain gets a demo stablecoin and a
// funded treasury once, on first start; a real cluster gets them by `npm run treasury`.
import {
  ACCOUNT_SIZE,
  AccountLayout,
  MINT_SIZE,
  MintLayout,
  createAssociatedTokenAccountIdempotentInstruction,
  createInitializeMint2Instruction,
  createMintToCheckedInstruction,
  getAssociatedTokenAddressSync,
} from "@solana/spl-token";
import { Keypair, LAMPORTS_PER_SOL, PublicKey, SystemProgram } from "@solana/web3.js";
import { formatMoney } from "~/ledger/money";
import { TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID } from "~/ledger/wallet";
import type { ChainClient } from "./chain.server";
import type { EmbeddedKeys } from "./keys.server";
import { decodeTreasury, depositInstruction, initializeTreasuryInstruction, treasuryAddress, vaultAddress, withdrawInstruction, type TreasuryAccount } from "./program";
import { programErrorFromError } from "./program-logs";
import { RpcError } from "./rpc-errors";

export type TreasuryErrorCode =
  | "TREASURY_FOREIGN_AUTHORITY"
  | "TREASURY_MINT_MISSING"
  | "TREASURY_MINT_REFUSED"
  | "TREASURY_FEE_PAYER_UNFUNDED"
  | "TREASURY_NOT_INITIALIZED"
  | "TREASURY_INSUFFICIENT_FUNDS"
  | "TREASURY_INVALID_AMOUNT";

export class TreasuryError extends Error {
  constructor(
    readonly code: TreasuryErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "TreasuryError";
  }
}

/** The demo stablecoin of the embedded chain: 6 decimals like USDC, labelled wherever it is shown. */
export const DEMO_TOKEN = { symbol: "sUSD", decimals: 6, label: "demo stablecoin of the embedded chain (no real value)" } as const;
/** What the embedded treasury's vault is funded with once: 1,000,000 sUSD. */
export const EMBEDDED_FUNDING = 1_000_000n * 10n ** 6n;

export interface TreasuryIdentity {
  programId: PublicKey;
  mint: PublicKey;
  /** The authority whose key is part of the address (the founding one). */
  seedAuthority: PublicKey;
  orgId: Uint8Array;
  treasury: PublicKey;
  vault: PublicKey;
}

/** The 16 bytes of an organization's UUID: the treasury's `org_id` seed. */
export function organizationSeed(organizationId: string): Uint8Array {
  const hex = organizationId.replaceAll("-", "");
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new Error(`not a UUID: ${organizationId}`);
  return Uint8Array.from(Buffer.from(hex, "hex"));
}

export function treasuryIdentity(args: { programId: PublicKey; mint: PublicKey; seedAuthority: PublicKey; organizationId: string }): TreasuryIdentity {
  const orgId = organizationSeed(args.organizationId);
  const treasury = treasuryAddress({ mint: args.mint, seedAuthority: args.seedAuthority, orgId, programId: args.programId });
  return { programId: args.programId, mint: args.mint, seedAuthority: args.seedAuthority, orgId, treasury, vault: vaultAddress(treasury, args.programId) };
}

export interface MintInfo {
  address: PublicKey;
  tokenProgram: PublicKey;
  decimals: number;
  supply: bigint;
  mintAuthority: PublicKey | null;
}

export async function readMint(client: ChainClient, mint: PublicKey): Promise<MintInfo> {
  const account = await client.account(mint);
  if (!account) throw new TreasuryError("TREASURY_MINT_MISSING", `no mint exists at ${mint.toBase58()} on this cluster`);
  const isTokenProgram = account.owner.equals(TOKEN_PROGRAM_ID) || account.owner.equals(TOKEN_2022_PROGRAM_ID);
  const looksLikeMint = account.data.length === MINT_SIZE || (account.data.length > ACCOUNT_SIZE && account.data[ACCOUNT_SIZE] === 1);
  if (!isTokenProgram || !looksLikeMint) {
    throw new TreasuryError("TREASURY_MINT_MISSING", `${mint.toBase58()} is not a token mint (owner ${account.owner.toBase58()})`);
  }
  const decoded = MintLayout.decode(account.data.subarray(0, MINT_SIZE));
  return {
    address: mint,
    tokenProgram: account.owner,
    decimals: decoded.decimals,
    supply: BigInt(decoded.supply.toString()),
    mintAuthority: decoded.mintAuthorityOption ? decoded.mintAuthority : null,
  };
}

/** A token account's balance in base units, or null when there is no token account there. */
export async function tokenBalance(client: ChainClient, tokenAccount: PublicKey): Promise<bigint | null> {
  const account = await client.account(tokenAccount);
  if (!account || account.data.length < ACCOUNT_SIZE) return null;
  return BigInt(AccountLayout.decode(account.data.subarray(0, ACCOUNT_SIZE)).amount.toString());
}

export interface TreasuryState {
  identity: TreasuryIdentity;
  account: TreasuryAccount;
  vaultBalance: bigint;
  mint: MintInfo;
}

/**
 * The treasury as the chain holds it, or null when it was never initialized. Throws
 * TREASURY_FOREIGN_AUTHORITY when its authority is not `expectedAuthority`: the app never signs for, nor
 * reports as its own, a treasury someone else controls.
 */
export async function readTreasury(client: ChainClient, identity: TreasuryIdentity, expectedAuthority: PublicKey): Promise<TreasuryState | null> {
  const raw = await client.account(identity.treasury);
  if (!raw) return null;
  if (!raw.owner.equals(identity.programId)) {
    throw new TreasuryError("TREASURY_FOREIGN_AUTHORITY", `${identity.treasury.toBase58()} is not an account of the payout program`);
  }
  const account = decodeTreasury(raw.data);
  if (!account.authority.equals(expectedAuthority)) {
    throw new TreasuryError(
      "TREASURY_FOREIGN_AUTHORITY",
      `the treasury ${identity.treasury.toBase58()} is controlled by ${account.authority.toBase58()}, not by this app's authority ${expectedAuthority.toBase58()}`,
    );
  }
  const [vaultBalance, mint] = await Promise.all([tokenBalance(client, identity.vault), readMint(client, identity.mint)]);
  return { identity, account, vaultBalance: vaultBalance ?? 0n, mint };
}

/** The authority signs beside the fee payer unless it is the fee payer. */
function cosigners(feePayer: Keypair, authority: Keypair): Keypair[] {
  return feePayer.publicKey.equals(authority.publicKey) ? [] : [authority];
}

async function requireLamports(client: ChainClient, payer: PublicKey, needed: bigint, what: string): Promise<void> {
  const balance = await client.lamports(payer);
  if (balance < needed) {
    throw new TreasuryError(
      "TREASURY_FEE_PAYER_UNFUNDED",
      `the fee payer ${payer.toBase58()} holds ${balance} lamports; ${what} needs about ${needed}: send it ${needed - balance} more lamports`,
    );
  }
}

/** Maps a refused transaction to the treasury's own error when the program says why. */
function explainRefusal(error: unknown, mint: PublicKey): never {
  if (error instanceof RpcError && error.code === "RPC_TRANSACTION_FAILED") {
    const programError = programErrorFromError({ logs: error.details.logs, err: error.details.transactionError });
    if (programError?.name === "UnsupportedMintExtension") {
      throw new TreasuryError("TREASURY_MINT_REFUSED", `the mint ${mint.toBase58()} has a Token-2022 extension the treasury refuses: ${programError.message}`);
    }
    if (programError) throw new TreasuryError("TREASURY_MINT_REFUSED", `the program refused: ${programError.name}: ${programError.message}`);
  }
  throw error;
}

/** Creates the treasury and its vault if they do not exist yet. Resolves whether this call created them. */
export async function initializeTreasury(
  client: ChainClient,
  args: { identity: TreasuryIdentity; authority: Keypair; feePayer: Keypair },
): Promise<{ created: boolean; state: TreasuryState }> {
  const { identity, authority, feePayer } = args;
  const existing = await readTreasury(client, identity, authority.publicKey);
  if (existing) return { created: false, state: existing };
  const mint = await readMint(client, identity.mint);
  const rent = await client.read("getMinimumBalanceForRentExemption", (c) => c.getMinimumBalanceForRentExemption(512));
  await requireLamports(client, feePayer.publicKey, BigInt(rent) * 2n + 20_000n, "creating the treasury and its vault");
  try {
    await client.sendInstructions(
      [
        initializeTreasuryInstruction({
          payer: feePayer.publicKey,
          authority: authority.publicKey,
          mint: identity.mint,
          tokenProgram: mint.tokenProgram,
          orgId: identity.orgId,
          programId: identity.programId,
        }),
      ],
      feePayer,
      cosigners(feePayer, authority),
    );
  } catch (error) {
    explainRefusal(error, identity.mint);
  }
  const state = await readTreasury(client, identity, authority.publicKey);
  if (!state) throw new TreasuryError("TREASURY_NOT_INITIALIZED", `the treasury ${identity.treasury.toBase58()} was not created`);
  return { created: true, state };
}

async function requireTreasury(client: ChainClient, identity: TreasuryIdentity, authority: PublicKey): Promise<TreasuryState> {
  const state = await readTreasury(client, identity, authority);
  if (!state) throw new TreasuryError("TREASURY_NOT_INITIALIZED", `no treasury at ${identity.treasury.toBase58()}: run \`npm run treasury -- init\` first`);
  return state;
}

function requirePositive(amount: bigint): void {
  if (amount <= 0n) throw new TreasuryError("TREASURY_INVALID_AMOUNT", "the amount must be greater than zero");
}

/** Moves `amount` base units from the authority's associated token account into the vault. */
export async function fundTreasury(
  client: ChainClient,
  args: { identity: TreasuryIdentity; authority: Keypair; feePayer: Keypair; amount: bigint },
): Promise<{ signature: string; state: TreasuryState }> {
  requirePositive(args.amount);
  const state = await requireTreasury(client, args.identity, args.authority.publicKey);
  const source = getAssociatedTokenAddressSync(args.identity.mint, args.authority.publicKey, true, state.mint.tokenProgram);
  const held = (await tokenBalance(client, source)) ?? 0n;
  if (held < args.amount) {
    throw new TreasuryError(
      "TREASURY_INSUFFICIENT_FUNDS",
      `the authority's token account ${source.toBase58()} holds ${formatMoney(held, state.mint.decimals)}, less than ${formatMoney(args.amount, state.mint.decimals)}`,
    );
  }
  await requireLamports(client, args.feePayer.publicKey, 10_000n, "the deposit");
  const { signature } = await client.sendInstructions(
    [
      depositInstruction({
        depositor: args.authority.publicKey,
        source,
        treasury: args.identity.treasury,
        vault: args.identity.vault,
        mint: args.identity.mint,
        tokenProgram: state.mint.tokenProgram,
        amount: args.amount,
        programId: args.identity.programId,
      }),
    ],
    args.feePayer,
    cosigners(args.feePayer, args.authority),
  );
  return { signature, state: await requireTreasury(client, args.identity, args.authority.publicKey) };
}

/** Pays `amount` base units out of the vault to `destination` (a token account of the mint). */
export async function withdrawFromTreasury(
  client: ChainClient,
  args: { identity: TreasuryIdentity; authority: Keypair; feePayer: Keypair; amount: bigint; destination: PublicKey },
): Promise<{ signature: string; state: TreasuryState }> {
  requirePositive(args.amount);
  const state = await requireTreasury(client, args.identity, args.authority.publicKey);
  if (state.vaultBalance < args.amount) {
    throw new TreasuryError(
      "TREASURY_INSUFFICIENT_FUNDS",
      `the vault holds ${formatMoney(state.vaultBalance, state.mint.decimals)}, less than ${formatMoney(args.amount, state.mint.decimals)}`,
    );
  }
  await requireLamports(client, args.feePayer.publicKey, 10_000n, "the withdrawal");
  const { signature } = await client.sendInstructions(
    [
      withdrawInstruction({
        authority: args.authority.publicKey,
        destination: args.destination,
        treasury: args.identity.treasury,
        vault: args.identity.vault,
        mint: args.identity.mint,
        tokenProgram: state.mint.tokenProgram,
        amount: args.amount,
        programId: args.identity.programId,
      }),
    ],
    args.feePayer,
    cosigners(args.feePayer, args.authority),
  );
  return { signature, state: await requireTreasury(client, args.identity, args.authority.publicKey) };
}

/**
 * The embedded chain's first start, idempotent step by step (each step looks at the chain first, so a
 * crash anywhere resumes where it stopped): fee payer airdropped, demo mint created, treasury and vault
 * initialized, the vault funded once with EMBEDDED_FUNDING.
 */
export async function bootstrapEmbeddedTreasury(
  client: ChainClient,
  args: { keys: EmbeddedKeys; organizationId: string; funding?: bigint },
): Promise<{ state: TreasuryState; steps: string[] }> {
  const { keys } = args;
  const feePayer = keys["fee-payer"];
  const authority = keys["treasury-authority"];
  const mintKey = keys["demo-mint"];
  const funding = args.funding ?? EMBEDDED_FUNDING;
  const steps: string[] = [];
  if ((await client.lamports(feePayer.publicKey)) < 10n * BigInt(LAMPORTS_PER_SOL)) {
    const signature = await client.read("requestAirdrop", (c) => c.requestAirdrop(feePayer.publicKey, 1_000 * LAMPORTS_PER_SOL));
    await client.confirmSignature(signature);
    steps.push("fee payer funded");
  }
  if (!(await client.account(mintKey.publicKey))) {
    const rent = await client.read("getMinimumBalanceForRentExemption", (c) => c.getMinimumBalanceForRentExemption(MINT_SIZE));
    await client.sendInstructions(
      [
        SystemProgram.createAccount({ fromPubkey: feePayer.publicKey, newAccountPubkey: mintKey.publicKey, lamports: rent, space: MINT_SIZE, programId: TOKEN_PROGRAM_ID }),
        createInitializeMint2Instruction(mintKey.publicKey, DEMO_TOKEN.decimals, keys["mint-authority"].publicKey, null, TOKEN_PROGRAM_ID),
      ],
      feePayer,
      [mintKey],
    );
    steps.push(`demo mint ${mintKey.publicKey.toBase58()} created`);
  }
  const identity = treasuryIdentity({
    programId: client.config.programId,
    mint: mintKey.publicKey,
    seedAuthority: authority.publicKey,
    organizationId: args.organizationId,
  });
  const { created, state } = await initializeTreasury(client, { identity, authority, feePayer });
  if (created) steps.push(`treasury ${identity.treasury.toBase58()} initialized`);
  // Funded once: a vault that never paid anything and holds nothing has not been funded yet.
  if (state.vaultBalance === 0n && state.account.splitsExecuted === 0n && state.account.totalSettled === 0n) {
    const source = getAssociatedTokenAddressSync(mintKey.publicKey, authority.publicKey, true, TOKEN_PROGRAM_ID);
    const held = (await tokenBalance(client, source)) ?? 0n;
    if (held < funding) {
      await client.sendInstructions(
        [
          createAssociatedTokenAccountIdempotentInstruction(feePayer.publicKey, source, authority.publicKey, mintKey.publicKey, TOKEN_PROGRAM_ID),
          createMintToCheckedInstruction(mintKey.publicKey, source, keys["mint-authority"].publicKey, funding - held, DEMO_TOKEN.decimals, [], TOKEN_PROGRAM_ID),
        ],
        feePayer,
        [keys["mint-authority"]],
      );
    }
    const funded = await fundTreasury(client, { identity, authority, feePayer, amount: funding });
    steps.push(`vault funded with ${formatMoney(funding, DEMO_TOKEN.decimals)} ${DEMO_TOKEN.symbol}`);
    return { state: funded.state, steps };
  }
  return { state, steps };
}
