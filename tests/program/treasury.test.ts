// Treasury lifecycle on bankrun and LiteSVM: initialize, deposit, withdraw, authority change,
// pause/unpause, a Token-2022 treasury, refusal of a transfer-fee Token-2022 mint, and the
// treasury address bound to its founding authority (no squatting; set_authority keeps it).
import { Keypair, PublicKey } from "@solana/web3.js";
import { AccountLayout } from "@solana/spl-token";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { captureBeforeSplit, expectProgramError, expectRefused, expectSplitApplied, findEvent } from "./harness/assertions.js";
import { TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID, newOrgId, type PayoutsClient } from "./harness/client.js";
import {
  RUNTIME_KINDS,
  deposit,
  distinctAmounts,
  newRecipients,
  planSplit,
  sendSplit,
  setupTreasury,
  startRuntime,
  type TreasuryWorld,
} from "./harness/world.js";

vi.setConfig({ testTimeout: 120_000, hookTimeout: 180_000 });

describe.each(RUNTIME_KINDS)("treasury lifecycle on %s", (kind) => {
  let client: PayoutsClient;

  beforeAll(async () => {
    client = await startRuntime(kind);
  });

  describe.each([
    ["SPL Token", TOKEN_PROGRAM_ID],
    ["Token-2022", TOKEN_2022_PROGRAM_ID],
  ] as const)("with a %s mint", (_label, tokenProgram) => {
    let world: TreasuryWorld;

    beforeAll(async () => {
      world = await setupTreasury(client, { tokenProgram });
    });

    it("initializes the treasury PDA and its vault owned by the treasury", async () => {
      // Given: setupTreasury ran initialize_treasury with a fresh org id
      const treasury = await client.fetchTreasury(world.treasury);
      // Then: the account holds what was asked, with the bumps of the canonical PDAs
      expect(treasury.authority.equals(world.authority.publicKey)).toBe(true);
      expect(treasury.mint.equals(world.mint)).toBe(true);
      expect(treasury.tokenProgram.equals(tokenProgram)).toBe(true);
      expect(treasury.vault.equals(world.vault)).toBe(true);
      expect(Buffer.from(treasury.orgId).equals(world.orgId)).toBe(true);
      // The seeds spelled out by hand: ["treasury", mint, founding authority, org id].
      const [expected, bump] = PublicKey.findProgramAddressSync(
        [Buffer.from("treasury"), world.mint.toBuffer(), world.authority.publicKey.toBuffer(), world.orgId],
        client.programId,
      );
      expect(world.treasury.equals(expected)).toBe(true);
      expect(treasury.bump).toBe(bump);
      expect(treasury.seedAuthority.equals(world.authority.publicKey)).toBe(true);
      expect(treasury.vaultBump).toBe(
        PublicKey.findProgramAddressSync([Buffer.from("vault"), world.treasury.toBuffer()], client.programId)[1],
      );
      expect(treasury.paused).toBe(false);
      expect(treasury.totalSettled).toBe(0n);
      expect(treasury.splitsExecuted).toBe(0n);
      // Then: the vault is a token account of the mint, owned by the token program, authority = treasury
      const vault = await client.runtime.getAccount(world.vault);
      expect(vault?.owner.equals(tokenProgram)).toBe(true);
      const decoded = AccountLayout.decode(Buffer.from(vault!.data).subarray(0, AccountLayout.span));
      expect(decoded.mint.equals(world.mint)).toBe(true);
      expect(decoded.owner.equals(world.treasury)).toBe(true);
      expect(decoded.amount).toBe(0n);
    });

    it("emits TreasuryInitialized and refuses a second initialization of the same treasury", async () => {
      // Given: a second org on the same mint
      const orgId = newOrgId();
      const authority = await client.newFundedKeypair();
      const ix = client.initializeTreasuryIx({
        payer: client.runtime.payer.publicKey,
        authority: authority.publicKey,
        mint: world.mint,
        orgId,
        tokenProgram,
      });
      // When: it is initialized
      const first = await client.expectOk(client.send([ix], [authority]), "initialize_treasury");
      // Then: the event names the treasury, authority, mint and vault
      const treasury = client.treasuryAddress(world.mint, authority.publicKey, orgId);
      const event = findEvent(world, first.logs, "TreasuryInitialized");
      expect((event.treasury as PublicKey).equals(treasury)).toBe(true);
      expect((event.authority as PublicKey).equals(authority.publicKey)).toBe(true);
      expect((event.mint as PublicKey).equals(world.mint)).toBe(true);
      expect((event.vault as PublicKey).equals(client.vaultAddress(treasury))).toBe(true);
      // When: the same instruction is sent again, Then: it fails and the treasury is unchanged
      const before = await client.runtime.getAccount(treasury);
      const second = await client.send([ix], [authority]);
      expectProgramError(client, second, "TreasuryAlreadyInitialized");
      expect(Buffer.from((await client.runtime.getAccount(treasury))!.data).equals(Buffer.from(before!.data))).toBe(true);
    });

    it("deposits from any token holder into the vault", async () => {
      // Given: the funder's balance and the vault's balance
      const funderBefore = await client.tokenBalance(world.funderAccount);
      const vaultBefore = await client.tokenBalance(world.vault);
      // When
      const outcome = await deposit(world, 7_500_000n);
      // Then: a before/after pair on both sides, and a Deposited event
      expect(funderBefore - (await client.tokenBalance(world.funderAccount))).toBe(7_500_000n);
      expect((await client.tokenBalance(world.vault)) - vaultBefore).toBe(7_500_000n);
      const event = findEvent(world, outcome.logs, "Deposited");
      expect((event.treasury as PublicKey).equals(world.treasury)).toBe(true);
      expect((event.depositor as PublicKey).equals(world.funder.publicKey)).toBe(true);
      expect(event.amount).toBe(7_500_000n);
    });

    it("splits from the vault", async () => {
      // Given: a funded vault and three recipients of this mint
      await deposit(world, 1_000_000n);
      const recipients = await newRecipients(world, 3);
      const plan = planSplit(world, recipients, distinctAmounts(3, 20_000n));
      const before = await captureBeforeSplit(world, plan);
      // When / Then
      await expectSplitApplied(world, plan, before, await sendSplit(world, plan), world.authority.publicKey);
    });

    it("withdraws to a destination chosen by the authority", async () => {
      // Given: a funded vault and a destination token account
      await deposit(world, 2_000_000n);
      const [destination] = await newRecipients(world, 1);
      const vaultBefore = await client.tokenBalance(world.vault);
      // When
      const ix = client.withdrawIx({
        authority: world.authority.publicKey,
        treasury: world.treasury,
        vault: world.vault,
        destination: destination!,
        mint: world.mint,
        tokenProgram,
        amount: 1_250_000n,
      });
      const outcome = await client.expectOk(client.send([ix], [world.authority]), "withdraw");
      // Then
      expect(vaultBefore - (await client.tokenBalance(world.vault))).toBe(1_250_000n);
      expect(await client.tokenBalance(destination!)).toBe(1_250_000n);
      const event = findEvent(world, outcome.logs, "Withdrawn");
      expect((event.destination as PublicKey).equals(destination!)).toBe(true);
      expect(event.amount).toBe(1_250_000n);
    });
  });

  describe("authority and pause", () => {
    let world: TreasuryWorld;
    let recipients: PublicKey[];

    beforeAll(async () => {
      world = await setupTreasury(client, { deposit: 100_000_000n });
      recipients = await newRecipients(world, 2);
    });

    it("changes the authority when both sign, then refuses the old authority", async () => {
      // Given: a new authority
      const oldAuthority = world.authority;
      const newAuthority = await client.newFundedKeypair();
      // When: both sign set_authority
      const ix = client.setAuthorityIx({
        authority: oldAuthority.publicKey,
        newAuthority: newAuthority.publicKey,
        treasury: world.treasury,
      });
      const outcome = await client.expectOk(client.send([ix], [oldAuthority, newAuthority]), "set_authority");
      // Then: the treasury names the new authority and the event says who changed to whom
      expect((await client.fetchTreasury(world.treasury)).authority.equals(newAuthority.publicKey)).toBe(true);
      expect((await client.fetchTreasury(world.treasury)).seedAuthority.equals(oldAuthority.publicKey)).toBe(true);
      const event = findEvent(world, outcome.logs, "AuthorityChanged");
      expect((event.old_authority as PublicKey).equals(oldAuthority.publicKey)).toBe(true);
      expect((event.new_authority as PublicKey).equals(newAuthority.publicKey)).toBe(true);
      // Then: the old authority can no longer split
      const plan = planSplit(world, recipients, [10n, 20n]);
      await expectRefused(world, recipients, "Unauthorized", () =>
        sendSplit(world, plan, { signers: [oldAuthority], overrides: { authority: oldAuthority.publicKey } }),
      );
      // Then: the new one can
      world.authority = newAuthority;
      const before = await captureBeforeSplit(world, plan);
      await expectSplitApplied(world, plan, before, await sendSplit(world, plan), newAuthority.publicKey);
    });

    it("keeps the address of the founding authority after set_authority: the new authority withdraws, pauses and hands on", async () => {
      // Given: the treasury already handed from its founder to a second authority (previous test)
      const beforeHandOver = await client.fetchTreasury(world.treasury);
      const current = world.authority;
      expect(beforeHandOver.authority.equals(current.publicKey)).toBe(true);
      expect(beforeHandOver.seedAuthority.equals(current.publicKey)).toBe(false);
      const next = await client.newFundedKeypair();
      const handOver = client.setAuthorityIx({ authority: current.publicKey, newAuthority: next.publicKey, treasury: world.treasury });
      await client.expectOk(client.send([handOver], [current, next]), "set_authority again");
      // Then: control moved, the seed authority did not, and the address still derives from it
      const after = await client.fetchTreasury(world.treasury);
      expect(after.authority.equals(next.publicKey)).toBe(true);
      expect(after.seedAuthority.equals(beforeHandOver.seedAuthority)).toBe(true);
      expect(after.seedAuthority.equals(next.publicKey)).toBe(false);
      expect(client.treasuryAddress(world.mint, after.seedAuthority, world.orgId).equals(world.treasury)).toBe(true);
      // Then: an address derived from the new authority is another, unused one
      const derivedFromNew = client.treasuryAddress(world.mint, next.publicKey, world.orgId);
      expect(derivedFromNew.equals(world.treasury)).toBe(false);
      expect(await client.runtime.getAccount(derivedFromNew)).toBeNull();
      // When: the new authority withdraws (the treasury PDA signs with the founder's seeds)
      const [destination] = await newRecipients(world, 1);
      const vaultBefore = await client.tokenBalance(world.vault);
      const withdrawIx = client.withdrawIx({
        authority: next.publicKey,
        treasury: world.treasury,
        vault: world.vault,
        destination: destination!,
        mint: world.mint,
        tokenProgram: world.tokenProgram,
        amount: 4_321n,
      });
      await client.expectOk(client.send([withdrawIx], [next]), "withdraw by the new authority");
      // Then: exactly that amount moved
      expect(vaultBefore - (await client.tokenBalance(world.vault))).toBe(4_321n);
      expect(await client.tokenBalance(destination!)).toBe(4_321n);
      // When / Then: the new authority pauses and resumes; the previous one is refused
      for (const paused of [true, false]) {
        const ix = client.setPausedIx({ authority: next.publicKey, treasury: world.treasury, paused });
        await client.expectOk(client.send([ix], [next]), `set_paused(${paused}) by the new authority`);
      }
      const stale = client.setPausedIx({ authority: current.publicKey, treasury: world.treasury, paused: true });
      await expectRefused(world, recipients, "Unauthorized", () => client.send([stale], [current]));
      world.authority = next;
    });

    it("error: set_authority without the new authority's signature", async () => {
      // Given: a set_authority whose new authority is not a signer
      const stranger = Keypair.generate();
      const ix = client.setAuthorityIx({
        authority: world.authority.publicKey,
        newAuthority: stranger.publicKey,
        treasury: world.treasury,
      });
      ix.keys[1]!.isSigner = false;
      // When / Then
      await expectRefused(world, recipients, "NewAuthorityMustSign", () => client.send([ix], [world.authority]));
    });

    it("pauses and unpauses: a paused treasury refuses splits, an unpaused one executes them", async () => {
      // Given / When: the authority pauses
      const pauseIx = client.setPausedIx({ authority: world.authority.publicKey, treasury: world.treasury, paused: true });
      const paused = await client.expectOk(client.send([pauseIx], [world.authority]), "set_paused(true)");
      expect((await client.fetchTreasury(world.treasury)).paused).toBe(true);
      expect(findEvent(world, paused.logs, "PausedChanged").paused).toBe(true);
      // Then: a split is refused with TreasuryPaused and nothing moves
      const plan = planSplit(world, recipients, [30n, 40n]);
      await expectRefused(world, recipients, "TreasuryPaused", () => sendSplit(world, plan));
      // When: unpaused, Then: the same plan executes
      const unpauseIx = client.setPausedIx({ authority: world.authority.publicKey, treasury: world.treasury, paused: false });
      const unpaused = await client.expectOk(client.send([unpauseIx], [world.authority]), "set_paused(false)");
      expect(findEvent(world, unpaused.logs, "PausedChanged").paused).toBe(false);
      const before = await captureBeforeSplit(world, plan);
      await expectSplitApplied(world, plan, before, await sendSplit(world, plan), world.authority.publicKey);
    });

    it("error: set_paused by a non-authority", async () => {
      const stranger = await client.newFundedKeypair();
      const ix = client.setPausedIx({ authority: stranger.publicKey, treasury: world.treasury, paused: true });
      await expectRefused(world, recipients, "Unauthorized", () => client.send([ix], [stranger]));
      expect((await client.fetchTreasury(world.treasury)).paused).toBe(false);
    });
  });

  it("error: a Token-2022 mint with a transfer fee is refused at initialization", async () => {
    // Given: a Token-2022 mint carrying the TransferFeeConfig extension
    const { mint } = await client.createMint({ tokenProgram: TOKEN_2022_PROGRAM_ID, transferFeeBasisPoints: 50 });
    const authority = await client.newFundedKeypair();
    const orgId = newOrgId();
    const ix = client.initializeTreasuryIx({
      payer: client.runtime.payer.publicKey,
      authority: authority.publicKey,
      mint,
      orgId,
      tokenProgram: TOKEN_2022_PROGRAM_ID,
    });
    // When
    const outcome = await client.send([ix], [authority]);
    // Then: UnsupportedMintExtension, and neither the treasury nor its vault exists
    const treasury = client.treasuryAddress(mint, authority.publicKey, orgId);
    expectProgramError(client, outcome, "UnsupportedMintExtension");
    expect(await client.runtime.getAccount(treasury)).toBeNull();
    expect(await client.runtime.getAccount(client.vaultAddress(treasury))).toBeNull();
  });

  describe("treasury address bound to its founding authority", () => {
    it("error: a stranger can neither take an authority's treasury address nor block it with the same mint and org id", async () => {
      // Given: a mint, an authority about to create its treasury for an org, and a stranger who
      // knows the mint and the org id
      const { mint } = await client.createMint();
      const orgId = newOrgId();
      const owner = await client.newFundedKeypair();
      const stranger = await client.newFundedKeypair();
      const treasury = client.treasuryAddress(mint, owner.publicKey, orgId);
      const vault = client.vaultAddress(treasury);
      const init = (authority: PublicKey) =>
        client.initializeTreasuryIx({ payer: stranger.publicKey, authority, mint, orgId, tokenProgram: TOKEN_PROGRAM_ID });

      // When: the stranger signs as authority but names the owner's treasury and vault addresses
      const aimed = init(stranger.publicKey);
      aimed.keys[2] = { ...aimed.keys[2]!, pubkey: treasury };
      aimed.keys[3] = { ...aimed.keys[3]!, pubkey: vault };
      const taken = await client.send([aimed], [stranger], { feePayer: stranger });
      // Then: refused, the address derives from the signer's key, and nothing is created there
      expectProgramError(client, taken, "InvalidTreasury");
      expect(await client.runtime.getAccount(treasury)).toBeNull();
      expect(await client.runtime.getAccount(vault)).toBeNull();

      // When: the stranger names the owner as authority without the owner's signature
      const unsigned = init(owner.publicKey);
      unsigned.keys[1] = { ...unsigned.keys[1]!, isSigner: false };
      const impersonated = await client.send([unsigned], [stranger], { feePayer: stranger });
      // Then: refused for the missing signature, nothing created
      expectProgramError(client, impersonated, "AuthorityMustSign");
      expect(await client.runtime.getAccount(treasury)).toBeNull();

      // When: the stranger initializes a treasury for the same mint and org id with its own key
      await client.expectOk(client.send([init(stranger.publicKey)], [stranger], { feePayer: stranger }), "stranger's own treasury");
      const strangers = client.treasuryAddress(mint, stranger.publicKey, orgId);
      // Then: it lands at another address, and the owner's initialization still succeeds
      expect(strangers.equals(treasury)).toBe(false);
      const ownInit = client.initializeTreasuryIx({ payer: owner.publicKey, authority: owner.publicKey, mint, orgId, tokenProgram: TOKEN_PROGRAM_ID });
      await client.expectOk(client.send([ownInit], [owner], { feePayer: owner }), "owner's treasury");
      const ours = await client.fetchTreasury(treasury);
      expect(ours.authority.equals(owner.publicKey)).toBe(true);
      expect(ours.seedAuthority.equals(owner.publicKey)).toBe(true);
      expect(ours.vault.equals(vault)).toBe(true);
      expect((await client.fetchTreasury(strangers)).authority.equals(stranger.publicKey)).toBe(true);
    });
  });
});
