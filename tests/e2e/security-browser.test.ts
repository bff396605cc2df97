// The Content-Security-Policy in a real browser (Debian's Chromium through playwright-core): every page the
// customer and the simulator's user see still hydrates (Remix's inline scripts carry the nonce), its forms
// still post (the CSRF token rides along), and the browser records not one CSP violation on the way.
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pgliteTarget, type TestDatabase } from "../setup/databases";
import { startAppServer, type AppServer } from "../setup/app-server";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

delete process.env.DODO_PAYMENTS_API_KEY;
delete process.env.DODO_PAYMENTS_WEBHOOK_KEY;
delete process.env.DODO_PAYMENTS_BASE_URL;
delete process.env.STABLEFLOW_PUBLIC_URL;
const dataDir = await mkdtemp(path.join(os.tmpdir(), "stableflow-csp-"));
process.env.STABLEFLOW_DATA_DIR = dataDir;

declare global {
  interface Window {
    __cspViolations?: string[];
    __remixRouter?: { state: { initialized: boolean } };
  }
}

describe("pages under the Content-Security-Policy in a real browser", () => {
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

  /** A page that records every CSP violation the browser reports, by event and on the console. */
  async function watchedPage(): Promise<{ page: Page; violations: string[] }> {
    const page = await browser.newPage();
    const violations: string[] = [];
    await page.addInitScript(() => {
      window.__cspViolations = [];
      document.addEventListener("securitypolicyviolation", (event) => {
        window.__cspViolations!.push(`${event.violatedDirective} blocked ${event.blockedURI || "inline"} (${event.sourceFile}:${event.lineNumber})`);
      });
    });
    page.on("console", (message) => {
      if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
    });
    return { page, violations };
  }

  async function expectHydratedWithoutViolations(page: Page, violations: string[], what: string): Promise<void> {
    // Remix creates its client router when the page hydrates: no router means a script was blocked.
    await page.waitForFunction(() => window.__remixRouter?.state.initialized === true, undefined, { timeout: 30_000 });
    const recorded = await page.evaluate(() => window.__cspViolations ?? []);
    expect([...recorded, ...violations], what).toEqual([]);
  }

  it("landing, shop, hosted-checkout stand-in, success, ledger and simulator pages hydrate with no CSP violation", async () => {
    const { page, violations } = await watchedPage();
    for (const target of ["/", "/shop", "/ledger", "/simulator"]) {
      await page.goto(`${server.url}${target}`);
      await expectHydratedWithoutViolations(page, violations, target);
    }

    // The customer's journey: its form posts (CSRF token included) still work under the policy.
    await page.goto(`${server.url}/shop`);
    const firstProduct = page.locator("form").first();
    await firstProduct.locator('input[name="customerName"]').fill("Csp Buyer");
    await firstProduct.locator('input[name="customerEmail"]').fill("csp@example.test");
    await firstProduct.getByRole("button", { name: "Buy" }).click();
    await page.waitForURL(/\/simulator\/checkout\/cks_/);
    await expectHydratedWithoutViolations(page, violations, "simulated checkout");
    await page.getByRole("button", { name: /^Pay/ }).click();
    await page.waitForURL(/\/checkout\/success/);
    await expectHydratedWithoutViolations(page, violations, "success");
    await expect(page.locator("h1").textContent()).resolves.toBe("Payment received");

    // The simulator's controls post with the page's token: a refund goes through.
    const paymentId = new URL(page.url()).searchParams.get("payment_id")!;
    await page.goto(`${server.url}/simulator`);
    await page.locator("tr", { hasText: paymentId }).getByRole("button", { name: "Refund rest" }).click();
    await expect(page.getByRole("status").last().textContent()).resolves.toContain(`Refund sent for ${paymentId}`);
    await expectHydratedWithoutViolations(page, violations, "simulator after a refund");
    const payment = await db.prisma.payment.findUniqueOrThrow({ where: { dodoPaymentId: paymentId } });
    expect(payment.refundedAmountMinor).toBe(payment.totalAmountMinor);
    await page.close();
  });

  it("error: an inline script without the nonce is blocked, and the browser reports it (the check above can fail)", async () => {
    const { page, violations } = await watchedPage();
    await page.goto(`${server.url}/`);
    await expectHydratedWithoutViolations(page, violations, "/");
    const ran = await page.evaluate(async () => {
      const script = document.createElement("script");
      script.textContent = "window.__injected = true;";
      document.body.appendChild(script);
      await new Promise((resolve) => setTimeout(resolve, 100));
      return (window as unknown as { __injected?: boolean }).__injected === true;
    });
    expect(ran).toBe(false);
    const recorded = await page.evaluate(() => window.__cspViolations ?? []);
    expect(recorded.some((v) => v.startsWith("script-src"))).toBe(true);
    await page.close();
  });
});
