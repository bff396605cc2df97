// Every way to misuse execute_split / withdraw / deposit that the program must refuse, on bankrun
// and LiteSVM: each refused with its own error code (a recipient that cannot receive with
// 6100 + its position), and no balance or treasury byte changed.
import { Keypair, PublicKey, SystemProgram, TransactionInstruction } from "@solana/web3.js";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { MAX_RECIPIENTS } from "../../app/settlement/program.js";
import { captureBeforeSplit, expectRecipientRefused, expectRefused, expectSplitApplied } from "./harness/assertions.js";
import { lookupTableAddresses, shapeOptions } from "./harness/capacity.js";
import { TOKEN_2022_PROGRAM_ID, newRunId, type PayoutsClient } from "./harness/client.js";
import {
  RUNTIME_KINDS,
  distinctAmounts,
  executeSplitIx,
  newRecipients,
  planHashOf,
  planSplit,
  sendSplit,
  setupTreasury,
  startRuntime,
  type SplitPlan,
  type TreasuryWorld,
} from "./harness/world.js";

vi.setConfig({ testTimeout: 120_000, hookTimeout: 180_000 });

const U64_MAX = (1n << 64n) - 1n;
const VAULT_FUNDS = 10_000_000n;

describe.each(RUNTIME_KINDS)("refusals on %s", (kind) => {
  let client: PayoutsClient;
  let world: TreasuryWorld;
  let recipients: PublicKey[];
  /** Everything a refusal must leave untouched: the recipients plus the vault and funder (always watched). */
  let watched: PublicKey[];

  const goodPlan = (): SplitPlan => planSplit(world, recipients.slice(0, 3), [100n, 200n, 300n]);
  /** A plan whose hash matches its own (wrong) contents, so only the check under test can catch it. */
  const consistentPlan = (accounts: PublicKey[], amounts: bigint[]): SplitPlan => planSplit(world, accounts, amounts);

  beforeAll(async () => {
    client = await startRuntime(kind);
    world = await setupTreasury(client, { deposit: VAULT_FUNDS, freezable: true });
    recipients = await newRecipients(world, 4);
    watched = [...recipients];
  });

  it("error: signer is not the treasury authority", async () => {
    // Given: a funded stranger who signs in the authority slot
    const stranger = await client.newFundedKeypair();
    // When / Then
    await expectRefused(world, watched, "Unauthorized", () =>
      sendSplit(world, goodPlan(), { signers: [stranger], overrides: { authority: stranger.publicKey } }),
    );
  });

  it("error: authority does not sign", async () => {
    // Given: the real authority named in the accounts, but not as a signer (built by hand)
    const ix = executeSplitIx(world, goodPlan());
    ix.keys[1] = { ...ix.keys[1]!, isSigner: false };
    // When / Then
    await expectRefused(world, watched, "AuthorityMustSign", () => client.send([ix], []));
  });

  it("error: paused treasury", async () => {
    // Given: a paused treasury
    const pause = (paused: boolean) =>
      client.setPausedIx({ authority: world.authority.publicKey, treasury: world.treasury, paused });
    await client.expectOk(client.send([pause(true)], [world.authority]), "pause");
    try {
      // When / Then
      await expectRefused(world, watched, "TreasuryPaused", () => sendSplit(world, goodPlan()));
    } finally {
      await client.expectOk(client.send([pause(false)], [world.authority]), "unpause");
    }
  });

  it("error: wrong vault (another token account of the same mint)", async () => {
    // Given: a token account of the right mint that is not the treasury's vault; When / Then
    await expectRefused(world, watched, "InvalidVault", () =>
      sendSplit(world, goodPlan(), { overrides: { vault: recipients[3]! } }),
    );
  });

  it("error: mint account is not the treasury's mint", async () => {
    // Given: another mint of the same token program in the mint slot; When / Then
    const other = await client.createMint({ tokenProgram: world.tokenProgram });
    await expectRefused(world, watched, "InvalidMint", () => sendSplit(world, goodPlan(), { overrides: { mint: other.mint } }));
  });

  it("error: token program is not the treasury's", async () => {
    // Given: Token-2022 named for an SPL Token treasury; When / Then
    await expectRefused(world, watched, "InvalidTokenProgram", () =>
      sendSplit(world, goodPlan(), { overrides: { tokenProgram: TOKEN_2022_PROGRAM_ID } }),
    );
  });

  it("error: recipient token account holds another mint", async () => {
    // Given: a token account of a different mint among the recipients
    const other = await client.createMint({ tokenProgram: world.tokenProgram });
    const [foreign] = await client.createTokenAccounts(other.mint, [Keypair.generate().publicKey], world.tokenProgram);
    const plan = consistentPlan([recipients[0]!, foreign!], [100n, 200n]);
    // When / Then: refused at its position, before any transfer
    await expectRecipientRefused(world, [...watched, foreign!], { position: 1, reason: "RecipientWrongMint", recipient: foreign! }, () =>
      sendSplit(world, plan),
    );
  });

  it("error: recipient account owned by another program", async () => {
    // Given: a byte-for-byte copy of a real recipient token account, owned by the system program
    const real = await client.runtime.getAccount(recipients[0]!);
    const forged = Keypair.generate().publicKey;
    await client.forgeAccount(forged, { owner: SystemProgram.programId, data: real!.data, lamports: real!.lamports });
    const plan = consistentPlan([recipients[1]!, forged], [100n, 200n]);
    // When / Then
    await expectRecipientRefused(world, watched, { position: 1, reason: "RecipientNotTokenAccount", recipient: forged }, () =>
      sendSplit(world, plan),
    );
  });

  it("error: frozen recipient token account", async () => {
    // Given: a recipient whose token account the mint's freeze authority froze
    const [frozen] = await newRecipients(world, 1);
    await client.freeze(frozen!, world.mint, world.tokenProgram);
    const plan = consistentPlan([recipients[0]!, frozen!], [100n, 200n]);
    // When / Then: refused before any transfer, by the program rather than the token program,
    // with the position the executor holds out
    await expectRecipientRefused(world, [...watched, frozen!], { position: 1, reason: "RecipientFrozen", recipient: frozen! }, () =>
      sendSplit(world, plan),
    );
  });

  it("error: more recipients than MAX_RECIPIENTS", async () => {
    // Given: MAX_RECIPIENTS + 1 recipients, sent as v0 + lookup table so the transaction fits
    const max = MAX_RECIPIENTS;
    const many = await newRecipients(world, max + 1);
    const table = await client.createLookupTable(lookupTableAddresses(world, many));
    const plan = consistentPlan(many, distinctAmounts(max + 1, 1n));
    // When / Then
    await expectRefused(world, [...watched, ...many], "TooManyRecipients", () =>
      sendSplit(world, plan, shapeOptions(world, "v0_alt", table)),
    );
  });

  it("error: the vault as a recipient", async () => {
    // Given: the vault itself among the recipients, hash consistent; When / Then
    const plan = consistentPlan([recipients[0]!, world.vault], [100n, 200n]);
    await expectRefused(world, watched, "RecipientIsVault", () => sendSplit(world, plan));
  });

  it("error: duplicate recipient", async () => {
    // Given: the same token account twice, hash consistent; When / Then
    const plan = consistentPlan([recipients[0]!, recipients[1]!, recipients[0]!], [100n, 200n, 300n]);
    await expectRefused(world, watched, "DuplicateRecipient", () => sendSplit(world, plan));
  });

  it("error: zero amount", async () => {
    // Given: one amount of zero, hash consistent; When / Then
    const plan = consistentPlan(recipients.slice(0, 3), [100n, 0n, 300n]);
    await expectRefused(world, watched, "ZeroAmount", () => sendSplit(world, plan));
  });

  it("error: fewer amounts than recipients", async () => {
    // Given: three recipient accounts but two amounts (hash over the first two pairs)
    const plan = consistentPlan(recipients.slice(0, 2), [100n, 200n]);
    await expectRefused(world, watched, "AmountsCountMismatch", () =>
      sendSplit(world, plan, { overrides: { recipients: recipients.slice(0, 3) } }),
    );
  });

  it("error: more amounts than recipients", async () => {
    // Given: two recipient accounts but three amounts; When / Then
    const plan = consistentPlan(recipients.slice(0, 2), [100n, 200n]);
    await expectRefused(world, watched, "AmountsCountMismatch", () =>
      sendSplit(world, plan, { overrides: { amounts: [100n, 200n, 300n] } }),
    );
  });

  it("error: no recipients", async () => {
    // Given: an empty plan; When / Then
    const plan = consistentPlan([], []);
    await expectRefused(world, watched, "NoRecipients", () => sendSplit(world, plan));
  });

  it("error: sum exceeds the vault balance", async () => {
    // Given: amounts whose sum is one more than the vault holds
    const vaultBalance = await client.tokenBalance(world.vault);
    const plan = consistentPlan(recipients.slice(0, 2), [vaultBalance - 100n, 101n]);
    await expectRefused(world, watched, "InsufficientVaultBalance", () => sendSplit(world, plan));
  });

  it("error: u64 overflow in the sum", async () => {
    // Given: two amounts whose sum wraps u64; When / Then
    const plan = consistentPlan(recipients.slice(0, 2), [U64_MAX, 2n]);
    await expectRefused(world, watched, "AmountOverflow", () => sendSplit(world, plan));
  });

  it("error: plan hash mismatch (one flipped bit)", async () => {
    // Given: the right accounts and amounts with one bit of the hash flipped; When / Then
    const plan = goodPlan();
    const tampered = Buffer.from(plan.planHash);
    tampered[0] = tampered[0]! ^ 1;
    await expectRefused(world, watched, "PlanHashMismatch", () => sendSplit(world, plan, { overrides: { planHash: tampered } }));
  });

  it("error: plan hash of the same pairs in another order", async () => {
    // Given: the hash of (r0,100),(r1,200) but accounts sent as r1, r0 with amounts 200, 100
    const plan = goodPlan();
    const reordered = [plan.recipients[1]!, plan.recipients[0]!, plan.recipients[2]!];
    expect(planHashOf(world, reordered, [200n, 100n, 300n], plan.batchIndex, plan.runId).equals(plan.planHash)).toBe(false);
    await expectRefused(world, watched, "PlanHashMismatch", () =>
      sendSplit(world, plan, { overrides: { recipients: reordered, amounts: [200n, 100n, 300n] } }),
    );
  });

  it("error: the plan hash of the same pairs signed off for another batch of the run", async () => {
    // Given: batch 0's hash over exactly these pairs, sent as batch 1 of the same run
    const plan = goodPlan();
    const asBatchOne = { ...plan, batchIndex: 1, splitRecord: client.splitRecordAddress(world.treasury, plan.runId, 1) };
    // When / Then: the hash commits to the batch index, so it does not validate batch 1
    await expectRefused(world, watched, "PlanHashMismatch", () => sendSplit(world, asBatchOne));
    expect(await client.runtime.getAccount(asBatchOne.splitRecord)).toBeNull();
  });

  it("error: the plan hash of the same pairs signed off for another run", async () => {
    // Given: run A's hash, sent under run B with the same batch index and pairs
    const plan = goodPlan();
    const otherRun = newRunId();
    const asOtherRun = { ...plan, runId: otherRun, splitRecord: client.splitRecordAddress(world.treasury, otherRun, plan.batchIndex) };
    // When / Then
    await expectRefused(world, watched, "PlanHashMismatch", () => sendSplit(world, asOtherRun));
  });

  it("error: the plan hash of the same batch for another treasury", async () => {
    // Given: a second treasury of the same authority and mint, and a hash made for it
    const other = await setupTreasury(client, {
      mint: { mint: world.mint, decimals: world.decimals, tokenProgram: world.tokenProgram },
      authority: world.authority,
    });
    const plan = goodPlan();
    const hashForOther = planHashOf(other, plan.recipients, plan.amounts, plan.batchIndex, plan.runId);
    // When: that hash is sent to this treasury, Then: refused
    await expectRefused(world, watched, "PlanHashMismatch", () => sendSplit(world, plan, { overrides: { planHash: hashForOther } }));
  });

  it("error: the same run and batch executed twice", async () => {
    // Given: a batch that executed once
    const plan = goodPlan();
    const before = await captureBeforeSplit(world, plan);
    await expectSplitApplied(world, plan, before, await sendSplit(world, plan), world.authority.publicKey);
    const record = await client.runtime.getAccount(plan.splitRecord);
    // When: the identical batch is sent again, Then: refused, nothing moves, the record is untouched
    await expectRefused(world, watched, "SplitAlreadyExecuted", () => sendSplit(world, plan));
    expect(Buffer.from((await client.runtime.getAccount(plan.splitRecord))!.data).equals(Buffer.from(record!.data))).toBe(true);
  });

  it("error: forged treasury (a copy of the real one at a non-PDA address)", async () => {
    // Given: the treasury's exact bytes, owned by the program, at an address no seed derives, and
    // the split record derived from that forged address, so only the treasury check can object
    const real = await client.runtime.getAccount(world.treasury);
    const forged = Keypair.generate().publicKey;
    await client.forgeAccount(forged, { owner: client.programId, data: real!.data, lamports: real!.lamports });
    const plan = goodPlan();
    const splitRecord = client.splitRecordAddress(forged, plan.runId, plan.batchIndex);
    // When / Then
    await expectRefused(world, watched, "InvalidTreasury", () =>
      sendSplit(world, plan, { overrides: { treasury: forged, splitRecord } }),
    );
  });

  it("error: treasury bytes in an account owned by another program", async () => {
    // Given: a copy of the treasury owned by the system program (the shape anyone could fake)
    const real = await client.runtime.getAccount(world.treasury);
    const forged = Keypair.generate().publicKey;
    await client.forgeAccount(forged, { owner: SystemProgram.programId, data: real!.data, lamports: real!.lamports });
    const plan = goodPlan();
    const splitRecord = client.splitRecordAddress(forged, plan.runId, plan.batchIndex);
    await expectRefused(world, watched, "InvalidTreasury", () =>
      sendSplit(world, plan, { overrides: { treasury: forged, splitRecord } }),
    );
  });

  it("error: split record address is not the PDA (a random address)", async () => {
    // Given: a random address in the split record slot; When / Then
    await expectRefused(world, watched, "InvalidSplitRecord", () =>
      sendSplit(world, goodPlan(), { overrides: { splitRecord: Keypair.generate().publicKey } }),
    );
  });

  it("error: split record address of another batch", async () => {
    // Given: the PDA of batch + 1 in the split record slot; When / Then: refused, and nothing created there
    const plan = goodPlan();
    const otherBatch = client.splitRecordAddress(world.treasury, plan.runId, plan.batchIndex + 1);
    await expectRefused(world, watched, "InvalidSplitRecord", () => sendSplit(world, plan, { overrides: { splitRecord: otherBatch } }));
    expect(await client.runtime.getAccount(otherBatch)).toBeNull();
  });

  it("error: withdraw by a non-authority", async () => {
    // Given: a stranger with a destination of their own
    const stranger = await client.newFundedKeypair();
    const [destination] = await client.createTokenAccounts(world.mint, [stranger.publicKey], world.tokenProgram);
    const ix = client.withdrawIx({
      authority: stranger.publicKey,
      treasury: world.treasury,
      vault: world.vault,
      destination: destination!,
      mint: world.mint,
      tokenProgram: world.tokenProgram,
      amount: 1_000n,
    });
    // When / Then
    await expectRefused(world, [...watched, destination!], "Unauthorized", () => client.send([ix], [stranger]));
  });

  it("error: withdraw without the authority's signature", async () => {
    // Given: a withdraw naming the real authority as a non-signer (built by hand)
    const ix = client.withdrawIx({
      authority: world.authority.publicKey,
      treasury: world.treasury,
      vault: world.vault,
      destination: world.funderAccount,
      mint: world.mint,
      tokenProgram: world.tokenProgram,
      amount: 1_000n,
    });
    ix.keys[0] = { ...ix.keys[0]!, isSigner: false };
    // When / Then
    await expectRefused(world, watched, "AuthorityMustSign", () => client.send([ix], []));
  });

  it("error: deposit and withdraw of zero", async () => {
    // Given / When / Then: a zero deposit, then a zero withdraw
    const depositIx = client.depositIx({
      depositor: world.funder.publicKey,
      source: world.funderAccount,
      treasury: world.treasury,
      vault: world.vault,
      mint: world.mint,
      tokenProgram: world.tokenProgram,
      amount: 0n,
    });
    await expectRefused(world, watched, "ZeroDepositOrWithdraw", () => client.send([depositIx], [world.funder]));
    const withdrawIx = client.withdrawIx({
      authority: world.authority.publicKey,
      treasury: world.treasury,
      vault: world.vault,
      destination: world.funderAccount,
      mint: world.mint,
      tokenProgram: world.tokenProgram,
      amount: 0n,
    });
    await expectRefused(world, watched, "ZeroDepositOrWithdraw", () => client.send([withdrawIx], [world.authority]));
  });

  it("error: too few accounts for execute_split", async () => {
    // Given: execute_split with only its first four accounts (built by hand); When / Then
    const full = executeSplitIx(world, goodPlan());
    const ix = new TransactionInstruction({ programId: full.programId, keys: full.keys.slice(0, 4), data: full.data });
    await expectRefused(world, watched, "NotEnoughAccounts", () => client.send([ix], [world.authority]));
  });

  it("error: truncated instruction data", async () => {
    // Given: a valid execute_split with its last amount cut short (raw data built by hand)
    const full = executeSplitIx(world, goodPlan());
    const ix = new TransactionInstruction({ programId: full.programId, keys: full.keys, data: full.data.subarray(0, full.data.length - 3) });
    await expectRefused(world, watched, "InvalidInstructionData", () => client.send([ix], [world.authority]));
  });

  it("error: trailing bytes after the instruction data", async () => {
    // Given: a valid execute_split with one extra byte (raw data built by hand); When / Then
    const full = executeSplitIx(world, goodPlan());
    const ix = new TransactionInstruction({ programId: full.programId, keys: full.keys, data: Buffer.concat([full.data, Buffer.from([0])]) });
    await expectRefused(world, watched, "InvalidInstructionData", () => client.send([ix], [world.authority]));
  });

  it("error: unknown instruction discriminator", async () => {
    // Given: the execute_split body behind eight bytes no instruction hashes to
    const full = executeSplitIx(world, goodPlan());
    const data = Buffer.from(full.data);
    data.fill(0xee, 0, 8);
    const ix = new TransactionInstruction({ programId: full.programId, keys: full.keys, data });
    await expectRefused(world, watched, "UnknownInstruction", () => client.send([ix], [world.authority]));
  });
});
