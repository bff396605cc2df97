// The first run as a new user meets it: a fresh `npm start` (scripts/serve.mjs, embedded everything)
// seeds the demo, a purchase in the simulator becomes a settled split within seconds, the landing page
// says so and links the transaction's explorer page, and the demo recipients' token accounts hold their
// 70 / 20 / 10 shares on chain. With STABLEFLOW_DEMO=false nothing is seeded.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { createServer } from "node:net";
import os from "node:os";
import path from "node:path";
import { getAssociatedTokenAddressSync } from "@solana/spl-token";
import { Connection, PublicKey } from "@solana/web3.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TOKEN_PROGRAM_ID } from "~/ledger/wallet";
import { readKeypairFile } from "~/settlement/keys.server";

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

interface Served {
  child: ChildProcess;
  url: string;
  output(): string;
  stop(): Promise<void>;
}

async function serve(dataDir: string, extra: Record<string, string> = {}): Promise<Served> {
  const port = await freePort();
  const env: Record<string, string | undefined> = { ...process.env, STABLEFLOW_ENV: "development", LOG_LEVEL: "info", STABLEFLOW_CHAIN_PORT: "0", STABLEFLOW_DATA_DIR: dataDir, PORT: String(port), ...extra };
  delete env.DATABASE_URL;
  delete env.DATABASE_MIGRATION_URL;
  delete env.SOLANA_RPC_URL;
  delete env.DODO_PAYMENTS_API_KEY;
  const child = spawn(process.execPath, ["scripts/serve.mjs"], { env: env as NodeJS.ProcessEnv, stdio: "pipe" });
  let output = "";
  child.stdout!.on("data", (d) => (output += d));
  child.stderr!.on("data", (d) => (output += d));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${output}`)), 180_000);
    child.stdout!.on("data", () => {
      if (output.includes("StableFlow listening on")) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${output}`));
    });
  });
  return {
    child,
    url: `http://127.0.0.1:${port}`,
    output: () => output,
    async stop() {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    },
  };
}

/** A purchase through the checkout simulator, as a customer's browser makes it. */
async function buy(url: string): Promise<void> {
  const shop = await (await fetch(`${url}/shop`)).text();
  const productId = /name="productId" value="([0-9a-f-]{36})"/.exec(shop)![1]!;
  const checkout = await fetch(`${url}/api/checkout`, {
    method: "POST",
    body: new URLSearchParams({ org: "default", productId, customerName: "Demo buyer", customerEmail: "buyer@example.com", quantity: "1" }),
    redirect: "manual",
  });
  expect(checkout.status).toBe(303);
  const pageUrl = checkout.headers.get("location")!;
  const page = await fetch(pageUrl);
  const html = await page.text();
  const csrf = /name="csrf" value="([A-Za-z0-9_-]+)"/.exec(html)![1]!;
  const cookie = page.headers.getSetCookie().find((c) => c.startsWith("stableflow_csrf="))!.split(";")[0]!;
  const paid = await fetch(pageUrl, { method: "POST", body: new URLSearchParams({ outcome: "pay", csrf }), headers: { cookie }, redirect: "manual" });
  expect(paid.status).toBe(303);
}

describe("the first-run demo of npm start", () => {
  let dataDir: string;
  beforeAll(async () => {
    if (!existsSync("build/server/index.js")) throw new Error("no app build: run `npm run build` (npm test does it first)");
    dataDir = await mkdtemp(path.join(os.tmpdir(), "sf-demo-"));
  });
  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it("a purchase in the simulator becomes a settled 70/20/10 split, shown on the landing page with its transaction", async () => {
    const server = await serve(dataDir);
    try {
      const landing = await (await fetch(`${server.url}/`)).text();
      expect(landing).toContain("Demo: a purchase becomes a settled split");
      expect(landing).toContain("No purchase yet.");
      await buy(server.url);
      const started = Date.now();
      let html = "";
      while (Date.now() - started < 120_000) {
        html = await (await fetch(`${server.url}/`)).text();
        if (/data-status="SETTLED"/.test(html) && html.includes('data-testid="demo-tx"')) break;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      expect(html, server.output()).toMatch(/data-status="SETTLED"/);
      const signature = /href="\/explorer\/tx\/([1-9A-HJ-NP-Za-km-z]{64,88})"/.exec(html)![1]!;
      const explorer = await fetch(`${server.url}/explorer/tx/${signature}`);
      expect(explorer.status).toBe(200);
      expect(await explorer.text()).toContain("SplitExecuted");

      // On chain: each demo wallet's token account holds its share of the run, which sums to what the page says.
      const health = (await (await fetch(`${server.url}/healthz`)).json()) as { chain: { rpcUrl: string; treasury: { mint: string } } };
      const connection = new Connection(health.chain.rpcUrl, "confirmed");
      const mint = new PublicKey(health.chain.treasury.mint);
      const wallets = (await readdir(path.join(dataDir, "demo-wallets"))).sort();
      expect(wallets).toEqual(["artist.json", "label.json", "producer.json"]);
      const balance = async (file: string) => {
        const owner = (await readKeypairFile(path.join(dataDir, "demo-wallets", file))).publicKey;
        const account = getAssociatedTokenAddressSync(mint, owner, false, TOKEN_PROGRAM_ID);
        return BigInt((await connection.getTokenAccountBalance(account)).value.amount);
      };
      const [artist, producer, label] = [await balance("artist.json"), await balance("producer.json"), await balance("label.json")];
      expect(artist).toBeGreaterThan(0n);
      // 70 / 20 / 10 of the same payment, to the base unit after largest-remainder rounding.
      expect((artist * 2n - producer * 7n) ** 2n).toBeLessThanOrEqual(49n);
      expect((producer - label * 2n) ** 2n).toBeLessThanOrEqual(4n);
      const text = html.replaceAll("<!-- -->", "");
      const [whole, fraction = ""] = /settled<\/strong>: ([0-9.,]+) sUSD/.exec(text)![1]!.replaceAll(",", "").split(".");
      expect(BigInt(whole!) * 1_000_000n + BigInt(fraction.padEnd(6, "0"))).toBe(artist + producer + label);
    } finally {
      await server.stop();
    }
  }, 400_000);

  it("STABLEFLOW_DEMO=false: a fresh start seeds nothing (no demo card, no demo wallets)", async () => {
    const other = await mkdtemp(path.join(os.tmpdir(), "sf-nodemo-"));
    const server = await serve(other, { STABLEFLOW_DEMO: "false" });
    try {
      const landing = await (await fetch(`${server.url}/`)).text();
      expect(landing).not.toContain("Demo: a purchase becomes a settled split");
      expect(existsSync(path.join(other, "demo-wallets"))).toBe(false);
    } finally {
      await server.stop();
      await rm(other, { recursive: true, force: true });
    }
  }, 300_000);
});
