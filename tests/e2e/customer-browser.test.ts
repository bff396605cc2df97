// The customer pages and the operators' ledger in Debian's Chromium at a phone's width (390 px): nothing scrolls
// the page sideways, the test-mode banner is the first thing on every page, and the navigation is reachable.
// Layout does not depend on the database: this runs on the first target (PGlite) only.
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureDefaultOrganization } from "~/models/organizations.server";
import { databaseTargets } from "../setup/databases";
import { useServedApp } from "../setup/app-server";
import { signedInOperator } from "../setup/operators";
import { chooseOutcome, startSimulatedCheckout } from "../setup/simulated-checkout";

delete process.env.DODO_PAYMENTS_API_KEY;
delete process.env.DODO_PAYMENTS_WEBHOOK_KEY;
delete process.env.DODO_PAYMENTS_BASE_URL;
delete process.env.SOLANA_RPC_URL;
const dataDir = await mkdtemp(path.join(os.tmpdir(), "stableflow-customer-browser-"));
process.env.STABLEFLOW_DATA_DIR = dataDir;

describe("customer pages and the ledger on a phone", () => {
  const app = useServedApp(databaseTargets()[0]!);
  let sessionCookies: { name: string; value: string }[];
  let resultPage: string;
  let checkoutPage: string;
  beforeAll(async () => {
    const organization = await ensureDefaultOrganization(app.db.prisma);
    const viewer = await signedInOperator(app.db.prisma, { organizationId: organization.id, role: "VIEWER" });
    sessionCookies = viewer.cookie.split("; ").map((pair) => {
      const [name, ...value] = pair.split("=");
      return { name: name!, value: value.join("=") };
    });
    // Payments in the ledger (long Dodo ids, every column filled), and a declined checkout still open.
    const paid = await chooseOutcome(await startSimulatedCheckout(app.server.url), "pay");
    resultPage = paid.headers.get("location")!;
    checkoutPage = await startSimulatedCheckout(app.server.url);
    expect((await chooseOutcome(checkoutPage, "fail")).status).toBe(303);
  });

  it("fit 390 px with the test-mode banner on top: shop, checkout, result, verify, explorer, 404, ledger, console", async () => {
    const { chromium } = await import("playwright-core");
    const browser = await chromium.launch({
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
    });
    try {
      const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
      await context.addCookies(sessionCookies.map((cookie) => ({ ...cookie, url: app.server.url })));
      const page = await context.newPage();
      const pages = ["/", "/shop", checkoutPage, resultPage, "/verify", "/explorer", "/nope", "/ledger", "/console"];
      for (const url of pages) {
        await page.goto(new URL(url, app.server.url).toString());
        const width = await page.evaluate(() => document.documentElement.scrollWidth);
        expect(width, url).toBeLessThanOrEqual(390);
        const banner = page.getByTestId("test-mode-banner");
        await expect.poll(() => banner.isVisible(), { timeout: 10_000 }).toBe(true);
        const box = (await banner.boundingBox())!;
        expect(box.y, url).toBe(0);
        expect(box.width, url).toBeLessThanOrEqual(390);
        expect(await page.title(), url).toMatch(/\S/);
        // The console frames itself; every other page (the ledger too, for now) carries the site's navigation.
        const nav = url === "/console" ? "Console" : "Site";
        expect(await page.getByRole("navigation", { name: nav }).isVisible(), url).toBe(true);
      }
    } finally {
      await browser.close();
    }
  }, 180_000);
});

afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});
