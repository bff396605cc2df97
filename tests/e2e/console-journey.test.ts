// The whole journey in a real browser (Debian's Chromium driven by playwright-core) against the real
// `npm start` server (scripts/serve.mjs: embedded PGlite, embedded chain, the demo policy, settlement
// executors) with STABLEFLOW_APPROVAL_THRESHOLD=1, so every run needs two operators and nothing is
// auto-approved: a customer buys through the checkout simulator; the first admin (from the setup link)
// invites an operator; the admin sees the payment's READY run, previews its simulation and approves; the
// operator approves too and watches the run reach SETTLED on the page without reloading it; opens the
// explorer page of the batch's transaction; downloads the transfers CSV, which holds the run's transfers.
// Screenshots of each step go to artifacts/screenshots/ (ignored); the overview and the settled run are
// the README's (docs/images/, refreshed by copying them from there).
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServeProcess, type ServeProcess } from "../setup/serve-process";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const SHOTS = path.resolve("artifacts/screenshots");
// A fresh server (chain, program deploy, treasury, demo), two people and a settlement on a loaded machine.
const JOURNEY_TIMEOUT_MS = 600_000;

delete process.env.DODO_PAYMENTS_API_KEY;
delete process.env.DODO_PAYMENTS_WEBHOOK_KEY;
delete process.env.DODO_PAYMENTS_BASE_URL;
delete process.env.SOLANA_RPC_URL;
delete process.env.STABLEFLOW_PUBLIC_URL;

describe("operator journey: purchase -> READY run -> simulation -> two approvals -> SETTLED live -> explorer -> CSV", () => {
  let dataDir: string;
  let server: ServeProcess;
  let browser: Browser;
  const problems: string[] = [];
  const posts: string[] = [];

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`no browser at ${CHROMIUM}: install Debian's chromium (apt-get install chromium; npm test does it as root) or set CHROMIUM_PATH`);
    }
    await mkdir(SHOTS, { recursive: true });
    dataDir = await mkdtemp(path.join(os.tmpdir(), "stableflow-journey-"));
    server = await startServeProcess(
      { STABLEFLOW_DATA_DIR: dataDir, STABLEFLOW_CHAIN_PORT: "0", STABLEFLOW_APPROVAL_THRESHOLD: "1", LOG_LEVEL: "warn" },
      { startTimeoutMs: 240_000 },
    );
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
    });
  }, 300_000);
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  async function person(): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1200, height: 900 }, acceptDownloads: true });
    const page = await context.newPage();
    page.on("console", (message) => {
      if (message.type() === "error") problems.push(message.text());
    });
    page.on("pageerror", (error) => problems.push(error.message));
    page.on("response", (response) => {
      if (response.request().method() !== "GET" || response.url().includes(".data")) posts.push(`${response.request().method()} ${response.url()} -> ${response.status()}`);
    });
    page.on("request", (request) => {
      if (request.url().includes(".data")) posts.push(`sent ${request.method()} ${request.url()}`);
    });
    page.on("requestfailed", (request) => posts.push(`${request.method()} ${request.url()} failed: ${request.failure()?.errorText}`));
    return page;
  }
  const shot = (page: Page, name: string) => page.screenshot({ path: path.join(SHOTS, `journey-${name}.png`), fullPage: true });
  /** What the page said after a decision: its confirmation or its refusal, whichever came. */
  const outcome = async (page: Page) => {
    const said = page.locator('p.card.ok[role="status"], p.card.bad[role="alert"]').first();
    await said.waitFor({ timeout: 60_000 }).catch(async (error: unknown) => {
      await shot(page, "failed-decision");
      await page.reload();
      posts.push(`after reload: ${(await page.locator("main").textContent())?.slice(-400)}`);
      throw new Error(`no confirmation or refusal on ${page.url()}: ${(await page.locator("main").textContent())?.slice(0, 300)}\nbrowser: ${problems.join("\n")}\nrequests: ${posts.join("\n")}\nserver: ${server.output().slice(-3000)}`, { cause: error });
    });
    return (await said.textContent()) ?? "";
  };
  const heading = (page: Page, text: string | RegExp) => page.locator("h1", { hasText: text }).waitFor({ timeout: 60_000 });

  it("from a purchase to a settled split, seen and decided by two operators in the console", async () => {
    // A customer buys the first product and pays on the simulated hosted checkout.
    const customer = await person();
    await customer.goto(`${server.url}/shop`);
    const product = customer.locator("form").first();
    await product.locator('input[name="customerName"]').fill("Carla Customer");
    await product.locator('input[name="customerEmail"]').fill("carla@example.test");
    await product.getByRole("button", { name: "Buy" }).click();
    await customer.waitForURL(/\/simulator\/checkout\/cks_/);
    await customer.getByRole("button", { name: /^Pay/ }).click();
    await customer.waitForURL(/\/checkout\/success/);
    await heading(customer, "Payment received");
    const paymentId = new URL(customer.url()).searchParams.get("payment_id")!;
    expect(paymentId).toMatch(/^pay_/);
    await shot(customer, "01-customer-paid");

    // The first admin, from the one-time setup link the server printed.
    const token = /\/setup\/([A-Za-z0-9_-]{43})/.exec(server.output())?.[1];
    expect(token, server.output()).toBeDefined();
    const admin = await person();
    await admin.goto(`${server.url}/setup/${token}`);
    await admin.getByLabel("Organization name").fill("Acme Records");
    await admin.getByLabel("Your name").fill("Ada Admin");
    await admin.getByLabel("E-mail address").fill("ada@acme.test");
    await admin.getByLabel("Password", { exact: true }).fill("ada's long enough password");
    await admin.getByLabel("Repeat the password").fill("ada's long enough password");
    await admin.getByRole("button", { name: "Create the admin and sign in" }).click();
    await admin.waitForURL(`${server.url}/console`);
    await heading(admin, "Acme Records");

    // The admin invites an operator, who joins in a browser of their own.
    await admin.goto(`${server.url}/console/team`);
    const inviteForm = admin.locator("form", { has: admin.getByRole("button", { name: "Create invitation link" }) });
    await inviteForm.getByLabel("E-mail address").fill("otto@acme.test");
    await inviteForm.getByLabel("Role").selectOption("OPERATOR");
    await admin.getByRole("button", { name: "Create invitation link" }).click();
    const link = admin.getByLabel("Invitation link");
    await link.waitFor();
    const operator = await person();
    await operator.goto(await link.inputValue());
    await operator.getByLabel("Your name").fill("Otto Operator");
    await operator.getByLabel("Password", { exact: true }).fill("otto's long enough password");
    await operator.getByLabel("Repeat the password").fill("otto's long enough password");
    await operator.getByRole("button", { name: "Join and sign in" }).click();
    await operator.waitForURL(`${server.url}/console`);
    await heading(operator, "Acme Records");

    // The admin finds the payment's run waiting: READY, nothing auto-approved above the threshold.
    await admin.goto(`${server.url}/console/runs?status=READY`);
    await heading(admin, "Payout runs");
    const row = admin.locator("tr[data-run]", { hasText: paymentId });
    await row.waitFor({ timeout: 60_000 });
    await expect(row.getAttribute("data-run-status")).resolves.toBe("READY");
    await shot(admin, "02-ready-run");

    // Its simulation: every batch succeeds, nobody held out, the vault holds enough.
    await row.getByRole("link").first().click();
    await heading(admin, /^Payout run /);
    const runId = admin.url().split("/").at(-1)!;
    await admin.locator('[data-simulation-ok="true"]').waitFor();
    await expect(admin.locator("tr[data-simulated-batch]").first().getAttribute("data-success")).resolves.toBe("true");
    await expect(admin.locator("[data-approvals]").textContent()).resolves.toBe("0");
    const estimated = await admin.locator("[data-estimated-lamports]").getAttribute("data-estimated-lamports");
    await shot(admin, "03-simulation-preview");

    // First approval: recorded, one of two.
    await admin.getByLabel("Approval comment").fill("amounts match the sale");
    await admin.getByRole("button", { name: "Approve run" }).click();
    await expect(outcome(admin)).resolves.toContain("Approval recorded (1 of 2)");
    await shot(admin, "04-first-approval");

    // The operator approves too, and stays on the page: it follows the run to SETTLED by itself.
    await operator.goto(`${server.url}/console/runs/${runId}`);
    await heading(operator, /^Payout run /);
    await operator.getByLabel("Approval comment").fill("second pair of eyes");
    await operator.getByRole("button", { name: "Approve run" }).click();
    await expect(outcome(operator)).resolves.toMatch(/^Run approved \(2 of 2\)/);
    await operator.evaluate(() => ((window as unknown as { stillThisPage: boolean }).stillThisPage = true));
    await operator.locator('p[data-run-status="SETTLED"]').waitFor({ timeout: 180_000 });
    await operator.locator('td[data-batch-state="settled"]').first().waitFor({ timeout: 60_000 });
    // No reload happened: the marker set on this document is still there.
    await expect(operator.evaluate(() => (window as unknown as { stillThisPage?: boolean }).stillThisPage)).resolves.toBe(true);
    await operator.locator("[data-run-cost]").waitFor({ timeout: 60_000 });
    // What the preview estimated is what the run cost: fees of the split and of the token-account creations, and their rent.
    await expect(operator.locator("[data-run-cost]").getAttribute("data-run-cost")).resolves.toBe(estimated);
    await shot(operator, "05-settled-run");

    // The batch's transaction on the app's explorer.
    const signatureLink = operator.locator('tr[data-batch] a[href^="/explorer/tx/"]').first();
    const href = (await signatureLink.getAttribute("href"))!;
    await signatureLink.click();
    await operator.waitForURL(`${server.url}${href}`);
    await heading(operator, "Transaction");
    await shot(operator, "06-explorer-transaction");

    // The transfers CSV holds the run's transfers.
    await operator.goto(`${server.url}/console/exports`);
    await heading(operator, "Exports");
    const [download] = await Promise.all([operator.waitForEvent("download"), operator.getByRole("button", { name: "Download payout transfers (CSV)" }).click()]);
    const csv = await readFile((await download.path())!, "utf8");
    await shot(operator, "07-exports");
    expect(csv.split("\r\n")[0]).toMatch(/^transfer_id,created_at_utc,run_id,/);
    // The demo policy's three recipients (70 / 20 / 10), each paid by the batch's transaction.
    const signature = href.split("/").at(-1)!;
    const lines = csv.split("\r\n").filter((line) => line.includes(runId));
    expect(lines, csv).toHaveLength(3);
    for (const line of lines) expect(line).toMatch(new RegExp(`,SETTLED,.*,yes,,${signature},.*,${paymentId}`));

    // The overview after it all.
    await admin.goto(`${server.url}/console`);
    await heading(admin, "Acme Records");
    await admin.locator('[data-run-status="SETTLED"]').first().waitFor();
    await shot(admin, "08-overview");

    // On a 390 px phone the run pages scroll inside their tables, never sideways; without JavaScript the settled
    // run reads the same (its batch settled, its signature linked).
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, javaScriptEnabled: false });
    const plain = await phone.newPage();
    await plain.goto(`${server.url}/login`);
    await plain.getByLabel("E-mail address").fill("ada@acme.test");
    await plain.getByLabel("Password").fill("ada's long enough password");
    await plain.getByRole("button", { name: "Sign in" }).click();
    await plain.waitForURL(`${server.url}/console`);
    for (const pathname of ["/console/runs", `/console/runs/${runId}`]) {
      await plain.goto(`${server.url}${pathname}`);
      await expect(plain.evaluate(() => document.scrollingElement!.scrollWidth), pathname).resolves.toBeLessThanOrEqual(390);
    }
    await expect(plain.locator('p[data-run-status="SETTLED"]').count()).resolves.toBe(1);
    await expect(plain.locator('td[data-batch-state="settled"]').count()).resolves.toBe(1);
    await expect(plain.locator(`a[href="${href}"]`).count()).resolves.toBe(1);
    await shot(plain, "09-settled-run-phone-no-javascript");
    await phone.close();

    expect(problems.filter((p) => !/Failed to load resource: the server responded with a status of 40[0134]/.test(p))).toEqual([]);
  }, JOURNEY_TIMEOUT_MS);
});
