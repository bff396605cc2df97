// What the chain tests build on: funded keys, a token mint with accounts, transfers signed and sent
// through Connection, a status loop (web3.js's confirmTransaction is not what the app relies on), and
// raw JSON-RPC calls for the shapes web3.js does not surface.
import {
  ComputeBudgetProgram,
  Keypair,
  LAMPORTS_PER_SOL,
  PublicKey,
  SystemProgram,
  Transaction,
  type Connection,
  type TransactionInstruction,
} from "@solana/web3.js";
import {
  createInitializeAccount3Instruction,
  createInitializeMint2Instruction,
  createMintToInstruction,
  createTransferCheckedInstruction,
  TOKEN_PROGRAM_ID,
} from "@solana/spl-token";

export const DECIMALS = 6;

export async function rpc(url: string, method: string, params?: unknown): Promise<{ result?: any; error?: { code: number; message: string; data?: any } }> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, ...(params === undefined ? {} : { params }) }),
  });
  return (await response.json()) as never;
}

/** Waits until `signature` reaches `level`; throws if it does not within `timeoutMs`. */
export async function waitForStatus(
  connection: Connection,
  signature: string,
  level: "processed" | "confirmed" | "finalized" = "confirmed",
  timeoutMs = 60_000,
) {
  const order = ["processed", "confirmed", "finalized"];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { value } = await connection.getSignatureStatuses([signature], { searchTransactionHistory: true });
    const status = value[0];
    if (status && order.indexOf(status.confirmationStatus ?? "processed") >= order.indexOf(level)) return status;
    if (Date.now() > deadline) throw new Error(`${signature} did not reach ${level} in ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export async function fundedKeypair(connection: Connection, sol = 10): Promise<Keypair> {
  const keypair = Keypair.generate();
  const signature = await connection.requestAirdrop(keypair.publicKey, sol * LAMPORTS_PER_SOL);
  await waitForStatus(connection, signature);
  return keypair;
}

/** Signs `instructions` for `payer` (and `signers`) with a fresh blockhash and sends them; waits for confirmed. */
export async function send(
  connection: Connection,
  payer: Keypair,
  instructions: TransactionInstruction[],
  signers: Keypair[] = [],
  options: { skipPreflight?: boolean } = {},
): Promise<string> {
  const { blockhash } = await connection.getLatestBlockhash("confirmed");
  const tx = new Transaction({ feePayer: payer.publicKey, recentBlockhash: blockhash }).add(...instructions);
  tx.sign(payer, ...signers);
  const signature = await connection.sendRawTransaction(tx.serialize(), { skipPreflight: options.skipPreflight ?? false });
  await waitForStatus(connection, signature);
  return signature;
}

export interface TokenWorld {
  payer: Keypair;
  mint: PublicKey;
  mintAuthority: Keypair;
  /** Token accounts owned by `owners[i]`, the first minted `supply`. */
  accounts: PublicKey[];
  owners: Keypair[];
  programId: PublicKey;
}

/** A mint and `count` token accounts (hand-made, not associated), the first holding `supply`. */
export async function tokenWorld(connection: Connection, count: number, supply: bigint, programId = TOKEN_PROGRAM_ID): Promise<TokenWorld> {
  const payer = await fundedKeypair(connection, 100);
  const mint = Keypair.generate();
  const mintAuthority = Keypair.generate();
  const mintRent = await connection.getMinimumBalanceForRentExemption(82);
  const accountRent = await connection.getMinimumBalanceForRentExemption(165);
  await send(connection, payer, [
    SystemProgram.createAccount({ fromPubkey: payer.publicKey, newAccountPubkey: mint.publicKey, lamports: mintRent, space: 82, programId }),
    createInitializeMint2Instruction(mint.publicKey, DECIMALS, mintAuthority.publicKey, mintAuthority.publicKey, programId),
  ], [mint]);
  const owners = Array.from({ length: count }, () => Keypair.generate());
  const accounts: PublicKey[] = [];
  for (let i = 0; i < count; i += 4) {
    const batch = owners.slice(i, i + 4).map((owner) => ({ owner, account: Keypair.generate() }));
    await send(
      connection,
      payer,
      batch.flatMap(({ owner, account }) => [
        SystemProgram.createAccount({ fromPubkey: payer.publicKey, newAccountPubkey: account.publicKey, lamports: accountRent, space: 165, programId }),
        createInitializeAccount3Instruction(account.publicKey, mint.publicKey, owner.publicKey, programId),
      ]),
      batch.map((b) => b.account),
    );
    accounts.push(...batch.map((b) => b.account.publicKey));
  }
  if (supply > 0n) await send(connection, payer, [createMintToInstruction(mint.publicKey, accounts[0]!, mintAuthority.publicKey, supply, [], programId)], [mintAuthority]);
  return { payer, mint: mint.publicKey, mintAuthority, accounts, owners, programId };
}

/** A signed, unsent TransferChecked of `amount` from account `from` to account `to` of the world. */
export function transferTx(world: TokenWorld, from: number, to: number, amount: bigint, blockhash: string, priceMicroLamports?: number): Transaction {
  const tx = new Transaction({ feePayer: world.payer.publicKey, recentBlockhash: blockhash });
  if (priceMicroLamports !== undefined) tx.add(ComputeBudgetProgram.setComputeUnitPrice({ microLamports: priceMicroLamports }));
  tx.add(createTransferCheckedInstruction(world.accounts[from]!, world.mint, world.accounts[to]!, world.owners[from]!.publicKey, amount, DECIMALS, [], world.programId));
  tx.sign(world.payer, world.owners[from]!);
  return tx;
}

export async function tokenAmount(connection: Connection, account: PublicKey): Promise<bigint> {
  return BigInt((await connection.getTokenAccountBalance(account)).value.amount);
}
