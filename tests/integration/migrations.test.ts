// The migration runner: applies once, in order, in transactions, and refuses edited, missing or
// out-of-order migrations — on PGlite and real PostgreSQL.
import { cp, mkdtemp, mkdir, rm, writeFile, readFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadMigrations, migrate, MigrationError } from "~/utils/migrations.server";
import { migrateDatabase } from "~/utils/db.server";
import { createEmptyDatabase, databaseTargets, type TestDatabase } from "../setup/databases";

async function copyMigrations(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "sf-migrations-"));
  await cp(path.resolve("migrations"), dir, { recursive: true });
  return dir;
}

async function expectMigrationError(promise: Promise<unknown>, code: string) {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(MigrationError);
  expect((error as MigrationError).code).toBe(code);
  return error as MigrationError;
}

describe.each(databaseTargets())("migrations on $name", (target) => {
  let db: TestDatabase;
  let dir: string;
  beforeEach(async () => {
    db = await createEmptyDatabase(target.name);
    dir = await copyMigrations();
  });
  afterEach(async () => {
    await db.destroy();
    await rm(dir, { recursive: true, force: true });
  });

  it("applies every migration once; a second run applies nothing", async () => {
    const all = await loadMigrations(dir);
    const first = await migrateDatabase(db, dir);
    expect(first.applied).toEqual(all.map((m) => m.name));
    const second = await migrateDatabase(db, dir);
    expect(second).toEqual({ applied: [], alreadyApplied: all.length });
  });

  it("0004 gives every payment already recorded its state version (the webhook assumes none = nothing recorded)", async () => {
    // Given: a database at 0003 with a payment, a refund of an unseen payment and a dispute
    const later = (await loadMigrations(dir)).filter((m) => m.name >= "0004");
    for (const m of later) await rm(path.join(dir, m.name), { recursive: true });
    await migrateDatabase(db, dir);
    await db.withSession(async (session) => {
      const [org] = await session.query<{ id: string }>("INSERT INTO organizations (slug, name) VALUES ('m', 'M') RETURNING id");
      await session.query(
        `INSERT INTO payments (organization_id, dodo_payment_id, status, total_amount_minor, currency, last_event_at)
         VALUES ($1, 'pay_old', 'SUCCEEDED', 100, 'USD', now())`,
        [org!.id],
      );
      await session.query(
        `INSERT INTO refunds (organization_id, dodo_refund_id, dodo_payment_id, status, last_event_at)
         VALUES ($1, 'ref_old', 'pay_unseen', 'PENDING', now())`,
        [org!.id],
      );
      await session.query(
        `INSERT INTO disputes (organization_id, dodo_dispute_id, dodo_payment_id, status, amount_minor, currency, last_event_at)
         VALUES ($1, 'dsp_old', 'pay_old', 'OPENED', 100, 'USD', now())`,
        [org!.id],
      );
    });
    // When: the rest is applied
    await cp(path.resolve("migrations"), dir, { recursive: true });
    await migrateDatabase(db, dir);
    // Then: one version row per Dodo payment id
    const rows = await db.withSession((session) =>
      session.query<{ dodo_payment_id: string; version: string }>("SELECT dodo_payment_id, version::text AS version FROM payment_state_versions ORDER BY 1"),
    );
    expect(rows).toEqual([
      { dodo_payment_id: "pay_old", version: "1" },
      { dodo_payment_id: "pay_unseen", version: "1" },
    ]);
  });

  it("error: an applied migration that was edited is refused", async () => {
    await migrateDatabase(db, dir);
    const file = path.join(dir, "0001_ledger", "migration.sql");
    await writeFile(file, (await readFile(file, "utf8")) + "\n-- sneaky edit\n");
    const error = await expectMigrationError(migrateDatabase(db, dir), "MIGRATION_EDITED");
    expect(error.message).toContain("0001_ledger");
  });

  it("error: a migration applied to the database but missing from the folder is refused", async () => {
    await mkdir(path.join(dir, "9002_extra"));
    await writeFile(path.join(dir, "9002_extra", "migration.sql"), "CREATE TABLE extra (id int);");
    await migrateDatabase(db, dir);
    await rm(path.join(dir, "9002_extra"), { recursive: true });
    await expectMigrationError(migrateDatabase(db, dir), "MIGRATION_MISSING");
  });

  it("error: a new migration that sorts before an applied one is refused", async () => {
    await mkdir(path.join(dir, "9003_late"));
    await writeFile(path.join(dir, "9003_late", "migration.sql"), "CREATE TABLE late (id int);");
    await migrateDatabase(db, dir);
    await mkdir(path.join(dir, "9002_sneaked_in"));
    await writeFile(path.join(dir, "9002_sneaked_in", "migration.sql"), "CREATE TABLE sneaked (id int);");
    await expectMigrationError(migrateDatabase(db, dir), "MIGRATION_OUT_OF_ORDER");
  });

  it("error: a failing migration is rolled back whole and not recorded", async () => {
    await migrateDatabase(db, dir);
    await mkdir(path.join(dir, "9002_broken"));
    await writeFile(
      path.join(dir, "9002_broken", "migration.sql"),
      "CREATE TABLE half_done (id int);\nINSERT INTO no_such_table VALUES (1);",
    );
    const error = await expectMigrationError(migrateDatabase(db, dir), "MIGRATION_FAILED");
    expect(error.message).toContain("9002_broken");
    const leftovers = await db.withSession((s) =>
      s.query<{ n: number }>("SELECT count(*)::int AS n FROM information_schema.tables WHERE table_name = 'half_done'"),
    );
    expect(leftovers[0].n).toBe(0);
    const recorded = await db.withSession((s) => s.query<{ name: string }>("SELECT name FROM stableflow_migrations ORDER BY name"));
    expect(recorded.map((r) => r.name)).toEqual((await loadMigrations(path.resolve("migrations"))).map((m) => m.name));
  });

  it("error: a folder not named NNNN_snake_case is refused before anything runs", async () => {
    await mkdir(path.join(dir, "2_Bad-Name"));
    await writeFile(path.join(dir, "2_Bad-Name", "migration.sql"), "SELECT 1;");
    await expectMigrationError(loadMigrations(dir), "MIGRATION_BAD_NAME");
  });

  if (target.name === "postgres") {
    it("two processes migrating at once apply each migration exactly once", async () => {
      const migrations = await loadMigrations(dir);
      const results = await Promise.all([
        db.withSession((s) => migrate(s, migrations)),
        db.withSession((s) => migrate(s, migrations)),
      ]);
      const appliedCounts = results.map((r) => r.applied.length).sort();
      expect(appliedCounts).toEqual([0, migrations.length]);
    });
  }
});
