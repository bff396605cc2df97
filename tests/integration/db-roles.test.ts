// Two database roles on PostgreSQL (DATABASE_MIGRATION_URL = the owner that migrates, DATABASE_URL = the role
// the app serves as): the app role has the DML it needs and nothing that could defeat the ledger's
// insert-only guarantees: no trigger control, no DDL, no TRUNCATE, no writing the migrations record. The
// runner grants it again after every migration, so tables that later migrations create are covered too.
import { cp, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrateDatabase, openDatabase } from "~/utils/db.server";
import { MigrationError } from "~/utils/migrations.server";
import { postgresTarget, twoRolesConfigured, type TestDatabase } from "../setup/databases";

const WALLET = "9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin";
const TOKEN_ACCOUNT = "Es9vMFrzaCERmJfrF4H2FYD4KCoNkY11McCe8BenwNYB";

/** The SQLSTATE a statement fails with, or "ok". */
async function outcome(client: pg.Client, statement: string): Promise<string> {
  try {
    await client.query(statement);
    return "ok";
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  }
}

const INSUFFICIENT_PRIVILEGE = "42501";
const INSERT_ONLY = "SF001";

describe.runIf(twoRolesConfigured())("database roles on PostgreSQL", () => {
  let db: TestDatabase;
  let app: pg.Client;
  let owner: pg.Client;
  let transferId: string;
  let paymentId: string;

  beforeAll(async () => {
    db = await postgresTarget.create();
    app = new pg.Client({ connectionString: db.url });
    owner = new pg.Client({ connectionString: db.migrationUrl });
    await Promise.all([app.connect(), owner.connect()]);
    // A transfer and a payment, written by the app role as the app writes them.
    const { rows: [org] } = await app.query("INSERT INTO organizations (slug, name) VALUES ('roles', 'Roles') RETURNING id");
    const { rows: [recipient] } = await app.query(
      "INSERT INTO recipients (organization_id, name, wallet_address, token_account) VALUES ($1, 'R', $2, $3) RETURNING id",
      [org.id, WALLET, TOKEN_ACCOUNT],
    );
    const { rows: [run] } = await app.query(
      `INSERT INTO payout_runs (organization_id, kind, token_decimals, distributable, total_transfers, treasury_remainder)
       VALUES ($1, 'SWEEP', 6, 10, 10, 0) RETURNING id`,
      [org.id],
    );
    const { rows: [transfer] } = await app.query(
      "INSERT INTO payout_transfers (run_id, recipient_id, token_account, amount) VALUES ($1, $2, $3, 10) RETURNING id",
      [run.id, recipient.id, TOKEN_ACCOUNT],
    );
    transferId = transfer.id;
    const { rows: [payment] } = await app.query(
      `INSERT INTO payments (organization_id, dodo_payment_id, status, total_amount_minor, currency, last_event_at)
       VALUES ($1, 'pay_roles', 'SUCCEEDED', 500, 'USD', now()) RETURNING id`,
      [org.id],
    );
    paymentId = payment.id;
  });
  afterAll(async () => {
    await Promise.all([app?.end(), owner?.end()]);
    await db?.destroy();
  });

  it("the app connects as its own role: not the owner, not a superuser", async () => {
    const [{ rows: [a] }, { rows: [o] }] = await Promise.all([
      app.query("SELECT current_user AS role, (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS super"),
      owner.query("SELECT current_user AS role"),
    ]);
    expect(a.role).not.toBe(o.role);
    expect(a.super).toBe(false);
    const { rows: [table] } = await owner.query("SELECT pg_get_userbyid(relowner) AS owner FROM pg_class WHERE relname = 'payout_transfers'");
    expect(table.owner).toBe(o.role);
  });

  it("error: as the app role, disabling an insert-only trigger is refused, however it is asked", async () => {
    expect(await outcome(app, "ALTER TABLE payout_transfers DISABLE TRIGGER payout_transfers_insert_only")).toBe(INSUFFICIENT_PRIVILEGE);
    expect(await outcome(app, "ALTER TABLE payout_transfers DISABLE TRIGGER ALL")).toBe(INSUFFICIENT_PRIVILEGE);
    expect(await outcome(app, "ALTER TABLE audit_log DISABLE TRIGGER USER")).toBe(INSUFFICIENT_PRIVILEGE);
    // Replica mode skips ordinary triggers for the session: superusers only.
    expect(await outcome(app, "SET session_replication_role = replica")).toBe(INSUFFICIENT_PRIVILEGE);
    const { rows } = await owner.query(
      "SELECT tgenabled FROM pg_trigger WHERE tgname = 'payout_transfers_insert_only'",
    );
    expect(rows).toEqual([{ tgenabled: "O" }]);
  });

  it("error: as the app role, dropping or replacing a trigger or its function is refused", async () => {
    expect(await outcome(app, "DROP TRIGGER payout_transfers_insert_only ON payout_transfers")).toBe(INSUFFICIENT_PRIVILEGE);
    expect(await outcome(app, "DROP FUNCTION stableflow_refuse_mutation() CASCADE")).toBe(INSUFFICIENT_PRIVILEGE);
    expect(
      await outcome(app, "CREATE OR REPLACE FUNCTION stableflow_refuse_mutation() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$"),
    ).toBe(INSUFFICIENT_PRIVILEGE);
    expect(await outcome(app, "CREATE TRIGGER sneaky BEFORE INSERT ON payments FOR EACH ROW EXECUTE FUNCTION stableflow_refuse_mutation()")).toBe(
      INSUFFICIENT_PRIVILEGE,
    );
  });

  it("error: as the app role, truncating a money table is refused and its rows stay", async () => {
    for (const table of ["payments", "payout_transfers", "audit_log", "webhook_events", "payout_runs", "recipient_balance_entries"]) {
      expect(await outcome(app, `TRUNCATE ${table} CASCADE`), table).toBe(INSUFFICIENT_PRIVILEGE);
    }
    const { rows } = await app.query("SELECT count(*)::int AS n FROM payments WHERE id = $1", [paymentId]);
    expect(rows[0].n).toBe(1);
  });

  it("error: as the app role, updating or deleting a transfer is refused and the amount stays", async () => {
    expect(await outcome(app, `UPDATE payout_transfers SET amount = 1 WHERE id = '${transferId}'`)).toBe(INSERT_ONLY);
    expect(await outcome(app, `DELETE FROM payout_transfers WHERE id = '${transferId}'`)).toBe(INSERT_ONLY);
    const { rows } = await app.query("SELECT amount::text AS amount FROM payout_transfers WHERE id = $1", [transferId]);
    expect(rows).toEqual([{ amount: "10" }]);
  });

  it("error: as the app role, DDL is refused: no table created, altered or dropped, no migration recorded", async () => {
    expect(await outcome(app, "CREATE TABLE shadow_ledger (id int)")).toBe(INSUFFICIENT_PRIVILEGE);
    expect(await outcome(app, "ALTER TABLE payments ADD COLUMN note text")).toBe(INSUFFICIENT_PRIVILEGE);
    expect(await outcome(app, "ALTER TABLE payments DROP CONSTRAINT payments_settlement_pair")).toBe(INSUFFICIENT_PRIVILEGE);
    expect(await outcome(app, "DROP TABLE audit_log")).toBe(INSUFFICIENT_PRIVILEGE);
    expect(await outcome(app, "CREATE SCHEMA shadow")).toBe(INSUFFICIENT_PRIVILEGE);
    expect(await outcome(app, "INSERT INTO stableflow_migrations (name, checksum) VALUES ('9999_fake', 'x')")).toBe(INSUFFICIENT_PRIVILEGE);
    expect(await outcome(app, "DELETE FROM stableflow_migrations")).toBe(INSUFFICIENT_PRIVILEGE);
    // Reading what is applied is allowed (the health report counts migrations).
    expect(await outcome(app, "SELECT count(*) FROM stableflow_migrations")).toBe("ok");
  });

  it("the app role keeps the DML it needs: insert, read, update and delete on ordinary tables, sequences included", async () => {
    expect(await outcome(app, `UPDATE payments SET refunded_amount_minor = 100 WHERE id = '${paymentId}'`)).toBe("ok");
    expect(await outcome(app, "INSERT INTO payment_state_versions (dodo_payment_id, version) VALUES ('pay_roles', 1)")).toBe("ok");
    expect(await outcome(app, "DELETE FROM payment_state_versions WHERE dodo_payment_id = 'pay_roles'")).toBe("ok");
    // audit_log's id is a bigserial: inserting draws from its sequence.
    expect(await outcome(app, "INSERT INTO audit_log (actor_type, action, entity_type, entity_id) VALUES ('SYSTEM', 'roles.test', 'x', 'x')")).toBe("ok");
  });

  it("webhook_events is insert-only apart from its processing status: the raw evidence cannot change", async () => {
    const { rows: [event] } = await app.query(
      `INSERT INTO webhook_events (webhook_id, event_type, webhook_timestamp, raw_body, headers)
       VALUES ('msg_roles', 'payment.succeeded', now(), '{"a":1}', '{}'::jsonb) RETURNING id`,
    );
    expect(await outcome(app, `UPDATE webhook_events SET status = 'PROCESSED', processed_at = now(), error = NULL WHERE id = '${event.id}'`)).toBe("ok");
    expect(await outcome(app, `UPDATE webhook_events SET raw_body = '{"a":2}' WHERE id = '${event.id}'`)).toBe(INSUFFICIENT_PRIVILEGE);
    expect(await outcome(app, `DELETE FROM webhook_events WHERE id = '${event.id}'`)).toBe(INSUFFICIENT_PRIVILEGE);
    // And the owner is held to it by a trigger, as for every insert-only table.
    expect(await outcome(owner, `UPDATE webhook_events SET raw_body = '{"a":2}' WHERE id = '${event.id}'`)).toBe(INSERT_ONLY);
    const { rows } = await app.query("SELECT raw_body, status FROM webhook_events WHERE id = $1", [event.id]);
    expect(rows).toEqual([{ raw_body: '{"a":1}', status: "PROCESSED" }]);
  });

  it("the app role alone can boot an up-to-date database (nothing to migrate), and says what to do when there is", async () => {
    // Nothing pending: the runner only reads, so DATABASE_URL alone (no migration URL) is enough.
    await expect(migrateDatabase(db)).resolves.toMatchObject({ applied: [] });
    const dir = await mkdtemp(path.join(os.tmpdir(), "sf-roles-pending-"));
    try {
      await cp(path.resolve("migrations"), dir, { recursive: true });
      await mkdir(path.join(dir, "9991_pending"));
      await writeFile(path.join(dir, "9991_pending", "migration.sql"), "CREATE TABLE pending_table (id int);");
      const error = await migrateDatabase(db, dir).then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(MigrationError);
      expect((error as MigrationError).message).toContain("9991_pending");
      expect((error as MigrationError).message).toContain("DATABASE_MIGRATION_URL");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("a table a later migration creates gets the same grants: DML yes, TRUNCATE and DDL no", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "sf-roles-migrations-"));
    try {
      await cp(path.resolve("migrations"), dir, { recursive: true });
      await mkdir(path.join(dir, "9990_later_table"));
      await writeFile(
        path.join(dir, "9990_later_table", "migration.sql"),
        "CREATE TABLE later_entries (id bigserial PRIMARY KEY, amount bigint NOT NULL CHECK (amount > 0));",
      );
      const result = await migrateDatabase(db, dir, { migrationUrl: db.migrationUrl });
      expect(result.applied).toEqual(["9990_later_table"]);
      expect(await outcome(app, "INSERT INTO later_entries (amount) VALUES (5)")).toBe("ok");
      expect(await outcome(app, "UPDATE later_entries SET amount = 6")).toBe("ok");
      expect(await outcome(app, "SELECT * FROM later_entries")).toBe("ok");
      expect(await outcome(app, "DELETE FROM later_entries")).toBe("ok");
      expect(await outcome(app, "TRUNCATE later_entries")).toBe(INSUFFICIENT_PRIVILEGE);
      expect(await outcome(app, "ALTER TABLE later_entries ADD COLUMN x int")).toBe(INSUFFICIENT_PRIVILEGE);
      // Even a table the owner creates by hand, outside the runner, is readable by the app (default privileges).
      await owner.query("CREATE TABLE hand_made (id int)");
      expect(await outcome(app, "INSERT INTO hand_made VALUES (1)")).toBe("ok");
      expect(await outcome(app, "TRUNCATE hand_made")).toBe(INSUFFICIENT_PRIVILEGE);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("error: migrating refuses an app role that is the owner itself", async () => {
    const asOwner = await openDatabase({ databaseUrl: db.migrationUrl, poolSize: 1 });
    try {
      const error = await migrateDatabase(asOwner, undefined, { migrationUrl: db.migrationUrl }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(MigrationError);
      expect((error as MigrationError).code).toBe("MIGRATION_APP_ROLE_PRIVILEGED");
      expect((error as MigrationError).message).toContain("DATABASE_URL");
      expect((error as MigrationError).message).not.toContain(`:${new URL(db.migrationUrl!).password}@`);
    } finally {
      await asOwner.close();
    }
  });

  it("error: migrating refuses a migration URL that names another database than DATABASE_URL", async () => {
    const other = new URL(db.migrationUrl!);
    other.pathname = "/postgres";
    const error = await migrateDatabase(db, undefined, { migrationUrl: other.toString() }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(MigrationError);
    expect((error as MigrationError).code).toBe("MIGRATION_DATABASE_MISMATCH");
  });

});
