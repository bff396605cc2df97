// The real server in development (simulator mode, no STABLEFLOW_PUBLIC_URL): security headers on every kind
// of response, a CSP nonce on every inline script, the simulator's money-moving posts refused without their
// CSRF token, cookies with the right flags, and the Host header never choosing where links point.
import http from "node:http";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { pgliteTarget } from "../setup/databases";
import { useServedApp } from "../setup/app-server";

delete process.env.DODO_PAYMENTS_API_KEY;
delete process.env.DODO_PAYMENTS_WEBHOOK_KEY;
delete process.env.DODO_PAYMENTS_BASE_URL;
delete process.env.STABLEFLOW_PUBLIC_URL;
const dataDir = await mkdtemp(path.join(os.tmpdir(), "stableflow-headers-"));
process.env.STABLEFLOW_DATA_DIR = dataDir;
afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

function expectSecurityHeaders(headers: Headers, what: string): void {
  const csp = headers.get("content-security-policy");
  expect(csp, what).toBeTruthy();
  expect(csp, what).toContain("frame-ancestors 'none'");
  expect(csp, what).toMatch(/script-src 'self' 'nonce-[A-Za-z0-9+/=]{16,}'/);
  expect(csp, what).not.toContain("unsafe-inline");
  expect(csp, what).not.toContain("unsafe-eval");
  expect(headers.get("x-content-type-options"), what).toBe("nosniff");
  expect(headers.get("referrer-policy"), what).toBe("same-origin");
  expect(headers.get("x-frame-options"), what).toBe("DENY");
  // Plain http here: no HSTS (it would pin a site to https that does not serve it).
  expect(headers.get("strict-transport-security"), what).toBeNull();
}

function form(fields: Record<string, string>): URLSearchParams {
  return new URLSearchParams(fields);
}

describe("security headers, CSRF and cookies on the real server (development)", () => {
  const app = useServedApp(pgliteTarget);

  async function buy(): Promise<string> {
    const shop = await (await fetch(`${app.server.url}/shop`)).text();
    const productId = /name="productId" value="([0-9a-f-]{36})"/.exec(shop)![1]!;
    const response = await fetch(`${app.server.url}/api/checkout`, {
      method: "POST",
      body: form({ org: "default", productId, customerName: "Csrf", customerEmail: "csrf@example.com", quantity: "1" }),
      redirect: "manual",
    });
    expect(response.status).toBe(303);
    return response.headers.get("location")!;
  }

  /** The simulator page's token and the cookie that goes with it. */
  async function tokenFrom(pageUrl: string): Promise<{ token: string; cookie: string; setCookie: string }> {
    const response = await fetch(pageUrl);
    expect(response.status).toBe(200);
    const html = await response.text();
    const token = /name="csrf" value="([A-Za-z0-9_-]{43})"/.exec(html)?.[1];
    expect(token).toBeDefined();
    const setCookie = response.headers.getSetCookie().find((c) => c.startsWith("stableflow_csrf="));
    expect(setCookie).toBeDefined();
    return { token: token!, cookie: setCookie!.split(";")[0]!, setCookie: setCookie! };
  }

  it("every kind of response carries the security headers: pages, resource routes, assets, 404s, the webhook", async () => {
    const home = await fetch(`${app.server.url}/`);
    const html = await home.text();
    expectSecurityHeaders(home.headers, "/");
    const asset = /href="(\/assets\/[^"]+\.css)"/.exec(html)![1]!;
    for (const target of ["/shop", "/ledger", "/healthz", asset, "/no/such/page", "/simulator"]) {
      const response = await fetch(`${app.server.url}${target}`);
      await response.body?.cancel();
      // (/healthz answers 503 while a part it reports on is down: its headers are what counts here.)
      if (target !== "/healthz") expect(response.status, target).toBe(target === "/no/such/page" ? 404 : 200);
      expectSecurityHeaders(response.headers, target);
    }
    const webhook = await fetch(`${app.server.url}/api/webhooks/dodo`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    expect(webhook.status).toBe(401);
    expectSecurityHeaders(webhook.headers, "webhook");
  });

  it("every inline script of a page carries its response's nonce, and each response has its own", async () => {
    const nonces: string[] = [];
    for (const target of ["/", "/shop", "/ledger", "/simulator"]) {
      const response = await fetch(`${app.server.url}${target}`);
      const nonce = /'nonce-([^']+)'/.exec(response.headers.get("content-security-policy")!)![1]!;
      nonces.push(nonce);
      const html = await response.text();
      const scripts = [...html.matchAll(/<script\b([^>]*)>/g)].map((m) => m[1]!);
      expect(scripts.length, target).toBeGreaterThan(0);
      for (const attributes of scripts) {
        // An external module script is covered by 'self'; anything inline must carry the nonce.
        if (/\bsrc=/.test(attributes)) continue;
        expect(attributes, `${target}: <script${attributes}>`).toContain(`nonce="${nonce}"`);
      }
      expect(html).not.toMatch(/\sstyle="/);
    }
    expect(new Set(nonces).size).toBe(nonces.length);
  });

  it("the CSRF cookie is HttpOnly, SameSite=Strict, Path=/ (not Secure over plain http), and reused once set", async () => {
    const checkoutPage = await buy();
    const { cookie, setCookie } = await tokenFrom(checkoutPage);
    const flags = setCookie.split(";").map((f) => f.trim());
    expect(flags).toEqual(expect.arrayContaining(["Path=/", "HttpOnly", "SameSite=Strict"]));
    expect(flags).not.toContain("Secure");
    const again = await fetch(checkoutPage, { headers: { cookie } });
    expect(again.headers.getSetCookie()).toEqual([]);
    expect(await again.text()).toContain(`value="${cookie.split("=")[1]}"`);
  });

  it("error: the simulator's pay, refund and dispute posts are refused without the page's token; nothing is delivered", async () => {
    const checkoutPage = await buy();
    const { token, cookie } = await tokenFrom(checkoutPage);
    const before = await app.db.prisma.webhookEvent.count();
    const attempts: [string, RequestInit][] = [
      ["no cookie, no token", { body: form({ outcome: "pay" }) }],
      ["token without its cookie", { body: form({ outcome: "pay", csrf: token }) }],
      ["cookie without the token", { body: form({ outcome: "pay" }), headers: { cookie } }],
      ["another token", { body: form({ outcome: "pay", csrf: "A".repeat(43) }), headers: { cookie } }],
      ["a cross-site origin", { body: form({ outcome: "pay", csrf: token }), headers: { cookie, origin: "http://evil.example" } }],
      ["a cross-site fetch", { body: form({ outcome: "pay", csrf: token }), headers: { cookie, "sec-fetch-site": "cross-site" } }],
    ];
    for (const [what, init] of attempts) {
      const response = await fetch(checkoutPage, { method: "POST", redirect: "manual", ...init });
      if (what === "a cross-site origin") {
        // Remix itself aborts an action whose Origin differs from its Host (a 500) before our check (403) runs.
        expect([403, 500], what).toContain(response.status);
      } else {
        expect(response.status, what).toBe(403);
      }
      await response.body?.cancel();
    }
    const payment = await app.db.prisma.payment.findFirst({ where: { status: "SUCCEEDED" } });
    for (const intent of ["refund", "dispute-opened"]) {
      const response = await fetch(`${app.server.url}/simulator?index`, {
        method: "POST",
        body: form({ intent, paymentId: payment?.dodoPaymentId ?? "pay_none" }),
      });
      expect(response.status, intent).toBe(403);
      await response.body?.cancel();
    }
    expect(await app.db.prisma.webhookEvent.count()).toBe(before);

    // With the page's token and its cookie, from the same origin, the same post pays.
    const paid = await fetch(checkoutPage, {
      method: "POST",
      body: form({ outcome: "pay", csrf: token }),
      headers: { cookie, origin: app.server.url },
      redirect: "manual",
    });
    expect(paid.status).toBe(303);
    expect(await app.db.prisma.webhookEvent.count()).toBe(before + 2);
  });

  it("error: Host: evil.example on /api/checkout sends the browser to this server's own address, not that host", async () => {
    const shop = await (await fetch(`${app.server.url}/shop`)).text();
    const productId = /name="productId" value="([0-9a-f-]{36})"/.exec(shop)![1]!;
    const body = form({ org: "default", productId, customerName: "Eve", customerEmail: "eve@example.com", quantity: "1" }).toString();
    const location = await new Promise<string>((resolve, reject) => {
      const request = http.request(
        `${app.server.url}/api/checkout`,
        { method: "POST", headers: { host: "evil.example", "x-forwarded-host": "evil.example", "content-type": "application/x-www-form-urlencoded" } },
        (response) => {
          response.resume();
          resolve(response.headers.location ?? "");
        },
      );
      request.on("error", reject);
      request.end(body);
    });
    expect(new URL(location).origin).toBe(app.server.url);
  });

  it("the simulator's webhook secret is kept 0600 in a 0700 data directory", async () => {
    const { stat } = await import("node:fs/promises");
    expect(await readdir(dataDir)).toContain("dodo-simulator-webhook-secret");
    expect((await stat(dataDir)).mode & 0o777).toBe(0o700);
    expect((await stat(path.join(dataDir, "dodo-simulator-webhook-secret"))).mode & 0o777).toBe(0o600);
  });
});
