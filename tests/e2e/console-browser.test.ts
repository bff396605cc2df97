// Operator access as people use it, in a real browser (Debian's Chromium driven by playwright-core): the
// one-time setup link -> the first admin -> sign out and in -> invite an operator, who joins and signs in
// -> invite a viewer, who sees the team but can change no role (not even with a hand-made request).
// Screenshots of each step go to artifacts/screenshots/ (ignored by git).
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { issueSetupTokenIfNoOperator } from "~/models/operators.server";
import { pgliteTarget, type TestDatabase } from "../setup/databases";
import { startAppServer, type AppServer } from "../setup/app-server";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const SHOTS = path.resolve("artifacts/screenshots");
const adminPassword = "the first admin's long password";
// Three browser profiles and a dozen page loads: generous on a loaded 2-core machine.
const BROWSER_TEST_TIMEOUT_MS = 300_000;
delete process.env.STABLEFLOW_PUBLIC_URL;

describe("operator access in a browser", () => {
  let db: TestDatabase;
  let server: AppServer;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  const problems: string[] = [];

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`no browser at ${CHROMIUM}: install Debian's chromium (apt-get install chromium; npm test does it as root) or set CHROMIUM_PATH`);
    }
    await mkdir(SHOTS, { recursive: true });
    db = await pgliteTarget.create();
    server = await startAppServer(db);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
    });
  });
  afterAll(async () => {
    for (const context of contexts) await context.close();
    await browser?.close();
    await server?.close();
    await db?.destroy();
  });

  /** A browser profile of its own (one person), that records what the page complains about (CSP, errors). */
  async function person(): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1100, height: 800 } });
    contexts.push(context);
    const page = await context.newPage();
    page.on("console", (message) => {
      if (message.type() === "error") problems.push(message.text());
    });
    page.on("pageerror", (error) => problems.push(error.message));
    return page;
  }

  const shot = (page: Page, name: string) => page.screenshot({ path: path.join(SHOTS, `console-${name}.png`), fullPage: true });

  async function signIn(page: Page, email: string, password: string) {
    await page.goto(`${server.url}/login`);
    await page.getByLabel("E-mail address").fill(email);
    await page.getByLabel("Password").fill(password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(`${server.url}/console`);
  }

  async function invite(page: Page, email: string, role: "OPERATOR" | "VIEWER"): Promise<string> {
    await page.goto(`${server.url}/console/team`);
    const form = page.locator("form", { has: page.getByRole("button", { name: "Create invitation link" }) });
    await form.getByLabel("E-mail address").fill(email);
    await form.getByLabel("Role").selectOption(role);
    await page.getByRole("button", { name: "Create invitation link" }).click();
    const link = page.getByLabel("Invitation link");
    await link.waitFor();
    const url = await link.inputValue();
    expect(url).toMatch(new RegExp(`^${server.url}/invite/[A-Za-z0-9_-]{43}$`));
    return url;
  }

  async function join(page: Page, url: string, name: string, password: string) {
    await page.goto(url);
    await page.getByLabel("Your name").fill(name);
    await page.getByLabel("Password", { exact: true }).fill(password);
    await page.getByLabel("Repeat the password").fill(password);
    await page.getByRole("button", { name: "Join and sign in" }).click();
    await page.waitForURL(`${server.url}/console`);
  }

  it("setup link -> first admin -> invitations -> the operator signs in -> a viewer cannot change roles", async () => {
    const token = await issueSetupTokenIfNoOperator(db.prisma);
    expect(token).not.toBeNull();

    // The setup page, reached by keyboard alone: the first Tab lands on its first field.
    const admin = await person();
    await admin.goto(`${server.url}/setup/${token}`);
    await expect(admin.locator("h1").textContent()).resolves.toBe("Set up StableFlow");
    await admin.keyboard.press("Tab");
    await expect(admin.evaluate(() => document.activeElement?.getAttribute("name"))).resolves.toBe("organizationName");

    // A too-short password: the schema's sentence beside the field, the field marked invalid.
    await admin.getByLabel("Organization name").fill("Acme Payouts");
    await admin.getByLabel("Your name").fill("Ada Admin");
    await admin.getByLabel("E-mail address").fill("ada@acme.test");
    await admin.getByLabel("Password", { exact: true }).fill("short");
    await admin.getByLabel("Repeat the password").fill("short");
    await admin.getByRole("button", { name: "Create the admin and sign in" }).click();
    await expect(admin.locator("#field-password-error").textContent()).resolves.toBe("Use at least 12 characters.");
    await expect(admin.getByLabel("Password", { exact: true }).getAttribute("aria-invalid")).resolves.toBe("true");
    await shot(admin, "01-setup-field-error");

    await admin.getByLabel("Password", { exact: true }).fill(adminPassword);
    await admin.getByLabel("Repeat the password").fill(adminPassword);
    await admin.getByRole("button", { name: "Create the admin and sign in" }).click();
    await admin.waitForURL(`${server.url}/console`);
    // With JavaScript the URL changes before the new page renders: wait for its heading, then read it.
    await admin.locator("h1", { hasText: "Acme Payouts" }).waitFor();
    await expect(admin.locator("h1").textContent()).resolves.toBe("Acme Payouts");
    await shot(admin, "02-overview-after-setup");

    // The link is spent.
    const again = await admin.context().newPage();
    const spent = await again.goto(`${server.url}/setup/${token}`);
    expect(spent?.status()).toBe(404);
    await again.close();

    // Sign out, sign back in (a new session each time).
    await admin.getByRole("button", { name: "Sign out" }).click();
    await admin.waitForURL(/\/login$/);
    await shot(admin, "03-login");
    await signIn(admin, "ada@acme.test", adminPassword);

    // Invite an operator, who joins in their own browser and then signs in again by password.
    const operatorLink = await invite(admin, "otto@acme.test", "OPERATOR");
    await shot(admin, "04-team-invitation-link");
    const operator = await person();
    await join(operator, operatorLink, "Otto Operator", "otto's long enough password");
    await operator.getByRole("button", { name: "Sign out" }).click();
    await operator.waitForURL(/\/login$/);
    await signIn(operator, "otto@acme.test", "otto's long enough password");
    await expect(operator.locator(".console-who").textContent()).resolves.toContain("Otto Operator (operator)");
    await shot(operator, "05-operator-signed-in");

    // Invite a viewer: the team page shows them the team and no control to change it.
    const viewerLink = await invite(admin, "vera@acme.test", "VIEWER");
    const viewer = await person();
    await join(viewer, viewerLink, "Vera Viewer", "vera's long enough password");
    await viewer.goto(`${server.url}/console/team`);
    await expect(viewer.locator(`tr[data-operator="otto@acme.test"]`).textContent()).resolves.toContain("operator");
    expect(await viewer.getByRole("button", { name: "Change role" }).count()).toBe(0);
    expect(await viewer.getByRole("button", { name: "Create invitation link" }).count()).toBe(0);
    await expect(viewer.getByRole("status").first().textContent()).resolves.toContain("only admins change it");
    await shot(viewer, "06-viewer-team");

    // Even a request made by hand from the viewer's own page (their cookies, their CSRF token) is refused.
    const otto = await db.prisma.operator.findFirstOrThrow({ where: { email: "otto@acme.test" } });
    const forged = await viewer.evaluate(async (operatorId) => {
      const csrf = (document.querySelector('input[name="csrf"]') as HTMLInputElement).value;
      const response = await fetch("/console/team", {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ intent: "change-role", operatorId, role: "ADMIN", csrf }),
      });
      return { status: response.status, text: await response.text() };
    }, otto.id);
    expect(forged.status).toBe(403);
    expect(forged.text).toContain("You are signed in as a viewer of Acme Payouts. Only admins can do this.");
    expect((await db.prisma.operator.findUniqueOrThrow({ where: { id: otto.id } })).role).toBe("OPERATOR");

    // The admin does change it, from the page.
    await admin.goto(`${server.url}/console/team`);
    await admin.getByLabel("Role of otto@acme.test").selectOption("VIEWER");
    await admin.locator(`tr[data-operator="otto@acme.test"]`).getByRole("button", { name: "Change role" }).click();
    await admin.getByText("Role changed.").waitFor();
    expect((await db.prisma.operator.findUniqueOrThrow({ where: { id: otto.id } })).role).toBe("VIEWER");
    await shot(admin, "07-admin-changed-role");

    // Nothing on any page broke the CSP or threw.
    expect(problems.filter((p) => !/Failed to load resource: the server responded with a status of 40[0134]/.test(p))).toEqual([]);
   }, BROWSER_TEST_TIMEOUT_MS);

  it("works without JavaScript: sign in, read the overview and the team, log out everywhere (plain form posts)", async () => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    contexts.push(context);
    const page = await context.newPage();
    await signIn(page, "ada@acme.test", adminPassword);
    await expect(page.locator("h1").textContent()).resolves.toBe("Acme Payouts");
    await expect(page.locator("#runs-heading").textContent()).resolves.toBe("Payout runs by state");
    await page.goto(`${server.url}/console/team`);
    await expect(page.locator(`tr[data-operator="vera@acme.test"]`).textContent()).resolves.toContain("viewer");
    const admin = await db.prisma.operator.findFirstOrThrow({ where: { email: "ada@acme.test" } });
    expect(await db.prisma.operatorSession.count({ where: { operatorId: admin.id, revokedAt: null } })).toBeGreaterThan(1);
    await page.getByRole("button", { name: "Log out everywhere" }).click();
    await page.waitForURL(/\/login$/);
    // Every session of the admin ended, the one in the other browser too.
    expect(await db.prisma.operatorSession.count({ where: { operatorId: admin.id, revokedAt: null } })).toBe(0);
   }, BROWSER_TEST_TIMEOUT_MS);
});
