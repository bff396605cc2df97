// The real `npm start` server process (scripts/serve.mjs over the production build): it boots on
// embedded defaults, reports its database in /healthz, keeps its data across restarts, and refuses a
// bad configuration with a sentence, not a stack trace.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
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
import { startTestChain, type TestChain } from "../setup/chain";
import { createSplitWorld } from "../setup/chain-split";

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
  // STABLEFLOW_CHAIN_PORT=0: the embedded chain on any free port, so test files can run side by side.
  const env: NodeJS.ProcessEnv = { ...process.env, STABLEFLOW_ENV: "development", LOG_LEVEL: "info", STABLEFLOW_CHAIN_PORT: "0", ...extra };
  if (!("DATABASE_URL" in extra)) delete env.DATABASE_URL;
  // The inherited owner URL names CI's base database, not the test's: only the test's own, or none.
  if (!("DATABASE_MIGRATION_URL" in extra)) delete env.DATABASE_MIGRATION_URL;
  return env;
}

async function startServer(extra: Record<string, string>): Promise<Running> {
  const port = await freePort();
  const child = spawn(process.execPath, ["scripts/serve.mjs"], { env: childEnv({ PORT: String(port), ...extra }), stdio: "pipe" });
  let output = "";
  child.stdout!.on("data", (d) => (output += d));
  child.stderr!.on("data", (d) => (output += d));
  await new Promise<void>((resolve, reject) => {
    // A cold start (build import, PGlite, migrations) takes tens of seconds on a loaded 2-core machine.
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${output}`)), 150_000);
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

describe("npm start server", { timeout: 240_000 }, () => {
  let dataDir: string;
  let migrationCount: number;
  let firstChain: { genesisHash: string; slot: number; treasury: Record<string, unknown> };
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
      // The embedded chain is up with the demo treasury funded once: 1,000,000 sUSD in its vault.
      expect(body.chain).toMatchObject({
        mode: "embedded",
        status: "ready",
        cluster: "localnet",
        treasury: { vaultBalance: "1000000000000", decimals: 6, symbol: "sUSD" },
      });
      expect(body.chain.genesisHash).toMatch(/^[1-9A-HJ-NP-Za-km-z]{32,44}$/);
      expect(body.chain.slot).toBeGreaterThan(0);
      firstChain = body.chain;
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
    // The same chain, mint, treasury and vault balance: nothing created or funded a second time.
    expect(body.chain).toMatchObject({ status: "ready", genesisHash: firstChain.genesisHash, treasury: firstChain.treasury });
    expect(body.chain.slot).toBeGreaterThanOrEqual(firstChain.slot);
    expect(server.output()).toMatch(/"msg":"embedded treasury ready".*"steps":\[\]/);
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

  it("error: a tampered chain key file stops the start with a sentence naming the file", async () => {
    // Given the data directory's treasury authority replaced by another valid keypair
    const file = path.join(dataDir, "keys", "treasury-authority.json");
    const original = await readFile(file, "utf8");
    await writeFile(file, JSON.stringify(Array.from(Keypair.generate().secretKey)), { mode: 0o600 });
    try {
      const { code, output } = await runToExit({ STABLEFLOW_DATA_DIR: dataDir });
      expect(code).toBe(1);
      expect(output).toContain(`stableflow: key file ${path.resolve(file)}`);
      expect(output).toContain("not the treasury-authority key");
      expect(output).not.toMatch(/\n\s+at /);
    } finally {
      await writeFile(file, original, { mode: 0o600 });
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
      // Two roles: the owner installs what needs DDL (migrations, the settlement queue's schema), as in production.
      const server = await startServer({
        DATABASE_URL: db.url!,
        ...(db.migrationUrl ? { DATABASE_MIGRATION_URL: db.migrationUrl } : {}),
        STABLEFLOW_DATA_DIR: dataDir,
        DODO_PAYMENTS_WEBHOOK_KEY: secret,
      });
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
    // Server, worker, two executors and the chain starting on a 2-core machine.
    300_000,
  );

  it.runIf(realPostgresUrl())("boots on a real PostgreSQL server given DATABASE_URL", async () => {
    const db: TestDatabase = await postgresTarget.create();
    try {
      // With two roles the server boots as the app's role and migrates as the owner, as in production.
      const server = await startServer({ DATABASE_URL: db.url!, ...(db.migrationUrl ? { DATABASE_MIGRATION_URL: db.migrationUrl } : {}), STABLEFLOW_DATA_DIR: dataDir });
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

// The same server on a chain it reaches only by SOLANA_RPC_URL (a chain process of its own on another
// port): no embedded chain is started, the treasury comes from STABLEFLOW_MINT and the authority's keypair
// file and is created by `npm run treasury -- init` while the server runs, and /healthz reports it exactly
// as it does on the embedded chain.
describe("npm start server on SOLANA_RPC_URL", { timeout: 240_000 }, () => {
  let chain: TestChain;
  let dataDir: string;
  let authorityFile: string;
  let mint: string;
  beforeAll(async () => {
    chain = await startTestChain({ separate: true, slotMs: 100 });
    dataDir = await mkdtemp(path.join(os.tmpdir(), "sf-rpc-"));
    const authority = Keypair.generate();
    authorityFile = path.join(dataDir, "authority.json");
    await writeFile(authorityFile, JSON.stringify(Array.from(authority.secretKey)), { mode: 0o600 });
    const world = await createSplitWorld(chain.url, { organizationId: "00000000-0000-4000-8000-000000000000" });
    // A mint the operator's authority can deposit: created by the world's authority, minted to ours.
    mint = world.mint.toBase58();
    await world.client.confirmSignature(await world.client.read("airdrop", (c) => c.requestAirdrop(authority.publicKey, 5_000_000_000)));
    await world.mintTo(authority.publicKey, 3_000_000n);
  });
  afterAll(async () => {
    await chain?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it("serves the treasury created by npm run treasury while it runs, reporting it like the embedded chain", async () => {
    const env = { STABLEFLOW_DATA_DIR: dataDir, SOLANA_RPC_URL: chain.url, STABLEFLOW_AUTHORITY_KEYPAIR: authorityFile, STABLEFLOW_MINT: mint };
    const server = await startServer(env);
    try {
      // No embedded chain: the server's only children are its own.
      expect(childPids(server.child.pid!, "chain-server.mjs")).toEqual([]);
      const before = await (await fetch(`${server.url}/healthz`)).json();
      expect(before.status).toBe("degraded");
      expect(before.chain).toMatchObject({ mode: "rpc", status: "not_configured" });
      expect(before.chain.error).toContain("npm run treasury -- init");

      const cli = (...args: string[]) =>
        spawnSync(process.execPath, ["node_modules/tsx/dist/cli.mjs", "scripts/treasury.ts", ...args], {
          env: childEnv(env),
          encoding: "utf8",
          timeout: 120_000,
        });
      const init = cli("init", "--json");
      expect(init.status, init.stderr + init.stdout).toBe(0);
      const fund = cli("fund", "2.5", "--json");
      expect(fund.status, fund.stderr + fund.stdout).toBe(0);
      const funded = JSON.parse(fund.stdout.trim().split("\n").pop()!);

      const after = await (await fetch(`${server.url}/healthz`)).json();
      expect(after.status).toBe("ok");
      expect(after.chain).toMatchObject({
        mode: "rpc",
        status: "ready",
        rpcUrl: `${chain.url}/`,
        genesisHash: await chain.connection.getGenesisHash(),
        treasury: { address: funded.treasury, vault: funded.vault, mint, vaultBalance: "2500000", decimals: 6 },
      });
    } finally {
      expect(await stopServer(server)).toBe(0);
    }
    // Two CLI processes (tsx loads the app's modules) beside a booting server: slow on a loaded machine.
  }, 240_000);
});
