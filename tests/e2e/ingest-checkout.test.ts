// Checkout end to end on the running server, with a Dodo API key: the real SDK talks to the Dodo double,
// the customer is redirected to the hosted page, Dodo's signed webhook lands, the success page reads the ledger.
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { generateWebhookSecret } from "~/integrations/webhook-verification.server";
import { databaseTargets } from "../setup/databases";
import { useServedApp } from "../setup/app-server";
import { paymentEvent, signedDelivery, startDodoDouble, type DodoDouble } from "../mocks/dodo";

const apiKey = "sk_test_e2e_checkout_key";
const secret = generateWebhookSecret();
// Set before the app's first request: the server build parses its environment once.
process.env.DODO_PAYMENTS_API_KEY = apiKey;
process.env.DODO_PAYMENTS_WEBHOOK_KEY = secret;
process.env.DODO_PAYMENTS_ENVIRONMENT = "test_mode";

// One double for the whole file: the server build reads DODO_PAYMENTS_BASE_URL once per process.
const double: DodoDouble = await startDodoDouble({ expectedApiKey: apiKey });
process.env.DODO_PAYMENTS_BASE_URL = double.baseURL;
afterAll(async () => {
  await double.close();
});

describe.each(databaseTargets())("checkout through the SDK and the Dodo double on $name", (target) => {
  let productId: string;
  const app = useServedApp(target, async (db) => {
    const organization = await db.prisma.organization.create({ data: { slug: "default", name: "Demo shop" } });
    const product = await db.prisma.product.create({
      data: { organizationId: organization.id, dodoProductId: "pdt_e2e_1", name: "E2E widget", priceMinor: 2500n, currency: "USD" },
    });
    productId = product.id;
  });
  beforeEach(() => double.reset());

  function buy(fields: Record<string, string>) {
    return fetch(`${app.server.url}/api/checkout`, {
      method: "POST",
      body: new URLSearchParams({ org: "default", productId, customerName: "Ada", customerEmail: "ada@example.com", quantity: "2", ...fields }),
      redirect: "manual",
    });
  }

  it("the shop lists the product and does not claim the simulator is in use", async () => {
    const html = await (await fetch(`${app.server.url}/shop`)).text();
    expect(html).toContain("E2E widget");
    expect(html).toContain("25.00 USD");
    expect(html).not.toContain("Checkout simulator in use");
  });

  it("buy -> Dodo session with our metadata -> redirect; signed webhook -> success page shows the ledger's payment", async () => {
    const response = await buy({});
    expect(response.status).toBe(303);
    const location = response.headers.get("location")!;
    expect(double.requests).toHaveLength(1);
    const request = double.requests[0]!;
    expect(request.method).toBe("POST");
    expect(request.path).toBe("/checkouts");
    expect(JSON.stringify(request)).not.toContain(apiKey);
    const body = request.body as Record<string, any>;
    expect(body.product_cart).toEqual([{ product_id: "pdt_e2e_1", quantity: 2 }]);
    expect(body.customer).toEqual({ email: "ada@example.com", name: "Ada" });
    const checkoutId = body.metadata.stableflow_checkout_id as string;
    const checkout = await app.db.prisma.checkoutSession.findUniqueOrThrow({ where: { id: checkoutId } });
    expect(body.metadata.stableflow_org).toBe(checkout.organizationId);
    expect(body.return_url).toBe(`${app.server.url}/checkout/success?checkout=${checkoutId}`);
    expect(checkout.status).toBe("REDIRECTED");
    expect(checkout.amountMinor).toBe(5000n);
    const session = [...double.sessions.values()][0]!;
    expect(location).toBe(session.checkoutUrl);
    expect(checkout.dodoSessionId).toBe(session.sessionId);

    // Before Dodo's webhook the success page waits; the return URL's ?status= is not trusted.
    const waiting = await (await fetch(`${app.server.url}/checkout/success?checkout=${checkoutId}&status=succeeded`)).text();
    expect(waiting).toContain('data-payment-status="pending"');

    // Dodo reports the payment, with the metadata we sent.
    const delivery = signedDelivery(
      secret,
      paymentEvent({ status: "succeeded", totalAmount: 5000n, settlementAmount: 4800n, metadata: body.metadata, checkoutSessionId: session.sessionId }),
    );
    const webhook = await fetch(`${app.server.url}/api/webhooks/dodo`, { method: "POST", headers: delivery.headers, body: delivery.body });
    expect(webhook.status).toBe(200);

    const page = await (await fetch(`${app.server.url}/checkout/success?checkout=${checkoutId}`)).text();
    expect(page).toContain('data-payment-status="succeeded"');
    expect(page).toContain("50.00 USD");
    const payment = await app.db.prisma.payment.findFirstOrThrow({ where: { checkoutSessionId: checkoutId } });
    expect(payment.settlementAmountMinor).toBe(4800n);
    expect((await app.db.prisma.checkoutSession.findUniqueOrThrow({ where: { id: checkoutId } })).status).toBe("COMPLETED");
  });

  for (const status of [500, 503, 400, 422]) {
    it(`error: Dodo answers ${status} -> the customer is sent back with a clear message, an audit row, no 500 page`, async () => {
      double.failNext(status, 5);
      const before = await app.db.prisma.checkoutSession.count();
      const response = await buy({});
      expect(response.status).toBe(303);
      const location = response.headers.get("location")!;
      expect(location).toContain("checkout_error=CHECKOUT_PROVIDER_FAILED");
      // One attempt only: POST /checkouts has no idempotency key, so the client does not retry it.
      expect(double.requests).toHaveLength(1);
      const failed = await app.db.prisma.checkoutSession.findFirstOrThrow({ orderBy: { createdAt: "desc" } });
      expect(await app.db.prisma.checkoutSession.count()).toBe(before + 1);
      expect(failed.status).toBe("FAILED");
      expect(failed.error).toBe(`Dodo answered HTTP ${status}`);
      const audit = await app.db.prisma.auditLog.findFirstOrThrow({ where: { entityId: failed.id, action: "checkout.provider_failed" } });
      expect(audit.actorType).toBe("CUSTOMER");
      const shop = await fetch(new URL(location, app.server.url));
      expect(shop.status).toBe(200);
      const html = await shop.text();
      expect(html).toContain("could not start your checkout. Nothing was charged");
      expect(html).not.toContain(apiKey);
    });
  }

  it("error: Dodo drops the connection -> the same clear message, recorded as unreachable", async () => {
    double.failNext(0, 1);
    const response = await buy({});
    expect(response.headers.get("location")).toContain("checkout_error=CHECKOUT_PROVIDER_FAILED");
    const failed = await app.db.prisma.checkoutSession.findFirstOrThrow({ orderBy: { createdAt: "desc" } });
    expect(failed.status).toBe("FAILED");
    expect(failed.error).toBe("Dodo could not be reached");
  });

  it("error: invalid input is refused before Dodo is called", async () => {
    const response = await buy({ customerEmail: "not-an-email" });
    expect(response.status).toBe(303);
    expect(response.headers.get("location")).toContain("checkout_error=CHECKOUT_INVALID_INPUT");
    expect(double.requests).toHaveLength(0);
  });

  it("JSON callers get JSON: 201 with the checkout URL, 502 with the code on provider failure", async () => {
    const ok = await fetch(`${app.server.url}/api/checkout`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ org: "default", productId, customerName: "B", customerEmail: "b@example.com" }),
    });
    expect(ok.status).toBe(201);
    expect(((await ok.json()) as { checkoutUrl: string }).checkoutUrl).toContain("/simulator/checkout/cks_");
    double.failNext(500);
    const bad = await fetch(`${app.server.url}/api/checkout`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ org: "default", productId, customerName: "B", customerEmail: "b@example.com" }),
    });
    expect(bad.status).toBe(502);
    expect(await bad.json()).toMatchObject({ error: "CHECKOUT_PROVIDER_FAILED" });
  });
});
