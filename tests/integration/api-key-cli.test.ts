// `npm run operator -- api-key ...` as a person runs it: a separate process while this test (standing in for
// `npm start`) holds the embedded data directory. The new key is printed once, alone on stdout, and stored
// only as its hash; it authenticates until `api-key revoke <prefix>`; bad arguments are refused with usage.
// Also on a real PostgreSQL (the database DATABASE_URL names, as the app's role when there are two).
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { API_KEY_PATTERN, authenticateApiKey, hashApiKey } from "~/models/api-keys.server";
import { migrateDatabase, openDatabase, type Database } from "~/utils/db.server";
import { postgresTarget, realPostgresUrl } from "../setup/databases";

const TSX = path.resolve("node_modules/.bin/tsx");
const CLI_TEST_TIMEOUT_MS = 300_000;

function operatorCli(args: string[], env: Record<string, string | undefined>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const merged = { ...process.env, ...env };
    for (const [key, value] of Object.entries(env)) if (value === undefined) delete merged[key];
    const child = spawn(TSX, ["scripts/operator.ts", ...args], { env: merged, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.on("error", reject);
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
    child.stdin.end("");
  });
}

describe("npm run operator -- api-key on the embedded database", () => {
  let dataDir: string;
  let holder: Database;
  const env = () => ({ STABLEFLOW_DATA_DIR: dataDir, DATABASE_URL: undefined, DATABASE_MIGRATION_URL: undefined, LOG_LEVEL: "silent" });

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), "sf-keycli-"));
    holder = await openDatabase({ dataDir });
    await migrateDatabase(holder);
    await holder.prisma.organization.create({ data: { slug: "acme", name: "Acme" } });
  });
  afterAll(async () => {
    await holder?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it(
    "creates a key printed once on stdout, lists it by prefix, revokes it by prefix, while another process holds the database",
    async () => {
      const created = await operatorCli(["api-key", "create", "--org", "acme", "--scope", "write", "--name", "CRM"], env());
      expect(created.code).toBe(0);
      const key = created.stdout.trim();
      expect(key).toMatch(API_KEY_PATTERN);
      expect(created.stderr).toContain(`created write key ${key.slice(0, 16)}`);
      expect(created.stderr).not.toContain(key);
      const row = await holder.prisma.apiKey.findUniqueOrThrow({ where: { tokenHash: hashApiKey(key) } });
      expect(row).toMatchObject({ name: "CRM", scope: "WRITE", prefix: key.slice(0, 16), createdById: null });
      expect((await authenticateApiKey(holder.prisma, key))?.scope).toBe("WRITE");

      const listed = await operatorCli(["api-key", "list", "--org", "acme"], env());
      expect(listed.code).toBe(0);
      expect(listed.stdout).toContain(`acme\t${key.slice(0, 16)}\twrite\tactive`);
      expect(listed.stdout).not.toContain(key.slice(16));

      const revoked = await operatorCli(["api-key", "revoke", key.slice(0, 16)], env());
      expect(revoked.code).toBe(0);
      expect(revoked.stdout).toContain(`revoked ${key.slice(0, 16)}`);
      expect(await authenticateApiKey(holder.prisma, key)).toBeNull();
      const again = await operatorCli(["api-key", "revoke", key.slice(0, 16)], env());
      expect(again.code).toBe(1);
      expect(again.stderr).toContain("already revoked");
    },
    CLI_TEST_TIMEOUT_MS,
  );

  it(
    "error: an unknown organization, a bad scope and a whole key instead of its prefix are refused, creating nothing",
    async () => {
      const before = await holder.prisma.apiKey.count();
      const noOrg = await operatorCli(["api-key", "create", "--org", "nobody", "--scope", "read"], env());
      expect(noOrg.code).toBe(1);
      expect(noOrg.stderr).toContain("no organization with the slug nobody");
      const badScope = await operatorCli(["api-key", "create", "--org", "acme", "--scope", "admin"], env());
      expect(badScope.code).toBe(2);
      expect(badScope.stderr).toContain("--scope: Choose read or write.");
      const wholeKey = await operatorCli(["api-key", "revoke", `sf_test_${"a".repeat(40)}`], env());
      expect(wholeKey.code).toBe(2);
      expect(wholeKey.stderr).toContain("give the key's prefix");
      expect(await holder.prisma.apiKey.count()).toBe(before);
    },
    CLI_TEST_TIMEOUT_MS,
  );
});

describe.runIf(realPostgresUrl())("npm run operator -- api-key on PostgreSQL", () => {
  let db: Awaited<ReturnType<typeof postgresTarget.create>>;
  beforeAll(async () => {
    db = await postgresTarget.create();
    await db.prisma.organization.create({ data: { slug: "pg-org", name: "PG" } });
  });
  afterAll(async () => {
    await db?.destroy();
  });

  it(
    "creates a key in the database DATABASE_URL names and revokes it by prefix",
    async () => {
      const env = { DATABASE_URL: db.url, DATABASE_MIGRATION_URL: undefined, LOG_LEVEL: "silent" };
      const created = await operatorCli(["api-key", "create", "--org", "pg-org", "--scope", "read"], env);
      expect(created.code).toBe(0);
      const key = created.stdout.trim();
      expect(key).toMatch(API_KEY_PATTERN);
      expect((await authenticateApiKey(db.prisma, key))?.scope).toBe("READ");
      const revoked = await operatorCli(["api-key", "revoke", key.slice(0, 16)], env);
      expect(revoked.code).toBe(0);
      expect(await authenticateApiKey(db.prisma, key)).toBeNull();
    },
    CLI_TEST_TIMEOUT_MS,
  );
});
