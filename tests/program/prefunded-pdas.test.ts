// Program addresses that received lamports before the program created them, on bankrun and
// LiteSVM: anyone can transfer lamports to a PDA, and `CreateAccount` fails on a funded address,
// so the program tops up, allocates and assigns instead. These tests prove that path works for
// the treasury, the vault and the split record, and that it cannot be used to take an account over.
import { Keypair, PublicKey, SystemProgram } from "@solana/web3.js";
import { AccountLayout, AccountState } from "@solana/spl-token";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { captureBeforeSplit, expectProgramError, expectRefused, expectSplitApplied } from "./harness/assertions.js";
import { TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID, newOrgId, type PayoutsClient } from "./harness/client.js";
import {
  RUNTIME_KINDS,
  distinctAmounts,
  newRecipients,
  planSplit,
  sendSplit,
  setupTreasury,
  startRuntime,
  type TreasuryWorld,
} from "./harness/world.js";

vi.setConfig({ testTimeout: 120_000, hookTimeout: 180_000 });

/**
 * How much to send ahead of the program. A system transfer may not leave a new account
 * rent-paying, so the smallest possible pre-funding is the rent-exempt minimum of an empty
 * account: below what any of our accounts needs (top-up path). Far above it, no top-up is due.
 */
const PREFUNDING = [
  { label: "less than its rent (the program tops up)", lamports: (client: PayoutsClient) => client.runtime.minimumBalanceForRentExemption(0) },
  { label: "more than its rent (nothing to top up)", lamports: async () => 3_000_000_000n },
] as const;

/** The lamports an account the program created must hold: its rent, or what it already had if more. */
async function expectedLamports(client: PayoutsClient, address: PublicKey, prefunded: bigint): Promise<bigint> {
  const account = await client.runtime.getAccount(address);
  const rent = await client.runtime.minimumBalanceForRentExemption(account!.data.length);
  return prefunded > rent ? prefunded : rent;
}

describe.each(RUNTIME_KINDS)("pre-funded program addresses on %s", (kind) => {
  let client: PayoutsClient;

  beforeAll(async () => {
    client = await startRuntime(kind);
  });

  describe.each([
    ["SPL Token", TOKEN_PROGRAM_ID],
    ["Token-2022", TOKEN_2022_PROGRAM_ID],
  ] as const)("with a %s mint", (_label, tokenProgram) => {
    it.each(PREFUNDING)("initializes a treasury whose treasury and vault addresses were funded with $label", async (prefunding) => {
      // Given: a mint, an org, and real system transfers to both PDAs before initialization
      const mint = await client.createMint({ tokenProgram });
      const orgId = newOrgId();
      const authority = await client.newFundedKeypair();
      const treasury = client.treasuryAddress(mint.mint, authority.publicKey, orgId);
      const vault = client.vaultAddress(treasury);
      const prefunded = await prefunding.lamports(client);
      await client.fund(treasury, prefunded);
      await client.fund(vault, prefunded);
      for (const address of [treasury, vault]) {
        const before = await client.runtime.getAccount(address);
        expect(before?.owner.equals(SystemProgram.programId)).toBe(true);
        expect(before?.lamports).toBe(prefunded);
      }
      // When: the treasury is initialized over those addresses and funded through deposit
      const world = await setupTreasury(client, { mint, orgId, authority, deposit: 3_000_000n });
      // Then: the treasury is the program's, decodes, and holds its rent (or the larger pre-funding)
      const treasuryAccount = await client.runtime.getAccount(treasury);
      expect(treasuryAccount?.owner.equals(client.programId)).toBe(true);
      expect(treasuryAccount?.lamports).toBe(await expectedLamports(client, treasury, prefunded));
      const state = await client.fetchTreasury(treasury);
      expect(state.authority.equals(world.authority.publicKey)).toBe(true);
      expect(state.vault.equals(vault)).toBe(true);
      // Then: the vault is an initialized token account of the mint, owned by the treasury
      const vaultAccount = await client.runtime.getAccount(vault);
      expect(vaultAccount?.owner.equals(tokenProgram)).toBe(true);
      expect(vaultAccount?.lamports).toBe(await expectedLamports(client, vault, prefunded));
      const decoded = AccountLayout.decode(Buffer.from(vaultAccount!.data).subarray(0, AccountLayout.span));
      expect(decoded.mint.equals(mint.mint)).toBe(true);
      expect(decoded.owner.equals(treasury)).toBe(true);
      expect(decoded.state).toBe(AccountState.Initialized);
      expect(decoded.amount).toBe(3_000_000n);
      // Then: it pays a split exactly
      const recipients = await newRecipients(world, 2);
      const plan = planSplit(world, recipients, distinctAmounts(2, 10_000n));
      const before = await captureBeforeSplit(world, plan);
      await expectSplitApplied(world, plan, before, await sendSplit(world, plan), world.authority.publicKey);
    });
  });

  describe("split record", () => {
    let world: TreasuryWorld;
    let recipients: PublicKey[];

    beforeAll(async () => {
      world = await setupTreasury(client, { deposit: 50_000_000n });
      recipients = await newRecipients(world, 3);
    });

    it.each(PREFUNDING)("executes a split whose record address was funded with $label exactly once", async (prefunding) => {
      // Given: a plan, and a real system transfer to its SplitRecord PDA before execution
      const plan = planSplit(world, recipients, distinctAmounts(3, 5_000n));
      const prefunded = await prefunding.lamports(client);
      await client.fund(plan.splitRecord, prefunded);
      const before = await captureBeforeSplit(world, plan);
      // When: the split executes
      const outcome = await sendSplit(world, plan);
      // Then: it moved exactly the plan, and the record is the program's with its rent or more
      await expectSplitApplied(world, plan, before, outcome, world.authority.publicKey);
      const record = await client.runtime.getAccount(plan.splitRecord);
      expect(record?.owner.equals(client.programId)).toBe(true);
      expect(record?.lamports).toBe(await expectedLamports(client, plan.splitRecord, prefunded));
      // When: the same (run, batch) is sent again, Then: SplitAlreadyExecuted, nothing moved
      const recordBytes = Buffer.from(record!.data).toString("hex");
      await expectRefused(world, recipients, "SplitAlreadyExecuted", () => sendSplit(world, plan));
      expect(Buffer.from((await client.runtime.getAccount(plan.splitRecord))!.data).toString("hex")).toBe(recordBytes);
    });
  });

  // Taking a PDA over would need it allocated or assigned away from the system program first.
  // `Allocate` and `Assign` require the address's own signature; a PDA has no private key, and only
  // the program whose id derives it can sign for it (through invoke_signed). So an attacker can only
  // ever send lamports. The first test shows the system program refusing an unsigned allocate or
  // assign of our PDA; the others lay down the unreachable states directly (setAccount) to show the
  // program refuses them rather than overwriting or adopting them.
  describe("accounts an attacker tries to claim", () => {
    it("error: allocate or assign of a PDA without its signature is refused by the system program", async () => {
      // Given: a treasury PDA already pre-funded by the attacker
      const { mint } = await client.createMint();
      const orgId = newOrgId();
      const owner = await client.newFundedKeypair();
      const treasury = client.treasuryAddress(mint, owner.publicKey, orgId);
      const attacker = await client.newFundedKeypair();
      await client.fund(treasury, await client.runtime.minimumBalanceForRentExemption(0));
      const attackerProgram = Keypair.generate().publicKey;
      for (const ix of [
        SystemProgram.allocate({ accountPubkey: treasury, space: 200 }),
        SystemProgram.assign({ accountPubkey: treasury, programId: attackerProgram }),
      ]) {
        // The attacker cannot produce the PDA's signature, so the account is listed unsigned.
        ix.keys[0]!.isSigner = false;
        // When
        const outcome = await client.send([ix], [attacker], { feePayer: attacker });
        // Then: refused for the missing signature; the address is still an empty system account
        expect(outcome.ok).toBe(false);
        expect(outcome.error?.message ?? "").toMatch(/MissingRequiredSignature|missing required signature/i);
        const account = await client.runtime.getAccount(treasury);
        expect(account?.owner.equals(SystemProgram.programId)).toBe(true);
        expect(account?.data.length).toBe(0);
      }
      // Then: the real initialization still succeeds over it
      const world = await setupTreasury(client, { mint: { mint, decimals: 6, tokenProgram: TOKEN_PROGRAM_ID }, orgId, authority: owner });
      expect(world.treasury.equals(treasury)).toBe(true);
      expect((await client.fetchTreasury(world.treasury)).authority.equals(owner.publicKey)).toBe(true);
    });

    it("error: a treasury address already holding data is refused with TreasuryAlreadyInitialized, not overwritten", async () => {
      // Given: (unreachable by transactions) the treasury PDA allocated with someone's bytes
      const { mint } = await client.createMint();
      const orgId = newOrgId();
      const authority = await client.newFundedKeypair();
      const treasury = client.treasuryAddress(mint, authority.publicKey, orgId);
      const planted = Buffer.alloc(64, 0x5a);
      await client.forgeAccount(treasury, {
        owner: SystemProgram.programId,
        data: planted,
        lamports: await client.runtime.minimumBalanceForRentExemption(planted.length),
      });
      const ix = client.initializeTreasuryIx({
        payer: client.runtime.payer.publicKey,
        authority: authority.publicKey,
        mint,
        orgId,
        tokenProgram: TOKEN_PROGRAM_ID,
      });
      // When
      const outcome = await client.send([ix], [authority]);
      // Then: refused, the planted bytes untouched, and no vault was created
      expectProgramError(client, outcome, "TreasuryAlreadyInitialized");
      const after = await client.runtime.getAccount(treasury);
      expect(Buffer.from(after!.data).equals(planted)).toBe(true);
      expect(after!.owner.equals(SystemProgram.programId)).toBe(true);
      expect(await client.runtime.getAccount(client.vaultAddress(treasury))).toBeNull();
    });

    it("error: a vault address already holding data is refused with InvalidVault and no treasury is created", async () => {
      // Given: (unreachable by transactions) the vault PDA allocated with someone's bytes
      const { mint } = await client.createMint();
      const orgId = newOrgId();
      const authority = await client.newFundedKeypair();
      const treasury = client.treasuryAddress(mint, authority.publicKey, orgId);
      const vault = client.vaultAddress(treasury);
      const planted = Buffer.alloc(165, 0x33);
      await client.forgeAccount(vault, {
        owner: SystemProgram.programId,
        data: planted,
        lamports: await client.runtime.minimumBalanceForRentExemption(planted.length),
      });
      const ix = client.initializeTreasuryIx({
        payer: client.runtime.payer.publicKey,
        authority: authority.publicKey,
        mint,
        orgId,
        tokenProgram: TOKEN_PROGRAM_ID,
      });
      // When
      const outcome = await client.send([ix], [authority]);
      // Then: refused before any effect: the planted bytes stand and the treasury does not exist
      expectProgramError(client, outcome, "InvalidVault");
      expect(Buffer.from((await client.runtime.getAccount(vault))!.data).equals(planted)).toBe(true);
      expect(await client.runtime.getAccount(treasury)).toBeNull();
    });

    it("error: a split record address assigned to another program fails the split and is not adopted", async () => {
      // Given: (unreachable by transactions) the SplitRecord PDA owned by another program, no data
      const world = await setupTreasury(client, { deposit: 10_000_000n });
      const recipients = await newRecipients(world, 2);
      const plan = planSplit(world, recipients, [700n, 900n]);
      const otherProgram = Keypair.generate().publicKey;
      await client.forgeAccount(plan.splitRecord, {
        owner: otherProgram,
        data: new Uint8Array(0),
        lamports: await client.runtime.minimumBalanceForRentExemption(0),
      });
      const balancesBefore = await client.tokenBalances([world.vault, ...recipients]);
      // When
      const outcome = await sendSplit(world, plan);
      // Then: the transaction fails (the system program will not allocate an account it does not
      // own), no token moved, and the account still belongs to the other program
      expect(outcome.ok).toBe(false);
      // SystemError::AccountAlreadyInUse (0) from the program's Allocate CPI; the whole
      // transaction, transfers included, is rolled back.
      expect(outcome.error?.customCode).toBe(0);
      expect(outcome.logs.join("\n")).toMatch(/Allocate: account .* already in use/);
      expect(await client.tokenBalances([world.vault, ...recipients])).toEqual(balancesBefore);
      const after = await client.runtime.getAccount(plan.splitRecord);
      expect(after?.owner.equals(otherProgram)).toBe(true);
      expect(after?.data.length).toBe(0);
      expect((await client.fetchTreasury(world.treasury)).splitsExecuted).toBe(0n);
    });
  });
});
