// One process owns an embedded (PGlite) data directory; others reach it through that process. The owner
// takes a lock file and serves its PGlite over the Postgres wire protocol on a unix socket in the data
// directory (@electric-sql/pglite-socket); a second process (the operator CLI, `db:migrate`, later the
// settlement executor) finds the lock held and connects there with `pg` instead of opening the files,
// which PGlite would corrupt. See docs/decisions/011-shared-embedded-database.md.
import { chmod, mkdir, open, readFile, rm } from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import type { PGlite } from "@electric-sql/pglite";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";

/** pg connects to `<host>/.s.PGSQL.<port>` when host is a directory. */
const SOCKET_PORT = 5432;
const SOCKET_FILE = `.s.PGSQL.${SOCKET_PORT}`;
/** sun_path holds 108 bytes on Linux, 104 on macOS; keep a margin. */
const MAX_SOCKET_PATH = 100;

export class DataDirInUseError extends Error {
  readonly code = "DATA_DIR_IN_USE";
  constructor(readonly dataDir: string, readonly pid: number) {
    super(`the embedded database in ${dataDir} is open in process ${pid}; stop it first, or reach it through its socket`);
    this.name = "DataDirInUseError";
  }
}

export interface EmbeddedLocation {
  /** The directory of the lock and the socket (0700). */
  runDir: string;
  lockFile: string;
  socketPath: string;
}

export function embeddedLocation(dataDir: string): EmbeddedLocation {
  const runDir = path.resolve(dataDir, "run");
  const socketPath = path.join(runDir, SOCKET_FILE);
  if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH) {
    throw new Error(
      `STABLEFLOW_DATA_DIR resolves to a path too long for the database socket (${socketPath}, over ${MAX_SOCKET_PATH} bytes): choose a shorter directory`,
    );
  }
  return { runDir, lockFile: path.join(runDir, "holder.pid"), socketPath };
}

/** A connection URL for `pg` to the owner's socket (PGlite takes any user; its database is template1). */
export function socketDatabaseUrl(location: EmbeddedLocation): string {
  return `postgresql://postgres@localhost:${SOCKET_PORT}/template1?host=${encodeURIComponent(location.runDir)}`;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Lock files this process took (a lock naming our pid that is not here was left by an earlier process). */
const heldHere = new Set<string>();

/** The pid of the live process holding the data directory, if any (a dead holder's lock is stale). */
export async function embeddedHolder(location: EmbeddedLocation): Promise<number | null> {
  const text = await readFile(location.lockFile, "utf8").catch(() => null);
  const pid = Number(text?.trim());
  if (!Number.isInteger(pid) || pid <= 0) return null;
  // Our own pid: held by this very process if it took the lock, else a stale lock whose pid came round again.
  if (pid === process.pid) return heldHere.has(location.lockFile) ? pid : null;
  return alive(pid) ? pid : null;
}

/**
 * Takes the data directory for this process: an exclusive lock file with our pid (a stale one, whose
 * process is gone, is replaced). Throws DataDirInUseError when a live process holds it.
 */
export async function lockEmbeddedDataDir(location: EmbeddedLocation, dataDir: string): Promise<() => Promise<void>> {
  await mkdir(location.runDir, { recursive: true, mode: 0o700 });
  await chmod(location.runDir, 0o700);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(location.lockFile, "wx", 0o600);
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      heldHere.add(location.lockFile);
      return async () => {
        heldHere.delete(location.lockFile);
        const text = await readFile(location.lockFile, "utf8").catch(() => "");
        if (Number(text.trim()) === process.pid) await rm(location.lockFile, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const holder = await embeddedHolder(location);
      if (holder !== null) throw new DataDirInUseError(dataDir, holder);
      // A process that died holding it: its lock and socket are stale.
      await rm(location.lockFile, { force: true });
      await rm(location.socketPath, { force: true });
    }
  }
  throw new Error(`cannot take the lock ${location.lockFile}: another process keeps taking it`);
}

// Frontend message types after which, outside a transaction, the client expects ReadyForQuery: the end
// of one unit of work (a simple query, an extended-protocol Sync, Terminate, or the startup packet,
// whose first byte is the high byte of its length).
const UNIT_END = new Set([0x51 /* Q */, 0x53 /* S */, 0x58 /* X */, 0x00 /* startup */]);

/** A client's startup packet: length, then protocol version 3.0 (196608). */
function isStartupMessage(message: Uint8Array): boolean {
  return message.length >= 8 && message[0] === 0x00 && Buffer.from(message.buffer, message.byteOffset, message.byteLength).readInt32BE(4) === 196_608;
}

/** A simple-query ('Q') protocol message. */
function simpleQuery(text: string): Uint8Array {
  const body = Buffer.from(`${text}\0`, "utf8");
  const message = Buffer.alloc(5 + body.length);
  message.write("Q", 0, "ascii");
  message.writeInt32BE(4 + body.length, 1);
  body.copy(message, 5);
  return message;
}

/**
 * What pglite-socket is given instead of the PGlite itself. PGlite's runExclusive takes only its query
 * lock, so a socket client's statement could run inside one of this process's transactions, and this
 * process's statements inside a socket client's transaction, or between its Parse and its Sync. The gate
 * takes PGlite's transaction lock as well, and holds both from a client's first message to the end of its
 * unit of work, for as long as the client's transaction is open.
 */
class ExclusiveGate {
  private release: (() => void) | undefined;

  constructor(private readonly pglite: PGlite) {}

  get waitReady(): Promise<void> {
    return this.pglite.waitReady;
  }

  isInTransaction(): boolean {
    return this.pglite.isInTransaction();
  }

  get held(): boolean {
    return this.release !== undefined;
  }

  private acquire(): Promise<() => void> {
    return new Promise((entered) => {
      void this.pglite._runExclusiveTransaction(() =>
        this.pglite._runExclusiveQuery(() => new Promise<void>((done) => entered(done))),
      );
    });
  }

  async runExclusive<T>(fn: () => Promise<T>): Promise<T> {
    this.release ??= await this.acquire();
    return fn();
  }

  async execProtocolRawStream(message: Uint8Array, options: Parameters<PGlite["execProtocolRawStream"]>[1]): Promise<void> {
    try {
      // Every client shares PGlite's one session: a new client must not find the prepared statements of
      // the one before it (pg names them per client; "prepared statement sf_1 already exists" otherwise).
      if (isStartupMessage(message)) await this.pglite.execProtocolRaw(simpleQuery("DEALLOCATE ALL"));
      await this.pglite.execProtocolRawStream(message, options);
    } finally {
      if (UNIT_END.has(message[0]) && !this.pglite.isInTransaction()) this.letGo();
    }
  }

  /** pglite-socket rolls back the transaction of a client that disconnected in the middle of one. */
  async exec(sql: string): Promise<void> {
    if (this.release) {
      const body = Buffer.from(`${sql}\0`, "utf8");
      const message = Buffer.alloc(5 + body.length);
      message.write("Q", 0, "ascii");
      message.writeInt32BE(4 + body.length, 1);
      body.copy(message, 5);
      await this.pglite.execProtocolRaw(message);
      this.letGo();
      return;
    }
    await this.pglite.exec(sql);
  }

  letGo(): void {
    const release = this.release;
    this.release = undefined;
    release?.();
  }

  /** A client gone in the middle of a unit (no Sync): roll back what it left and let this process go on. */
  async abandon(): Promise<void> {
    if (!this.release) return;
    if (this.pglite.isInTransaction()) await this.exec("ROLLBACK");
    else this.letGo();
  }
}

export interface EmbeddedSocket {
  socketPath: string;
  close(): Promise<void>;
}

/**
 * Serves `pglite` on the unix socket of `location` (mode 0600, in a 0700 directory: only this user
 * connects; there is no password). One client at a time: PGlite has one session, which every client
 * shares, so a second concurrent client is refused and retries.
 */
export async function serveEmbeddedSocket(pglite: PGlite, location: EmbeddedLocation): Promise<EmbeddedSocket> {
  await rm(location.socketPath, { force: true });
  const gate = new ExclusiveGate(pglite);
  const server = new PGLiteSocketServer({ db: gate as unknown as PGlite, path: location.socketPath, maxConnections: 1 });
  await server.start();
  await chmod(location.socketPath, 0o600);
  // A client that vanished between its first message and its Sync would keep this process waiting.
  const watchdog = setInterval(() => {
    if (gate.held && server.getStats().activeConnections === 0) void gate.abandon();
  }, 500);
  watchdog.unref();
  return {
    socketPath: location.socketPath,
    async close() {
      clearInterval(watchdog);
      await server.stop();
      await gate.abandon();
      await rm(location.socketPath, { force: true });
    },
  };
}

/**
 * Waits for the holder's socket to answer (it serves it once its PGlite is open and migrated, seconds after
 * taking the lock). Throws a sentence when it does not within `timeoutMs`.
 */
export async function waitForSocket(location: EmbeddedLocation, holder: number, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await socketAnswers(location.socketPath))) {
    if (Date.now() > deadline) {
      throw new Error(`process ${holder} holds the embedded database but its socket ${location.socketPath} does not answer; is it still starting?`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** True when something accepts connections on the socket. */
export function socketAnswers(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.connect(socketPath);
    probe.once("connect", () => {
      probe.destroy();
      resolve(true);
    });
    probe.once("error", () => resolve(false));
  });
}
