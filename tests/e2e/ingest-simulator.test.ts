// The checkout simulator end to end on the running server (no Dodo API key): shop -> hosted-page stand-in
// -> pay -> signed webhooks to our own endpoint -> success page; then refund and dispute notifications.
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { DodoWebhookVerifier } from "~/integrations/webhook-verification.server";
import { databaseTargets } from "../setup/databases";
import { useServedApp } from "../setup/app-server";
import { csrfOf, formBody } from "../setup/simulated-checkout";

delete process.env.DODO_PAYMENTS_API_KEY;
delete process.env.DODO_PAYMENTS_WEBHOOK_KEY;
delete process.env.DODO_PAYMENTS_BASE_URL;
const dataDir = await mkdtemp(path.join(os.tmpdir(), "stableflow-sim-"));
process.env.STABLEFLOW_DATA_DIR = dataDir;


describe.each(databaseTargets())("checkout simulator on $name", (target) => {
  const app = useServedApp(target);

  async function buyFirstProduct(): Promise<{ checkoutPage: string; productName: string }> {
    const shop = await fetch(`${app.server.url}/shop`);
    expect(shop.status).toBe(200);
    const html = await shop.text();
    expect(html).toContain("Checkout simulator in use");
    const productId = /name="productId" value="([0-9a-f-]{36})"/.exec(html)![1]!;
    const product = await app.db.prisma.product.findUniqueOrThrow({ where: { id: productId } });
    const response = await fetch(`${app.server.url}/api/checkout`, {
      method: "POST",
      body: formBody({ org: "default", productId, customerName: "Sim", customerEmail: "sim@example.com", quantity: "1" }),
      redirect: "manual",
    });
    expect(response.status).toBe(303);
    const location = response.headers.get("location")!;
    expect(location).toMatch(new RegExp(`^${app.server.url}/simulator/checkout/cks_`));
    return { checkoutPage: location, productName: product.name };
  }

  it("pay: the hosted-page stand-in delivers signed webhooks; the success page shows the recorded payment", async () => {
    const { checkoutPage, productName } = await buyFirstProduct();
    const page = await fetch(checkoutPage);
    expect(page.status).toBe(200);
    const { csrf, cookie, html: pageHtml } = await csrfOf(page);
    expect(pageHtml).toContain("Checkout simulator");
    expect(pageHtml).toContain(productName);

    const paid = await fetch(checkoutPage, { method: "POST", body: formBody({ outcome: "pay", csrf }), headers: { cookie }, redirect: "manual" });
    expect(paid.status).toBe(303);
    const successUrl = new URL(paid.headers.get("location")!, app.server.url);
    expect(successUrl.pathname).toBe("/checkout/success");
    const success = await (await fetch(successUrl)).text();
    expect(success).toContain('data-payment-status="succeeded"');
    expect(success).toContain('data-testid="test-mode-banner"');

    const checkoutId = successUrl.searchParams.get("checkout")!;
    const payment = await app.db.prisma.payment.findFirstOrThrow({ where: { checkoutSessionId: checkoutId } });
    expect(payment.status).toBe("SUCCEEDED");
    const events = await app.db.prisma.webhookEvent.findMany({ where: { rawBody: { contains: payment.dodoPaymentId } }, orderBy: { receivedAt: "asc" } });
    expect(events.map((e) => e.eventType)).toEqual(["payment.processing", "payment.succeeded"]);

    // The deliveries verify with the secret kept in the data directory (and only with it).
    const secretFile = path.join(dataDir, "dodo-simulator-webhook-secret");
    const secret = (await readFile(secretFile, "utf8")).trim();
    expect((await stat(secretFile)).mode & 0o777).toBe(0o600);
    const verifier = new DodoWebhookVerifier(secret);
    const headers = events[1]!.headers as Record<string, string>;
    expect(() => verifier.verify(events[1]!.rawBody, { ...headers, "webhook-timestamp": headers["webhook-timestamp"]! })).not.toThrow();
    expect(success).not.toContain(secret);
    expect(pageHtml).not.toContain(secret);

    // Later notifications from the simulator controls: a refund, then a dispute opened and lost.
    const controls = await csrfOf(await fetch(`${app.server.url}/simulator`));
    expect(controls.html).toContain(payment.dodoPaymentId);
    for (const intent of ["refund", "dispute-opened", "dispute-lost"]) {
      const response = await fetch(`${app.server.url}/simulator?index`, {
        method: "POST",
        body: formBody({ intent, paymentId: payment.dodoPaymentId, csrf: controls.csrf }),
        headers: { cookie: controls.cookie },
      });
      expect(response.status).toBe(200);
      const text = await response.text();
      expect(text).not.toContain('role="alert"');
    }
    const after = await app.db.prisma.payment.findUniqueOrThrow({ where: { id: payment.id }, include: { refunds: true, disputes: true } });
    expect(after.refundedAmountMinor).toBe(after.totalAmountMinor);
    expect(after.refunds).toHaveLength(1);
    expect(after.disputes.map((d) => d.status)).toEqual(["LOST"]);
    const refunded = await (await fetch(successUrl)).text();
    expect(refunded).toContain("Refunded:");
  });

  for (const [outcome, status] of [["fail", "failed"], ["cancel", "cancelled"]] as const) {
    it(`${outcome}: the ledger records a ${status} payment and the page says nothing was charged`, async () => {
      const { checkoutPage } = await buyFirstProduct();
      const { csrf, cookie } = await csrfOf(await fetch(checkoutPage));
      const response = await fetch(checkoutPage, { method: "POST", body: formBody({ outcome, csrf }), headers: { cookie }, redirect: "manual" });
      const successUrl = new URL(response.headers.get("location")!, app.server.url);
      const html = await (await fetch(successUrl)).text();
      expect(html).toContain(`data-payment-status="${status}"`);
      expect(html).toContain("nothing was charged");
      // The page agrees with itself: no recorded payment beside "nothing was charged".
      expect(html).toContain("Charged: nothing.");
      expect(html).not.toContain("Recorded payment");
      const payment = await app.db.prisma.payment.findFirstOrThrow({ where: { checkoutSessionId: successUrl.searchParams.get("checkout")! } });
      expect(payment.status).toBe(status.toUpperCase());
      expect(await app.db.prisma.payoutRun.count({ where: { paymentId: payment.id } })).toBe(0);
    });
  }

  it("error: refunding more than was paid is refused with a message, not a 500", async () => {
    const payment = await app.db.prisma.payment.findFirstOrThrow({ where: { status: "SUCCEEDED" } });
    const { csrf, cookie } = await csrfOf(await fetch(`${app.server.url}/simulator`));
    const response = await fetch(`${app.server.url}/simulator?index`, {
      method: "POST",
      body: formBody({ intent: "refund", paymentId: payment.dodoPaymentId, csrf }),
      headers: { cookie },
    });
    expect(response.status).toBe(400);
    expect(await response.text()).toContain("left to refund");
  });
});

afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});
