// Token-2022 mint extensions at initialize_treasury, on bankrun and LiteSVM, with real mints made
// by Token-2022's own instructions: each extension that could move, freeze or hide the vault's
// balance or make transfers fail is refused with nothing created, and so is MintCloseAuthority,
// since a closed mint comes back at the same address with any extension (decisions 003, 007);
// the harmless ones are accepted and the treasury then works end to end.
import { Keypair, PublicKey, TransactionInstruction } from "@solana/web3.js";
import {
  AccountLayout,
  AccountState,
  ExtensionType,
  MINT_SIZE,
  MintLayout,
  TokenInstruction,
  createInitializeDefaultAccountStateInstruction,
  createInitializeInterestBearingMintInstruction,
  createInitializeMetadataPointerInstruction,
  createInitializeMintCloseAuthorityInstruction,
  createInitializeNonTransferableMintInstruction,
  createInitializePausableConfigInstruction,
  createInitializePermanentDelegateInstruction,
  createInitializeTransferHookInstruction,
  createCloseAccountInstruction,
  createMintToCheckedInstruction,
} from "@solana/spl-token";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { captureBeforeSplit, expectProgramError, expectSplitApplied } from "./harness/assertions.js";
import { TOKEN_2022_PROGRAM_ID, newOrgId, type PayoutsClient } from "./harness/client.js";
import {
  RUNTIME_KINDS,
  distinctAmounts,
  newRecipients,
  planSplit,
  sendSplit,
  setupTreasury,
  startRuntime,
} from "./harness/world.js";

vi.setConfig({ testTimeout: 120_000, hookTimeout: 180_000 });

/**
 * Token-2022's ConfidentialTransferExtension / InitializeMint, which @solana/spl-token does not
 * build: data = [27, 0, authority (32), auto_approve_new_accounts (1), auditor ElGamal key (32, zero = none)].
 */
function initializeConfidentialTransferMintIx(mint: PublicKey, authority: PublicKey): TransactionInstruction {
  const data = Buffer.alloc(2 + 32 + 1 + 32);
  data[0] = TokenInstruction.ConfidentialTransferExtension;
  data[1] = 0;
  authority.toBuffer().copy(data, 2);
  data[34] = 1;
  return new TransactionInstruction({
    programId: TOKEN_2022_PROGRAM_ID,
    keys: [{ pubkey: mint, isSigner: false, isWritable: true }],
    data,
  });
}

interface ExtensionCase {
  name: string;
  extensions: ExtensionType[];
  /** The extension type the program must name in its log (the first refused one). */
  refusedType: number;
  freezable?: boolean;
  init: (mint: PublicKey, authority: PublicKey) => TransactionInstruction[];
  /**
   * For runtimes whose bundled Token-2022 predates the extension (bankrun's Solana 1.18 build
   * answers "Invalid instruction" to PausableExtension): the TLV entry Token-2022 would write,
   * so the mint can be laid down byte for byte instead. The program reads the mint before any CPI.
   */
  forgedEntry?: (authority: PublicKey) => { type: number; value: Buffer };
  forgeOn?: readonly string[];
}

const REFUSED: ExtensionCase[] = [
  {
    name: "PermanentDelegate (its delegate can move tokens out of the vault)",
    extensions: [ExtensionType.PermanentDelegate],
    refusedType: ExtensionType.PermanentDelegate,
    init: (mint, authority) => [createInitializePermanentDelegateInstruction(mint, authority, TOKEN_2022_PROGRAM_ID)],
  },
  {
    name: "NonTransferable (every split would fail)",
    extensions: [ExtensionType.NonTransferable],
    refusedType: ExtensionType.NonTransferable,
    init: (mint) => [createInitializeNonTransferableMintInstruction(mint, TOKEN_2022_PROGRAM_ID)],
  },
  {
    name: "DefaultAccountState = Frozen (the vault would be born frozen)",
    extensions: [ExtensionType.DefaultAccountState],
    refusedType: ExtensionType.DefaultAccountState,
    freezable: true,
    init: (mint) => [createInitializeDefaultAccountStateInstruction(mint, AccountState.Frozen, TOKEN_2022_PROGRAM_ID)],
  },
  {
    name: "ConfidentialTransferMint (balances could move out of sight)",
    extensions: [ExtensionType.ConfidentialTransferMint],
    refusedType: ExtensionType.ConfidentialTransferMint,
    init: (mint, authority) => [initializeConfidentialTransferMintIx(mint, authority)],
  },
  {
    name: "PausableConfig (its authority can halt every transfer)",
    extensions: [ExtensionType.PausableConfig],
    refusedType: ExtensionType.PausableConfig,
    init: (mint, authority) => [createInitializePausableConfigInstruction(mint, authority, TOKEN_2022_PROGRAM_ID)],
    // PausableConfig { authority: Pubkey, paused: PodBool }
    forgedEntry: (authority) => ({ type: ExtensionType.PausableConfig, value: Buffer.concat([authority.toBuffer(), Buffer.from([0])]) }),
    forgeOn: ["bankrun"],
  },
  {
    name: "TransferHook (another program runs inside every transfer)",
    extensions: [ExtensionType.TransferHook],
    refusedType: ExtensionType.TransferHook,
    init: (mint, authority) => [
      createInitializeTransferHookInstruction(mint, authority, Keypair.generate().publicKey, TOKEN_2022_PROGRAM_ID),
    ],
  },
  {
    name: "PermanentDelegate behind an accepted MetadataPointer",
    extensions: [ExtensionType.MetadataPointer, ExtensionType.PermanentDelegate],
    refusedType: ExtensionType.PermanentDelegate,
    init: (mint, authority) => [
      createInitializeMetadataPointerInstruction(mint, authority, mint, TOKEN_2022_PROGRAM_ID),
      createInitializePermanentDelegateInstruction(mint, authority, TOKEN_2022_PROGRAM_ID),
    ],
  },
  {
    name: "MintCloseAuthority (closed at zero supply, the mint can come back with a PermanentDelegate)",
    extensions: [ExtensionType.MintCloseAuthority],
    refusedType: ExtensionType.MintCloseAuthority,
    init: (mint, authority) => [createInitializeMintCloseAuthorityInstruction(mint, authority, TOKEN_2022_PROGRAM_ID)],
  },
  {
    name: "MintCloseAuthority behind accepted MetadataPointer and InterestBearingConfig",
    extensions: [ExtensionType.MetadataPointer, ExtensionType.InterestBearingConfig, ExtensionType.MintCloseAuthority],
    refusedType: ExtensionType.MintCloseAuthority,
    init: (mint, authority) => [
      createInitializeMetadataPointerInstruction(mint, authority, mint, TOKEN_2022_PROGRAM_ID),
      createInitializeInterestBearingMintInstruction(mint, authority, 500, TOKEN_2022_PROGRAM_ID),
      createInitializeMintCloseAuthorityInstruction(mint, authority, TOKEN_2022_PROGRAM_ID),
    ],
  },
];

const ACCEPTED: Omit<ExtensionCase, "refusedType">[] = [
  {
    name: "DefaultAccountState = Initialized",
    extensions: [ExtensionType.DefaultAccountState],
    freezable: true,
    init: (mint) => [createInitializeDefaultAccountStateInstruction(mint, AccountState.Initialized, TOKEN_2022_PROGRAM_ID)],
  },
  {
    name: "MetadataPointer + InterestBearingConfig",
    extensions: [ExtensionType.MetadataPointer, ExtensionType.InterestBearingConfig],
    init: (mint, authority) => [
      createInitializeMetadataPointerInstruction(mint, authority, mint, TOKEN_2022_PROGRAM_ID),
      createInitializeInterestBearingMintInstruction(mint, authority, 500, TOKEN_2022_PROGRAM_ID),
    ],
  },
];

/**
 * Writes a Token-2022 mint the way Token-2022 lays it out: the 82-byte base, zeros to 165, account
 * type 1 (mint), then one TLV entry. Only for extensions the runtime's Token-2022 cannot create.
 */
async function forgeToken2022Mint(
  client: PayoutsClient,
  entry: { type: number; value: Buffer },
): Promise<PublicKey> {
  const mint = Keypair.generate().publicKey;
  const base = Buffer.alloc(MINT_SIZE);
  MintLayout.encode(
    {
      mintAuthorityOption: 1,
      mintAuthority: client.runtime.payer.publicKey,
      supply: 0n,
      decimals: 6,
      isInitialized: true,
      freezeAuthorityOption: 0,
      freezeAuthority: PublicKey.default,
    },
    base,
  );
  const header = Buffer.alloc(4);
  header.writeUInt16LE(entry.type, 0);
  header.writeUInt16LE(entry.value.length, 2);
  const data = Buffer.concat([base, Buffer.alloc(165 - MINT_SIZE), Buffer.from([1]), header, entry.value]);
  const lamports = await client.runtime.minimumBalanceForRentExemption(data.length);
  await client.forgeAccount(mint, { owner: TOKEN_2022_PROGRAM_ID, data, lamports });
  return mint;
}

/** The number the program logged after "Unsupported Token-2022 mint extension type:" (sol_log_64 prints hex). */
function loggedExtensionType(logs: readonly string[]): number | null {
  const at = logs.findIndex((line) => line.includes("Unsupported Token-2022 mint extension type:"));
  if (at < 0 || at + 1 >= logs.length) return null;
  const match = /Program log: 0x([0-9a-f]+),/.exec(logs[at + 1]!);
  return match ? Number.parseInt(match[1]!, 16) : null;
}

describe.each(RUNTIME_KINDS)("Token-2022 mint extensions on %s", (kind) => {
  let client: PayoutsClient;

  beforeAll(async () => {
    client = await startRuntime(kind);
  });

  it.each(REFUSED)("error: $name is refused with UnsupportedMintExtension and nothing is created", async (testCase) => {
    // Given: a real Token-2022 mint carrying the extension (laid down byte for byte where the
    // runtime's Token-2022 cannot create it), and a fresh org
    const mint =
      testCase.forgedEntry && testCase.forgeOn?.includes(kind)
        ? await forgeToken2022Mint(client, testCase.forgedEntry(client.runtime.payer.publicKey))
        : (
            await client.createToken2022Mint({
              extensions: testCase.extensions,
              initExtensions: testCase.init,
              freezable: testCase.freezable ?? false,
            })
          ).mint;
    const mintAccount = await client.runtime.getAccount(mint);
    expect(Buffer.from(mintAccount!.data).readUInt16LE(166 + 0)).toBe(testCase.extensions[0]);
    const authority = await client.newFundedKeypair();
    const orgId = newOrgId();
    const treasury = client.treasuryAddress(mint, authority.publicKey, orgId);
    const vault = client.vaultAddress(treasury);
    const ix = client.initializeTreasuryIx({
      payer: client.runtime.payer.publicKey,
      authority: authority.publicKey,
      mint,
      orgId,
      tokenProgram: TOKEN_2022_PROGRAM_ID,
    });
    // When
    const outcome = await client.send([ix], [authority]);
    // Then: the program's own error, naming the refused extension type in its log
    expectProgramError(client, outcome, "UnsupportedMintExtension");
    expect(loggedExtensionType(outcome.logs), outcome.logs.join("\n")).toBe(testCase.refusedType);
    // Then: neither the treasury nor its vault exists
    expect(await client.runtime.getAccount(treasury)).toBeNull();
    expect(await client.runtime.getAccount(vault)).toBeNull();
  });

  it.runIf(kind === "litesvm")("the hand-laid PausableConfig mint is byte-identical to one Token-2022 creates", async () => {
    // Given: the same pausable mint made by Token-2022 itself and laid down by forgeToken2022Mint
    const pausable = REFUSED.find((c) => c.extensions[0] === ExtensionType.PausableConfig)!;
    const real = await client.createToken2022Mint({ extensions: pausable.extensions, initExtensions: pausable.init });
    const forged = await forgeToken2022Mint(client, pausable.forgedEntry!(client.runtime.payer.publicKey));
    // Then: same bytes, same owner, so the bankrun case exercises a real layout
    const [a, b] = [await client.runtime.getAccount(real.mint), await client.runtime.getAccount(forged)];
    expect(Buffer.from(b!.data).toString("hex")).toBe(Buffer.from(a!.data).toString("hex"));
    expect(b!.owner.equals(a!.owner)).toBe(true);
  });

  it("why MintCloseAuthority is refused: Token-2022 closes such a mint at zero supply and re-creates it at the same address with a PermanentDelegate that then moves a holder's tokens", async () => {
    // Given: a mint with a close authority, and an (empty) token account of it, as a vault would be
    const mintKeypair = Keypair.generate();
    const closable = REFUSED.find((c) => c.refusedType === ExtensionType.MintCloseAuthority && c.extensions.length === 1)!;
    const first = await client.createToken2022Mint({ extensions: closable.extensions, initExtensions: closable.init, mintKeypair });
    const holder = Keypair.generate().publicKey;
    const [holderAccount] = await client.createTokenAccounts(first.mint, [holder], TOKEN_2022_PROGRAM_ID);
    // When: the close authority closes the mint (supply is zero) and re-creates it at the same address
    const payer = client.runtime.payer;
    const close = createCloseAccountInstruction(first.mint, payer.publicKey, payer.publicKey, [], TOKEN_2022_PROGRAM_ID);
    await client.expectOk(client.send([close]), "close the mint");
    expect(await client.runtime.getAccount(first.mint)).toBeNull();
    const delegated = REFUSED.find((c) => c.refusedType === ExtensionType.PermanentDelegate && c.extensions.length === 1)!;
    const second = await client.createToken2022Mint({ extensions: delegated.extensions, initExtensions: delegated.init, mintKeypair });
    // Then: same address, now with a PermanentDelegate, and the old token account is one of it
    expect(second.mint.equals(first.mint)).toBe(true);
    expect(Buffer.from((await client.runtime.getAccount(second.mint))!.data).readUInt16LE(166)).toBe(ExtensionType.PermanentDelegate);
    // When: tokens arrive in that account and the delegate (not its owner) transfers them away
    const mintTo = createMintToCheckedInstruction(second.mint, holderAccount!, payer.publicKey, 1_000n, 6, [], TOKEN_2022_PROGRAM_ID);
    await client.expectOk(client.send([mintTo]), "mint to the holder");
    const [elsewhere] = await client.createTokenAccounts(second.mint, [Keypair.generate().publicKey], TOKEN_2022_PROGRAM_ID);
    const taken = client.transferCheckedIx({
      source: holderAccount!,
      mint: second.mint,
      destination: elsewhere!,
      owner: payer.publicKey,
      amount: 1_000n,
      decimals: 6,
      tokenProgram: TOKEN_2022_PROGRAM_ID,
    });
    await client.expectOk(client.send([taken]), "permanent delegate transfer");
    // Then: the holder's balance is gone without its owner signing: a vault over such a mint would be too
    expect(await client.tokenBalance(holderAccount!)).toBe(0n);
    expect(await client.tokenBalance(elsewhere!)).toBe(1_000n);
  });

  it.each(ACCEPTED)("accepts $name: the treasury initializes, takes a deposit and splits", async (testCase) => {
    // Given: a real Token-2022 mint carrying only accepted extensions
    const mint = await client.createToken2022Mint({
      extensions: testCase.extensions,
      initExtensions: testCase.init,
      freezable: testCase.freezable ?? false,
    });
    // When: a treasury is initialized over it and funded through deposit
    const world = await setupTreasury(client, { mint, deposit: 5_000_000n });
    // Then: the vault is an unfrozen token account of the mint whose owner is the treasury
    const vault = await client.runtime.getAccount(world.vault);
    expect(vault?.owner.equals(TOKEN_2022_PROGRAM_ID)).toBe(true);
    const decoded = AccountLayout.decode(Buffer.from(vault!.data).subarray(0, AccountLayout.span));
    expect(decoded.owner.equals(world.treasury)).toBe(true);
    expect(decoded.state).toBe(AccountState.Initialized);
    expect(decoded.amount).toBe(5_000_000n);
    // Then: a split pays exactly its plan
    const recipients = await newRecipients(world, 2);
    const plan = planSplit(world, recipients, distinctAmounts(2, 40_000n));
    const before = await captureBeforeSplit(world, plan);
    await expectSplitApplied(world, plan, before, await sendSplit(world, plan), world.authority.publicKey);
  });
});
