// A real split on a test chain, made the way the app makes one (the app's chain client and program client):
// a funded authority, a 6-decimal mint, the organization's treasury funded, recipient token accounts, and
// execute_split transactions for given runs and batches.
import {
  MINT_SIZE,
  createAssociatedTokenAccountIdempotentInstruction,
  createInitializeMint2Instruction,
  createMintToCheckedInstruction,
  getAssociatedTokenAddressSync,
} from "@solana/spl-token";
import { ComputeBudgetProgram, Keypair, LAMPORTS_PER_SOL, PublicKey, SystemProgram } from "@solana/web3.js";
import { TOKEN_PROGRAM_ID } from "~/ledger/wallet";
import { ChainClient } from "~/settlement/chain.server";
import { executeSplitInstruction, PROGRAM_ID } from "~/settlement/program";
import { fundTreasury, initializeTreasury, treasuryIdentity, type TreasuryIdentity } from "~/settlement/treasury.server";

export interface SplitWorld {
  client: ChainClient;
  authority: Keypair;
  mint: PublicKey;
  identity: TreasuryIdentity;
  /** New recipient token accounts (associated accounts of fresh wallets). */
  newRecipients(count: number): Promise<PublicKey[]>;
  /** Mints `amount` base units into `owner`'s associated token account (created if missing). */
  mintTo(owner: PublicKey, amount: bigint): Promise<PublicKey>;
  /** Runs one execute_split; resolves its signature. */
  split(args: { runId: Uint8Array; batchIndex: number; transfers: { tokenAccount: PublicKey; amount: bigint }[] }): Promise<string>;
}

export async function createSplitWorld(rpcUrl: string, options: { organizationId: string; funding?: bigint }): Promise<SplitWorld> {
  const client = new ChainClient({ mode: "rpc", rpcUrl, displayUrl: rpcUrl, programId: PROGRAM_ID });
  const authority = Keypair.generate();
  await client.confirmSignature(await client.read("airdrop", (c) => c.requestAirdrop(authority.publicKey, 20 * LAMPORTS_PER_SOL)));
  const mintKey = Keypair.generate();
  const mint = mintKey.publicKey;
  const funding = options.funding ?? 10_000_000n;
  const rent = await client.read("rent", (c) => c.getMinimumBalanceForRentExemption(MINT_SIZE));
  const source = getAssociatedTokenAddressSync(mint, authority.publicKey, true, TOKEN_PROGRAM_ID);
  await client.sendInstructions(
    [
      SystemProgram.createAccount({ fromPubkey: authority.publicKey, newAccountPubkey: mint, lamports: rent, space: MINT_SIZE, programId: TOKEN_PROGRAM_ID }),
      createInitializeMint2Instruction(mint, 6, authority.publicKey, null, TOKEN_PROGRAM_ID),
      createAssociatedTokenAccountIdempotentInstruction(authority.publicKey, source, authority.publicKey, mint, TOKEN_PROGRAM_ID),
      createMintToCheckedInstruction(mint, source, authority.publicKey, funding, 6, [], TOKEN_PROGRAM_ID),
    ],
    authority,
    [mintKey],
  );
  const identity = treasuryIdentity({ programId: PROGRAM_ID, mint, seedAuthority: authority.publicKey, organizationId: options.organizationId });
  await initializeTreasury(client, { identity, authority, feePayer: authority });
  await fundTreasury(client, { identity, authority, feePayer: authority, amount: funding });
  return {
    client,
    authority,
    mint,
    identity,
    async newRecipients(count) {
      const accounts: PublicKey[] = [];
      const instructions = [];
      for (let i = 0; i < count; i++) {
        const wallet = Keypair.generate().publicKey;
        const ata = getAssociatedTokenAddressSync(mint, wallet, true, TOKEN_PROGRAM_ID);
        accounts.push(ata);
        instructions.push(createAssociatedTokenAccountIdempotentInstruction(authority.publicKey, ata, wallet, mint, TOKEN_PROGRAM_ID));
      }
      for (let i = 0; i < instructions.length; i += 8) await client.sendInstructions(instructions.slice(i, i + 8), authority);
      return accounts;
    },
    async mintTo(owner, amount) {
      const ata = getAssociatedTokenAddressSync(mint, owner, true, TOKEN_PROGRAM_ID);
      await client.sendInstructions(
        [
          createAssociatedTokenAccountIdempotentInstruction(authority.publicKey, ata, owner, mint, TOKEN_PROGRAM_ID),
          createMintToCheckedInstruction(mint, ata, authority.publicKey, amount, 6, [], TOKEN_PROGRAM_ID),
        ],
        authority,
      );
      return ata;
    },
    async split({ runId, batchIndex, transfers }) {
      const { signature } = await client.sendInstructions(
        [
          ComputeBudgetProgram.setComputeUnitLimit({ units: 400_000 }),
          executeSplitInstruction({
            payer: authority.publicKey,
            authority: authority.publicKey,
            treasury: identity.treasury,
            vault: identity.vault,
            mint,
            tokenProgram: TOKEN_PROGRAM_ID,
            runId,
            batchIndex,
            transfers,
          }),
        ],
        authority,
      );
      return signature;
    },
  };
}
