// Fresh, migrated databases for tests: an in-memory PGlite always, and a real PostgreSQL database
// (created for the test file, dropped after) when DATABASE_URL is set. Tests run the same cases on
// each with `describe.each(databaseTargets())`. With DATABASE_MIGRATION_URL set too (two roles, as
// .ci/run does), the PostgreSQL database is created and migrated by that owner role and the test gets
// a connection as DATABASE_URL's role, the one the app serves as: the suite runs with the app's privileges.
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
  /** The URL of the throwaway database (PostgreSQL only), as the role this connection uses. */
  url?: string;
  /** With two roles: the owner's URL of the same database (what DATABASE_MIGRATION_URL would be). */
  migrationUrl?: string;
}

/** The role that creates (CREATEDB) and owns the test databases: the migration role when there are two. */
export function realPostgresUrl(): string | undefined {
  return process.env.DATABASE_MIGRATION_URL || process.env.DATABASE_URL || undefined;
}

/** True when DATABASE_MIGRATION_URL (owner) and DATABASE_URL (the app's role) are both set. */
export function twoRolesConfigured(): boolean {
  return Boolean(process.env.DATABASE_MIGRATION_URL && process.env.DATABASE_URL);
}

/** `url` with its database name replaced. */
function onDatabase(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${name}`;
  return parsed.toString();
}

async function createPostgresDatabase(adminUrl: string): Promise<{ url: string; name: string; drop: () => Promise<void> }> {
  const name = `stableflow_test_${Date.now().toString(36)}_${randomBytes(4).toString("hex")}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  return {
    url: onDatabase(adminUrl, name),
    name,
    async drop() {
      // The test's own pool is closed by now, but its backends (the app's role) may take a moment to
      // exit; the owner role may not terminate another role's sessions (WITH FORCE needs that), so wait.
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      try {
        for (let attempt = 0; ; attempt++) {
          try {
            await c.query(`DROP DATABASE IF EXISTS ${name}`);
            return;
          } catch (error) {
            const inUse = (error as { code?: string }).code === "55006";
            if (!inUse || attempt >= 100) throw error;
            await new Promise((resolve) => setTimeout(resolve, 100));
          }
        }
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
    const { url: ownerUrl, name, drop } = await createPostgresDatabase(adminUrl);
    // Two roles: connect as the app's role, migrated (and granted) by the owner, exactly as the server boots.
    const appUrl = twoRolesConfigured() ? onDatabase(process.env.DATABASE_URL!, name) : undefined;
    const db = await openDatabase({ databaseUrl: appUrl ?? ownerUrl, poolSize: 20 });
    await migrateDatabase(db, undefined, { migrationUrl: appUrl ? ownerUrl : undefined });
    return Object.assign(db, {
      url: appUrl ?? ownerUrl,
      migrationUrl: appUrl ? ownerUrl : undefined,
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
