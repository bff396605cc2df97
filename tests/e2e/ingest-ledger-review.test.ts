// The ledger page on the running server shows operators what needs them: a payment's net amount and dispute
// state, a refund flagged for review, a payout held, a delivery kept FAILED with its error.
import { beforeAll, describe, expect, it } from "vitest";
import { generateWebhookSecret } from "~/integrations/webhook-verification.server";
import { ensureDefaultOrganization } from "~/models/organizations.server";
import { databaseTargets } from "../setup/databases";
import { useServedApp } from "../setup/app-server";
import { signedInOperator } from "../setup/operators";
import { disputeEventOf, dodoDispute, dodoEvent, dodoId, dodoPayment, dodoRefund, signed } from "../mocks/dodo-payloads";

const secret = generateWebhookSecret();
process.env.DODO_PAYMENTS_WEBHOOK_KEY = secret;
delete process.env.DODO_PAYMENTS_API_KEY;

describe.each(databaseTargets())("the ledger page shows what needs an operator on $name", (target) => {
  const app = useServedApp(target);
  let cookie: string;
  beforeAll(async () => {
    const organization = await ensureDefaultOrganization(app.db.prisma);
    cookie = (await signedInOperator(app.db.prisma, { organizationId: organization.id, role: "VIEWER" })).cookie;
  });

  async function post(event: unknown) {
    const delivery = signed(secret, event);
    const response = await fetch(`${app.server.url}/api/webhooks/dodo`, { method: "POST", headers: delivery.headers, body: delivery.body });
    return { status: response.status, webhookId: delivery.webhookId };
  }

  it("net amount, dispute state, a flagged refund, a held payout and a FAILED delivery", async () => {
    const paymentId = dodoId("pay");
    const refundId = dodoId("ref");
    const t = Date.now();
    expect((await post(dodoEvent("payment.succeeded", dodoPayment({ paymentId, totalAmount: 10_000n })))).status).toBe(200);
    expect((await post(disputeEventOf(dodoDispute({ paymentId, status: "dispute_lost", amount: 6_000n, amountAs: "cli", createdAt: new Date(t).toISOString() })))).status).toBe(200);
    expect((await post(dodoEvent("refund.succeeded", dodoRefund({ refundId, paymentId, amount: 6_000n, isPartial: true, createdAt: new Date(t + 1000).toISOString() })))).status).toBe(200);
    const failed = await post({ business_id: "bus_1", type: "payment.succeeded", timestamp: new Date().toISOString(), data: { payment_id: 12 } });
    expect(failed.status).toBe(202);

    const html = await (await fetch(`${app.server.url}/ledger`, { headers: { cookie } })).text();
    const row = new RegExp(`<tr data-payment="${paymentId}">(.*?)</tr>`, "s").exec(html)?.[1];
    expect(row, "payment row").toBeDefined();
    expect(row).toContain("40.00 USD"); // $100 settled, $60 lost to the dispute; the $60 refund is under review
    expect(row).toContain("lost");
    expect(row).toContain("held: needs review");
    const review = new RegExp(`<tr data-review="${refundId}">(.*?)</tr>`, "s").exec(html)?.[1];
    expect(review).toContain("EXCEEDS_CAPTURED");
    const kept = new RegExp(`<tr data-failed="${failed.webhookId}">(.*?)</tr>`, "s").exec(html)?.[1];
    expect(kept).toContain("payment.succeeded");
    expect(kept).toContain("payment_id");
    expect(html).toContain("npm run webhooks -- replay --failed");
  });
});
