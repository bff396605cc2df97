// Drives stableflow_payouts through @coral-xyz/anchor's Program (built from the generated IDL)
// on any SvmRuntime: PDAs, plan hashes, instruction builders, transaction building with size
// checks (legacy and v0 + lookup table), SPL token setup, event and account decoding.
import { createHash } from "node:crypto";
import anchor, { BorshCoder, EventParser, Program, type Idl } from "@coral-xyz/anchor";
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
  type AccountMeta,
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
import type { SvmRuntime, TxOutcome } from "./runtime.js";

const { BN } = anchor;
type BNType = InstanceType<typeof BN>;

/** The wire limit on a serialized transaction (IPv6 MTU minus headers); neither runtime enforces it. */
export const PACKET_DATA_SIZE = 1232;
/** Compute budget asked for by large splits: classic SPL Token costs ~6,200 CU per TransferChecked. */
export const SPLIT_COMPUTE_UNIT_LIMIT = 1_400_000;

export const SEED_TREASURY = Buffer.from("treasury");
export const SEED_VAULT = Buffer.from("vault");
export const SEED_SPLIT = Buffer.from("split");

export interface SplitRecordData {
  treasury: PublicKey;
  runId: number[];
  batchIndex: number;
  recipientCount: number;
  total: BNType;
  planHash: number[];
  slot: BNType;
  unixTimestamp: BNType;
  executor: PublicKey;
  bump: number;
}

export interface TreasuryData {
  authority: PublicKey;
  mint: PublicKey;
  tokenProgram: PublicKey;
  vault: PublicKey;
  orgId: number[];
  bump: number;
  vaultBump: number;
  paused: boolean;
  totalSettled: BNType;
  splitsExecuted: BNType;
}

export interface DecodedEvent {
  name: string;
  data: Record<string, unknown>;
}

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

export const toBN = (value: bigint): BNType => new BN(value.toString());
export const fromBN = (value: BNType): bigint => BigInt(value.toString());

export function u16le(value: number): Buffer {
  const buf = Buffer.alloc(2);
  buf.writeUInt16LE(value);
  return buf;
}

export function u64le(value: bigint): Buffer {
  const buf = Buffer.alloc(8);
  buf.writeBigUInt64LE(value);
  return buf;
}

/** sha256 over (recipient token account 32 bytes || amount u64 LE) for each recipient, in order. */
export function computePlanHash(recipients: readonly PublicKey[], amounts: readonly bigint[]): Buffer {
  const hash = createHash("sha256");
  recipients.forEach((recipient, i) => {
    hash.update(recipient.toBuffer());
    hash.update(u64le(amounts[i]!));
  });
  return hash.digest();
}

/** Anchor's discriminator: the first 8 bytes of sha256("<namespace>:<name>"). */
export function anchorDiscriminator(namespace: "global" | "account" | "event", name: string): Buffer {
  return createHash("sha256").update(`${namespace}:${name}`).digest().subarray(0, 8);
}

export function newOrgId(): Buffer {
  return Keypair.generate().publicKey.toBuffer().subarray(0, 16);
}

export function newRunId(): Buffer {
  return Keypair.generate().publicKey.toBuffer().subarray(0, 16);
}

/** Minimal view of the dynamically typed methods namespace of a Program built from a JSON IDL. */
interface MethodBuilder {
  accountsStrict(accounts: Record<string, PublicKey>): MethodBuilder;
  remainingAccounts(accounts: AccountMeta[]): MethodBuilder;
  instruction(): Promise<TransactionInstruction>;
}
type MethodsNamespace = Record<string, (...args: unknown[]) => MethodBuilder>;

export class PayoutsClient {
  readonly program: Program<Idl>;
  readonly programId: PublicKey;
  readonly coder: BorshCoder;
  private readonly eventParser: EventParser;
  private readonly sentSignatures = new Set<string>();

  constructor(
    readonly runtime: SvmRuntime,
    readonly idl: Idl,
  ) {
    // The provider is never used to send: instructions are built offline and sent through the runtime.
    const provider = { connection: null, publicKey: runtime.payer.publicKey } as unknown as anchor.Provider;
    this.program = new Program(idl, provider);
    this.programId = this.program.programId;
    this.coder = this.program.coder as BorshCoder;
    this.eventParser = new EventParser(this.programId, this.coder);
  }

  private get methods(): MethodsNamespace {
    return this.program.methods as unknown as MethodsNamespace;
  }

  // ---------------------------------------------------------------- addresses

  treasuryAddress(mint: PublicKey, orgId: Uint8Array): PublicKey {
    return PublicKey.findProgramAddressSync([SEED_TREASURY, mint.toBuffer(), Buffer.from(orgId)], this.programId)[0];
  }

  vaultAddress(treasury: PublicKey): PublicKey {
    return PublicKey.findProgramAddressSync([SEED_VAULT, treasury.toBuffer()], this.programId)[0];
  }

  splitRecordAddress(treasury: PublicKey, runId: Uint8Array, batchIndex: number): PublicKey {
    return PublicKey.findProgramAddressSync(
      [SEED_SPLIT, treasury.toBuffer(), Buffer.from(runId), u16le(batchIndex)],
      this.programId,
    )[0];
  }

  // ---------------------------------------------------------------- instructions

  initializeTreasuryIx(args: {
    payer: PublicKey;
    authority: PublicKey;
    mint: PublicKey;
    orgId: Uint8Array;
    tokenProgram: PublicKey;
  }): Promise<TransactionInstruction> {
    const treasury = this.treasuryAddress(args.mint, args.orgId);
    return this.methods.initializeTreasury!(Array.from(args.orgId))
      .accountsStrict({
        payer: args.payer,
        authority: args.authority,
        treasury,
        vault: this.vaultAddress(treasury),
        mint: args.mint,
        tokenProgram: args.tokenProgram,
        systemProgram: SystemProgram.programId,
      })
      .instruction();
  }

  depositIx(args: {
    depositor: PublicKey;
    source: PublicKey;
    treasury: PublicKey;
    vault: PublicKey;
    mint: PublicKey;
    tokenProgram: PublicKey;
    amount: bigint;
  }): Promise<TransactionInstruction> {
    return this.methods.deposit!(toBN(args.amount))
      .accountsStrict({
        depositor: args.depositor,
        source: args.source,
        treasury: args.treasury,
        vault: args.vault,
        mint: args.mint,
        tokenProgram: args.tokenProgram,
      })
      .instruction();
  }

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
  }): Promise<TransactionInstruction> {
    return this.methods.executeSplit!(
      Array.from(args.runId),
      args.batchIndex,
      Array.from(args.planHash),
      args.amounts.map(toBN),
    )
      .accountsStrict({
        payer: args.payer,
        authority: args.authority,
        treasury: args.treasury,
        vault: args.vault,
        mint: args.mint,
        splitRecord: args.splitRecord,
        tokenProgram: args.tokenProgram,
        systemProgram: SystemProgram.programId,
      })
      .remainingAccounts(args.recipients.map((pubkey) => ({ pubkey, isSigner: false, isWritable: true })))
      .instruction();
  }

  withdrawIx(args: {
    authority: PublicKey;
    treasury: PublicKey;
    vault: PublicKey;
    destination: PublicKey;
    mint: PublicKey;
    tokenProgram: PublicKey;
    amount: bigint;
  }): Promise<TransactionInstruction> {
    return this.methods.withdraw!(toBN(args.amount))
      .accountsStrict({
        authority: args.authority,
        treasury: args.treasury,
        vault: args.vault,
        destination: args.destination,
        mint: args.mint,
        tokenProgram: args.tokenProgram,
      })
      .instruction();
  }

  setAuthorityIx(args: { authority: PublicKey; newAuthority: PublicKey; treasury: PublicKey }): Promise<TransactionInstruction> {
    return this.methods.setAuthority!()
      .accountsStrict({ authority: args.authority, newAuthority: args.newAuthority, treasury: args.treasury })
      .instruction();
  }

  setPausedIx(args: { authority: PublicKey; treasury: PublicKey; paused: boolean }): Promise<TransactionInstruction> {
    return this.methods.setPaused!(args.paused)
      .accountsStrict({ authority: args.authority, treasury: args.treasury })
      .instruction();
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

  decodeSplitRecord(data: Uint8Array): SplitRecordData {
    return this.coder.accounts.decode("splitRecord", Buffer.from(data)) as SplitRecordData;
  }

  decodeTreasury(data: Uint8Array): TreasuryData {
    return this.coder.accounts.decode("treasury", Buffer.from(data)) as TreasuryData;
  }

  async fetchTreasury(address: PublicKey): Promise<TreasuryData> {
    const account = await this.runtime.getAccount(address);
    if (!account) throw new Error(`treasury ${address.toBase58()} does not exist`);
    return this.decodeTreasury(account.data);
  }

  async fetchSplitRecord(address: PublicKey): Promise<SplitRecordData | null> {
    const account = await this.runtime.getAccount(address);
    return account ? this.decodeSplitRecord(account.data) : null;
  }

  events(logs: string[]): DecodedEvent[] {
    return [...this.eventParser.parseLogs(logs)] as DecodedEvent[];
  }

  /** A numeric constant the IDL exposes (e.g. MAX_RECIPIENTS). */
  constant(name: string): number {
    const entry = (this.idl.constants ?? []).find((c) => c.name === name);
    if (!entry) throw new Error(`the IDL declares no constant named ${name}`);
    return Number(entry.value);
  }

  /** The custom error number the IDL gives a named error; throws if the IDL has no such error. */
  errorCode(name: string): number {
    const entry = (this.idl.errors ?? []).find((e) => e.name === name || e.name === lowerFirst(name));
    if (!entry) throw new Error(`the IDL declares no error named ${name}`);
    return entry.code;
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
  }): Promise<{ mint: PublicKey; decimals: number; tokenProgram: PublicKey; mintAuthority: Keypair }> {
    const decimals = options.decimals ?? 6;
    const mint = Keypair.generate();
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

function lowerFirst(s: string): string {
  return s.charAt(0).toLowerCase() + s.slice(1);
}

export { getAssociatedTokenAddressSync, TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID };
