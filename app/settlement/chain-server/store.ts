// Durable state of the embedded chain under <data dir>/chain/: a redo journal of every effect the
// server ever reported (each transaction with the accounts it wrote, clock reservations, accounts set
// at start or by tests), fsynced before the answer leaves, plus snapshots of all accounts so a restart
// replays only the journal written after the last one. See docs/decisions/008-embedded-chain.md.
import { createHash, randomBytes } from "node:crypto";
import {
  closeSync,
  fdatasyncSync,
  existsSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import path from "node:path";
import { z } from "zod";
import type { StoredTransaction } from "./history";

/** [address, lamports, owner, executable, data base64]; lamports "0" is a closed account. */
export type StoredAccount = [string, string, string, boolean, string];

export type JournalRecord =
  | { t: "tx"; tx: StoredTransaction; w: StoredAccount[] }
  /** The clock may run up to (slot, blockHeight) before writing another: a restart resumes past it. */
  | { t: "clock"; slot: number; blockHeight: number }
  | { t: "set"; reason: string; w: StoredAccount[]; program?: { id: string; sha256: string } };

export interface Genesis {
  genesisHash: string;
  createdAt: number;
  /** The faucet requestAirdrop pays from: a chain-local key with no value outside this chain. */
  faucetSecretKey: number[];
}

export interface RecoveredState {
  genesis: Genesis;
  /** Final state of every account the journal and snapshot know, in write order. */
  accounts: Map<string, StoredAccount>;
  transactions: StoredTransaction[];
  /** Clock records, oldest first (the reservations and restart points). */
  clock: { slot: number; blockHeight: number }[];
  programs: Map<string, string>;
  recordsSinceSnapshot: number;
}

const SnapshotSchema = z.object({
  version: z.literal(1),
  upToSegment: z.number().int().nonnegative(),
  accounts: z.array(z.tuple([z.string(), z.string(), z.string(), z.boolean(), z.string()])),
  clock: z.array(z.object({ slot: z.number(), blockHeight: z.number() })),
  programs: z.record(z.string(), z.string()),
});

const GenesisSchema = z.object({
  genesisHash: z.string().min(32),
  createdAt: z.number(),
  faucetSecretKey: z.array(z.number().int().min(0).max(255)).length(64),
});

const checksum = (text: string) => createHash("sha256").update(text).digest("hex").slice(0, 8);
const segmentName = (n: number) => `${String(n).padStart(6, "0")}.log`;

export class ChainStoreError extends Error {
  readonly code = "CHAIN_STORE_CORRUPT";
  constructor(message: string) {
    super(message);
    this.name = "ChainStoreError";
  }
}

export class ChainStore {
  private fd: number;
  private segment: number;
  private constructor(
    readonly dir: string,
    segment: number,
  ) {
    this.segment = segment;
    this.fd = openSync(this.segmentPath(segment), "a", 0o600);
  }

  private segmentPath(n: number) {
    return path.join(this.dir, "journal", segmentName(n));
  }

  /** Opens (or creates) the chain directory and reads back everything it holds. */
  static open(dir: string, makeGenesis: () => Genesis): { store: ChainStore; state: RecoveredState } {
    // The data directory holds keys (the app's and this chain's faucet): private to its owner.
    mkdirSync(path.dirname(dir), { recursive: true, mode: 0o700 });
    mkdirSync(path.join(dir, "journal"), { recursive: true, mode: 0o700 });
    lockDirectory(dir);
    const genesisPath = path.join(dir, "genesis.json");
    let genesis: Genesis;
    if (existsSync(genesisPath)) {
      const parsed = GenesisSchema.safeParse(JSON.parse(readFileSync(genesisPath, "utf8")));
      if (!parsed.success) throw new ChainStoreError(`${genesisPath} is not a chain genesis file`);
      genesis = parsed.data;
    } else {
      genesis = makeGenesis();
      writeDurably(genesisPath, JSON.stringify(genesis));
    }

    const state: RecoveredState = {
      genesis,
      accounts: new Map(),
      transactions: [],
      clock: [],
      programs: new Map(),
      recordsSinceSnapshot: 0,
    };
    let upToSegment = 0;
    const snapshotPath = path.join(dir, "snapshot.json");
    if (existsSync(snapshotPath)) {
      const parsed = SnapshotSchema.safeParse(JSON.parse(readFileSync(snapshotPath, "utf8")));
      if (!parsed.success) throw new ChainStoreError(`${snapshotPath} is not a chain snapshot`);
      upToSegment = parsed.data.upToSegment;
      for (const account of parsed.data.accounts) state.accounts.set(account[0], account);
      state.clock.push(...parsed.data.clock);
      for (const [id, sha] of Object.entries(parsed.data.programs)) state.programs.set(id, sha);
    }

    const segments = readdirSync(path.join(dir, "journal"))
      .filter((name) => /^\d{6}\.log$/.test(name))
      .map((name) => Number(name.slice(0, 6)))
      .sort((a, b) => a - b);
    const last = segments.at(-1) ?? upToSegment + 1;
    for (const n of segments) {
      const replayWrites = n > upToSegment;
      for (const record of readSegment(path.join(dir, "journal", segmentName(n)), n === last)) {
        if (record.t === "tx") state.transactions.push(record.tx);
        if (!replayWrites) continue;
        state.recordsSinceSnapshot += 1;
        if (record.t === "clock") state.clock.push({ slot: record.slot, blockHeight: record.blockHeight });
        else {
          for (const account of record.w) {
            state.accounts.delete(account[0]);
            state.accounts.set(account[0], account);
          }
          if (record.t === "set" && record.program) state.programs.set(record.program.id, record.program.sha256);
        }
      }
    }
    state.clock.sort((a, b) => a.blockHeight - b.blockHeight);
    return { store: new ChainStore(dir, Math.max(last, upToSegment + 1)), state };
  }

  /** Appends one record and returns only once it is on disk. */
  append(record: JournalRecord): void {
    const json = JSON.stringify(record);
    const line = `${checksum(json)} ${json}\n`;
    writeSync(this.fd, line);
    // fdatasync: the data and the size it needs, without the timestamps a full fsync also writes.
    fdatasyncSync(this.fd);
  }

  /**
   * Writes every account's current state and starts a new journal segment: the next start replays only
   * what follows. The old segments stay (they hold the transaction history).
   */
  snapshot(accounts: StoredAccount[], clock: { slot: number; blockHeight: number }[], programs: Map<string, string>): void {
    const closed = this.segment;
    closeSync(this.fd);
    this.segment = closed + 1;
    this.fd = openSync(this.segmentPath(this.segment), "a", 0o600);
    fsyncDir(path.join(this.dir, "journal"));
    const snapshot = { version: 1, upToSegment: closed, accounts, clock, programs: Object.fromEntries(programs) };
    writeDurably(path.join(this.dir, "snapshot.json"), JSON.stringify(snapshot));
  }

  close(): void {
    closeSync(this.fd);
    rmSync(path.join(this.dir, LOCK_FILE), { force: true });
  }
}

const LOCK_FILE = "LOCK";

/**
 * One process per chain directory: two appending to one journal would interleave their histories. The
 * lock holds the owner's pid; a lock whose process is gone (a SIGKILL) is taken over.
 */
function lockDirectory(dir: string): void {
  const file = path.join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      writeFileSync(file, String(process.pid), { flag: "wx", mode: 0o600 });
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const owner = Number(readFileSync(file, "utf8").trim());
    if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && isAlive(owner)) {
      throw new ChainStoreError(`the chain data in ${dir} is in use by process ${owner} (another chain server running?)`);
    }
    rmSync(file, { force: true });
  }
  throw new ChainStoreError(`cannot lock ${dir}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Reads a segment's records; a torn last line (a crash mid-write, never answered) is cut off. */
function readSegment(file: string, isLast: boolean): JournalRecord[] {
  const text = readFileSync(file, "utf8");
  const records: JournalRecord[] = [];
  let offset = 0;
  while (offset < text.length) {
    const end = text.indexOf("\n", offset);
    const line = end === -1 ? text.slice(offset) : text.slice(offset, end);
    const space = line.indexOf(" ");
    const json = line.slice(space + 1);
    const intact = end !== -1 && space === 8 && checksum(json) === line.slice(0, 8);
    if (!intact) {
      // Only the tail may be torn, and only in the segment being written.
      if (isLast && (end === -1 || end === text.length - 1)) {
        const fd = openSync(file, "r+");
        ftruncateSync(fd, Buffer.byteLength(text.slice(0, offset)));
        fsyncSync(fd);
        closeSync(fd);
        break;
      }
      throw new ChainStoreError(`${file} is damaged at byte ${Buffer.byteLength(text.slice(0, offset))}`);
    }
    records.push(JSON.parse(json) as JournalRecord);
    offset = end + 1;
  }
  return records;
}

function writeDurably(file: string, content: string): void {
  const tmp = `${file}.${randomBytes(4).toString("hex")}.tmp`;
  writeFileSync(tmp, content, { mode: 0o600 });
  const fd = openSync(tmp, "r");
  fsyncSync(fd);
  closeSync(fd);
  renameSync(tmp, file);
  fsyncDir(path.dirname(file));
}

function fsyncDir(dir: string): void {
  const fd = openSync(dir, "r");
  fsyncSync(fd);
  closeSync(fd);
}
