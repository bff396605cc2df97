// Applies the ordered SQL migrations in migrations/NNNN_name/migration.sql, each in its own
// transaction, under an advisory lock, refusing a migration edited or removed after it was applied.
// With two roles (DATABASE_MIGRATION_URL) it then grants the app's role the DML it needs on every table,
// those the migrations just created included: see docs/decisions/010-database-roles.md.
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

export type MigrationErrorCode =
  | "MIGRATION_EDITED"
  | "MIGRATION_MISSING"
  | "MIGRATION_OUT_OF_ORDER"
  | "MIGRATION_FAILED"
  | "MIGRATION_BAD_NAME"
  | "MIGRATION_APP_ROLE_PRIVILEGED"
  | "MIGRATION_DATABASE_MISMATCH";

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

export interface MigrateOptions {
  /**
   * The role the app serves as (DATABASE_URL's), when this session is the owner (DATABASE_MIGRATION_URL's):
   * after migrating, it is granted the DML it needs on every table and refused if it could do more.
   */
  appRole?: string;
}

/** A role name as an SQL identifier. */
function identifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * The app role's privileges, applied again after every migration run so that tables, sequences and columns
 * later migrations add are covered without anyone remembering to grant them: DML on every table and
 * sequence of the schema, and nothing else (no TRUNCATE, REFERENCES or TRIGGER; DDL needs ownership, which
 * it never gets). Two tables are narrower: the migrations record is read-only, and webhook_events (Dodo's
 * raw evidence) may only have its processing columns updated (its trigger holds the owner to the same).
 * Default privileges cover what the owner creates by hand between runs.
 */
async function grantAppRole(session: SqlSession, appRole: string): Promise<void> {
  const [{ schema }] = await session.query<{ schema: string }>("SELECT current_schema() AS schema");
  const app = identifier(appRole);
  const ns = identifier(schema);
  const statements = [
    `GRANT USAGE ON SCHEMA ${ns} TO ${app}`,
    `REVOKE CREATE ON SCHEMA ${ns} FROM ${app}`,
    `GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ${ns} TO ${app}`,
    `REVOKE TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA ${ns} FROM ${app}`,
    `GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA ${ns} TO ${app}`,
    `REVOKE UPDATE ON ALL SEQUENCES IN SCHEMA ${ns} FROM ${app}`,
    `REVOKE ALL ON stableflow_migrations FROM ${app}`,
    `GRANT SELECT ON stableflow_migrations TO ${app}`,
    `ALTER DEFAULT PRIVILEGES IN SCHEMA ${ns} GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ${app}`,
    `ALTER DEFAULT PRIVILEGES IN SCHEMA ${ns} GRANT USAGE, SELECT ON SEQUENCES TO ${app}`,
  ];
  const [{ exists }] = await session.query<{ exists: boolean }>("SELECT to_regclass('webhook_events') IS NOT NULL AS exists");
  if (exists) {
    statements.push(
      `REVOKE UPDATE, DELETE ON webhook_events FROM ${app}`,
      // event_type and organization_id: a replay of a FAILED delivery classifies it again (its trigger checks).
      `GRANT UPDATE (status, error, processed_at, event_type, organization_id) ON webhook_events TO ${app}`,
    );
  }
  await session.exec("BEGIN");
  try {
    for (const statement of statements) await session.exec(statement);
    await session.exec("COMMIT");
  } catch (error) {
    await session.exec("ROLLBACK").catch(() => undefined);
    throw error;
  }
}

/**
 * Refuses an app role that could undo what the database enforces: a superuser, a role that can create
 * roles (and so grant itself the owner's), one that owns (or is a member of the role that owns) a table,
 * or one that may create objects in the schema.
 */
async function checkAppRole(session: SqlSession, appRole: string): Promise<void> {
  const [row] = await session.query<{ superuser: boolean; create_role: boolean; owns: boolean; can_create: boolean }>(
    `SELECT r.rolsuper AS superuser, r.rolcreaterole AS create_role,
            EXISTS (SELECT 1 FROM pg_class c WHERE c.relnamespace = current_schema()::regnamespace
                      AND c.relkind IN ('r', 'p', 'v', 'm', 'S') AND pg_has_role(r.oid, c.relowner, 'USAGE')) AS owns,
            has_schema_privilege(r.oid, current_schema(), 'CREATE') AS can_create
       FROM pg_roles r WHERE r.rolname = $1`,
    [appRole],
  );
  if (!row) throw new MigrationError("MIGRATION_APP_ROLE_PRIVILEGED", `the app role ${appRole} does not exist`);
  const problems = [
    row.superuser && "is a superuser",
    row.create_role && "can create roles",
    row.owns && "owns tables of the schema (or is a member of their owner)",
    row.can_create && "may create objects in the schema (PostgreSQL before 15 lets everyone: REVOKE CREATE ON SCHEMA public FROM PUBLIC)",
  ].filter(Boolean);
  if (problems.length > 0) {
    throw new MigrationError(
      "MIGRATION_APP_ROLE_PRIVILEGED",
      `DATABASE_URL connects as ${appRole}, which ${problems.join(" and ")}: with DATABASE_MIGRATION_URL set the app ` +
        "must connect as a role with only the DML it needs (see the README's database roles)",
    );
  }
}

/**
 * Brings the database up to date. Safe to call from several processes at once: the advisory lock
 * serialises them and the second finds nothing to do.
 */
export async function migrate(session: SqlSession, migrations: Migration[], options: MigrateOptions = {}): Promise<MigrateResult> {
  await session.query("SELECT pg_advisory_lock($1)", [LOCK_KEY]);
  try {
    // Only created when missing: a role without DDL (the app's) can still check an up-to-date database.
    const [{ exists }] = await session.query<{ exists: boolean }>("SELECT to_regclass('stableflow_migrations') IS NOT NULL AS exists");
    if (!exists) {
      await session
        .exec(`CREATE TABLE IF NOT EXISTS stableflow_migrations (
          name text PRIMARY KEY,
          checksum text NOT NULL,
          applied_at timestamptz NOT NULL DEFAULT now()
        )`)
        .catch((error: unknown) => {
          if ((error as { code?: string }).code !== "42501") throw error;
          throw new MigrationError(
            "MIGRATION_FAILED",
            "this database has never been migrated and DATABASE_URL's role may not create tables: set DATABASE_MIGRATION_URL to the owner role",
            { cause: error },
          );
        });
    }
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
        const denied = (error as { code?: string }).code === "42501";
        throw new MigrationError(
          "MIGRATION_FAILED",
          `migration ${migration.name} failed and was rolled back: ${error instanceof Error ? error.message : String(error)}` +
            (denied ? " (migrations need the owner role: set DATABASE_MIGRATION_URL, or run npm run db:migrate with it)" : ""),
          { cause: error },
        );
      }
      applied.push(migration.name);
    }
    if (options.appRole) {
      await grantAppRole(session, options.appRole);
      await checkAppRole(session, options.appRole);
    }
    return { applied, alreadyApplied: rows.length };
  } finally {
    await session.query("SELECT pg_advisory_unlock($1)", [LOCK_KEY]).catch(() => undefined);
  }
}
