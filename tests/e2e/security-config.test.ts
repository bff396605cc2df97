// What the real server refuses at start (scripts/serve.mjs, a fresh process each): production without a
// public URL; production with the simulator allowed but without a real database or a webhook key; a data
// directory other users can read. And on PostgreSQL with two roles: a fresh database migrated by the owner
// while the server serves as the app's role, which alone could not have migrated it.
import { chmod, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateWebhookSecret } from "~/integrations/webhook-verification.server";
import { loadMigrations } from "~/utils/migrations.server";
import { createEmptyDatabase, twoRolesConfigured } from "../setup/databases";
import { runServeToExit, startServeProcess } from "../setup/serve-process";
import { assertFreshBuild } from "../setup/app-server";

const PRODUCTION = {
  STABLEFLOW_ENV: "production",
  DATABASE_URL: "postgresql://app:never-printed-pw@127.0.0.1:1/ledger",
  DODO_PAYMENTS_API_KEY: "sk_live_never_printed_key",
  DODO_PAYMENTS_WEBHOOK_KEY: generateWebhookSecret(),
  STABLEFLOW_PUBLIC_URL: "https://pay.example.com",
};

describe("start-up refusals of the real server", () => {
  let dataDir: string;
  beforeAll(async () => {
    assertFreshBuild();
    dataDir = await mkdtemp(path.join(os.tmpdir(), "sf-config-"));
  });
  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it("error: production without STABLEFLOW_PUBLIC_URL does not start, and says why", async () => {
    const { STABLEFLOW_PUBLIC_URL: _, ...withoutUrl } = PRODUCTION;
    const { code, output } = await runServeToExit({ ...withoutUrl, STABLEFLOW_DATA_DIR: dataDir });
    expect(code).toBe(1);
    expect(output).toMatch(/Invalid configuration:[\s\S]*STABLEFLOW_PUBLIC_URL: required in production/);
    expect(output).not.toContain("never-printed");
  });

  it("error: production with the simulator allowed still needs a real database and a webhook key", async () => {
    const { code, output } = await runServeToExit({
      STABLEFLOW_ENV: "production",
      STABLEFLOW_ALLOW_SIMULATOR: "true",
      STABLEFLOW_PUBLIC_URL: "https://demo.example.com",
      STABLEFLOW_DATA_DIR: dataDir,
    });
    expect(code).toBe(1);
    expect(output).toContain("DATABASE_URL: required in production");
    expect(output).toContain("DODO_PAYMENTS_WEBHOOK_KEY: required in production");
    expect(output).not.toContain("StableFlow listening on");
  });

  it("error: a data directory other users can read is refused at start, naming it", async () => {
    const open = path.join(dataDir, "shared");
    const { mkdir } = await import("node:fs/promises");
    await mkdir(open);
    await chmod(open, 0o755);
    const { code, output } = await runServeToExit({ STABLEFLOW_DATA_DIR: open });
    expect(code).toBe(1);
    expect(output).toContain(open);
    expect(output).toContain("chmod 700");
    expect(output).not.toContain("StableFlow listening on");
  });

  it.runIf(twoRolesConfigured())(
    "two roles: a fresh database is migrated by the owner at start, and served as the app role, which owns nothing",
    async () => {
      const empty = await createEmptyDatabase("postgres");
      const name = new URL(empty.url!).pathname.slice(1);
      const appUrl = new URL(process.env.DATABASE_URL!);
      appUrl.pathname = `/${name}`;
      try {
        // The app role alone cannot create the schema: the start fails with the sentence that says what to set.
        const alone = await runServeToExit({ DATABASE_URL: appUrl.toString(), STABLEFLOW_DATA_DIR: dataDir });
        expect(alone.code).toBe(1);
        expect(alone.output).toContain("DATABASE_MIGRATION_URL");

        const server = await startServeProcess({ DATABASE_URL: appUrl.toString(), DATABASE_MIGRATION_URL: empty.url!, STABLEFLOW_DATA_DIR: dataDir });
        try {
          const health = await (await fetch(`${server.url}/healthz`)).json();
          expect(health.database).toMatchObject({ mode: "postgres", status: "ready", migrations: (await loadMigrations()).length });
          expect(server.output()).not.toContain(`:${new URL(empty.url!).password}@`);
        } finally {
          expect(await server.stop()).toBe(0);
        }
        const app = new pg.Client({ connectionString: appUrl.toString() });
        await app.connect();
        try {
          const { rows } = await app.query(
            "SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = current_schema() AND tableowner = current_user",
          );
          expect(rows[0].n).toBe(0);
          await expect(app.query("TRUNCATE payments CASCADE")).rejects.toMatchObject({ code: "42501" });
          await expect(app.query("SELECT count(*) FROM organizations")).resolves.toBeDefined();
        } finally {
          await app.end();
        }
      } finally {
        await empty.destroy();
      }
    },
    180_000,
  );
});
