// The real `npm start` server process (scripts/serve.mjs over the production build): it boots on
// embedded defaults, reports its database in /healthz, keeps its data across restarts, and refuses a
// bad configuration with a sentence, not a stack trace.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import os from "node:os";
import path from "node:path";
import { Keypair } from "@solana/web3.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateWebhookSecret } from "~/integrations/webhook-verification.server";
import { ensureDefaultOrganization } from "~/models/organizations.server";
import { activatePolicyVersion, createPolicyVersion } from "~/models/policies.server";
import { createRecipient } from "~/models/recipients.server";
import { openDatabase } from "~/utils/db.server";
import { loadMigrations } from "~/utils/migrations.server";
import { paymentEvent, signedDelivery } from "../mocks/dodo";
import { postgresTarget, realPostgresUrl, type TestDatabase } from "../setup/databases";
import { childPids } from "../setup/processes";

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}

interface Running {
  child: ChildProcess;
  url: string;
  output: () => string;
}

function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, STABLEFLOW_ENV: "development", LOG_LEVEL: "info", ...extra };
  if (!("DATABASE_URL" in extra)) delete env.DATABASE_URL;
  return env;
}

async function startServer(extra: Record<string, string>): Promise<Running> {
  const port = await freePort();
  const child = spawn(process.execPath, ["scripts/serve.mjs"], { env: childEnv({ PORT: String(port), ...extra }), stdio: "pipe" });
  let output = "";
  child.stdout!.on("data", (d) => (output += d));
  child.stderr!.on("data", (d) => (output += d));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${output}`)), 60_000);
    const check = () => {
      if (output.includes("StableFlow listening on")) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on("data", check);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${output}`));
    });
  });
  return { child, url: `http://127.0.0.1:${port}`, output: () => output };
}

async function stopServer(server: Running): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => server.child.once("exit", (code) => resolve(code)));
  server.child.kill("SIGTERM");
  return exited;
}

async function runToExit(extra: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, ["scripts/serve.mjs"], { env: childEnv(extra), stdio: "pipe" });
  let output = "";
  child.stdout.on("data", (d) => (output += d));
  child.stderr.on("data", (d) => (output += d));
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  return { code, output };
}

describe("npm start server", () => {
  let dataDir: string;
  let migrationCount: number;
  beforeAll(async () => {
    migrationCount = (await loadMigrations()).length;
    if (!existsSync("build/server/index.js")) throw new Error("no app build: run `npm run build` (npm test does it first)");
    dataDir = await mkdtemp(path.join(os.tmpdir(), "sf-data-"));
  });
  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it("boots on embedded defaults and reports the embedded database ready", async () => {
    const server = await startServer({ STABLEFLOW_DATA_DIR: dataDir });
    try {
      const health = await fetch(`${server.url}/healthz`);
      expect(health.status).toBe(200);
      expect(health.headers.get("cache-control")).toBe("no-store");
      const body = await health.json();
      expect(body).toMatchObject({ status: "ok", database: { mode: "embedded", status: "ready", migrations: migrationCount } });
      const page = await fetch(`${server.url}/`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain("StableFlow");
      const missing = await fetch(`${server.url}/no/such/page`);
      expect(missing.status).toBe(404);
    } finally {
      expect(await stopServer(server)).toBe(0);
    }
  });

  it("keeps its data across a restart on the same data directory", async () => {
    // Given the first boot's data plus a row written between runs
    let db = await openDatabase({ dataDir });
    const firstOrg = await db.prisma.organization.findUniqueOrThrow({ where: { slug: "default" } });
    await db.prisma.organization.create({ data: { slug: "kept-across-restarts", name: "Kept" } });
    await db.close();

    // When the server starts again and stops
    const server = await startServer({ STABLEFLOW_DATA_DIR: dataDir });
    const body = await (await fetch(`${server.url}/healthz`)).json();
    expect(body.database).toMatchObject({ mode: "embedded", status: "ready", migrations: migrationCount });
    expect(server.output()).toContain('"migrationsApplied":0');
    expect(await stopServer(server)).toBe(0);

    // Then nothing was lost, re-created or re-migrated
    db = await openDatabase({ dataDir });
    try {
      const orgs = await db.prisma.organization.findMany({ orderBy: { createdAt: "asc" } });
      expect(orgs.map((o) => o.slug)).toEqual(["default", "kept-across-restarts"]);
      expect(orgs[0].id).toBe(firstOrg.id);
    } finally {
      await db.close();
    }
  });

  it("error: a bad PORT stops the process with a sentence naming it, no stack trace", async () => {
    const { code, output } = await runToExit({ STABLEFLOW_DATA_DIR: dataDir, PORT: "not-a-port" });
    expect(code).toBe(1);
    expect(output).toMatch(/Invalid configuration:\s+PORT: /);
    expect(output).not.toMatch(/\n\s+at /);
  });

  it("error: a malformed DATABASE_URL is named and its secret never printed", async () => {
    const { code, output } = await runToExit({ DATABASE_URL: "mysql://root:TopSecretPw@localhost/db" });
    expect(code).toBe(1);
    expect(output).toContain("DATABASE_URL");
    expect(output).not.toContain("TopSecretPw");
  });

  it.runIf(realPostgresUrl())(
    "on PostgreSQL the payout-run worker is a process of its own: it compiles the webhook's run, is restarted when it dies, and stops with the server",
    async () => {
      const db: TestDatabase = await postgresTarget.create();
      const secret = generateWebhookSecret();
      const server = await startServer({ DATABASE_URL: db.url!, STABLEFLOW_DATA_DIR: dataDir, DODO_PAYMENTS_WEBHOOK_KEY: secret });
      const workerPid = () => childPids(server.child.pid!, "payout-worker.mjs")[0];
      const alive = (pid: number) => {
        try {
          process.kill(pid, 0);
          return true;
        } catch {
          return false;
        }
      };
      const deliverAndAwaitRun = async (paymentId: string) => {
        const delivery = signedDelivery(secret, paymentEvent({ paymentId, status: "succeeded", totalAmount: 10_000n }));
        const response = await fetch(`${server.url}/api/webhooks/dodo`, { method: "POST", headers: delivery.headers, body: delivery.body });
        expect(response.status).toBe(200);
        // Generous: a (re)started worker loads the server build first, which takes seconds on a busy machine.
        for (let i = 0; i < 600; i++) {
          const run = await db.prisma.payoutRun.findFirst({ where: { payment: { dodoPaymentId: paymentId } } });
          if (run) return run;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        throw new Error(`no run compiled for ${paymentId} within 30 s:\n${server.output()}`);
      };
      try {
        // Given: the endpoint's organization pays one recipient 50 %
        const { id: organizationId } = await ensureDefaultOrganization(db.prisma);
        const recipient = await createRecipient(db.prisma, {
          organizationId,
          name: "Worker test",
          walletAddress: Keypair.fromSeed(new Uint8Array(32).fill(9)).publicKey.toBase58(),
          mint: "So11111111111111111111111111111111111111112",
        });
        const version = await createPolicyVersion(db.prisma, {
          organizationId,
          policyName: "Half",
          rules: [{ recipientId: recipient.id, kind: "PERCENTAGE", basisPoints: 5_000 }],
        });
        await activatePolicyVersion(db.prisma, { organizationId, versionId: version.id });
        expect(server.output()).toContain('"payoutWorker":"process"');
        const first = workerPid();
        expect(first).toBeGreaterThan(0);

        // When: a payment succeeds; then the worker is killed and another payment succeeds
        const run = await deliverAndAwaitRun("pay_worker_process_1");
        expect(run.status).toBe("READY");
        // $100.00 (10,000 cents) is 100,000,000 base units of the 6-decimal token; the recipient gets half.
        expect(run.totalTransfers).toBe(50_000_000n);
        process.kill(first!, "SIGKILL");
        await expect.poll(() => server.output(), { timeout: 5_000 }).toContain("the payout-run worker exited (SIGKILL); restarting it");
        const second = await deliverAndAwaitRun("pay_worker_process_2");
        expect(second.status).toBe("READY");
        const restarted = workerPid();
        expect(restarted).toBeGreaterThan(0);
        expect(restarted).not.toBe(first);

        // Then: stopping the server stops its worker too
        expect(await stopServer(server)).toBe(0);
        expect(alive(restarted!)).toBe(false);
      } finally {
        if (server.child.exitCode === null) await stopServer(server);
        await db.destroy();
      }
    },
    120_000,
  );

  it.runIf(realPostgresUrl())("boots on a real PostgreSQL server given DATABASE_URL", async () => {
    const db: TestDatabase = await postgresTarget.create();
    try {
      const server = await startServer({ DATABASE_URL: db.url!, STABLEFLOW_DATA_DIR: dataDir });
      try {
        const body = await (await fetch(`${server.url}/healthz`)).json();
        expect(body).toMatchObject({ status: "ok", database: { mode: "postgres", status: "ready", migrations: migrationCount } });
        expect(server.output()).not.toContain(`:${new URL(db.url!).password}@`);
        expect(server.output()).toContain(":***@");
      } finally {
        expect(await stopServer(server)).toBe(0);
      }
    } finally {
      await db.destroy();
    }
  });
});
