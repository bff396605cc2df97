// The ledger page on the running server shows what a signed Dodo webhook recorded: the payment with
// its exact amounts, the delivery under its webhook-id, and the audit trail.
import { beforeAll, describe, expect, it } from "vitest";
import { generateWebhookSecret } from "~/integrations/webhook-verification.server";
import { ensureDefaultOrganization } from "~/models/organizations.server";
import { newDodoId, paymentEvent, signedDelivery } from "../mocks/dodo";
import { databaseTargets } from "../setup/databases";
import { useServedApp } from "../setup/app-server";
import { signedInOperator } from "../setup/operators";

const secret = generateWebhookSecret();
process.env.DODO_PAYMENTS_WEBHOOK_KEY = secret;
delete process.env.DODO_PAYMENTS_API_KEY;

describe.each(databaseTargets())("ledger page on $name", (target) => {
  const app = useServedApp(target);
  // The ledger lists customers' payments: only a signed-in operator of the organization reads it.
  let cookie: string;
  beforeAll(async () => {
    const organization = await ensureDefaultOrganization(app.db.prisma);
    cookie = (await signedInOperator(app.db.prisma, { organizationId: organization.id, role: "VIEWER" })).cookie;
  });

  it("is empty and says how to fill it before any payment", async () => {
    const response = await fetch(`${app.server.url}/ledger`, { headers: { cookie } });
    expect(response.status).toBe(200);
    const html = await response.text();
    expect(html).toContain("No payment yet");
  });

  it("shows a payment recorded by a signed webhook, with its exact amounts and delivery", async () => {
    // Given a signed payment.succeeded for 1,234.56 USD settling 1,197.01 USD
    const paymentId = newDodoId("pay");
    const delivery = signedDelivery(
      secret,
      paymentEvent({ paymentId, status: "succeeded", totalAmount: 123_456n, settlementAmount: 119_701n, settlementCurrency: "USD" }),
    );
    const posted = await fetch(`${app.server.url}/api/webhooks/dodo`, { method: "POST", headers: delivery.headers, body: delivery.body });
    expect(posted.status).toBe(200);

    // When the ledger page is read
    const html = await (await fetch(`${app.server.url}/ledger`, { headers: { cookie } })).text();

    // Then the row carries the payment, its status and both amounts to the cent
    const row = new RegExp(`<tr data-payment="${paymentId}">(.*?)</tr>`, "s").exec(html)?.[1];
    expect(row, "payment row").toBeDefined();
    expect(row).toContain("succeeded");
    expect(row).toContain("1234.56 USD");
    expect(row).toContain("1197.01 USD");
    expect(html).toContain(delivery.webhookId);
    expect(html).toContain("payment.status.");
  });
});
