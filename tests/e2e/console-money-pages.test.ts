// The payments, recipients and policies pages against a real chain and in a real browser: a recipient's
// token account is read off the chain (ready, missing, not a token account) with the executor's verdict;
// and every page, with its long ids, rule fieldsets and preview, fits a 390 px phone without sideways
// scrolling (Debian's Chromium through playwright-core). Embedded database only: the pages' database reads
// are exercised on both databases by console-payments, console-policies and console-changes.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Keypair, PublicKey } from "@solana/web3.js";
import { getAssociatedTokenAddressSync } from "@solana/spl-token";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TOKEN_PROGRAM_ID } from "~/ledger/wallet";
import { createPolicyVersion } from "~/models/policies.server";
import { createRecipient } from "~/models/recipients.server";
import { useServedApp } from "../setup/app-server";
import { useTestChain } from "../setup/chain";
import { createSplitWorld } from "../setup/chain-split";
import { createConsoleWorld, insertPayment, type ConsoleWorld } from "../setup/console-world";
import { pgliteTarget } from "../setup/databases";
import { getPage } from "../setup/pages";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
delete process.env.STABLEFLOW_PUBLIC_URL;

const chain = useTestChain({ slotMs: 40 });
const app = useServedApp(pgliteTarget);
let w: ConsoleWorld;
let keyDir: string;
const ids = { ready: "", missing: "", notToken: "", payment: "", draft: "" };

beforeAll(async () => {
  w = await createConsoleWorld(app.db);
  const world = await createSplitWorld(chain.current.url, { organizationId: w.organizationId, funding: 1_000_000n });
  keyDir = await mkdtemp(path.join(os.tmpdir(), "sf-console-browser-"));
  const keyFile = path.join(keyDir, "authority.json");
  await writeFile(keyFile, JSON.stringify(Array.from(world.authority.secretKey)), { mode: 0o600 });
  process.env.SOLANA_RPC_URL = chain.current.url;
  process.env.STABLEFLOW_MINT = world.mint.toBase58();
  process.env.STABLEFLOW_AUTHORITY_KEYPAIR = keyFile;
  const prisma = app.db.prisma;
  const [ready] = await world.newRecipients(1);
  const readyOwner = Keypair.generate().publicKey;
  // A wallet whose associated token account exists (created by the world), one whose account does not yet,
  // and one whose "token account" is a funded system account (the authority's own address).
  ids.ready = (await createRecipient(prisma, { organizationId: w.organizationId, name: "Ready Rita", walletAddress: readyOwner.toBase58(), tokenAccount: ready!.toBase58() })).id;
  const missingOwner = Keypair.generate().publicKey;
  ids.missing = (await createRecipient(prisma, { organizationId: w.organizationId, name: "Missing Max", walletAddress: missingOwner.toBase58(), mint: world.mint.toBase58() })).id;
  ids.notToken = (await createRecipient(prisma, { organizationId: w.organizationId, name: "System Sam", walletAddress: Keypair.generate().publicKey.toBase58(), tokenAccount: world.authority.publicKey.toBase58() })).id;
  expect((await prisma.recipient.findUniqueOrThrow({ where: { id: ids.missing } })).tokenAccount).toBe(
    getAssociatedTokenAddressSync(world.mint, new PublicKey(missingOwner), true, TOKEN_PROGRAM_ID).toBase58(),
  );
  ids.payment = (await insertPayment(app.db, { organizationId: w.organizationId, dodoPaymentId: `pay_${"x".repeat(60)}`, status: "SUCCEEDED", total: 123_456_789n, createdAt: new Date() })).id;
  ids.draft = (
    await createPolicyVersion(prisma, {
      organizationId: w.organizationId,
      policyName: "a policy with a rather long name for a phone",
      rules: [
        { recipientId: ids.ready, kind: "PERCENTAGE", basisPoints: 2500, capPerPayment: 1_000_000_000n },
        { recipientId: w.recipients.bea, kind: "FIXED", fixedAmount: 123_456_789n, capPerPeriod: 5_000_000_000n, periodDays: 30 },
      ],
    })
  ).id;
});
afterAll(async () => {
  delete process.env.SOLANA_RPC_URL;
  delete process.env.STABLEFLOW_MINT;
  delete process.env.STABLEFLOW_AUTHORITY_KEYPAIR;
  await rm(keyDir, { recursive: true, force: true });
});

describe("console pages on a chain and a phone", () => {
  it("each recipient's token account as the chain holds it: ready, missing, not a token account", async () => {
    const verdict = async (id: string) => (await getPage(app.server.url, `/console/recipients/${id}`, w.viewer)).text.match(/On chain (.*?) Accrued/)?.[1];
    expect(await verdict(ids.ready)).toBe("Ready: the account exists, holds the payout token and is not frozen.");
    expect(await verdict(ids.missing)).toMatch(/^The token account does not exist yet; the executor creates it/);
    expect(await verdict(ids.notToken)).toBe("The address is not a token account of the payout mint's token program.");
    const list = await getPage(app.server.url, "/console/recipients", w.viewer);
    expect(list.text).not.toContain("chain is unavailable");
    expect(list.text).toMatch(/Ready Rita .* can receive/);
  });

  it("every page fits 390 px: no sideways scroll, tables scroll inside the page", async () => {
    const { chromium } = await import("playwright-core");
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
    });
    const problems: string[] = [];
    try {
      const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
      const { origin } = new URL(app.server.url);
      await context.addCookies(
        w.operator.cookie.split("; ").map((pair) => {
          const [name, value] = pair.split("=") as [string, string];
          return { name, value, url: origin };
        }),
      );
      const page = await context.newPage();
      page.on("pageerror", (error) => problems.push(error.message));
      page.on("console", (message) => {
        if (message.type() === "error") problems.push(message.text());
      });
      const pages = [
        "/console/payments",
        "/console/payments?minAmount=1.234567",
        `/console/payments/${ids.payment}`,
        "/console/recipients",
        `/console/recipients/${ids.ready}`,
        "/console/policies",
        "/console/policies/new",
        `/console/policies/${ids.draft}?sample=1234567.89`,
        `/console/policies/diff?from=${w.policyV1}&to=${ids.draft}`,
      ];
      for (const url of pages) {
        const response = await page.goto(`${app.server.url}${url}`);
        expect(response?.status(), url).toBe(200);
        await page.locator("h1").first().waitFor();
        const width = await page.evaluate(() => document.documentElement.scrollWidth);
        expect(width, url).toBeLessThanOrEqual(390);
      }
      expect(problems).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 240_000);
});
