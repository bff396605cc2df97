// Fresh, migrated databases for tests: an in-memory PGlite always, and a real PostgreSQL database
// (created for the test file, dropped after) when DATABASE_URL is set. Tests run the same cases on
// each with `describe.each(databaseTargets())`.
import { randomBytes } from "node:crypto";
import pg from "pg";
import { migrateDatabase, openDatabase, type Database } from "~/utils/db.server";

export interface DatabaseTarget {
  name: "pglite" | "postgres";
  /** Opens a new, empty, fully migrated database. */
  create(): Promise<TestDatabase>;
}

export interface TestDatabase extends Database {
  /** Closes the client and, for PostgreSQL, drops the database. */
  destroy(): Promise<void>;
  /** The URL of the throwaway database (PostgreSQL only). */
  url?: string;
}

export function realPostgresUrl(): string | undefined {
  return process.env.DATABASE_URL || undefined;
}

async function createPostgresDatabase(adminUrl: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `stableflow_test_${Date.now().toString(36)}_${randomBytes(4).toString("hex")}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

export const pgliteTarget: DatabaseTarget = {
  name: "pglite",
  async create() {
    const db = await openDatabase({ dataDir: "memory://" });
    await migrateDatabase(db);
    return Object.assign(db, { destroy: () => db.close() });
  },
};

export const postgresTarget: DatabaseTarget = {
  name: "postgres",
  async create() {
    const adminUrl = realPostgresUrl();
    if (!adminUrl) throw new Error("DATABASE_URL is not set");
    const { url, drop } = await createPostgresDatabase(adminUrl);
    const db = await openDatabase({ databaseUrl: url, poolSize: 20 });
    await migrateDatabase(db);
    return Object.assign(db, {
      url,
      async destroy() {
        await db.close();
        await drop();
      },
    });
  },
};

/** PGlite always; real PostgreSQL too when DATABASE_URL is set (CI sets it). */
export function databaseTargets(): DatabaseTarget[] {
  return realPostgresUrl() ? [pgliteTarget, postgresTarget] : [pgliteTarget];
}

/** Opens an unmigrated database of the target's kind (for migration-runner tests). */
export async function createEmptyDatabase(target: DatabaseTarget["name"]): Promise<TestDatabase> {
  if (target === "pglite") {
    const db = await openDatabase({ dataDir: "memory://" });
    return Object.assign(db, { destroy: () => db.close() });
  }
  const adminUrl = realPostgresUrl();
  if (!adminUrl) throw new Error("DATABASE_URL is not set");
  const { url, drop } = await createPostgresDatabase(adminUrl);
  const db = await openDatabase({ databaseUrl: url });
  return Object.assign(db, {
    url,
    async destroy() {
      await db.close();
      await drop();
    },
  });
}
