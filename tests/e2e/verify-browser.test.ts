// A recipient verifies a payout the settlement executor made (approved run, settled on the embedded chain) in
// a real browser (Debian's Chromium driven by playwright-core) on a 390 px wide screen: types their wallet into the labelled form, sees the payout checked live against the
// embedded chain (every check passing), opens the batch's transfer list, downloads the proof and it verifies;
// the same without JavaScript; a typo answered in place; no Content-Security-Policy violation on the way.
// Screenshots go to artifacts/screenshots/ (ignored by git); docs/images/verify-payout.png is the desktop one.
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Connection } from "@solana/web3.js";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parsePayoutProof, verifyPayoutProof } from "~/settlement/payout-proof";
import type { RunningExecutors } from "~/settlement/executor-runtime.server";
import { startAppServer, type AppServer } from "../setup/app-server";
import { useTestChain } from "../setup/chain";
import { pgliteTarget } from "../setup/databases";
import { createSettlementWorld, startTestExecutors, type SettlementWorld, type TestRecipient } from "../setup/settlement";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const SHOTS = path.resolve("artifacts/screenshots");

const chain = useTestChain({ slotMs: 40 });
let world: SettlementWorld;
let executors: RunningExecutors;
let server: AppServer;
let workDir: string;
let browser: Browser;
let recipients: TestRecipient[];
let signature = "";
const amounts = [1_500_000n, 250_000_000n, 42_000n, 7n];
const cspViolations: string[] = [];

function watchCsp(page: Page) {
  page.on("console", (message) => {
    if (/Content.Security.Policy/i.test(message.text())) cspViolations.push(message.text());
  });
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`no browser at ${CHROMIUM}: install Debian's chromium (apt-get install chromium; npm test does it as root) or set CHROMIUM_PATH`);
  }
  workDir = await mkdtemp(path.join(os.tmpdir(), "sf-verify-browser-"));
  await mkdir(SHOTS, { recursive: true });
  // The operator's side, for real: a treasury, a run approved and settled by the settlement executor.
  world = await createSettlementWorld({ target: pgliteTarget, chain: chain.current, funding: 500_000_000n });
  await world.db.prisma.organization.update({ where: { id: world.organizationId }, data: { name: "Acme Studio" } });
  executors = await startTestExecutors(world);
  // Two recipients have token accounts already; the executor creates the others'.
  recipients = [...(await world.addRecipients(2, { withTokenAccounts: true })), ...(await world.addRecipients(2))];
  const runId = await world.createRun(recipients.map((recipient, i) => ({ recipient, amount: amounts[i] })));
  expect((await world.approve(runId, executors.queue)).status).toBe("APPROVED");
  expect(await world.waitForRun(runId, ["SETTLED", "PARTIAL", "FAILED"], 600_000)).toBe("SETTLED");
  signature = (await world.db.prisma.splitBatchEvent.findFirstOrThrow({ where: { status: "CONFIRMED", batch: { runId } } })).signature!;

  process.env.SOLANA_RPC_URL = chain.current.url;
  process.env.STABLEFLOW_MINT = world.mint.toBase58();
  process.env.STABLEFLOW_AUTHORITY_KEYPAIR = world.authorityFile;
  server = await startAppServer(world.db);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
}, 900_000);
afterAll(async () => {
  await browser?.close();
  await server?.close();
  await executors?.stop();
  await world?.destroy();
  delete process.env.SOLANA_RPC_URL;
  delete process.env.STABLEFLOW_MINT;
  delete process.env.STABLEFLOW_AUTHORITY_KEYPAIR;
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

describe("a recipient verifies their payout in a browser", () => {
  it("on a 390 px screen: enters the wallet, sees every check pass, reads the batch's list, downloads a proof that verifies", async () => {
    const me = recipients[1];
    const wallet = me.wallet.publicKey.toBase58();
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, acceptDownloads: true });
    const page = await context.newPage();
    watchCsp(page);

    // Given the public page, no sign-in
    await page.goto(`${server.url}/verify`);
    await expect(page.locator("h1").textContent()).resolves.toBe("Verify a payout");

    // When the recipient makes a typo first, the page says what is wrong next to the field
    const field = page.getByLabel("Your wallet address or token account");
    await field.fill(`${wallet.slice(0, -1)}0`);
    await page.getByRole("button", { name: "Verify" }).click();
    await expect(page.getByRole("alert").textContent()).resolves.toContain("is not base58 text");
    await expect(page.getByLabel("Your wallet address or token account").getAttribute("aria-invalid")).resolves.toBe("true");

    // And then enters the wallet
    await page.getByLabel("Your wallet address or token account").fill(wallet);
    await page.getByRole("button", { name: "Verify" }).click();
    await page.waitForURL(`${server.url}/verify/${wallet}`);

    // Then the payout is there, verified on chain, each of the four checks passing
    const payout = page.locator('[data-testid="payout"]');
    // A client-side navigation: the URL can change a moment before the page renders.
    await payout.first().waitFor();
    await expect(payout.count()).resolves.toBe(1);
    await expect(payout.getByTestId("payout-status").textContent()).resolves.toBe("Verified on chain");
    const checks = await payout.locator('[data-testid^="check-"]').allTextContents();
    expect(checks).toHaveLength(4);
    for (const check of checks) expect(check).toMatch(/^Pass: /);
    await expect(payout.getByTestId("payout-amount").textContent()).resolves.toContain("250.000000");
    await expect(payout.locator("h2").textContent()).resolves.toContain("Acme Studio");

    // And the batch's published list opens (no script needed: <details>), the recipient's row marked
    await payout.locator("summary").click();
    const rows = payout.locator('[data-testid="transfers"] tbody tr');
    await expect(rows.count()).resolves.toBe(amounts.length);
    const mine = payout.locator('[data-testid="transfers"] tbody tr[aria-current="true"]');
    await expect(mine.count()).resolves.toBe(1);
    await expect(mine.locator("td[data-amount]").getAttribute("data-amount")).resolves.toBe(amounts[1].toString());

    // And nothing is wider than the screen
    const widths = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, viewport: window.innerWidth }));
    expect(widths.scroll).toBeLessThanOrEqual(widths.viewport);
    await page.screenshot({ path: path.join(SHOTS, "verify-payout-390.png"), fullPage: true });

    // And the proof downloads as a file, which verifies against the chain on its own
    const [download] = await Promise.all([page.waitForEvent("download"), payout.getByTestId("proof-download").click()]);
    expect(download.suggestedFilename()).toMatch(/^stableflow-proof-[0-9a-f]{8}-0-[1-9A-HJ-NP-Za-km-z]{8}\.json$/);
    const file = path.join(workDir, download.suggestedFilename());
    await download.saveAs(file);
    const proof = parsePayoutProof(JSON.parse(await readFile(file, "utf8")));
    expect(proof.signature).toBe(signature);
    expect(proof.transfers[proof.position]).toEqual({ tokenAccount: me.tokenAccount.toBase58(), amount: amounts[1].toString() });
    expect((await verifyPayoutProof(new Connection(chain.current.url, "confirmed"), proof)).ok).toBe(true);
    await context.close();
  });

  it("works without JavaScript, and on a desktop screen (the README's screenshot)", async () => {
    const me = recipients[0];
    const wallet = me.wallet.publicKey.toBase58();
    const context = await browser.newContext({ viewport: { width: 1000, height: 900 }, javaScriptEnabled: false });
    const page = await context.newPage();
    watchCsp(page);
    await page.goto(`${server.url}/verify`);
    await page.getByLabel("Your wallet address or token account").fill(wallet);
    await page.getByRole("button", { name: "Verify" }).click();
    await page.waitForURL(`${server.url}/verify/${wallet}`);
    await expect(page.getByTestId("payout-status").textContent()).resolves.toBe("Verified on chain");
    await page.locator('[data-testid="payout"] summary').click();
    await expect(page.locator('[data-testid="transfers"] tbody tr').count()).resolves.toBe(amounts.length);
    await page.screenshot({ path: path.join(SHOTS, "verify-payout.png"), fullPage: true });
    await context.close();
  });

  it("raised no Content-Security-Policy violation on any page", () => {
    expect(cspViolations).toEqual([]);
  });
});
