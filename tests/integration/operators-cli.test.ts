// `npm run operator` as a person runs it: a separate process, the password on stdin, while another process
// (this test, standing in for `npm start`) holds the embedded data directory and keeps writing to it. The
// CLI must reach it through the holder's socket, never by opening the files a second time; with nobody
// holding it, it opens the directory itself. Also on a real PostgreSQL.
import { spawn } from "node:child_process";
import { mkdtemp, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSession, findSessionOperator } from "~/models/operator-sessions.server";
import { migrateDatabase, openDatabase, type Database } from "~/utils/db.server";
import { verifyPassword } from "~/utils/passwords.server";
import { postgresTarget, realPostgresUrl } from "../setup/databases";

const TSX = path.resolve("node_modules/.bin/tsx");
// Each CLI run is a fresh Node process loading tsx, Prisma and pg: seconds apiece on a loaded machine.
const CLI_TEST_TIMEOUT_MS = 300_000;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function operatorCli(args: string[], options: { stdin?: string; env: Record<string, string | undefined> }): Promise<Run> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, ...options.env };
    for (const [key, value] of Object.entries(options.env)) if (value === undefined) delete env[key];
    const child = spawn(TSX, ["scripts/operator.ts", ...args], { env, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.on("error", reject);
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.stdin ?? "");
  });
}

describe("npm run operator on the embedded database", () => {
  let dataDir: string;
  let holder: Database | undefined;
  const env = () => ({ STABLEFLOW_DATA_DIR: dataDir, DATABASE_URL: undefined, LOG_LEVEL: "silent" });

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), "sf-cli-"));
  });
  afterAll(async () => {
    await holder?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it("creates, lists, signs out and disables operators while another process holds the database", async () => {
    holder = await openDatabase({ dataDir });
    await migrateDatabase(holder);
    // The socket is private to this user.
    expect((await stat(path.join(dataDir, "run"))).mode & 0o777).toBe(0o700);
    expect((await stat(path.join(dataDir, "run", ".s.PGSQL.5432"))).mode & 0o777).toBe(0o600);
    // The holder keeps writing in transactions of its own meanwhile, as a server taking webhooks would.
    let writes = 0;
    let writing = true;
    const org = await holder.prisma.organization.create({ data: { slug: "busy", name: "Busy" } });
    const busy = (async () => {
      while (writing) {
        await holder!.prisma.$transaction(async (tx) => {
          await tx.auditLog.create({ data: { organizationId: org.id, actorType: "SYSTEM", action: "test.tick", entityType: "test", entityId: String(writes) } });
        });
        writes++;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();
    try {
      const created = await operatorCli(["create", "--org", "acme", "--org-name", "Acme Ltd", "--email", "Boss@Acme.test", "--role", "admin"], {
        stdin: "a long enough password\n",
        env: env(),
      });
      expect(created.stderr).toBe("");
      expect(created.code).toBe(0);
      expect(created.stdout).toContain("created admin boss@acme.test in acme");

      // Written into the holder's database (the same one this process reads), with a real scrypt hash.
      const boss = await holder.prisma.operator.findFirstOrThrow({ where: { email: "boss@acme.test" }, include: { organization: true } });
      expect(boss.role).toBe("ADMIN");
      expect(boss.organization.name).toBe("Acme Ltd");
      expect(boss.passwordHash).toMatch(/^scrypt\$N=32768,/);
      expect(await verifyPassword("a long enough password", boss.passwordHash)).toBe(true);

      const session = await createSession(holder.prisma, boss.id);
      const listed = await operatorCli(["list"], { env: env() });
      expect(listed.code).toBe(0);
      expect(listed.stdout).toContain("acme\tboss@acme.test\tadmin\tactive\t1 session(s)");

      const revoked = await operatorCli(["sessions", "revoke", "--email", "boss@acme.test"], { env: env() });
      expect(revoked.code).toBe(0);
      expect(revoked.stdout).toContain("1 session(s) of boss@acme.test ended");
      expect(await findSessionOperator(holder.prisma, session.token)).toBeNull();

      const disabled = await operatorCli(["disable", "--email", "boss@acme.test"], { env: env() });
      expect(disabled.code).toBe(0);
      expect((await holder.prisma.operator.findUniqueOrThrow({ where: { id: boss.id } })).disabledAt).not.toBeNull();
    } finally {
      writing = false;
      await busy;
    }
    // Every one of the holder's transactions committed around the CLI's statements.
    expect(await holder.prisma.auditLog.count({ where: { action: "test.tick" } })).toBe(writes);
    expect(writes).toBeGreaterThan(0);
  }, CLI_TEST_TIMEOUT_MS);

  it("error: a password as an argument, a short one from stdin, and a bad role are refused; nothing is created", async () => {
    const before = await holder!.prisma.operator.count();
    const argument = await operatorCli(["create", "--org", "acme", "--email", "a@acme.test", "--role", "admin", "--password", "a long enough password"], { env: env() });
    expect(argument.code).toBe(2);
    expect(argument.stderr).toContain("--password is not accepted");
    const short = await operatorCli(["create", "--org", "acme", "--email", "a@acme.test", "--role", "admin"], { stdin: "short\n", env: env() });
    expect(short.code).toBe(2);
    expect(short.stderr).toContain("password: Use at least 12 characters.");
    const role = await operatorCli(["create", "--org", "acme", "--email", "a@acme.test", "--role", "owner"], { stdin: "a long enough password\n", env: env() });
    expect(role.code).toBe(2);
    expect(role.stderr).toContain("--role");
    expect(await holder!.prisma.operator.count()).toBe(before);
  }, CLI_TEST_TIMEOUT_MS);

  it("error: a second process may not open a held directory itself (db:migrate is told who holds it)", async () => {
    const migrate = await new Promise<Run>((resolve, reject) => {
      const child = spawn(TSX, ["scripts/migrate.ts"], { env: { ...process.env, STABLEFLOW_DATA_DIR: dataDir, DATABASE_URL: "" }, stdio: ["ignore", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (c) => (stdout += c));
      child.stderr.on("data", (c) => (stderr += c));
      child.on("error", reject);
      child.on("exit", (code) => resolve({ code, stdout, stderr }));
    });
    expect(migrate.code).not.toBe(0);
    expect(migrate.stderr).toContain(`is open in process ${process.pid}`);
  }, CLI_TEST_TIMEOUT_MS);

  it("with nobody holding the directory, the CLI opens it itself, and leaves it free", async () => {
    await holder!.close();
    holder = undefined;
    const listed = await operatorCli(["list", "--org", "acme"], { env: env() });
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain("acme\tboss@acme.test\tadmin\tdisabled\t0 session(s)");
    // Free again: this process can take it.
    holder = await openDatabase({ dataDir });
    expect(await holder.prisma.operator.count({ where: { email: "boss@acme.test" } })).toBe(1);
  }, CLI_TEST_TIMEOUT_MS);
});

describe.runIf(realPostgresUrl())("npm run operator on PostgreSQL", () => {
  let db: Awaited<ReturnType<typeof postgresTarget.create>>;
  beforeAll(async () => {
    db = await postgresTarget.create();
  });
  afterAll(async () => {
    await db?.destroy();
  });

  it("creates the first admin in the database DATABASE_URL names", async () => {
    const created = await operatorCli(["create", "--org", "default", "--email", "first@example.test", "--role", "admin"], {
      stdin: "a long enough password\n",
      env: { DATABASE_URL: db.url, LOG_LEVEL: "silent" },
    });
    expect(created.stderr).toBe("");
    expect(created.code).toBe(0);
    const admin = await db.prisma.operator.findFirstOrThrow({ where: { email: "first@example.test" } });
    expect(admin.role).toBe("ADMIN");
  }, CLI_TEST_TIMEOUT_MS);
});
