// /console/webhooks in a real browser (Debian's Chromium through playwright-core) at a phone's 390 px and
// without JavaScript: an admin registers an endpoint from the keyboard with plain form posts, reads the
// secret once, sees the delivery log; the page never scrolls sideways (its tables scroll inside it).
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { chromium, type Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureDefaultOrganization } from "~/models/organizations.server";
import { sql } from "~/utils/sql.server";
import { startAppServer, type AppServer } from "../setup/app-server";
import { pgliteTarget, type TestDatabase } from "../setup/databases";
import { signedInOperator, type SignedInOperator } from "../setup/operators";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const SHOTS = path.resolve("artifacts/screenshots");
process.env.STABLEFLOW_WEBHOOK_ALLOW_PRIVATE_URLS = "true";
delete process.env.STABLEFLOW_PUBLIC_URL;

describe("/console/webhooks in a browser", () => {
  let db: TestDatabase;
  let server: AppServer;
  let browser: Browser;
  let admin: SignedInOperator;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`no browser at ${CHROMIUM}: install Debian's chromium or set CHROMIUM_PATH`);
    await mkdir(SHOTS, { recursive: true });
    db = await pgliteTarget.create();
    const org = await ensureDefaultOrganization(db.prisma);
    admin = await signedInOperator(db.prisma, { organizationId: org.id, role: "ADMIN" });
    server = await startAppServer(db);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
    });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await db?.destroy();
  });

  it("at 390 px without JavaScript: register from the keyboard, the secret once, the delivery log; no sideways scroll", async () => {
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, javaScriptEnabled: false });
    await context.addCookies(
      admin.cookie.split("; ").map((pair) => {
        const [name, ...value] = pair.split("=");
        return { name: name!, value: value.join("="), url: server.url };
      }),
    );
    const page = await context.newPage();
    await page.goto(`${server.url}/console/webhooks`);
    await expect(page.locator("h1").textContent()).resolves.toBe("Webhooks");
    await page.getByLabel("URL", { exact: true }).fill("http://127.0.0.1:9/hooks/stableflow");
    await page.getByLabel(/payout_run\.settled/).check();
    await page.getByLabel(/recipient\.held/).focus();
    await page.keyboard.press("Space");
    await page.getByRole("button", { name: "Register endpoint" }).focus();
    await page.keyboard.press("Enter");
    await page.waitForSelector("#endpoint-secret");
    const secret = await page.locator("#endpoint-secret").inputValue();
    const row = await db.prisma.webhookEndpoint.findFirstOrThrow({ where: { url: "http://127.0.0.1:9/hooks/stableflow" } });
    expect(secret).toBe(row.secret);
    expect(row.eventTypes).toEqual(["payout_run.settled", "recipient.held"]);

    // A settled run's event waits in the log (no dispatcher runs here).
    await db.query(sql`
      INSERT INTO payout_runs (organization_id, kind, status, token_decimals, distributable, total_transfers, treasury_remainder)
      VALUES (${row.organizationId}::uuid, 'SWEEP', 'READY', 6, 0, 0, 0)`);
    const [run] = await db.query<{ id: string }>(sql`SELECT id FROM payout_runs ORDER BY created_at DESC LIMIT 1`);
    await db.query(sql`UPDATE payout_runs SET status = 'APPROVED' WHERE id = ${run!.id}::uuid`);
    await db.query(sql`UPDATE payout_runs SET status = 'EXECUTING' WHERE id = ${run!.id}::uuid`);
    await db.query(sql`UPDATE payout_runs SET status = 'SETTLED' WHERE id = ${run!.id}::uuid`);
    await page.getByRole("link", { name: "Delivery log of http://127.0.0.1:9/hooks/stableflow" }).click();
    await expect(page.locator("#log-heading").textContent()).resolves.toBe("Delivery log of http://127.0.0.1:9/hooks/stableflow");
    await expect(page.locator("tr[data-delivery]").count()).resolves.toBe(1);
    await expect(page.locator("tr[data-delivery] td").nth(1).textContent()).resolves.toBe("payout_run.settled");
    // The secret is not on the page any more.
    expect(await page.content()).not.toContain(secret);
    const widths = await page.evaluate(() => ({ page: document.documentElement.scrollWidth, viewport: window.innerWidth }));
    expect(widths.page).toBeLessThanOrEqual(widths.viewport);
    await page.screenshot({ path: path.join(SHOTS, "console-webhooks-390.png"), fullPage: true });
    await context.close();
  }, 300_000);
});
