// A person's journey in a real browser (Debian's Chromium driven by playwright-core): shop -> Buy ->
// the simulator's hosted-checkout page -> Pay -> success page -> the payment on the ledger page.
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { chromium, type Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatMoney } from "~/ledger/money";
import { pgliteTarget, type TestDatabase } from "../setup/databases";
import { startAppServer, type AppServer } from "../setup/app-server";
import { signedInOperator } from "../setup/operators";
import { ensureDefaultOrganization } from "~/models/organizations.server";
import { sessionCookieName } from "~/utils/session.server";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

delete process.env.DODO_PAYMENTS_API_KEY;
delete process.env.DODO_PAYMENTS_WEBHOOK_KEY;
delete process.env.DODO_PAYMENTS_BASE_URL;
const dataDir = await mkdtemp(path.join(os.tmpdir(), "stableflow-browser-"));
process.env.STABLEFLOW_DATA_DIR = dataDir;

describe("customer checkout in a browser (simulator)", () => {
  let db: TestDatabase;
  let server: AppServer;
  let browser: Browser;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`no browser at ${CHROMIUM}: install Debian's chromium (apt-get install chromium; npm test does it as root) or set CHROMIUM_PATH`);
    }
    db = await pgliteTarget.create();
    server = await startAppServer(db);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await db?.destroy();
    await rm(dataDir, { recursive: true, force: true });
  });

  it("buys a product, pays on the simulated hosted page and finds the payment in the ledger", async () => {
    const page = await browser.newPage();
    // Given the shop, labelled as running on the simulator
    await page.goto(`${server.url}/shop`);
    await expect(page.getByRole("status").first().textContent()).resolves.toContain("Checkout simulator in use");
    const firstProduct = page.locator("form").first();
    await firstProduct.locator('input[name="customerName"]').fill("Ada Buyer");
    await firstProduct.locator('input[name="customerEmail"]').fill("ada@example.test");

    // When the customer buys and pays
    await firstProduct.getByRole("button", { name: "Buy" }).click();
    await page.waitForURL(/\/simulator\/checkout\/cks_/);
    await page.getByRole("button", { name: /^Pay/ }).click();
    await page.waitForURL(/\/checkout\/success/);

    // Then the success page reads the payment back from the ledger
    await expect(page.locator("h1").textContent()).resolves.toBe("Payment received");
    const paymentId = new URL(page.url()).searchParams.get("payment_id");
    expect(paymentId).toMatch(/^pay_/);

    // And the ledger page (operators only: an operator's session in this browser) lists it as succeeded,
    // with the product's price
    const payment = await db.prisma.payment.findUniqueOrThrow({ where: { dodoPaymentId: paymentId! } });
    expect(payment.status).toBe("SUCCEEDED");
    const operator = await signedInOperator(db.prisma, { organizationId: (await ensureDefaultOrganization(db.prisma)).id, role: "VIEWER" });
    await page.context().addCookies([{ name: sessionCookieName(), value: operator.token, url: server.url }]);
    await page.goto(`${server.url}/ledger`);
    const row = page.locator(`tr[data-payment="${paymentId}"]`);
    const rowText = await row.textContent();
    expect(rowText).toContain("succeeded");
    expect(payment.totalAmountMinor).toBeGreaterThan(0n);
    expect(rowText).toContain(`${formatMoney(payment.totalAmountMinor, 2)} ${payment.currency}`);
    await page.close();
  });
});
