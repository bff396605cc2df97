// The one data layer: a Prisma client over embedded PGlite (no DATABASE_URL) or a real PostgreSQL
// server (DATABASE_URL). Same client, same queries, same migrations; only the adapter differs.
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { PrismaPGlite } from "pglite-prisma-adapter";
import { PrismaClient } from "~/generated/prisma/client";
import { loadMigrations, migrate, MigrationError, type MigrateResult, type SqlSession } from "./migrations.server";
import { redactDatabaseUrl } from "./env.server";
import { ensurePrivateDir } from "./secret-files.server";
import type { SqlStatement, SqlTransaction } from "./sql.server";
import { embeddedHolder, embeddedLocation, lockEmbeddedDataDir, serveEmbeddedSocket, socketDatabaseUrl, waitForSocket, DataDirInUseError, type EmbeddedSocket } from "./pglite-socket.server";

export type DatabaseMode = "embedded" | "postgres";

export interface Database {
  mode: DatabaseMode;
  prisma: PrismaClient;
  /** Where the data lives, safe to show (no password). */
  location: string;
  /** A dedicated connection for scripts (migrations); released by the callback's end. */
  withSession<T>(fn: (session: SqlSession) => Promise<T>): Promise<T>;
  /**
   * A transaction of hand-written statements on the driver (see sql.server.ts): committed when `fn`
   * resolves, rolled back when it throws (the error is rethrown as it was). For hot paths only; the
   * rest of the app uses `prisma`.
   */
  transaction<T>(fn: (tx: SqlTransaction) => Promise<T>): Promise<T>;
  /** One hand-written statement on its own (autocommit: atomic, committed when it resolves). */
  query<Row = Record<string, unknown>>(statement: SqlStatement): Promise<Row[]>;
  /**
   * LISTEN on `channel` (a lower-case identifier): `onNotify` runs for each notification committed by
   * anyone. PostgreSQL holds one pooled connection for it; `onLost` runs if that connection fails (the
   * caller listens again). Resolves to a function that stops listening.
   */
  listen(channel: string, onNotify: () => void, onLost?: (error: Error) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  databaseUrl?: string;
  /** Embedded mode: the directory that holds the PGlite files; "memory://" keeps them in memory. */
  dataDir?: string;
  /** pg pool size in postgres mode. */
  poolSize?: number;
  /**
   * Embedded mode, when another live process holds the data directory (pglite-socket.server.ts):
   * "fail" (the default: a server must not start twice on one directory) or "connect" through that
   * process's socket (scripts: the operator CLI, db:migrate).
   */
  whenHeld?: "fail" | "connect";
}

const CHANNEL_PATTERN = /^[a-z_][a-z0-9_]{0,62}$/;

function checkChannel(channel: string): void {
  if (!CHANNEL_PATTERN.test(channel)) throw new Error(`not a channel name: ${JSON.stringify(channel)}`);
}

function pgliteSession(pglite: PGlite): SqlSession {
  return {
    async query<Row>(sql: string, params?: unknown[]) {
      const result = await pglite.query<Row>(sql, params);
      return result.rows;
    },
    async exec(sql: string) {
      await pglite.exec(sql);
    },
  };
}

function pgSession(client: pg.PoolClient): SqlSession {
  return {
    async query<Row>(sql: string, params?: unknown[]) {
      const result = await client.query(sql, params);
      return result.rows as Row[];
    },
    async exec(sql: string) {
      await client.query(sql);
    },
  };
}

export async function openDatabase(options: OpenDatabaseOptions): Promise<Database> {
  if (options.databaseUrl) {
    const pool = new pg.Pool({ connectionString: options.databaseUrl, max: options.poolSize ?? 10 });
    // An idle client losing its server must not crash the process: the next query reconnects.
    pool.on("error", () => undefined);
    const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
    return {
      mode: "postgres",
      async transaction(fn) {
        const client = await pool.connect();
        let connectionBroken: Error | undefined;
        try {
          await client.query("BEGIN");
          const tx: SqlTransaction = {
            async query<Row>(statement: SqlStatement) {
              // Named: parsed and planned once per connection, then only bound and executed.
              const result = await client.query({ name: statement.name, text: statement.text, values: statement.values });
              return result.rows as Row[];
            },
          };
          const value = await fn(tx);
          await client.query("COMMIT");
          return value;
        } catch (error) {
          try {
            await client.query("ROLLBACK");
          } catch (rollbackError) {
            // The connection is unusable (the server went away): drop it rather than pool it.
            connectionBroken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
          }
          throw error;
        } finally {
          client.release(connectionBroken);
        }
      },
      prisma,
      location: redactDatabaseUrl(options.databaseUrl),
      async query<Row>(statement: SqlStatement) {
        const result = await pool.query({ name: statement.name, text: statement.text, values: statement.values });
        return result.rows as Row[];
      },
      async listen(channel, onNotify, onLost) {
        checkChannel(channel);
        const client = await pool.connect();
        let released = false;
        const release = (error?: Error) => {
          if (released) return;
          released = true;
          client.removeListener("notification", onNotification);
          client.removeListener("error", onError);
          client.release(error);
        };
        const onNotification = (message: pg.Notification) => {
          if (message.channel === channel) onNotify();
        };
        const onError = (error: Error) => {
          release(error);
          onLost?.(error);
        };
        client.on("notification", onNotification);
        client.on("error", onError);
        try {
          await client.query(`LISTEN ${channel}`);
        } catch (error) {
          release(error instanceof Error ? error : new Error(String(error)));
          throw error;
        }
        return async () => {
          if (released) return;
          try {
            await client.query(`UNLISTEN ${channel}`);
            release();
          } catch (error) {
            release(error instanceof Error ? error : new Error(String(error)));
          }
        };
      },
      async withSession(fn) {
        const client = await pool.connect();
        try {
          return await fn(pgSession(client));
        } finally {
          client.release();
        }
      },
      async close() {
        await prisma.$disconnect();
        await pool.end();
      },
    };
  }
  const dataDir = options.dataDir ?? ".stableflow";
  let pglite: PGlite;
  let location: string;
  // On disk, this process takes the directory (a lock file) and shares it over a unix socket; when a live
  // process holds it already, its files are never opened a second time (decision 011).
  let unlock: (() => Promise<void>) | undefined;
  let socket: EmbeddedSocket | undefined;
  if (dataDir === "memory://") {
    pglite = new PGlite();
    location = "memory";
  } else {
    const shared = embeddedLocation(dataDir);
    const holder = await embeddedHolder(shared);
    if (holder !== null) {
      if (options.whenHeld !== "connect") throw new DataDirInUseError(path.resolve(dataDir), holder);
      await waitForSocket(shared, holder);
      const viaSocket = await openDatabase({ databaseUrl: socketDatabaseUrl(shared), poolSize: 1 });
      return { ...viaSocket, location: `embedded PGlite in ${path.resolve(dataDir, "pglite")}, through process ${holder}'s socket` };
    }
    // The data directory also keeps secrets (the simulator's webhook key, chain keys): private, 0700.
    await ensurePrivateDir(dataDir);
    unlock = await lockEmbeddedDataDir(shared, path.resolve(dataDir));
    const dir = path.resolve(dataDir, "pglite");
    await mkdir(dir, { recursive: true, mode: 0o700 });
    pglite = new PGlite(dir);
    location = dir;
    await pglite.waitReady;
    socket = await serveEmbeddedSocket(pglite, shared);
  }
  await pglite.waitReady;
  const prisma = new PrismaClient({ adapter: new PrismaPGlite(pglite) });
  return {
    mode: "embedded",
    // PGlite runs one transaction at a time: other queries (Prisma's included) wait for it to end.
    async transaction(fn) {
      return pglite.transaction((pgliteTx) =>
        fn({
          async query<Row>(statement: SqlStatement) {
            return (await pgliteTx.query<Row>(statement.text, statement.values)).rows;
          },
        }),
      );
    },
    prisma,
    location,
    async query<Row>(statement: SqlStatement) {
      return (await pglite.query<Row>(statement.text, statement.values)).rows;
    },
    async listen(channel, onNotify) {
      checkChannel(channel);
      return pglite.listen(channel, () => onNotify());
    },
    async withSession(fn) {
      return fn(pgliteSession(pglite));
    },
    async close() {
      await socket?.close();
      await prisma.$disconnect();
      // PGlite flushes to disk on close; a process that skips this can lose the last writes.
      if (!pglite.closed) await pglite.close();
      await unlock?.();
    },
  };
}

export interface MigrateDatabaseOptions {
  /**
   * DATABASE_MIGRATION_URL: migrate as this (owner) role instead of `db`'s, then grant `db`'s role the DML
   * it needs on every table (see migrations.server.ts). PostgreSQL only.
   */
  migrationUrl?: string;
}

export async function migrateDatabase(db: Database, migrationsDir?: string, options: MigrateDatabaseOptions = {}): Promise<MigrateResult> {
  const migrations = await loadMigrations(migrationsDir);
  if (!options.migrationUrl) return db.withSession((session) => migrate(session, migrations));
  if (db.mode !== "postgres") throw new Error("DATABASE_MIGRATION_URL needs DATABASE_URL: the embedded database has one role");
  // Who the app is, asked of the server rather than read from the URL (a pooler may rename the user).
  const [app] = await db.query<{ role: string; database: string }>({
    name: "sf_app_identity",
    text: "SELECT current_user AS role, current_database() AS database",
    values: [],
  });
  const owner = await openDatabase({ databaseUrl: options.migrationUrl, poolSize: 1 });
  try {
    return await owner.withSession(async (session) => {
      const [me] = await session.query<{ role: string; database: string }>("SELECT current_user AS role, current_database() AS database");
      if (me!.database !== app!.database) {
        throw new MigrationError(
          "MIGRATION_DATABASE_MISMATCH",
          `DATABASE_MIGRATION_URL names database ${me!.database} but DATABASE_URL names ${app!.database}: both must reach the same database`,
        );
      }
      if (me!.role === app!.role) {
        throw new MigrationError(
          "MIGRATION_APP_ROLE_PRIVILEGED",
          `DATABASE_URL and DATABASE_MIGRATION_URL both connect as ${app!.role}: the app must connect as a role of its own with only the DML it needs`,
        );
      }
      return migrate(session, migrations, { appRole: app!.role });
    });
  } finally {
    await owner.close();
  }
}

// The process-wide database. Kept on globalThis so that every copy of this module (the server
// build, dev-mode reloads, a test that hands in its own database) sees the same one.
const DATABASE_KEY = Symbol.for("stableflow.database");
type Holder = { [DATABASE_KEY]?: Promise<Database> };

/** Installs the database the app uses (boot code and tests). */
export function setDatabase(db: Database | Promise<Database>): void {
  (globalThis as Holder)[DATABASE_KEY] = Promise.resolve(db);
}

export function clearDatabase(): void {
  delete (globalThis as Holder)[DATABASE_KEY];
}

/** The app's database; boot (app/utils/boot.server.ts) must have installed it. */
export function getDatabase(): Promise<Database> {
  const db = (globalThis as Holder)[DATABASE_KEY];
  if (!db) throw new Error("stableflow: the database was used before boot installed it");
  return db;
}

export async function getPrisma(): Promise<PrismaClient> {
  return (await getDatabase()).prisma;
}
