// The console's payments on the real server: the filters filter (status, UTC date range with an inclusive
// end, amount range at each currency's scale, pages of 25), each assertion on the rows the page lists;
// bad filters are answered beside their field; a payment's page shows every webhook delivery that named
// it, its refunds, disputes, net amount and audit trail, by our id and by Dodo's, and never another
// organization's payment.
import { beforeAll, describe, expect, it } from "vitest";
import { generateWebhookSecret } from "~/integrations/webhook-verification.server";
import { paymentLabel } from "~/utils/identifiers";
import { useServedApp } from "../setup/app-server";
import { createConsoleWorld, insertPayment, type ConsoleWorld } from "../setup/console-world";
import { databaseTargets } from "../setup/databases";
import { disputeEvent, newDodoId, paymentEvent, refundEvent, signedDelivery } from "../mocks/dodo";
import { fieldError, getPage, rowsMarked } from "../setup/pages";

const secret = generateWebhookSecret();
process.env.DODO_PAYMENTS_WEBHOOK_KEY = secret;
delete process.env.DODO_PAYMENTS_API_KEY;
delete process.env.STABLEFLOW_PUBLIC_URL;

describe.each(databaseTargets())("console payments on $name", (target) => {
  const app = useServedApp(target);
  let w: ConsoleWorld;

  beforeAll(async () => {
    w = await createConsoleWorld(app.db, { useDefaultOrganization: true });
    const org = w.organizationId;
    const at = (iso: string) => new Date(iso);
    await insertPayment(app.db, { organizationId: org, dodoPaymentId: "pay_p1", status: "SUCCEEDED", total: 1_000n, createdAt: at("2026-11-01T12:00:00Z") });
    await insertPayment(app.db, { organizationId: org, dodoPaymentId: "pay_p2", status: "SUCCEEDED", total: 2_550n, createdAt: at("2026-11-15T00:00:00Z") });
    await insertPayment(app.db, { organizationId: org, dodoPaymentId: "pay_p3", status: "FAILED", total: 2_550n, createdAt: at("2026-11-15T08:00:00Z") });
    await insertPayment(app.db, { organizationId: org, dodoPaymentId: "pay_p4", status: "PROCESSING", total: 9_999n, createdAt: at("2026-11-30T23:59:59Z") });
    await insertPayment(app.db, { organizationId: org, dodoPaymentId: "pay_p5", status: "SUCCEEDED", total: 1_050n, currency: "JPY", createdAt: at("2026-11-20T00:00:00Z") });
    await insertPayment(app.db, { organizationId: org, dodoPaymentId: "pay_p6", status: "CANCELLED", total: 20n, currency: "JPY", createdAt: at("2026-12-01T00:00:00Z") });
    // Another organization's payment matches every filter below but must never be listed.
    await insertPayment(app.db, { organizationId: w.otherOrganizationId, dodoPaymentId: "pay_theirs", status: "SUCCEEDED", total: 2_000n, createdAt: at("2026-11-15T10:00:00Z") });
    for (let i = 0; i < 26; i++) {
      await insertPayment(app.db, { organizationId: org, dodoPaymentId: `pay_bulk${String(i).padStart(2, "0")}`, status: "CANCELLED", total: 500n, createdAt: new Date(Date.UTC(2026, 9, 1, 0, i)) });
    }
  });

  const listed = async (query: string) => {
    const page = await getPage(app.server.url, `/console/payments${query}`, w.viewer);
    expect(page.status, query).toBe(200);
    return { ...page, rows: rowsMarked(page.html, "payment") };
  };

  it("filters by status, by date (UTC days, the end inclusive) and both, and lists only the organization's payments", async () => {
    expect((await listed("?status=SUCCEEDED")).rows.sort()).toEqual(["pay_p1", "pay_p2", "pay_p5"]);
    expect((await listed("?from=2026-11-15&to=2026-11-30")).rows).toEqual(["pay_p4", "pay_p5", "pay_p3", "pay_p2"]);
    expect((await listed("?status=FAILED&from=2026-11-15&to=2026-11-15")).rows).toEqual(["pay_p3"]);
    expect((await listed("?to=2026-11-01&status=SUCCEEDED")).rows).toEqual(["pay_p1"]);
    const none = await listed("?status=SUCCEEDED&from=2026-12-02");
    expect(none.rows).toEqual([]);
    expect(none.text).toContain("No payment matches these filters.");
  });

  it("filters by amount in each payment's currency: 10.50-25.50 is 1,050-2,550 cents and 11-25 yen", async () => {
    const { rows, text } = await listed("?minAmount=10.50&maxAmount=25.50");
    expect(rows.sort()).toEqual(["pay_p2", "pay_p3", "pay_p6"]);
    expect(text).toContain("25.50 USD");
    expect(text).toContain("20 JPY");
    // 99.99 is 100 yen at least (a bound rounds inward): 1,050 yen qualifies, 20 yen does not.
    expect((await listed("?minAmount=99.99")).rows).toEqual(["pay_p4", "pay_p5"]);
  });

  it("pages of 25, newest first, with links that keep the filters", async () => {
    const first = await listed("?status=CANCELLED");
    expect(first.rows).toHaveLength(25);
    expect(first.rows[0]).toBe("pay_p6");
    expect(first.text).toContain("27 payments; page 1 of 2.");
    expect(first.html).toContain('href="/console/payments?status=CANCELLED&amp;page=2"');
    const second = await listed("?status=CANCELLED&page=2");
    expect(second.rows).toEqual(["pay_bulk01", "pay_bulk00"]);
    expect(second.text).toContain("27 payments; page 2 of 2.");
  });

  it("error: a filter that is not exact is answered beside its field, and nothing is listed", async () => {
    const bad = await listed("?minAmount=1.23456&from=2026-11-30&to=2026-11-01");
    expect(fieldError(bad.html, "minAmount")).toBe("Use at most 4 decimals.");
    expect(fieldError(bad.html, "to")).toBe("The end date is before the start date.");
    expect(bad.rows).toEqual([]);
    expect(fieldError((await listed("?from=yesterday")).html, "from")).toBe("Use a date like 2026-12-01.");
  });

  it("a payment's page: every delivery that named it, its refund and dispute, its net amount and audit trail; by either id; 404 for another organization", async () => {
    const dodoPaymentId = newDodoId("pay");
    const refundId = newDodoId("ref");
    const disputeId = newDodoId("dsp");
    const deliveries = [
      signedDelivery(secret, paymentEvent({ paymentId: dodoPaymentId, status: "succeeded", totalAmount: 10_000n })),
      signedDelivery(secret, refundEvent({ refundId, paymentId: dodoPaymentId, status: "succeeded", amount: 2_575n })),
      signedDelivery(secret, disputeEvent({ disputeId, paymentId: dodoPaymentId, event: "opened", amount: 1_000n })),
    ];
    for (const delivery of deliveries) {
      const posted = await fetch(`${app.server.url}/api/webhooks/dodo`, { method: "POST", headers: delivery.headers, body: delivery.body });
      expect(posted.status).toBe(200);
    }
    const payment = await app.db.prisma.payment.findUniqueOrThrow({ where: { dodoPaymentId } });
    for (const reference of [payment.id, dodoPaymentId]) {
      const page = await getPage(app.server.url, `/console/payments/${reference}`, w.viewer);
      expect(page.status, reference).toBe(200);
      expect(page.text).toContain(`Payment ${paymentLabel(payment)}`);
      expect(paymentLabel(payment)).toBe(`${dodoPaymentId} · #${payment.id.replace(/-/g, "").slice(0, 8)}`);
      expect(rowsMarked(page.html, "event")).toEqual(deliveries.map((d) => d.webhookId));
      expect(rowsMarked(page.html, "refund")).toEqual([refundId]);
      expect(rowsMarked(page.html, "dispute")).toEqual([disputeId]);
      // 100.00 settled, 25.75 refunded: 74.25 distributable; the open dispute holds the payout.
      expect(page.text).toMatch(/Refunded 25\.75 USD Distributable \(net\) 74\.25 USD Dispute open Payout hold dispute open/);
      expect(rowsMarked(page.html, "audit")).toEqual(expect.arrayContaining(["payment.status.succeeded", "refund.status.succeeded"]));
    }
    expect((await getPage(app.server.url, `/console/payments/${payment.id}`, w.stranger)).status).toBe(404);
    expect((await getPage(app.server.url, `/console/payments/${dodoPaymentId}`, w.stranger)).status).toBe(404);
    // The list names it the same way, and links to it.
    const list = await listed(`?status=SUCCEEDED`);
    expect(list.html).toContain(`href="/console/payments/${payment.id}"`);
  });
});
