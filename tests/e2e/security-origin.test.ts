// The real server behind a TLS proxy (STABLEFLOW_PUBLIC_URL=https://...), with a Dodo API key (the real SDK
// against the Dodo double): the configured origin, never the request's Host header, is where Dodo sends the
// payer back; links are https and HSTS is on; a webhook verifies against any of several secrets (rotation).
import http from "node:http";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { generateWebhookSecret } from "~/integrations/webhook-verification.server";
import { pgliteTarget } from "../setup/databases";
import { useServedApp } from "../setup/app-server";
import { paymentEvent, signedDelivery, startDodoDouble, type DodoDouble } from "../mocks/dodo";

const PUBLIC_URL = "https://pay.stableflow.test";
const apiKey = "sk_test_security_origin";
const [oldSecret, newSecret, strangerSecret] = [generateWebhookSecret(), generateWebhookSecret(), generateWebhookSecret()];
// Set before the app's first request: the server build parses its environment once.
process.env.DODO_PAYMENTS_API_KEY = apiKey;
// During a rotation both secrets are configured, the new one added beside the old (a comma and spaces here).
process.env.DODO_PAYMENTS_WEBHOOK_KEY = `${oldSecret}, ${newSecret}`;
process.env.DODO_PAYMENTS_ENVIRONMENT = "test_mode";
process.env.STABLEFLOW_PUBLIC_URL = PUBLIC_URL;
const double: DodoDouble = await startDodoDouble({ expectedApiKey: apiKey });
process.env.DODO_PAYMENTS_BASE_URL = double.baseURL;
afterAll(async () => {
  await double.close();
});

/** A raw HTTP request, so the Host header can be anything (fetch does not let a caller set it). */
function rawRequest(
  url: string,
  options: { method: string; headers: Record<string, string>; body?: string },
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method: options.method, headers: options.headers }, (response) => {
      let body = "";
      response.setEncoding("utf8");
      response.on("data", (chunk) => (body += chunk));
      response.on("end", () => resolve({ status: response.statusCode!, headers: response.headers, body }));
    });
    request.on("error", reject);
    request.end(options.body);
  });
}

describe("public origin and webhook secret rotation on the real server", () => {
  let productId: string;
  const app = useServedApp(pgliteTarget, async (db) => {
    const organization = await db.prisma.organization.create({ data: { slug: "default", name: "Origin shop" } });
    const product = await db.prisma.product.create({
      data: { organizationId: organization.id, dodoProductId: "pdt_origin_1", name: "Origin widget", priceMinor: 1200n, currency: "USD" },
    });
    productId = product.id;
  });
  beforeEach(() => double.reset());

  it("error: Host: evil.example on /api/checkout does not become Dodo's return_url or the redirect", async () => {
    const form = new URLSearchParams({ org: "default", productId, customerName: "Eve", customerEmail: "eve@example.com", quantity: "1" });
    const response = await rawRequest(`${app.server.url}/api/checkout`, {
      method: "POST",
      headers: {
        host: "evil.example",
        "x-forwarded-host": "evil.example",
        "x-forwarded-proto": "http",
        "content-type": "application/x-www-form-urlencoded",
      },
      body: form.toString(),
    });
    expect(response.status).toBe(303);
    expect(double.requests).toHaveLength(1);
    const returnUrl = new URL((double.requests[0]!.body as { return_url: string }).return_url);
    expect(returnUrl.origin).toBe(PUBLIC_URL);
    expect(returnUrl.pathname).toBe("/checkout/success");
    const location = new URL(response.headers.location!);
    expect(location.origin).toBe(PUBLIC_URL);
    expect(JSON.stringify(double.requests[0]!.body)).not.toContain("evil.example");
  });

  it("behind TLS (an https public URL) every response says Strict-Transport-Security", async () => {
    for (const target of ["/", "/shop", "/healthz", "/no/such/page"]) {
      const response = await fetch(`${app.server.url}${target}`);
      await response.body?.cancel();
      expect(response.headers.get("strict-transport-security"), target).toMatch(/^max-age=\d{7,}; includeSubDomains$/);
    }
    const webhook = await fetch(`${app.server.url}/api/webhooks/dodo`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    expect(webhook.status).toBe(401);
    expect(webhook.headers.get("strict-transport-security")).toMatch(/^max-age=/);
  });

  it("a delivery signed with either configured secret is recorded; one signed with another secret is refused", async () => {
    for (const [secret, expected] of [[oldSecret, 200], [newSecret, 200], [strangerSecret, 401]] as const) {
      const paymentId = `pay_rotation_${expected}_${Math.random().toString(36).slice(2, 8)}`;
      const delivery = signedDelivery(secret, paymentEvent({ paymentId, status: "succeeded", totalAmount: 1_200n }));
      const response = await fetch(`${app.server.url}/api/webhooks/dodo`, { method: "POST", headers: delivery.headers, body: delivery.body });
      expect(response.status).toBe(expected);
      const recorded = await app.db.prisma.webhookEvent.count({ where: { webhookId: delivery.webhookId } });
      expect(recorded).toBe(expected === 200 ? 1 : 0);
    }
  });
});
