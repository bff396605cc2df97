// The embedded chain: one LiteSVM, the cluster clock, the journal and the transaction history, with
// the operations the RPC methods are built from. Everything runs on one thread: a transaction is
// executed, journaled and fsynced before any other request is looked at, so nothing is ever read that
// a crash could take back.
import { randomBytes } from "node:crypto";
import path from "node:path";
import { Keypair, PublicKey, SystemProgram, Transaction, TransactionInstruction } from "@solana/web3.js";
import {
  Clock,
  EpochSchedule,
  FailedTransactionMetadata,
  LiteSvm,
  type TransactionMetadata,
} from "litesvm/dist/internal.js";
import { isJournaled, keyBytes, readAccount, restoreAccounts, toStored, writeAccount, type AccountView } from "./accounts";
import { ClusterClock, FINALIZATION_DEPTH, type Block, type ClockPoint, type Commitment } from "./clock";
import {
  ADDRESS_LOOKUP_TABLE_PROGRAM,
  decodeTransaction,
  encodeBase58,
  encodeBase64,
  isStaticWritable,
  lookupTableAddresses,
  transactionFee,
  type DecodedTransaction,
} from "./codec";
import { RpcError, RPC_INVALID_PARAMS, transactionErrorJson, type TransactionErrorJson } from "./errors";
import { TransactionHistory, type StoredTransaction, type TokenBalanceJson } from "./history";
import { ChainStore, type JournalRecord, type StoredAccount } from "./store";
import { isMintData, isTokenAccountData, readMint, readTokenAccount, uiTokenAmount } from "./tokens";

export const SLOTS_PER_EPOCH = 432_000;
/** Statuses a node answers without searchTransactionHistory (Agave's status cache, in slots). */
const STATUS_CACHE_SLOTS = 300;
const FAUCET_LAMPORTS = 100_000_000n * 1_000_000_000n;
const MEMO_PROGRAM = new PublicKey("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr");
const KEPT_CLOCK_RECORDS = 64;

export interface ChainOptions {
  dataDir: string;
  slotMs: number;
  /** Journal records between snapshots. */
  snapshotEvery: number;
  log?: (line: string) => void;
}

export interface ExecutionOutcome {
  err: TransactionErrorJson | null;
  logs: string[];
  unitsConsumed: number;
  returnData: { programId: string; data: [string, "base64"] } | null;
  innerInstructions: StoredTransaction["innerInstructions"];
}

export interface SignatureStatus {
  slot: number;
  confirmations: number | null;
  err: TransactionErrorJson | null;
  status: { Ok: null } | { Err: TransactionErrorJson };
  confirmationStatus: Commitment;
}

export type SendResult = { landed: true; tx: StoredTransaction } | { landed: false; outcome: ExecutionOutcome };

type BlockListener = (blocks: Block[]) => void;
type TransactionListener = (tx: StoredTransaction, written: string[]) => void;

export class Chain {
  readonly svm: LiteSvm;
  readonly clock: ClusterClock;
  readonly history = new TransactionHistory();
  readonly genesisHash: string;
  readonly faucet: Keypair;
  readonly programs: Map<string, string>;
  private readonly store: ChainStore;
  private readonly known = new Set<string>();
  private clockRecords: ClockPoint[];
  private recordsSinceSnapshot: number;
  private airdrops = 0;
  private readonly blockListeners: BlockListener[] = [];
  private readonly txListeners: TransactionListener[] = [];
  private slotHashes: { slot: bigint; hash: string }[] = [];

  constructor(private readonly options: ChainOptions) {
    const dir = path.join(options.dataDir, "chain");
    const { store, state } = ChainStore.open(dir, () => ({
      genesisHash: encodeBase58(randomBytes(32)),
      createdAt: Math.floor(Date.now() / 1000),
      faucetSecretKey: [...Keypair.generate().secretKey],
    }));
    this.store = store;
    this.genesisHash = state.genesis.genesisHash;
    this.faucet = Keypair.fromSecretKey(Uint8Array.from(state.genesis.faucetSecretKey));
    this.programs = state.programs;
    this.recordsSinceSnapshot = state.recordsSinceSnapshot;
    this.clockRecords = state.clock.slice(-KEPT_CLOCK_RECORDS);

    this.svm = new LiteSvm();
    // The server checks blockhashes itself (150 blocks, like a cluster); LiteSVM only knows its latest.
    this.svm.setBlockhashCheck(false);
    this.svm.setEpochSchedule(new EpochSchedule(BigInt(SLOTS_PER_EPOCH), BigInt(SLOTS_PER_EPOCH), false, 0n, 0n));

    this.clock = new ClusterClock({
      genesisHash: this.genesisHash,
      slotMs: options.slotMs,
      history: state.clock,
      reserve: (point) => {
        this.journal({ t: "clock", ...point });
        this.clockRecords.push(point);
        if (this.clockRecords.length > KEPT_CLOCK_RECORDS) this.clockRecords = this.clockRecords.slice(-KEPT_CLOCK_RECORDS);
      },
      onBlocks: (blocks) => {
        this.applyBlocks(blocks);
        for (const listener of this.blockListeners) listener(blocks);
      },
    });
    // The clock first: LiteSVM judges a restored program's deployment slot against the Clock sysvar.
    this.applyBlocks([this.clock.tip]);
    const isNew = state.accounts.size === 0 && state.transactions.length === 0;
    restoreAccounts(this.svm, state.accounts.values(), (address, error) => options.log?.(`chain: account ${address} not restored: ${error.message}`));
    for (const address of state.accounts.keys()) this.known.add(address);
    for (const tx of state.transactions) this.history.add(tx);
    if (isNew) this.setAccounts("genesis", [[this.faucet.publicKey.toBase58(), { lamports: FAUCET_LAMPORTS, owner: SystemProgram.programId.toBase58(), executable: false, data: new Uint8Array() }]]);
  }

  get slotMs(): number {
    return this.options.slotMs;
  }

  start(): void {
    this.clock.start();
  }

  /** Stops the clock and writes a snapshot, so the next start replays nothing. */
  close(): void {
    this.clock.stop();
    this.snapshot();
    this.store.close();
  }

  onBlocks(listener: BlockListener): void {
    this.blockListeners.push(listener);
  }

  onTransaction(listener: TransactionListener): void {
    this.txListeners.push(listener);
  }

  account(address: string): AccountView | null {
    return readAccount(this.svm, address);
  }

  programAccounts(owner: string): { address: string; account: AccountView }[] {
    return this.svm.getProgramAccounts(keyBytes(owner)).map((entry) => {
      const account = entry.account();
      return {
        address: encodeBase58(entry.address),
        account: { lamports: account.lamports(), owner, executable: account.executable(), data: account.data() },
      };
    }).filter((entry) => entry.account.lamports > 0n);
  }

  decimalsOf = (mint: string): number | undefined => {
    const account = this.account(mint);
    return account && isMintData(account.owner, account.data) ? readMint(account.data).decimals : undefined;
  };

  minimumBalanceForRentExemption(space: number): bigint {
    return this.svm.minimumBalanceForRentExemption(BigInt(space));
  }

  /** Executes without committing anything. */
  simulate(tx: DecodedTransaction, sigVerify: boolean): { outcome: ExecutionOutcome; postAccounts: Map<string, AccountView | null> } {
    this.svm.setSigverify(sigVerify);
    let result;
    try {
      result = tx.version === "legacy" ? this.svm.simulateLegacyTransaction(tx.raw) : this.svm.simulateVersionedTransaction(tx.raw);
    } catch (error) {
      throw refusedByRuntime(error);
    } finally {
      this.svm.setSigverify(true);
    }
    const postAccounts = new Map<string, AccountView | null>();
    if (result instanceof FailedTransactionMetadata) {
      return { outcome: outcomeOf(result.meta(), transactionErrorJson(result.err())), postAccounts };
    }
    for (const entry of result.postAccounts()) {
      const account = entry.account();
      postAccounts.set(encodeBase58(entry.address), {
        lamports: account.lamports(),
        owner: encodeBase58(account.owner()),
        executable: account.executable(),
        data: account.data(),
      });
    }
    return { outcome: outcomeOf(result.meta(), null), postAccounts };
  }

  /**
   * Executes and commits a transaction whose blockhash and signature were checked by the caller. It
   * lands (fee charged, recorded, journaled) unless the runtime refused it before execution.
   */
  execute(tx: DecodedTransaction): SendResult {
    const loaded = this.loadedAddresses(tx);
    const accountKeys = [...tx.staticKeys, ...loaded.writable, ...loaded.readonly];
    const writable = accountKeys.filter((_, i) => (i < tx.staticKeys.length ? isStaticWritable(tx, i) : i < tx.staticKeys.length + loaded.writable.length));
    const pre = accountKeys.map((key) => this.account(key));
    let result;
    try {
      result = tx.version === "legacy" ? this.svm.sendLegacyTransaction(tx.raw) : this.svm.sendVersionedTransaction(tx.raw);
    } catch (error) {
      throw refusedByRuntime(error);
    }
    const failure = result instanceof FailedTransactionMetadata ? result : undefined;
    const meta = failure ? failure.meta() : (result as TransactionMetadata);
    const err = failure ? transactionErrorJson(failure.err()) : null;
    const post = accountKeys.map((key) => this.account(key));
    // A refusal before execution charges no fee: the fee payer is untouched and nothing was committed.
    if (failure && typeof failure.err() === "number" && (pre[0]?.lamports ?? 0n) === (post[0]?.lamports ?? 0n)) {
      return { landed: false, outcome: outcomeOf(meta, err) };
    }
    const outcome = outcomeOf(meta, err);
    const stored: StoredTransaction = {
      signature: tx.signature,
      slot: this.clock.slot,
      blockTime: Math.floor(Date.now() / 1000),
      raw: encodeBase64(tx.raw),
      version: tx.version,
      err,
      fee: transactionFee(tx).toString(),
      preBalances: pre.map((a) => (a?.lamports ?? 0n).toString()),
      postBalances: post.map((a) => (a?.lamports ?? 0n).toString()),
      preTokenBalances: this.tokenBalances(pre),
      postTokenBalances: this.tokenBalances(post),
      logs: outcome.logs,
      innerInstructions: outcome.innerInstructions,
      loadedAddresses: loaded,
      computeUnitsConsumed: outcome.unitsConsumed,
      returnData: outcome.returnData,
      accountKeys,
      computeUnitPrice: tx.computeUnitPrice.toString(),
    };
    const writes: StoredAccount[] = [];
    for (const key of new Set(writable)) {
      const account = post[accountKeys.indexOf(key)] ?? null;
      if (!isJournaled(account)) continue;
      writes.push(toStored(key, account));
      this.known.add(key);
    }
    this.journal({ t: "tx", tx: stored, w: writes });
    this.history.add(stored);
    for (const listener of this.txListeners) listener(stored, writes.map((w) => w[0]));
    return { landed: true, tx: stored };
  }

  /** requestAirdrop: a real transfer from the chain's faucet, so it has a signature and a status. */
  airdrop(address: string, lamports: bigint): SendResult {
    this.airdrops += 1;
    const tx = new Transaction({ feePayer: this.faucet.publicKey, recentBlockhash: this.clock.tip.blockhash });
    tx.add(SystemProgram.transfer({ fromPubkey: this.faucet.publicKey, toPubkey: new PublicKey(address), lamports }));
    tx.add(new TransactionInstruction({ programId: MEMO_PROGRAM, keys: [], data: Buffer.from(`airdrop ${Date.now()}-${this.airdrops}`) }));
    tx.sign(this.faucet);
    return this.execute(decodeTransaction(tx.serialize()));
  }

  /** Overwrites accounts outside any transaction (program deployment at start, test-only methods). */
  setAccounts(reason: string, accounts: [string, AccountView | null][], program?: { id: string; sha256: string }): void {
    const programs = accounts.filter(([, a]) => a?.executable);
    for (const [address, account] of [...accounts.filter(([, a]) => !a?.executable), ...programs]) {
      if (account) writeAccount(this.svm, address, account);
      else writeAccount(this.svm, address, { lamports: 0n, owner: SystemProgram.programId.toBase58(), executable: false, data: new Uint8Array() });
      this.known.add(address);
    }
    this.journal({ t: "set", reason, w: accounts.map(([address, account]) => toStored(address, account)), program });
    if (program) this.programs.set(program.id, program.sha256);
  }

  status(signature: string, searchTransactionHistory: boolean): SignatureStatus | null {
    const tx = this.history.get(signature);
    if (!tx) return null;
    const tip = this.clock.slot;
    if (!searchTransactionHistory && tx.slot < tip - STATUS_CACHE_SLOTS) return null;
    const depth = tip - tx.slot;
    const confirmationStatus: Commitment = depth >= FINALIZATION_DEPTH ? "finalized" : depth >= 1 ? "confirmed" : "processed";
    return {
      slot: tx.slot,
      confirmations: confirmationStatus === "finalized" ? null : depth,
      err: tx.err,
      status: tx.err === null ? { Ok: null } : { Err: tx.err },
      confirmationStatus,
    };
  }

  /** Whether a transaction at `slot` is visible at `commitment`. */
  visibleAt(slot: number, commitment: Commitment): boolean {
    return slot <= this.clock.blockAt(commitment).slot;
  }

  /** Addresses a v0 transaction loads from lookup tables, as they stand now. */
  loadedAddresses(tx: DecodedTransaction): { writable: string[]; readonly: string[] } {
    const writable: string[] = [];
    const readonly: string[] = [];
    for (const lookup of tx.lookups) {
      const table = this.account(lookup.accountKey);
      const addresses = table && table.owner === ADDRESS_LOOKUP_TABLE_PROGRAM ? lookupTableAddresses(table.data) : [];
      for (const i of lookup.writableIndexes) writable.push(addresses[i] ?? PublicKey.default.toBase58());
      for (const i of lookup.readonlyIndexes) readonly.push(addresses[i] ?? PublicKey.default.toBase58());
    }
    return { writable, readonly };
  }

  private tokenBalances(accounts: (AccountView | null)[]): TokenBalanceJson[] {
    const balances: TokenBalanceJson[] = [];
    accounts.forEach((account, accountIndex) => {
      if (!account || !isTokenAccountData(account.owner, account.data)) return;
      const token = readTokenAccount(account.data);
      balances.push({
        accountIndex,
        mint: token.mint,
        owner: token.owner,
        programId: account.owner,
        uiTokenAmount: uiTokenAmount(token.amount, this.decimalsOf(token.mint) ?? 0),
      });
    });
    return balances;
  }

  private applyBlocks(blocks: Block[]): void {
    const tip = blocks[blocks.length - 1]!;
    const epoch = BigInt(Math.floor(tip.slot / SLOTS_PER_EPOCH));
    const now = BigInt(Math.floor(Date.now() / 1000));
    this.svm.setClock(new Clock(BigInt(tip.slot), now, epoch, epoch + 1n, now));
    // SlotHashes, newest first: the lookup-table program checks a table's recent slot against it.
    const added = blocks.slice(-512).reverse().map((b) => ({ slot: BigInt(b.slot), hash: b.blockhash }));
    this.slotHashes = [...added, ...this.slotHashes].slice(0, 512);
    this.svm.setSlotHashes(this.slotHashes);
  }

  private journal(record: JournalRecord): void {
    this.store.append(record);
    this.recordsSinceSnapshot += 1;
    if (this.recordsSinceSnapshot >= this.options.snapshotEvery && record.t !== "clock") this.snapshot();
  }

  private snapshot(): void {
    const accounts: StoredAccount[] = [];
    for (const address of this.known) {
      const account = this.account(address);
      if (account) accounts.push(toStored(address, account));
    }
    this.store.snapshot(accounts, this.clockRecords, this.programs);
    this.recordsSinceSnapshot = 0;
  }
}

/** LiteSVM throws (rather than failing the transaction) for bytes it cannot sanitize: the sender's error. */
function refusedByRuntime(error: unknown): RpcError {
  return new RpcError(RPC_INVALID_PARAMS, `invalid transaction: ${(error as Error)?.message ?? String(error)}`);
}

function outcomeOf(meta: TransactionMetadata, err: TransactionErrorJson | null): ExecutionOutcome {
  const returnData = meta.returnData();
  const returned = returnData.data();
  return {
    err,
    logs: meta.logs(),
    unitsConsumed: Number(meta.computeUnitsConsumed()),
    returnData:
      returned.length > 0 ? { programId: encodeBase58(returnData.programId()), data: [encodeBase64(returned), "base64"] } : null,
    innerInstructions: meta
      .innerInstructions()
      .map((list, index) => ({
        index,
        instructions: list.map((inner) => {
          const ix = inner.instruction();
          return { programIdIndex: ix.programIdIndex(), accounts: [...ix.accounts()], data: encodeBase58(ix.data()), stackHeight: inner.stackHeight() };
        }),
      }))
      .filter((entry) => entry.instructions.length > 0),
  };
}
