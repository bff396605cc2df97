// The customer pages tried as a new user would, on the served production build with the checkout simulator:
// navigation and a title on every page, the test-mode banner, real 404 and 403 pages, the favicon and what the
// log says about a miss, field-specific checkout errors, request body limits, pages that agree with the
// payment's state, a simulator that offers only what the state allows, and one identifier scheme for payments.
import http from "node:http";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { ensureDefaultOrganization } from "~/models/organizations.server";
import { CHECKOUT_BODY_LIMIT_BYTES, DEFAULT_BODY_LIMIT_BYTES } from "~/utils/body-limits.server";
import { CHECKOUT_FIELD_MESSAGES } from "~/utils/checkout-fields";
import { shortId } from "~/utils/identifiers";
import { databaseTargets } from "../setup/databases";
import { useServedApp } from "../setup/app-server";
import { postForm, signedInOperator, type SignedInOperator } from "../setup/operators";
import { chooseOutcome, csrfOf, firstProductId, formBody, startSimulatedCheckout } from "../setup/simulated-checkout";

delete process.env.DODO_PAYMENTS_API_KEY;
delete process.env.DODO_PAYMENTS_WEBHOOK_KEY;
delete process.env.DODO_PAYMENTS_BASE_URL;
delete process.env.SOLANA_RPC_URL;
const dataDir = await mkdtemp(path.join(os.tmpdir(), "stableflow-customer-"));
process.env.STABLEFLOW_DATA_DIR = dataDir;

const titleOf = (html: string) => /<title>([^<]*)<\/title>/.exec(html)?.[1] ?? "";
const hasSiteNav = (html: string) => html.includes('aria-label="Site"') && html.includes('href="/shop"') && html.includes('href="/verify"');

/** Everything the in-process server writes to stdout and stderr while `run` runs, at LOG_LEVEL=info. */
async function logLinesDuring(run: () => Promise<void>): Promise<{ level: string; msg: string; [key: string]: unknown }[]> {
  const saved = process.env.LOG_LEVEL;
  process.env.LOG_LEVEL = "info";
  const written: string[] = [];
  const capture = (chunk: string | Uint8Array) => {
    written.push(String(chunk));
    return true;
  };
  const out = vi.spyOn(process.stdout, "write").mockImplementation(capture);
  const err = vi.spyOn(process.stderr, "write").mockImplementation(capture);
  try {
    await run();
  } finally {
    out.mockRestore();
    err.mockRestore();
    if (saved === undefined) delete process.env.LOG_LEVEL;
    else process.env.LOG_LEVEL = saved;
  }
  return written
    .join("")
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line));
}

/** A POST whose body goes out chunked, without a Content-Length (fetch always sends one for a string body). */
function postChunked(url: string, chunks: string[]): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" } }, (response) => {
      let body = "";
      response.setEncoding("utf8");
      response.on("data", (chunk) => (body += chunk));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
    });
    request.on("error", reject);
    for (const chunk of chunks) request.write(chunk);
    request.end();
  });
}

describe.each(databaseTargets())("customer pages on $name", (target) => {
  const app = useServedApp(target);
  let viewer: SignedInOperator;
  let viewerCookie: string;
  beforeAll(async () => {
    const organization = await ensureDefaultOrganization(app.db.prisma);
    viewer = await signedInOperator(app.db.prisma, { organizationId: organization.id, role: "VIEWER" });
    viewerCookie = viewer.cookie;
  });

  it("every customer page has a title, the site's navigation and the test-mode banner", async () => {
    const checkoutPage = await startSimulatedCheckout(app.server.url);
    for (const page of ["/", "/shop", "/verify", "/explorer", "/login", "/simulator", checkoutPage, "/nope"]) {
      const response = await fetch(new URL(page, app.server.url));
      const html = await response.text();
      expect(titleOf(html), page).toMatch(/\S/);
      expect(hasSiteNav(html), page).toBe(true);
      expect(html, page).toContain('data-testid="test-mode-banner"');
      expect(html, page).toContain("checkout simulator");
      expect(html, page).toContain("embedded Solana chain");
    }
  });

  it("the console shows the test-mode banner in its own frame (no customer navigation)", async () => {
    const html = await (await fetch(`${app.server.url}/console`, { headers: { cookie: viewerCookie } })).text();
    expect(html).toContain('data-testid="test-mode-banner"');
    expect(html).toContain('aria-label="Console"');
    expect(html).not.toContain('aria-label="Site"');
    expect(titleOf(html)).toMatch(/\S/);
  });

  it("error: an unknown address answers a real 404 page that says what to do, for GET and POST", async () => {
    const response = await fetch(`${app.server.url}/nope`);
    expect(response.status).toBe(404);
    const html = await response.text();
    expect(titleOf(html)).toBe("Page not found · StableFlow");
    expect(html).toContain("There is nothing at /nope");
    expect(html).toContain('href="/shop"');
    expect(html).not.toContain("No route matches");
    const posted = await fetch(`${app.server.url}/nope/deeper`, { method: "POST", body: formBody({ a: "b" }) });
    expect(posted.status).toBe(404);
    expect(await posted.text()).not.toContain("No route matches");
  });

  it("error: a viewer who tries an admin's action gets a 403 page that says what to do, and nothing changes", async () => {
    const before = await app.db.prisma.operatorInvitation.count();
    const response = await postForm(
      app.server.url,
      "/console/team",
      { intent: "invite", email: "new@example.com", role: "OPERATOR", csrf: viewer.csrf },
      { cookie: viewer.cookie },
    );
    expect(response.status).toBe(403);
    const html = await response.text();
    expect(html).toContain("Not allowed");
    expect(html).toContain("Ask an admin");
    expect(titleOf(html)).toMatch(/\S/);
    expect(await app.db.prisma.operatorInvitation.count()).toBe(before);
  });

  it("a favicon is served, and a page view with it logs nothing at error level", async () => {
    const home = await (await fetch(`${app.server.url}/`)).text();
    expect(home).toContain('rel="icon"');
    const lines = await logLinesDuring(async () => {
      const ico = await fetch(`${app.server.url}/favicon.ico`);
      expect(ico.status).toBe(200);
      expect(ico.headers.get("content-type")).toContain("image/");
      expect((await ico.arrayBuffer()).byteLength).toBeGreaterThan(0);
      const svg = await fetch(`${app.server.url}/favicon.svg`);
      expect(svg.status).toBe(200);
      await svg.arrayBuffer();
      await (await fetch(`${app.server.url}/shop`)).text();
      expect((await fetch(`${app.server.url}/nope`)).status).toBe(404);
    });
    expect(JSON.stringify(lines)).not.toContain("[object Object]");
    expect(lines.filter((line) => line.level === "error")).toEqual([]);
  });

  it("the server's error log says what failed, whatever was thrown (the build's handleError)", async () => {
    const { handleError } = (await import(pathToFileURL(path.resolve("build/server/index.js")).href)).entry.module as {
      handleError: (error: unknown, args: { request: Request }) => void;
    };
    const request = new Request(`${app.server.url}/somewhere`);
    const lines = await logLinesDuring(async () => {
      handleError(new TypeError("cannot read the thing", { cause: new Error("disk full") }), { request });
      handleError({ code: "E_WEIRD", detail: 42 }, { request });
      // What Remix hands over for an address nobody serves: an ErrorResponse, not an Error.
      handleError({ status: 404, statusText: "Not Found", internal: true, data: 'Error: No route matches URL "/somewhere"' }, { request });
    });
    expect(JSON.stringify(lines)).not.toContain("[object Object]");
    expect(lines[0]).toMatchObject({ level: "error", path: "/somewhere", error: "TypeError: cannot read the thing (cause: disk full)" });
    expect(lines[1]).toMatchObject({ level: "error", error: '{"code":"E_WEIRD","detail":42}' });
    expect(lines[2]).toMatchObject({ level: "info", msg: "page not found", path: "/somewhere", status: 404 });
  });

  it("error: a form post with quantity 1000000 comes back to the shop naming the quantity and its limit", async () => {
    const productId = await firstProductId(app.server.url);
    const response = await fetch(`${app.server.url}/api/checkout`, {
      method: "POST",
      body: formBody({ org: "default", productId, customerName: "Ada", customerEmail: "ada@example.com", quantity: "1000000" }),
      redirect: "manual",
    });
    expect(response.status).toBe(303);
    const shop = await (await fetch(new URL(response.headers.get("location")!, app.server.url))).text();
    expect(shop).toContain(CHECKOUT_FIELD_MESSAGES.quantity);
    expect(CHECKOUT_FIELD_MESSAGES.quantity).toBe("Choose a quantity from 1 to 20.");
    expect(shop).not.toContain("check your name and email");
    expect(shop).toMatch(/name="quantity"[^>]*aria-invalid="true"/);
  });

  it("error: the shop's own form keeps what was typed and marks only the wrong field", async () => {
    const productId = await firstProductId(app.server.url);
    const before = await app.db.prisma.checkoutSession.count();
    const response = await fetch(`${app.server.url}/shop?org=default`, {
      method: "POST",
      body: formBody({ org: "default", productId, customerName: "Ada Lovelace", customerEmail: "ada@example.com", quantity: "1000000" }),
      redirect: "manual",
    });
    expect(response.status).toBe(422);
    const html = await response.text();
    expect(html).toContain(CHECKOUT_FIELD_MESSAGES.quantity);
    expect(html).toContain('value="Ada Lovelace"');
    expect(html).toMatch(/name="quantity"[^>]*aria-invalid="true"/);
    expect(html).not.toMatch(/name="customerEmail"[^>]*aria-invalid="true"/);
    expect(await app.db.prisma.checkoutSession.count()).toBe(before);
  });

  it("error: JSON callers get each wrong field with our sentence, the real limit named, never zod's words", async () => {
    const productId = await firstProductId(app.server.url);
    const post = (fields: Record<string, unknown>) =>
      fetch(`${app.server.url}/api/checkout`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ org: "default", productId, customerName: "B", customerEmail: "b@example.com", ...fields }),
      });
    const tooMany = await post({ quantity: 21 });
    expect(tooMany.status).toBe(422);
    const tooManyBody = (await tooMany.json()) as { error: string; message: string; fieldErrors: Record<string, string> };
    expect(tooManyBody.error).toBe("CHECKOUT_INVALID_INPUT");
    expect(tooManyBody.fieldErrors).toEqual({ quantity: "Choose a quantity from 1 to 20." });
    expect(tooManyBody.message).not.toContain("whole number");

    const longName = await post({ customerName: "x".repeat(201), customerEmail: "not-an-address" });
    expect(longName.status).toBe(422);
    const longBody = (await longName.json()) as { message: string; fieldErrors: Record<string, string> };
    expect(longBody.fieldErrors.customerName).toBe("Enter your name, at most 200 characters.");
    expect(longBody.fieldErrors.customerEmail).toContain("valid email address");
    expect(longBody.message).not.toMatch(/Too big|expected string|<=/);
  });

  it("error: a 5 MB JSON body to /api/checkout is refused with a 413 and a sentence, before it is parsed", async () => {
    const before = await app.db.prisma.checkoutSession.count();
    const response = await fetch(`${app.server.url}/api/checkout`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ org: "default", customerName: "x".repeat(5 * 1024 * 1024) }),
    });
    expect(response.status).toBe(413);
    const body = (await response.json()) as { error: string; message: string };
    expect(body.error).toBe("BODY_TOO_LARGE");
    expect(body.message).toContain(`at most ${CHECKOUT_BODY_LIMIT_BYTES / 1024} KiB`);
    expect(await app.db.prisma.checkoutSession.count()).toBe(before);
  });

  it("error: every other endpoint bounds its body too: pages, chunked bodies, and the webhook", async () => {
    const login = await fetch(`${app.server.url}/login`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: `email=a%40b.c&password=${"p".repeat(DEFAULT_BODY_LIMIT_BYTES)}`,
    });
    expect(login.status).toBe(413);
    expect(await login.text()).toContain(`at most ${DEFAULT_BODY_LIMIT_BYTES / 1024} KiB`);

    const chunked = await postChunked(`${app.server.url}/login`, ["email=a", "%40b.c"]);
    expect(chunked.status).toBe(411);
    expect(chunked.body).toContain("Content-Length");

    const webhook = await fetch(`${app.server.url}/api/webhooks/dodo`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ padding: "x".repeat(1024 * 1024) }),
    });
    expect(webhook.status).toBe(413);
    expect(((await webhook.json()) as { message: string }).message).toMatch(/at most \d+ KiB/);
    expect(await app.db.prisma.webhookEvent.count({ where: { rawBody: { contains: "padding" } } })).toBe(0);
  });

  it("a declined checkout's page says nothing was charged and shows no recorded payment; the simulator offers only another card", async () => {
    const checkoutPage = await startSimulatedCheckout(app.server.url);
    const declined = await chooseOutcome(checkoutPage, "fail");
    expect(declined.status).toBe(303);
    const result = await (await fetch(new URL(declined.headers.get("location")!, app.server.url))).text();
    expect(result).toContain('data-payment-status="failed"');
    expect(result).toContain("nothing was charged");
    expect(result).toContain("Charged: nothing.");
    expect(result).not.toContain("Recorded payment");

    const page = await (await fetch(checkoutPage)).text();
    expect([...page.matchAll(/name="outcome" value="(\w+)"/g)].map((m) => m[1])).toEqual(["pay"]);
    expect(page).toContain("pay with another card");
    const cancel = await chooseOutcome(checkoutPage, "cancel");
    expect(cancel.status).toBe(409);
    expect(await cancel.text()).toContain("The card was declined");
  });

  it("error: a paid checkout offers no button, and a forged decline is refused without a payment.failed", async () => {
    const checkoutPage = await startSimulatedCheckout(app.server.url);
    const paid = await chooseOutcome(checkoutPage, "pay");
    expect(paid.status).toBe(303);
    const checkoutId = new URL(paid.headers.get("location")!, app.server.url).searchParams.get("checkout")!;
    const payment = await app.db.prisma.payment.findFirstOrThrow({ where: { checkoutSessionId: checkoutId } });
    const deliveries = () => app.db.prisma.webhookEvent.count({ where: { rawBody: { contains: payment.dodoPaymentId } } });
    const before = await deliveries();

    const page = await (await fetch(checkoutPage)).text();
    expect(page).not.toContain('name="outcome"');
    expect(page).toContain("already paid");
    // A forged post (the page has no form any more): the browser's CSRF token from another simulator page.
    const { csrf, cookie } = await csrfOf(await fetch(`${app.server.url}/simulator`));
    for (const outcome of ["fail", "cancel", "pay"] as const) {
      const refused = await fetch(checkoutPage, { method: "POST", body: formBody({ outcome, csrf }), headers: { cookie }, redirect: "manual" });
      expect(refused.status, outcome).toBe(409);
      expect(await refused.text()).toContain("This checkout is already paid");
    }
    expect(await deliveries()).toBe(before);
    expect((await app.db.prisma.payment.findUniqueOrThrow({ where: { id: payment.id } })).status).toBe("SUCCEEDED");
    expect(await app.db.prisma.webhookEvent.count({ where: { eventType: "payment.failed", rawBody: { contains: payment.dodoPaymentId } } })).toBe(0);
  });

  it("error: the simulator controls refuse a refund of a payment that took no money, with a sentence", async () => {
    const failed = await app.db.prisma.payment.findFirstOrThrow({ where: { status: "FAILED" } });
    const controls = await csrfOf(await fetch(`${app.server.url}/simulator`));
    const row = new RegExp(`<tr[^>]*>(?:(?!</tr>).)*${failed.dodoPaymentId}(?:(?!</tr>).)*</tr>`, "s").exec(controls.html)?.[0] ?? "";
    expect(row).toContain("nothing to send");
    expect(row).not.toContain('value="refund"');
    const response = await fetch(`${app.server.url}/simulator?index`, {
      method: "POST",
      body: formBody({ intent: "refund", paymentId: failed.dodoPaymentId, csrf: controls.csrf }),
      headers: { cookie: controls.cookie },
    });
    expect(response.status).toBe(409);
    expect(await response.text()).toContain("only a succeeded payment can be refunded");
    expect(await app.db.prisma.refund.count({ where: { paymentId: failed.id } })).toBe(0);
  });

  it("a payment is named the same way in the ledger's payments and its audit trail: Dodo's id with our short id", async () => {
    const payment = await app.db.prisma.payment.findFirstOrThrow({ where: { status: "SUCCEEDED" } });
    const label = `${payment.dodoPaymentId} · #${shortId(payment.id)}`;
    const html = await (await fetch(`${app.server.url}/ledger`, { headers: { cookie: viewerCookie } })).text();
    const row = new RegExp(`<tr data-payment="${payment.dodoPaymentId}">(.*?)</tr>`, "s").exec(html)?.[1] ?? "";
    expect(row).toContain(label);
    const audited = await app.db.prisma.auditLog.count({ where: { entityType: "payment", entityId: payment.id } });
    expect(audited).toBeGreaterThan(0);
    const auditSection = html.slice(html.indexOf("Audit trail"));
    expect(auditSection).toContain(`payment ${label}`);
    expect(auditSection).not.toContain(`payment ${payment.id.slice(0, 18)}`);

    // The console's audit page names it the same way, and finds its lines by the Dodo id an operator has.
    const audit = await (
      await fetch(`${app.server.url}/console/audit?subject=${encodeURIComponent(`payment ${payment.dodoPaymentId}`)}`, { headers: { cookie: viewerCookie } })
    ).text();
    const lines = [...audit.matchAll(/<tr data-audit-id="\d+">(.*?)<\/tr>/gs)].map((m) => m[1]!);
    expect(lines.length).toBe(audited);
    for (const line of lines) expect(line).toContain(`payment ${label}`);
  });
});

afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});
