// Recipients that cannot receive, on bankrun and LiteSVM: each is refused BEFORE any transfer
// with 6100 + its position, the RecipientRefused event names it and why, no balance changes,
// and the executor can hold exactly those recipients out and pay the rest (decision 007).
// Also what Token-2022 itself does: a memo-requiring account refuses a plain transfer in, while
// CPI Guard does not restrict transfers into an account, so a guarded recipient is paid.
import { Keypair, PublicKey } from "@solana/web3.js";
import {
  ExtensionType,
  createCloseAccountInstruction,
  createEnableCpiGuardInstruction,
  createEnableRequiredMemoTransfersInstruction,
  createReallocateInstruction,
} from "@solana/spl-token";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { recipientRefusalFromError, recipientRefusalsFromLogs } from "../../app/settlement/program-logs.js";
import { captureBeforeSplit, expectRecipientRefused, expectSplitApplied } from "./harness/assertions.js";
import { TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID, type PayoutsClient } from "./harness/client.js";
import {
  RUNTIME_KINDS,
  distinctAmounts,
  newRecipients,
  planSplit,
  sendSplit,
  setupTreasury,
  snapshot,
  type TreasuryWorld,
  startRuntime,
} from "./harness/world.js";

vi.setConfig({ testTimeout: 120_000, hookTimeout: 180_000 });

/** A token account of the world's mint whose owner we hold, so the owner can change its settings. */
async function ownedRecipient(world: TreasuryWorld): Promise<{ account: PublicKey; owner: Keypair }> {
  const owner = Keypair.generate();
  const [account] = await world.client.createTokenAccounts(world.mint, [owner.publicKey], world.tokenProgram);
  return { account: account!, owner };
}

/** Adds room for `extension` to a Token-2022 account and turns it on, as its owner would. */
async function enableAccountExtension(
  world: TreasuryWorld,
  recipient: { account: PublicKey; owner: Keypair },
  extension: ExtensionType.MemoTransfer | ExtensionType.CpiGuard,
): Promise<void> {
  const { client } = world;
  const payer = client.runtime.payer.publicKey;
  const enable =
    extension === ExtensionType.MemoTransfer
      ? createEnableRequiredMemoTransfersInstruction(recipient.account, recipient.owner.publicKey, [], TOKEN_2022_PROGRAM_ID)
      : createEnableCpiGuardInstruction(recipient.account, recipient.owner.publicKey, [], TOKEN_2022_PROGRAM_ID);
  const realloc = createReallocateInstruction(recipient.account, payer, [extension], recipient.owner.publicKey, [], TOKEN_2022_PROGRAM_ID);
  await client.expectOk(client.send([realloc, enable], [recipient.owner]), `enable extension ${extension}`);
}

/** Closes a token account (empty) as its owner: afterwards the address holds nothing. */
async function closeRecipient(world: TreasuryWorld, recipient: { account: PublicKey; owner: Keypair }): Promise<void> {
  const { client } = world;
  const ix = createCloseAccountInstruction(recipient.account, client.runtime.payer.publicKey, recipient.owner.publicKey, [], world.tokenProgram);
  await client.expectOk(client.send([ix], [recipient.owner]), "close token account");
  expect(await client.runtime.getAccount(recipient.account)).toBeNull();
}

describe.each(RUNTIME_KINDS)("recipients that cannot receive on %s", (kind) => {
  let client: PayoutsClient;

  beforeAll(async () => {
    client = await startRuntime(kind);
  });

  describe.each([
    ["SPL Token", TOKEN_PROGRAM_ID],
    ["Token-2022", TOKEN_2022_PROGRAM_ID],
  ] as const)("with a %s mint", (_label, tokenProgram) => {
    let world: TreasuryWorld;
    let payable: PublicKey[];

    beforeAll(async () => {
      world = await setupTreasury(client, { tokenProgram, deposit: 50_000_000n, freezable: true });
      payable = await newRecipients(world, 4);
    });

    it("error: a closed recipient token account is refused at its position as RecipientMissing", async () => {
      // Given: a recipient whose token account its owner closed, third in the batch
      const closed = await ownedRecipient(world);
      await closeRecipient(world, closed);
      const plan = planSplit(world, [payable[0]!, payable[1]!, closed.account, payable[2]!], distinctAmounts(4));
      // When / Then: refused with 6102 before any transfer; nothing moved
      await expectRecipientRefused(world, payable, { position: 2, reason: "RecipientMissing", recipient: closed.account }, () =>
        sendSplit(world, plan),
      );
    });

    it("error: a recipient address that was never created is refused as RecipientMissing", async () => {
      // Given: an address with no account at all, first in the batch
      const nowhere = Keypair.generate().publicKey;
      const plan = planSplit(world, [nowhere, payable[0]!], distinctAmounts(2));
      // When / Then
      await expectRecipientRefused(world, payable, { position: 0, reason: "RecipientMissing", recipient: nowhere }, () =>
        sendSplit(world, plan),
      );
    });

    it("error: a token account of the other token program is refused as RecipientNotTokenAccount", async () => {
      // Given: a token account of a mint of the other token program (wrong owner program)
      const otherProgram = tokenProgram.equals(TOKEN_PROGRAM_ID) ? TOKEN_2022_PROGRAM_ID : TOKEN_PROGRAM_ID;
      const otherMint = await client.createMint({ tokenProgram: otherProgram });
      const [foreign] = await client.createTokenAccounts(otherMint.mint, [Keypair.generate().publicKey], otherProgram);
      const plan = planSplit(world, [payable[0]!, payable[1]!, payable[2]!, foreign!], distinctAmounts(4));
      // When / Then
      await expectRecipientRefused(world, [...payable, foreign!], { position: 3, reason: "RecipientNotTokenAccount", recipient: foreign! }, () =>
        sendSplit(world, plan),
      );
    });

    it("error: a frozen recipient deep in the batch is refused at its own position", async () => {
      // Given: five good recipients and a frozen one at position 5
      const [frozen] = await newRecipients(world, 1);
      await client.freeze(frozen!, world.mint, world.tokenProgram);
      const more = await newRecipients(world, 1);
      const recipients = [...payable, more[0]!, frozen!];
      const plan = planSplit(world, recipients, distinctAmounts(recipients.length));
      // When / Then
      await expectRecipientRefused(world, recipients, { position: 5, reason: "RecipientFrozen", recipient: frozen! }, () =>
        sendSplit(world, plan),
      );
    });

    it("names every recipient that cannot receive in one attempt; the batch without them then pays exactly", async () => {
      // Given: a batch of six with a frozen recipient at 1 and a missing one at 4
      const [frozen] = await newRecipients(world, 1);
      await client.freeze(frozen!, world.mint, world.tokenProgram);
      const missing = Keypair.generate().publicKey;
      const good = await newRecipients(world, 4);
      const recipients = [good[0]!, frozen!, good[1]!, good[2]!, missing, good[3]!];
      const amounts = distinctAmounts(6, 3_000n);
      const plan = planSplit(world, recipients, amounts);
      const before = await snapshot(world, [...good, frozen!]);
      // When: the executor sends it
      const refused = await sendSplit(world, plan);
      // Then: the error names the first; the logs name both, with their reasons; nothing moved
      const first = recipientRefusalFromError(refused);
      expect({ ...first, recipient: first?.recipient?.toBase58() }).toEqual({ position: 1, reason: "RecipientFrozen", recipient: frozen!.toBase58() });
      expect(recipientRefusalsFromLogs(refused.logs).map((r) => [r.position, r.reason, r.recipient?.toBase58()])).toEqual([
        [1, "RecipientFrozen", frozen!.toBase58()],
        [4, "RecipientMissing", missing.toBase58()],
      ]);
      expect(await snapshot(world, [...good, frozen!])).toEqual(before);
      // When: it holds exactly those out and sends the rest as the same run and batch
      const heldOut = new Set(recipientRefusalsFromLogs(refused.logs).map((r) => r.position));
      const keep = recipients.map((_, i) => i).filter((i) => !heldOut.has(i));
      const retry = planSplit(world, keep.map((i) => recipients[i]!), keep.map((i) => amounts[i]!), plan.batchIndex, plan.runId);
      const beforeRetry = await captureBeforeSplit(world, retry);
      // Then: the four good recipients are paid exactly, under the batch's one SplitRecord
      await expectSplitApplied(world, retry, beforeRetry, await sendSplit(world, retry), world.authority.publicKey);
      expect(retry.splitRecord.equals(plan.splitRecord)).toBe(true);
    });

    it.runIf(tokenProgram.equals(TOKEN_2022_PROGRAM_ID))(
      "error: a recipient requiring incoming memos is refused as RecipientRequiresMemo, which Token-2022 would also refuse",
      async () => {
        // Given: a Token-2022 recipient whose owner turned on RequiredMemoTransfers
        const memo = await ownedRecipient(world);
        await enableAccountExtension(world, memo, ExtensionType.MemoTransfer);
        // Then (Token-2022 itself): a plain transfer in, with no memo before it, fails
        const plain = client.transferCheckedIx({
          source: world.funderAccount,
          mint: world.mint,
          destination: memo.account,
          owner: world.funder.publicKey,
          amount: 10n,
          decimals: world.decimals,
          tokenProgram,
        });
        const direct = await client.send([plain], [world.funder]);
        expect(direct.ok, direct.logs.join("\n")).toBe(false);
        expect(direct.logs.join("\n")).toMatch(/memo/i);
        // When: a split pays it at position 1, Then: the program refuses it first, by position
        const plan = planSplit(world, [payable[0]!, memo.account, payable[1]!], distinctAmounts(3));
        await expectRecipientRefused(world, [...payable, memo.account], { position: 1, reason: "RecipientRequiresMemo", recipient: memo.account }, () =>
          sendSplit(world, plan),
        );
      },
    );

    it.runIf(tokenProgram.equals(TOKEN_2022_PROGRAM_ID))(
      "pays a recipient with CPI Guard on: the guard restricts what its owner does through a CPI, not transfers into it",
      async () => {
        // Given: a Token-2022 recipient whose owner turned CPI Guard on
        const guarded = await ownedRecipient(world);
        await enableAccountExtension(world, guarded, ExtensionType.CpiGuard);
        const data = (await client.runtime.getAccount(guarded.account))!.data;
        expect(data.length).toBeGreaterThan(170);
        // When: a split (a CPI TransferChecked signed by the treasury) pays it
        const plan = planSplit(world, [payable[0]!, guarded.account], distinctAmounts(2, 9_000n));
        const before = await captureBeforeSplit(world, plan);
        // Then: it is paid exactly like any other recipient
        await expectSplitApplied(world, plan, before, await sendSplit(world, plan), world.authority.publicKey);
      },
    );

    it.runIf(tokenProgram.equals(TOKEN_2022_PROGRAM_ID))(
      "error: a recipient carrying an account extension of a refused mint feature is refused as RecipientExtensionUnsupported",
      async () => {
        // Given: (unreachable for an accepted mint) a real recipient's bytes with a TransferFeeAmount
        // entry appended, laid down as a Token-2022 account
        const [real] = await newRecipients(world, 1);
        const account = (await client.runtime.getAccount(real!))!;
        const entry = Buffer.alloc(4 + 8);
        entry.writeUInt16LE(ExtensionType.TransferFeeAmount, 0);
        entry.writeUInt16LE(8, 2);
        const data = Buffer.concat([Buffer.from(account.data), entry]);
        const forged = Keypair.generate().publicKey;
        await client.forgeAccount(forged, { owner: tokenProgram, data, lamports: await client.runtime.minimumBalanceForRentExemption(data.length) });
        const plan = planSplit(world, [payable[0]!, forged], distinctAmounts(2));
        // When / Then
        await expectRecipientRefused(world, payable, { position: 1, reason: "RecipientExtensionUnsupported", recipient: forged }, () =>
          sendSplit(world, plan),
        );
      },
    );
  });
});
