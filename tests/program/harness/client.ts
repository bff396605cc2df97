// Drives stableflow_payouts on any SvmRuntime through the app's program client
// (app/settlement/program.ts: PDAs, plan hash, instruction builders, decoders), adding what only
// tests need: transaction building with size checks (legacy and v0 + lookup table), sending
// through the runtime, SPL token setup, forged accounts.
import { createHash } from "node:crypto";
import {
  AddressLookupTableAccount,
  AddressLookupTableProgram,
  ComputeBudgetProgram,
  Keypair,
  PublicKey,
  SystemProgram,
  Transaction,
  TransactionInstruction,
  TransactionMessage,
  VersionedTransaction,
} from "@solana/web3.js";
import {
  ExtensionType,
  MINT_SIZE,
  TOKEN_2022_PROGRAM_ID,
  TOKEN_PROGRAM_ID,
  createAssociatedTokenAccountIdempotentInstruction,
  createFreezeAccountInstruction,
  createInitializeMint2Instruction,
  createInitializeTransferFeeConfigInstruction,
  createMintToCheckedInstruction,
  createTransferCheckedInstruction,
  getAssociatedTokenAddressSync,
  getMintLen,
} from "@solana/spl-token";
import anchor from "@coral-xyz/anchor";
import {
  PROGRAM_ID,
  buildInstruction,
  decodeSplitRecord,
  decodeTreasury,
  depositInstruction,
  executeSplitInstruction,
  initializeTreasuryInstruction,
  setAuthorityInstruction,
  setPausedInstruction,
  splitRecordAddress,
  treasuryAddress,
  vaultAddress,
  withdrawInstruction,
  type SplitRecordAccount,
  type TreasuryAccount,
} from "../../../app/settlement/program.js";
import {
  decodeEvents,
  programErrorCode,
  type ProgramEvent,
} from "../../../app/settlement/program-logs.js";
import type { SvmRuntime, TxOutcome } from "./runtime.js";

const { BN } = anchor;

/** The wire limit on a serialized transaction (IPv6 MTU minus headers); neither runtime enforces it. */
export const PACKET_DATA_SIZE = 1232;
/** Compute budget asked for by large splits: classic SPL Token costs ~6,200 CU per TransferChecked. */
export const SPLIT_COMPUTE_UNIT_LIMIT = 1_400_000;

export type { ProgramEvent, SplitRecordAccount, TreasuryAccount };

export interface SendOptions {
  /** Pays the fee; defaults to the runtime's funded payer. */
  feePayer?: Keypair;
  /** Prepends a SetComputeUnitLimit instruction. */
  computeUnitLimit?: number;
  /** Compiles a v0 message against these tables instead of a legacy message. */
  lookupTables?: AddressLookupTableAccount[];
}

export interface SentTransaction extends TxOutcome {
  /** Serialized size in bytes, as it would travel to a validator. */
  size: number;
  /** Index of the first caller instruction (after an optional compute budget instruction). */
  firstInstructionIndex: number;
}

export class TransactionTooLargeError extends Error {
  readonly code = "TX_TOO_LARGE";
  constructor(readonly size: number) {
    super(`transaction is ${size} bytes, over the ${PACKET_DATA_SIZE}-byte packet limit`);
  }
}

/** Anchor's discriminator: the first 8 bytes of sha256("<namespace>:<name>"), recomputed for the IDL tests. */
export function anchorDiscriminator(namespace: "global" | "account" | "event", name: string): Buffer {
  return createHash("sha256").update(`${namespace}:${name}`).digest().subarray(0, 8);
}

export function newOrgId(): Buffer {
  return Keypair.generate().publicKey.toBuffer().subarray(0, 16);
}

export function newRunId(): Buffer {
  return Keypair.generate().publicKey.toBuffer().subarray(0, 16);
}

export class PayoutsClient {
  readonly programId: PublicKey = PROGRAM_ID;
  private readonly sentSignatures = new Set<string>();

  constructor(readonly runtime: SvmRuntime) {}

  // ---------------------------------------------------------------- addresses

  treasuryAddress(mint: PublicKey, seedAuthority: PublicKey, orgId: Uint8Array): PublicKey {
    return treasuryAddress({ mint, seedAuthority, orgId });
  }

  vaultAddress(treasury: PublicKey): PublicKey {
    return vaultAddress(treasury);
  }

  splitRecordAddress(treasury: PublicKey, runId: Uint8Array, batchIndex: number): PublicKey {
    return splitRecordAddress({ treasury, runId, batchIndex });
  }

  // ---------------------------------------------------------------- instructions

  initializeTreasuryIx(args: {
    payer: PublicKey;
    authority: PublicKey;
    mint: PublicKey;
    orgId: Uint8Array;
    tokenProgram: PublicKey;
  }): TransactionInstruction {
    return initializeTreasuryInstruction(args);
  }

  depositIx(args: {
    depositor: PublicKey;
    source: PublicKey;
    treasury: PublicKey;
    vault: PublicKey;
    mint: PublicKey;
    tokenProgram: PublicKey;
    amount: bigint;
  }): TransactionInstruction {
    return depositInstruction(args);
  }

  /**
   * execute_split with every account and argument given, including deliberately inconsistent
   * ones (more or fewer amounts than recipients), which the typed builder cannot express.
   */
  executeSplitIx(args: {
    payer: PublicKey;
    authority: PublicKey;
    treasury: PublicKey;
    vault: PublicKey;
    mint: PublicKey;
    splitRecord: PublicKey;
    tokenProgram: PublicKey;
    runId: Uint8Array;
    batchIndex: number;
    planHash: Uint8Array;
    amounts: readonly bigint[];
    recipients: readonly PublicKey[];
  }): TransactionInstruction {
    if (args.amounts.length === args.recipients.length) {
      return executeSplitInstruction({ ...args, transfers: args.recipients.map((tokenAccount, i) => ({ tokenAccount, amount: args.amounts[i]! })) });
    }
    return buildInstruction(
      "execute_split",
      {
        payer: args.payer,
        authority: args.authority,
        treasury: args.treasury,
        vault: args.vault,
        mint: args.mint,
        split_record: args.splitRecord,
        token_program: args.tokenProgram,
      },
      {
        run_id: Array.from(args.runId),
        batch_index: args.batchIndex,
        plan_hash: Array.from(args.planHash),
        amounts: args.amounts.map((a) => new BN(a.toString())),
      },
      args.recipients.map((pubkey) => ({ pubkey, isSigner: false, isWritable: true })),
    );
  }

  withdrawIx(args: {
    authority: PublicKey;
    treasury: PublicKey;
    vault: PublicKey;
    destination: PublicKey;
    mint: PublicKey;
    tokenProgram: PublicKey;
    amount: bigint;
  }): TransactionInstruction {
    return withdrawInstruction(args);
  }

  setAuthorityIx(args: { authority: PublicKey; newAuthority: PublicKey; treasury: PublicKey }): TransactionInstruction {
    return setAuthorityInstruction(args);
  }

  setPausedIx(args: { authority: PublicKey; treasury: PublicKey; paused: boolean }): TransactionInstruction {
    return setPausedInstruction(args);
  }

  // ---------------------------------------------------------------- transactions

  /**
   * Builds, size-checks, signs and sends. A byte-identical resend would be refused by the
   * runtime as already processed, so a repeated signature moves to a fresh slot and blockhash.
   */
  async send(instructions: TransactionInstruction[], signers: Keypair[] = [], options: SendOptions = {}): Promise<SentTransaction> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const built = await this.build(instructions, signers, options);
      if (this.sentSignatures.has(built.signature)) {
        await this.runtime.advanceSlot();
        continue;
      }
      this.sentSignatures.add(built.signature);
      const outcome = await this.runtime.send(built.tx);
      return { ...outcome, size: built.size, firstInstructionIndex: built.firstInstructionIndex };
    }
    throw new Error("could not produce a fresh transaction signature");
  }

  /** Builds and signs without sending; throws TransactionTooLargeError over 1232 bytes. */
  async build(
    instructions: TransactionInstruction[],
    signers: Keypair[],
    options: SendOptions = {},
  ): Promise<{ tx: Transaction | VersionedTransaction; size: number; signature: string; firstInstructionIndex: number }> {
    const feePayer = options.feePayer ?? this.runtime.payer;
    const prefix =
      options.computeUnitLimit === undefined ? [] : [ComputeBudgetProgram.setComputeUnitLimit({ units: options.computeUnitLimit })];
    const all = [...prefix, ...instructions];
    const allSigners = uniqueSigners([feePayer, ...signers]);
    const recentBlockhash = await this.runtime.latestBlockhash();
    let tx: Transaction | VersionedTransaction;
    let size: number;
    try {
      if (options.lookupTables) {
        const message = new TransactionMessage({ payerKey: feePayer.publicKey, recentBlockhash, instructions: all }).compileToV0Message(
          options.lookupTables,
        );
        const versioned = new VersionedTransaction(message);
        versioned.sign(allSigners);
        size = versioned.serialize().length;
        tx = versioned;
      } else {
        const legacy = new Transaction({ feePayer: feePayer.publicKey, recentBlockhash }).add(...all);
        legacy.sign(...allSigners);
        // Measured from the message: web3.js refuses to serialize a legacy transaction past the limit.
        const signatureCount = legacy.signatures.length;
        size = shortVecLength(signatureCount) + 64 * signatureCount + legacy.serializeMessage().length;
        tx = legacy;
      }
    } catch (error) {
      // web3.js serializes into a fixed 1232-byte buffer and throws past it (RangeError or its own message).
      if (error instanceof RangeError || /too large|encoding overruns|out of range/i.test(String(error))) {
        throw new TransactionTooLargeError(Number.POSITIVE_INFINITY);
      }
      throw error;
    }
    if (size > PACKET_DATA_SIZE) throw new TransactionTooLargeError(size);
    const firstSig = tx instanceof VersionedTransaction ? tx.signatures[0]! : tx.signature!;
    return { tx, size, signature: Buffer.from(firstSig).toString("hex"), firstInstructionIndex: prefix.length };
  }

  // ---------------------------------------------------------------- decoding

  async fetchTreasury(address: PublicKey): Promise<TreasuryAccount> {
    const account = await this.runtime.getAccount(address);
    if (!account) throw new Error(`treasury ${address.toBase58()} does not exist`);
    return decodeTreasury(account.data);
  }

  async fetchSplitRecord(address: PublicKey): Promise<SplitRecordAccount | null> {
    const account = await this.runtime.getAccount(address);
    return account ? decodeSplitRecord(account.data) : null;
  }

  events(logs: string[]): ProgramEvent[] {
    return decodeEvents(logs);
  }

  /** The custom error number the IDL gives a named error; throws if the IDL has no such error. */
  errorCode(name: string): number {
    return programErrorCode(name);
  }

  // ---------------------------------------------------------------- SPL token setup

  async createMint(options: {
    tokenProgram?: PublicKey;
    decimals?: number;
    transferFeeBasisPoints?: number;
    /** Gives the runtime payer freeze authority over the mint. */
    freezable?: boolean;
  } = {}): Promise<{ mint: PublicKey; decimals: number; tokenProgram: PublicKey; mintAuthority: Keypair }> {
    const tokenProgram = options.tokenProgram ?? TOKEN_PROGRAM_ID;
    const decimals = options.decimals ?? 6;
    const mint = Keypair.generate();
    const mintAuthority = this.runtime.payer;
    const extensions = options.transferFeeBasisPoints === undefined ? [] : [ExtensionType.TransferFeeConfig];
    const space = extensions.length ? getMintLen(extensions) : MINT_SIZE;
    const lamports = await this.runtime.minimumBalanceForRentExemption(space);
    const instructions: TransactionInstruction[] = [
      SystemProgram.createAccount({
        fromPubkey: this.runtime.payer.publicKey,
        newAccountPubkey: mint.publicKey,
        lamports: Number(lamports),
        space,
        programId: tokenProgram,
      }),
    ];
    if (options.transferFeeBasisPoints !== undefined) {
      if (!tokenProgram.equals(TOKEN_2022_PROGRAM_ID)) throw new Error("transfer fees need Token-2022");
      instructions.push(
        createInitializeTransferFeeConfigInstruction(
          mint.publicKey,
          mintAuthority.publicKey,
          mintAuthority.publicKey,
          options.transferFeeBasisPoints,
          1_000_000n,
          tokenProgram,
        ),
      );
    }
    const freezeAuthority = options.freezable ? mintAuthority.publicKey : null;
    instructions.push(createInitializeMint2Instruction(mint.publicKey, decimals, mintAuthority.publicKey, freezeAuthority, tokenProgram));
    await this.expectOk(this.send(instructions, [mint]), "create mint");
    return { mint: mint.publicKey, decimals, tokenProgram, mintAuthority };
  }

  /**
   * A Token-2022 mint carrying `extensions`. `initExtensions` returns the instructions that set
   * them up; they run after the account is created and before InitializeMint2, the order
   * Token-2022 requires. The runtime payer is mint authority (and freeze authority if asked).
   */
  async createToken2022Mint(options: {
    extensions: readonly ExtensionType[];
    /** Mint size when getMintLen cannot compute it (variable-length extensions). */
    space?: number;
    initExtensions: (mint: PublicKey, authority: PublicKey) => TransactionInstruction[];
    decimals?: number;
    freezable?: boolean;
    /** The mint's keypair, e.g. to re-create a closed mint at the same address. */
    mintKeypair?: Keypair;
  }): Promise<{ mint: PublicKey; decimals: number; tokenProgram: PublicKey; mintAuthority: Keypair }> {
    const decimals = options.decimals ?? 6;
    const mint = options.mintKeypair ?? Keypair.generate();
    const mintAuthority = this.runtime.payer;
    const space = options.space ?? getMintLen([...options.extensions]);
    const lamports = await this.runtime.minimumBalanceForRentExemption(space);
    const freezeAuthority = options.freezable ? mintAuthority.publicKey : null;
    const instructions: TransactionInstruction[] = [
      SystemProgram.createAccount({
        fromPubkey: this.runtime.payer.publicKey,
        newAccountPubkey: mint.publicKey,
        lamports: Number(lamports),
        space,
        programId: TOKEN_2022_PROGRAM_ID,
      }),
      ...options.initExtensions(mint.publicKey, mintAuthority.publicKey),
      createInitializeMint2Instruction(mint.publicKey, decimals, mintAuthority.publicKey, freezeAuthority, TOKEN_2022_PROGRAM_ID),
    ];
    await this.expectOk(this.send(instructions, [mint]), `create Token-2022 mint with extensions ${options.extensions.join(",")}`);
    return { mint: mint.publicKey, decimals, tokenProgram: TOKEN_2022_PROGRAM_ID, mintAuthority };
  }

  /** Creates associated token accounts for the owners, several per transaction. */
  async createTokenAccounts(mint: PublicKey, owners: readonly PublicKey[], tokenProgram: PublicKey): Promise<PublicKey[]> {
    const addresses = owners.map((owner) => getAssociatedTokenAddressSync(mint, owner, true, tokenProgram));
    const perTx = 6;
    for (let i = 0; i < owners.length; i += perTx) {
      const instructions = owners
        .slice(i, i + perTx)
        .map((owner, j) =>
          createAssociatedTokenAccountIdempotentInstruction(this.runtime.payer.publicKey, addresses[i + j]!, owner, mint, tokenProgram),
        );
      await this.expectOk(this.send(instructions, [], { computeUnitLimit: SPLIT_COMPUTE_UNIT_LIMIT }), "create token accounts");
    }
    return addresses;
  }

  async mintTo(mint: PublicKey, destination: PublicKey, amount: bigint, decimals: number, tokenProgram: PublicKey): Promise<void> {
    const ix = createMintToCheckedInstruction(mint, destination, this.runtime.payer.publicKey, amount, decimals, [], tokenProgram);
    await this.expectOk(this.send([ix]), "mint to");
  }

  transferCheckedIx(args: {
    source: PublicKey;
    mint: PublicKey;
    destination: PublicKey;
    owner: PublicKey;
    amount: bigint;
    decimals: number;
    tokenProgram: PublicKey;
  }): TransactionInstruction {
    return createTransferCheckedInstruction(
      args.source,
      args.mint,
      args.destination,
      args.owner,
      args.amount,
      args.decimals,
      [],
      args.tokenProgram,
    );
  }

  /** Freezes a token account of a mint created with `freezable`. */
  async freeze(account: PublicKey, mint: PublicKey, tokenProgram: PublicKey): Promise<void> {
    const ix = createFreezeAccountInstruction(account, mint, this.runtime.payer.publicKey, [], tokenProgram);
    await this.expectOk(this.send([ix]), "freeze account");
  }

  /** The token amount of a token account (same offset for SPL Token and Token-2022). */
  async tokenBalance(address: PublicKey): Promise<bigint> {
    const account = await this.runtime.getAccount(address);
    if (!account) throw new Error(`token account ${address.toBase58()} does not exist`);
    return Buffer.from(account.data).readBigUInt64LE(64);
  }

  async tokenBalances(addresses: readonly PublicKey[]): Promise<bigint[]> {
    return Promise.all(addresses.map((a) => this.tokenBalance(a)));
  }

  async fund(recipient: PublicKey, lamports: bigint): Promise<void> {
    const ix = SystemProgram.transfer({ fromPubkey: this.runtime.payer.publicKey, toPubkey: recipient, lamports });
    await this.expectOk(this.send([ix]), "fund");
  }

  /** A fresh keypair holding SOL for fees and rent. */
  async newFundedKeypair(lamports = 10_000_000_000n): Promise<Keypair> {
    const keypair = Keypair.generate();
    await this.fund(keypair.publicKey, lamports);
    return keypair;
  }

  /**
   * Writes an account no transaction could create (a forged copy), keeping the runtime's total
   * lamports unchanged by debiting the funded payer: bankrun aborts on a later slot warp otherwise.
   */
  async forgeAccount(address: PublicKey, account: { owner: PublicKey; data: Uint8Array; lamports: bigint }): Promise<void> {
    const payer = await this.runtime.getAccount(this.runtime.payer.publicKey);
    if (!payer) throw new Error("runtime payer vanished");
    const existing = await this.runtime.getAccount(address);
    const delta = account.lamports - (existing?.lamports ?? 0n);
    await this.runtime.setAccount(this.runtime.payer.publicKey, { ...payer, lamports: payer.lamports - delta });
    await this.runtime.setAccount(address, { ...account, executable: false });
  }

  // ---------------------------------------------------------------- lookup tables

  /** Creates a lookup table holding the addresses and advances the slot so every entry is usable. */
  async createLookupTable(addresses: readonly PublicKey[]): Promise<AddressLookupTableAccount> {
    const authority = this.runtime.payer;
    await this.runtime.advanceSlot();
    // The table's recent slot must be in SlotHashes, which holds ancestors of the current slot.
    const recentSlot = (await this.runtime.slot()) - 1n;
    const [createIx, tableAddress] = AddressLookupTableProgram.createLookupTable({
      authority: authority.publicKey,
      payer: authority.publicKey,
      recentSlot,
    });
    await this.expectOk(this.send([createIx]), "create lookup table");
    const perExtend = 20;
    for (let i = 0; i < addresses.length; i += perExtend) {
      const extendIx = AddressLookupTableProgram.extendLookupTable({
        payer: authority.publicKey,
        authority: authority.publicKey,
        lookupTable: tableAddress,
        addresses: addresses.slice(i, i + perExtend) as PublicKey[],
      });
      await this.expectOk(this.send([extendIx]), "extend lookup table");
    }
    // Entries added in this slot cannot be looked up until the slot advances.
    await this.runtime.advanceSlot();
    const account = await this.runtime.getAccount(tableAddress);
    if (!account) throw new Error("lookup table missing after creation");
    return new AddressLookupTableAccount({ key: tableAddress, state: AddressLookupTableAccount.deserialize(account.data) });
  }

  async expectOk<T extends TxOutcome>(pending: Promise<T>, what: string): Promise<T> {
    const outcome = await pending;
    if (!outcome.ok) {
      throw new Error(`${what} failed on ${this.runtime.kind}: ${outcome.error?.message}\n${outcome.logs.join("\n")}`);
    }
    return outcome;
  }
}

function uniqueSigners(signers: Keypair[]): Keypair[] {
  const seen = new Set<string>();
  return signers.filter((s) => {
    const key = s.publicKey.toBase58();
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function shortVecLength(value: number): number {
  return value < 0x80 ? 1 : value < 0x4000 ? 2 : 3;
}


export { getAssociatedTokenAddressSync, TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID };
