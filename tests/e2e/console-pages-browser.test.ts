// The console's reading pages in a real browser (Debian's Chromium through playwright-core) on a 390 px
// phone in Tokyo: times are shown in the browser's zone after hydration and, once its cookie is set, already
// in the server's HTML; no page scrolls sideways; the export form downloads a CSV without any script of
// ours; nothing complains on the console (no hydration mismatch). Screenshots go to artifacts/screenshots/.
import { existsSync } from "node:fs";
import { mkdir, readFile } from "node:fs/promises";
import path from "node:path";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAppServer, type AppServer } from "../setup/app-server";
import { useUnreachableChain } from "../setup/chain";
import { pgliteTarget, type TestDatabase } from "../setup/databases";
import { createTestOrganization, signedInOperator, type SignedInOperator } from "../setup/operators";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const SHOTS = path.resolve("artifacts/screenshots");
const TIMEOUT_MS = 300_000;
delete process.env.STABLEFLOW_PUBLIC_URL;
// A chain endpoint nobody answers on: the pages say so (tests/e2e/console-treasury.test.ts has a live one).
useUnreachableChain();

describe("console reading pages in a browser", () => {
  let db: TestDatabase;
  let server: AppServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let viewer: SignedInOperator;
  const problems: string[] = [];

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`no browser at ${CHROMIUM}: install Debian's chromium or set CHROMIUM_PATH`);
    await mkdir(SHOTS, { recursive: true });
    db = await pgliteTarget.create();
    const org = await createTestOrganization(db.prisma, "Phone org");
    viewer = await signedInOperator(db.prisma, { organizationId: org.id, role: "VIEWER" });
    await db.prisma.auditLog.create({
      data: { organizationId: org.id, actorType: "SYSTEM", action: "browser.time_line", entityType: "payment", entityId: "pay_browser", createdAt: new Date("2026-07-01T22:30:05Z") },
    });
    await db.prisma.payment.create({
      data: {
        organizationId: org.id,
        dodoPaymentId: "pay_browser_export",
        status: "SUCCEEDED",
        totalAmountMinor: 2500n,
        currency: "EUR",
        lastEventAt: new Date(),
        createdAt: new Date(Date.now() - 3_600_000),
      },
    });
    server = await startAppServer(db);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
    });
    context = await browser.newContext({ viewport: { width: 390, height: 844 }, timezoneId: "Asia/Tokyo", acceptDownloads: true });
    // The signed-in operator's cookies, as the browser would hold them after signing in.
    await context.addCookies(
      viewer.cookie.split("; ").map((pair) => {
        const [name, value] = pair.split("=");
        return { name: name!, value: value!, url: server.url, httpOnly: true, sameSite: "Lax" as const };
      }),
    );
    page = await context.newPage();
    page.on("console", (message) => {
      // A failed load is recorded with its URL by the response listener below.
      if ((message.type() === "error" || message.type() === "warning") && !message.text().startsWith("Failed to load resource")) problems.push(message.text());
    });
    page.on("response", (response) => {
      // The favicon is the customer pages' issue (#13 part 4), not these pages'.
      if (response.status() >= 400 && new URL(response.url()).pathname !== "/favicon.ico") problems.push(`${response.status()} ${response.url()}`);
    });
    page.on("pageerror", (error) => problems.push(error.message));
  }, TIMEOUT_MS);
  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await server?.close();
    await db?.destroy();
  });

  it(
    "times: UTC from the server on the first view, Tokyo after hydration, and Tokyo from the server once the cookie is set",
    async () => {
      const url = `${server.url}/console/audit?action=browser.time_line`;
      const first = await page.goto(url);
      expect(await first!.text()).toContain("2026-07-01 22:30:05 UTC");
      const time = page.locator('time[datetime="2026-07-01T22:30:05.000Z"]');
      await expect.poll(() => time.textContent(), { timeout: 30_000 }).toBe("2026-07-02 07:30:05 GMT+9");
      const cookies = await context.cookies(server.url);
      expect(cookies.find((c) => c.name === "stableflow_tz")?.value).toBe(encodeURIComponent("Asia/Tokyo"));
      const second = await page.goto(url);
      expect(await second!.text()).toContain("2026-07-02 07:30:05 GMT+9");
      expect(await page.textContent("main")).toContain("Days are read in Asia/Tokyo");
    },
    TIMEOUT_MS,
  );

  it(
    "no page scrolls sideways at 390 px; the overview says the chain could not be read",
    async () => {
      for (const [name, pathname] of [
        ["overview", "/console"],
        ["treasury", "/console/treasury"],
        ["audit", "/console/audit"],
        ["exports", "/console/exports"],
        ["api", "/console/api"],
        ["api-keys", "/console/api-keys"],
        ["team", "/console/team"],
      ] as const) {
        await page.goto(`${server.url}${pathname}`);
        await page.locator("h1").waitFor();
        await page.screenshot({ path: path.join(SHOTS, `console-${name}-390.png`), fullPage: true });
        const width = await page.evaluate(() => document.documentElement.scrollWidth);
        if (width > 390) {
          // What sticks out, outermost first, for the failure message.
          const wide = await page.evaluate(() =>
            [...document.querySelectorAll("body *")]
              .filter((el) => el.getBoundingClientRect().right > 391 && (el.parentElement?.getBoundingClientRect().right ?? 0) <= 391)
              .map((el) => `${el.tagName}.${el.className} ${Math.round(el.getBoundingClientRect().right)}: ${(el.textContent ?? "").slice(0, 60)}`),
          );
          expect.fail(`${pathname} is ${width} px wide: ${wide.join(" | ")}`);
        }
      }
      await page.goto(`${server.url}/console`);
      expect(await page.textContent("main")).toContain("could not be read");
      expect(await page.locator("svg.chart").getAttribute("role")).toBe("img");
      expect(problems).toEqual([]);
    },
    TIMEOUT_MS,
  );

  it(
    "the export form downloads the payments of the chosen days (Tokyo days) as CSV",
    async () => {
      await page.goto(`${server.url}/console/exports`);
      const twoDaysAgo = new Date(Date.now() - 2 * 86_400_000).toISOString().slice(0, 10);
      await page.getByLabel("From").fill(twoDaysAgo);
      const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Download payments (CSV)" }).click()]);
      expect(download.suggestedFilename()).toBe(`stableflow-payments-${twoDaysAgo}-to-${await page.getByLabel("To (included)").inputValue()}.csv`);
      const text = await readFile((await download.path())!, "utf8");
      expect(text.split("\r\n")[0]).toMatch(/^payment_id,dodo_payment_id,created_at_utc,/);
      expect(text).toContain("pay_browser_export");
      expect(text).toContain(",EUR,25.00,");
      expect(problems, problems.join("\n")).toEqual([]);
    },
    TIMEOUT_MS,
  );
});
