// The console's reading pages over the real server: exports (the form and the CSV files), the audit log and
// the overview. Anonymous visitors are sent to sign in, a viewer reads, and an operator of another
// organization sees none of this organization's rows (an export of the same days, the same audit filters).
import { parse } from "csv-parse/sync";
import { beforeAll, describe, expect, it } from "vitest";
import { TIME_ZONE_COOKIE } from "~/utils/time-zone";
import { useServedApp } from "../setup/app-server";
import { databaseTargets } from "../setup/databases";
import { createTestOrganization, signedInOperator, type SignedInOperator } from "../setup/operators";

const get = (base: string, path: string, cookie?: string) => fetch(`${base}${path}`, { headers: cookie ? { cookie } : {}, redirect: "manual" });

describe.each(databaseTargets())("console reading pages on $name", (target) => {
  const app = useServedApp(target);
  let viewer: SignedInOperator;
  let stranger: SignedInOperator;

  beforeAll(async () => {
    const prisma = app.db.prisma;
    const org = await createTestOrganization(prisma, "Reports org");
    const other = await createTestOrganization(prisma, "Someone else");
    viewer = await signedInOperator(prisma, { organizationId: org.id, role: "VIEWER" });
    stranger = await signedInOperator(prisma, { organizationId: other.id, role: "ADMIN" });
    const checkout = await prisma.checkoutSession.create({
      data: { organizationId: org.id, amountMinor: 4999n, currency: "USD", customerEmail: "a@example.test", customerName: "=cmd|' /C calc'!A0" },
    });
    await prisma.payment.create({
      data: {
        organizationId: org.id,
        dodoPaymentId: "pay_reports_1",
        checkoutSessionId: checkout.id,
        status: "SUCCEEDED",
        totalAmountMinor: 4999n,
        currency: "USD",
        settlementAmountMinor: 4999n,
        settlementCurrency: "USD",
        lastEventAt: new Date("2026-11-20T23:30:00Z"),
        createdAt: new Date("2026-11-20T23:30:00Z"),
      },
    });
    await prisma.auditLog.create({
      data: { organizationId: org.id, actorType: "OPERATOR", actorId: viewer.id, action: "reports.test_line", entityType: "payment", entityId: "pay_reports_1" },
    });
  });

  describe("exports", () => {
    it("error: anonymous visitors are sent to sign in, for the form and for each file", async () => {
      for (const path of ["/console/exports", "/console/exports/payments.csv?from=2026-11-01&to=2026-11-30", "/console/exports/transfers.csv?from=2026-11-01&to=2026-11-30"]) {
        const response = await get(app.server.url, path);
        expect(response.status, path).toBe(302);
        expect(response.headers.get("location"), path).toBe(`/login?next=${encodeURIComponent(path)}`);
      }
    });

    it("a viewer downloads the organization's payments as CSV, formula neutralised; another organization's export of the same days has none of them", async () => {
      const path = "/console/exports/payments.csv?from=2026-11-20&to=2026-11-20";
      const mine = await get(app.server.url, path, viewer.cookie);
      expect(mine.status).toBe(200);
      expect(mine.headers.get("content-type")).toMatch(/^text\/csv/);
      expect(mine.headers.get("content-disposition")).toBe('attachment; filename="stableflow-payments-2026-11-20-to-2026-11-20.csv"');
      const rows: Record<string, string>[] = parse(await mine.text(), { columns: true });
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ dodo_payment_id: "pay_reports_1", total: "49.99", currency: "USD", customer_name: "'=cmd|' /C calc'!A0" });

      const theirs = await get(app.server.url, path, stranger.cookie);
      expect(theirs.status).toBe(200);
      const text = await theirs.text();
      expect(text).not.toContain("pay_reports_1");
      expect(parse(text, { columns: true })).toHaveLength(0);
    });

    it("the days are the viewer's: with a Berlin time-zone cookie, 23:30 UTC on the 20th is the 21st", async () => {
      const berlin = `${viewer.cookie}; ${TIME_ZONE_COOKIE}=${encodeURIComponent("Europe/Berlin")}`;
      const on21 = await get(app.server.url, "/console/exports/payments.csv?from=2026-11-21&to=2026-11-21", berlin);
      expect(await on21.text()).toContain("pay_reports_1");
      const on20 = await get(app.server.url, "/console/exports/payments.csv?from=2026-11-20&to=2026-11-20", berlin);
      expect(await on20.text()).not.toContain("pay_reports_1");
      const page = await (await get(app.server.url, "/console/exports", berlin)).text();
      expect(page).toContain("Europe/Berlin");
    });

    it("error: dates the schema refuses come back to the form with its sentence beside the field; an unknown file is a 404", async () => {
      const refused = await get(app.server.url, "/console/exports/transfers.csv?from=2026-11-30&to=2026-11-01", viewer.cookie);
      expect(refused.status).toBe(303);
      const location = refused.headers.get("location")!;
      expect(location).toBe("/console/exports?kind=transfers&from=2026-11-30&to=2026-11-01");
      const form = await (await get(app.server.url, location, viewer.cookie)).text();
      expect(form).toContain("The end date must not be before the start date.");
      expect(form).toContain('aria-invalid="true"');
      const bad = await (await get(app.server.url, "/console/exports?kind=payments&from=2026-02-30&to=2026-03-01", viewer.cookie)).text();
      expect(bad).toContain("That date does not exist.");
      expect((await get(app.server.url, "/console/exports/secrets.csv?from=2026-11-01&to=2026-11-02", viewer.cookie)).status).toBe(404);
    });
  });
});
