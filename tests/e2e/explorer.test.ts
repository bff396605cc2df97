// The app's explorer pages and /healthz over a real split on the embedded JSON-RPC chain, the app
// reaching it by SOLANA_RPC_URL: the execute_split transaction and its SplitRecord decoded field by field
// through the IDL, token accounts with their balances, 404 pages for garbage and unknown ids.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Keypair, PublicKey } from "@solana/web3.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureDefaultOrganization } from "~/models/organizations.server";
import type { ChainClient } from "~/settlement/chain.server";
import { decodeSplitRecord, PROGRAM_ID, splitPlanHash, splitRecordAddress } from "~/settlement/program";
import type { TreasuryIdentity } from "~/settlement/treasury.server";
import { useTestChain } from "../setup/chain";
import { createSplitWorld } from "../setup/chain-split";
import { pgliteTarget } from "../setup/databases";
import { useServedApp } from "../setup/app-server";

const chain = useTestChain({ slotMs: 40 });
let organizationId = "";
const app = useServedApp(pgliteTarget, async (db) => {
  organizationId = (await ensureDefaultOrganization(db.prisma)).id;
});

let workDir: string;
let client: ChainClient;
let authority: Keypair;
let mint: PublicKey;
let identity: TreasuryIdentity;
let signature: string;
const runId = Uint8Array.from(Buffer.from("0f1e2d3c4b5a69788796a5b4c3d2e1f0", "hex"));
const amounts = [1_250_000n, 330_001n, 7n];
let recipients: PublicKey[] = [];

/** The text of the element carrying data-testid="id" (its first occurrence). */
function textOf(html: string, id: string): string {
  const match = new RegExp(`data-testid="${id}"[^>]*>([\\s\\S]*?)</`).exec(html);
  if (!match) throw new Error(`no element with data-testid="${id}"`);
  return match[1].replace(/<[^>]+>/g, "").replace(/&quot;/g, '"').replace(/&amp;/g, "&").trim();
}

beforeAll(async () => {
  workDir = await mkdtemp(path.join(os.tmpdir(), "sf-explorer-"));
  // The treasury of the served app's organization, as `npm run treasury -- init` and `fund` make it.
  const world = await createSplitWorld(chain.current.url, { organizationId, funding: 5_000_000n });
  ({ client, authority, mint, identity } = world);
  recipients = await world.newRecipients(amounts.length);
  signature = await world.split({ runId, batchIndex: 3, transfers: recipients.map((tokenAccount, i) => ({ tokenAccount, amount: amounts[i] })) });
  process.env.SOLANA_RPC_URL = chain.current.url;
  process.env.STABLEFLOW_MINT = mint.toBase58();
  const keyFile = path.join(workDir, "authority.json");
  await writeFile(keyFile, JSON.stringify(Array.from(authority.secretKey)), { mode: 0o600 });
  process.env.STABLEFLOW_AUTHORITY_KEYPAIR = keyFile;
});
afterAll(async () => {
  delete process.env.SOLANA_RPC_URL;
  delete process.env.STABLEFLOW_MINT;
  delete process.env.STABLEFLOW_AUTHORITY_KEYPAIR;
  await rm(workDir, { recursive: true, force: true });
});

describe("explorer pages", () => {
  it("show the execute_split transaction: recipients and amounts, the SplitExecuted event, fee, compute units, logs", async () => {
    const response = await fetch(`${app.server.url}/explorer/tx/${signature}`);
    expect(response.status).toBe(200);
    const html = await response.text();
    const tx = await client.connection.getTransaction(signature, { maxSupportedTransactionVersion: 0, commitment: "confirmed" });

    expect(textOf(html, "signature")).toBe(signature);
    expect(textOf(html, "status")).toBe("succeeded");
    expect(textOf(html, "slot")).toBe(String(tx!.slot));
    expect(textOf(html, "fee")).toBe(`${tx!.meta!.fee} lamports`);
    expect(textOf(html, "compute-units")).toBe(String(tx!.meta!.computeUnitsConsumed));
    expect(html).toContain("execute_split");
    expect(textOf(html, "arg-batch_index")).toBe("3");
    expect(textOf(html, "arg-run_id")).toBe(Buffer.from(runId).toString("hex"));
    const planHash = splitPlanHash({ programId: PROGRAM_ID, treasury: identity.treasury, runId, batchIndex: 3, transfers: recipients.map((tokenAccount, i) => ({ tokenAccount, amount: amounts[i] })) });
    expect(textOf(html, "arg-plan_hash")).toBe(Buffer.from(planHash).toString("hex"));

    // Each recipient with its exact amount, in instruction order.
    const table = html.slice(html.indexOf('data-testid="split-recipients"'));
    const rows = [...table.matchAll(/title="([1-9A-HJ-NP-Za-km-z]{32,44})"[\s\S]*?data-amount="(\d+)"/g)].slice(0, amounts.length);
    expect(rows.map((r) => r[1])).toEqual(recipients.map((r) => r.toBase58()));
    expect(rows.map((r) => BigInt(r[2]))).toEqual(amounts);
    expect(table).toContain("1.580008"); // the total, formatted with the mint's 6 decimals

    // The event, decoded from the logs.
    expect(textOf(html, "event-field-total")).toBe("1580008");
    expect(textOf(html, "event-field-recipient_count")).toBe("3");
    expect(textOf(html, "event-field-treasury")).toBe(identity.treasury.toBase58());
    expect(textOf(html, "logs")).toContain(`Program ${PROGRAM_ID.toBase58()} success`);
  });

  it("show the SplitRecord decoded field by field through the IDL", async () => {
    const address = splitRecordAddress({ treasury: identity.treasury, runId, batchIndex: 3 });
    const html = await (await fetch(`${app.server.url}/explorer/account/${address.toBase58()}`)).text();
    const record = decodeSplitRecord((await client.account(address))!.data);
    expect(textOf(html, "kind")).toBe("SplitRecord");
    expect(textOf(html, "field-treasury")).toBe(identity.treasury.toBase58());
    expect(textOf(html, "field-run_id")).toBe(Buffer.from(runId).toString("hex"));
    expect(textOf(html, "field-batch_index")).toBe("3");
    expect(textOf(html, "field-recipient_count")).toBe("3");
    expect(textOf(html, "field-total")).toBe("1580008");
    expect(textOf(html, "field-plan_hash")).toBe(Buffer.from(record.planHash).toString("hex"));
    expect(textOf(html, "field-slot")).toBe(record.slot.toString());
    expect(textOf(html, "field-unix_timestamp")).toBe(record.unixTimestamp.toString());
    expect(textOf(html, "field-executor")).toBe(authority.publicKey.toBase58());
  });

  it("show the Treasury account and a recipient's token account with mint and balance", async () => {
    const treasuryHtml = await (await fetch(`${app.server.url}/explorer/account/${identity.treasury.toBase58()}`)).text();
    expect(textOf(treasuryHtml, "kind")).toBe("Treasury");
    expect(textOf(treasuryHtml, "field-authority")).toBe(authority.publicKey.toBase58());
    expect(textOf(treasuryHtml, "field-total_settled")).toBe("1580008");
    expect(textOf(treasuryHtml, "field-splits_executed")).toBe("1");

    const tokenHtml = await (await fetch(`${app.server.url}/explorer/account/${recipients[1].toBase58()}`)).text();
    expect(textOf(tokenHtml, "kind")).toBe("TokenAccount");
    expect(textOf(tokenHtml, "token-balance")).toBe("0.330001");
    expect(tokenHtml).toContain(mint.toBase58());
    expect(textOf(tokenHtml, "token-state")).toBe("initialized");
  });

  it("answer 404 with a sentence for garbage, and for ids the chain does not know", async () => {
    const cases: [string, string][] = [
      ["/explorer/tx/not-a-signature", "not a transaction signature"],
      [`/explorer/tx/${"1".repeat(64)}`, "No transaction"],
      [`/explorer/tx/${"2".repeat(100)}`, "not a transaction signature"],
      [`/explorer/tx/${signature.slice(0, -4)}abcd`, ""],
      ["/explorer/account/0OIl", "not an account address"],
      [`/explorer/account/${Keypair.generate().publicKey.toBase58()}`, "No account"],
    ];
    for (const [url, sentence] of cases) {
      const response = await fetch(`${app.server.url}${url}`);
      expect(response.status, url).toBe(404);
      const text = textOf(await response.text(), "explorer-error");
      if (sentence) expect(text).toContain(sentence);
      expect(text).not.toMatch(/Error:|at .*\.js/);
    }
  });

  it("the search box sends a signature to its transaction page and an address to its account page", async () => {
    const tx = await fetch(`${app.server.url}/explorer?q=${signature}`, { redirect: "manual" });
    expect(tx.headers.get("location")).toBe(`/explorer/tx/${signature}`);
    const account = await fetch(`${app.server.url}/explorer?q=${mint.toBase58()}`, { redirect: "manual" });
    expect(account.headers.get("location")).toBe(`/explorer/account/${mint.toBase58()}`);
    const neither = await (await fetch(`${app.server.url}/explorer?q=hello`)).text();
    expect(neither).toContain("neither a transaction signature nor an account address");
  });
});

describe("/healthz on an RPC endpoint", () => {
  it("reports the endpoint, the cluster's genesis hash, the slot, the treasury and its vault balance", async () => {
    const response = await fetch(`${app.server.url}/healthz`);
    const body = await response.json();
    expect(response.status, JSON.stringify(body)).toBe(200);
    expect(body.status).toBe("ok");
    expect(body.chain).toMatchObject({
      mode: "rpc",
      status: "ready",
      rpcUrl: `${chain.current.url}/`,
      genesisHash: await client.connection.getGenesisHash(),
      cluster: "localnet",
      programId: PROGRAM_ID.toBase58(),
      treasury: { address: identity.treasury.toBase58(), vault: identity.vault.toBase58(), mint: mint.toBase58(), vaultBalance: String(5_000_000n - 1_580_008n), decimals: 6 },
    });
    expect(body.chain.slot).toBeGreaterThan(0);
  });

  it("is degraded, with the reason, when the chain stops answering", async () => {
    await chain.current.kill("SIGKILL");
    try {
      const response = await fetch(`${app.server.url}/healthz`);
      expect(response.status).toBe(503);
      const body = await response.json();
      expect(body.status).toBe("degraded");
      expect(body.chain.status).toBe("unavailable");
      expect(body.chain.error).toMatch(/cannot reach|did not answer/);
      // A page that needs the chain says so instead of failing.
      const page = await fetch(`${app.server.url}/explorer/tx/${signature}`);
      expect(page.status).toBe(503);
    } finally {
      await chain.current.restart();
    }
  });
});

describe("explorer pages on a phone", () => {
  it("fit 390 px: long signatures, addresses and logs wrap or scroll inside the page", async () => {
    const { chromium } = await import("playwright-core");
    const browser = await chromium.launch({
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 390, height: 844 } });
      const address = splitRecordAddress({ treasury: identity.treasury, runId, batchIndex: 3 }).toBase58();
      for (const url of [`/explorer/tx/${signature}`, `/explorer/account/${address}`, `/explorer/account/${recipients[0].toBase58()}`, "/explorer/tx/garbage"]) {
        await page.goto(`${app.server.url}${url}`);
        const width = await page.evaluate(() => document.documentElement.scrollWidth);
        expect(width, url).toBeLessThanOrEqual(390);
      }
    } finally {
      await browser.close();
    }
  }, 120_000);
});
