// Applies the ordered SQL migrations in migrations/NNNN_name/migration.sql, each in its own
// transaction, under an advisory lock, refusing a migration edited or removed after it was applied.
// Written here rather than taken from npm: see docs/decisions/001-sql-migrations.md.
import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";

/** One connection, held for the whole run (PGlite is one connection anyway). */
export interface SqlSession {
  query<Row = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<Row[]>;
  /** Runs a script of several statements. */
  exec(sql: string): Promise<void>;
}

export interface Migration {
  name: string;
  sql: string;
  checksum: string;
}

export type MigrationErrorCode = "MIGRATION_EDITED" | "MIGRATION_MISSING" | "MIGRATION_OUT_OF_ORDER" | "MIGRATION_FAILED" | "MIGRATION_BAD_NAME";

export class MigrationError extends Error {
  constructor(readonly code: MigrationErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "MigrationError";
  }
}

const MIGRATION_DIR_PATTERN = /^\d{4}_[a-z0-9_]+$/;
const LOCK_KEY = 4_733_018_223; // any constant shared by every StableFlow process

export function defaultMigrationsDir(): string {
  return path.resolve(process.cwd(), "migrations");
}

export async function loadMigrations(dir: string = defaultMigrationsDir()): Promise<Migration[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const migrations: Migration[] = [];
  for (const entry of entries) {
    if (!entry.isDirectory()) continue;
    if (!MIGRATION_DIR_PATTERN.test(entry.name)) {
      throw new MigrationError("MIGRATION_BAD_NAME", `migration folder "${entry.name}" is not named NNNN_snake_case`);
    }
    const sql = await readFile(path.join(dir, entry.name, "migration.sql"), "utf8");
    migrations.push({ name: entry.name, sql, checksum: createHash("sha256").update(sql).digest("hex") });
  }
  migrations.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return migrations;
}

export interface MigrateResult {
  applied: string[];
  alreadyApplied: number;
}

/**
 * Brings the database up to date. Safe to call from several processes at once: the advisory lock
 * serialises them and the second finds nothing to do.
 */
export async function migrate(session: SqlSession, migrations: Migration[]): Promise<MigrateResult> {
  await session.query("SELECT pg_advisory_lock($1)", [LOCK_KEY]);
  try {
    await session.exec(`CREATE TABLE IF NOT EXISTS stableflow_migrations (
      name text PRIMARY KEY,
      checksum text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const rows = await session.query<{ name: string; checksum: string }>(
      "SELECT name, checksum FROM stableflow_migrations ORDER BY name",
    );
    const known = new Map(migrations.map((m) => [m.name, m]));
    for (const row of rows) {
      const migration = known.get(row.name);
      if (!migration) {
        throw new MigrationError(
          "MIGRATION_MISSING",
          `migration ${row.name} was applied to this database but is not in migrations/: is this checkout older than the database?`,
        );
      }
      if (migration.checksum !== row.checksum) {
        throw new MigrationError(
          "MIGRATION_EDITED",
          `migration ${row.name} changed after it was applied; never edit an applied migration, add a new one`,
        );
      }
    }
    const appliedNames = new Set(rows.map((r) => r.name));
    const lastApplied = rows.at(-1)?.name;
    const pending = migrations.filter((m) => !appliedNames.has(m.name));
    const early = lastApplied ? pending.find((m) => m.name < lastApplied) : undefined;
    if (early) {
      throw new MigrationError(
        "MIGRATION_OUT_OF_ORDER",
        `migration ${early.name} sorts before ${lastApplied}, which is already applied; rename it to come last`,
      );
    }
    const applied: string[] = [];
    for (const migration of pending) {
      await session.exec("BEGIN");
      try {
        await session.exec(migration.sql);
        await session.query("INSERT INTO stableflow_migrations (name, checksum) VALUES ($1, $2)", [
          migration.name,
          migration.checksum,
        ]);
        await session.exec("COMMIT");
      } catch (error) {
        await session.exec("ROLLBACK").catch(() => undefined);
        throw new MigrationError(
          "MIGRATION_FAILED",
          `migration ${migration.name} failed and was rolled back: ${error instanceof Error ? error.message : String(error)}`,
          { cause: error },
        );
      }
      applied.push(migration.name);
    }
    return { applied, alreadyApplied: rows.length };
  } finally {
    await session.query("SELECT pg_advisory_unlock($1)", [LOCK_KEY]).catch(() => undefined);
  }
}
