// The console's reading pages over the real server: exports (the form and the CSV files), the audit log and
// the overview. Anonymous visitors are sent to sign in, a viewer reads, and an operator of another
// organization sees none of this organization's rows (an export of the same days, the same audit filters).
// The chain here is an endpoint nobody answers on: the overview and the treasury page must say so in a
// sentence rather than show a balance (tests/e2e/console-treasury.test.ts has a live chain).
import { Keypair } from "@solana/web3.js";
import { parse } from "csv-parse/sync";
import { beforeAll, describe, expect, it } from "vitest";
import { TIME_ZONE_COOKIE } from "~/utils/time-zone";
import { useServedApp } from "../setup/app-server";
import { useUnreachableChain } from "../setup/chain";
import { databaseTargets } from "../setup/databases";
import { createTestOrganization, signedInOperator, type SignedInOperator } from "../setup/operators";
import { recordBatchRows } from "../setup/settled-payout";

useUnreachableChain();

/** The `data-audit-id`s of a page, in order. */
const auditIds = (html: string) => [...html.matchAll(/data-audit-id="(\d+)"/g)].map((m) => m[1]);

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
      data: { organizationId: org.id, actorType: "OPERATOR", actorId: viewer.id, action: "reports.test_line", entityType: "payment", entityId: "pay_reports_1", data: { note: "<b>kept as text</b>" } },
    });
    await prisma.auditLog.createMany({
      data: Array.from({ length: 60 }, (_, i) => ({ organizationId: org.id, actorType: "SYSTEM" as const, action: "reports.bulk", entityType: "payout_run", entityId: `run-${i}` })),
    });
    await prisma.auditLog.create({
      data: { organizationId: other.id, actorType: "OPERATOR", actorId: stranger.id, action: "reports.secret_line", entityType: "payment", entityId: "pay_theirs" },
    });
    // The overview's chart: a payment two hours ago and a batch confirmed now.
    await prisma.payment.create({
      data: {
        organizationId: org.id,
        dodoPaymentId: "pay_reports_recent",
        status: "SUCCEEDED",
        totalAmountMinor: 12345n,
        currency: "USD",
        settlementAmountMinor: 12345n,
        settlementCurrency: "USD",
        lastEventAt: new Date(Date.now() - 2 * 3_600_000),
        createdAt: new Date(Date.now() - 2 * 3_600_000),
      },
    });
    const recipient = await prisma.recipient.create({
      data: { organizationId: org.id, name: "Chart recipient", walletAddress: Keypair.generate().publicKey.toBase58(), tokenAccount: Keypair.generate().publicKey.toBase58() },
    });
    await recordBatchRows(prisma, { organizationId: org.id, transfers: [{ recipientId: recipient.id, tokenAccount: recipient.tokenAccount, amount: 1_000_000n }] });
  });

  describe("audit log", () => {
    it("error: anonymous visitors are sent to sign in", async () => {
      const response = await get(app.server.url, "/console/audit?action=reports.test_line");
      expect(response.status).toBe(302);
      expect(response.headers.get("location")).toMatch(/^\/login\?next=/);
    });

    it("a viewer filters by action, actor, subject and dates; another organization's operator sees none of it", async () => {
      const page = async (query: string, who = viewer) => (await get(app.server.url, `/console/audit?${query}`, who.cookie)).text();
      const byAction = await page("action=reports.test_line");
      expect(auditIds(byAction)).toHaveLength(1);
      expect(byAction).toContain("pay_reports_1");
      expect(byAction).toContain("&lt;b&gt;kept as text&lt;/b&gt;");
      expect(auditIds(await page(`actor=${encodeURIComponent(`OPERATOR:${viewer.id}`)}`))).toEqual(auditIds(byAction));
      expect(auditIds(await page("subject=payment+pay_rep"))).toEqual(auditIds(byAction));
      expect(auditIds(await page("subject=run-1&actor=SYSTEM"))).toHaveLength(11); // run-1, run-10 … run-19
      const today = new Date().toISOString().slice(0, 10);
      expect(auditIds(await page(`action=reports.test_line&from=${today}&to=${today}`))).toHaveLength(1);
      expect(auditIds(await page("action=reports.test_line&from=2020-01-01&to=2020-01-02"))).toHaveLength(0);
      const refused = await page("from=2026-11-30&to=2026-11-01");
      expect(refused).toContain("The end date must not be before the start date.");
      expect(auditIds(refused)).toHaveLength(0);

      const theirs = await page("action=reports.test_line", stranger);
      expect(auditIds(theirs)).toHaveLength(0);
      expect(theirs).not.toContain("pay_reports_1");
      expect(theirs).not.toContain('value="reports.bulk"');
      expect(auditIds(await page(`actor=${encodeURIComponent(`OPERATOR:${viewer.id}`)}`, stranger))).toHaveLength(0);
      const ownLines = await page("", stranger);
      expect(ownLines).toContain("pay_theirs");
      expect((await page("")).includes("pay_theirs")).toBe(false);
    });

    it("pages of 50, newest first, the next page by a link that keeps the filter, no line twice", async () => {
      const first = await (await get(app.server.url, "/console/audit?action=reports.bulk", viewer.cookie)).text();
      const firstIds = auditIds(first);
      expect(firstIds).toHaveLength(50);
      expect(firstIds.map(Number)).toEqual([...firstIds.map(Number)].sort((a, b) => b - a));
      const older = /href="(\/console\/audit\?[^"]*before=\d+[^"]*)"/.exec(first)?.[1]?.replaceAll("&amp;", "&");
      expect(older).toContain("action=reports.bulk");
      const second = await (await get(app.server.url, older!, viewer.cookie)).text();
      const secondIds = auditIds(second);
      expect(secondIds).toHaveLength(10);
      expect(secondIds.filter((id) => firstIds.includes(id))).toEqual([]);
      expect(second).toContain("Newest lines");
      expect(second).not.toContain("Older lines");
    });
  });

  describe("overview and treasury while the chain does not answer", () => {
    it("the overview says the chain could not be read (no balance, no runway), and still charts revenue and payouts from the ledger", async () => {
      const html = await (await get(app.server.url, "/console", viewer.cookie)).text();
      expect(html).toContain("could not be read");
      expect(html).toContain("the vault balance is unknown right now");
      expect(html).not.toContain("Vault balance:");
      expect(html).toContain("Revenue and payouts per day");
      // 49.99 USD on 2026-11-20 and 123.45 USD two hours ago (when the 20th is within the last 30 days)
      const recentOnly = Date.now() - Date.parse("2026-11-20T23:30:00Z") > 29 * 86_400_000;
      expect(html).toMatch(recentOnly ? /data-total="revenue">123\.45 tokens</ : /data-total="revenue">173\.44 tokens</);
      expect(html).toMatch(/data-total="payouts">1\.00 tokens</);
      expect(html).toContain("reports.bulk");
    });

    it("the other organization's overview charts none of this organization's money", async () => {
      const html = await (await get(app.server.url, "/console", stranger.cookie)).text();
      expect(html).toMatch(/data-total="revenue">0\.00 tokens</);
      expect(html).toMatch(/data-total="payouts">0\.00 tokens</);
      expect(html).not.toContain("reports.bulk");
    });

    it("the treasury page shows the addresses and how to fund, and says the balance and history are unknown", async () => {
      const anonymous = await get(app.server.url, "/console/treasury");
      expect(anonymous.status).toBe(302);
      const html = await (await get(app.server.url, "/console/treasury", viewer.cookie)).text();
      expect(html).toContain("could not be read");
      expect(html).toContain("npm run treasury -- fund");
      expect(html).toMatch(/data-testid="vault-address">[1-9A-HJ-NP-Za-km-z]{32,44}</);
      expect(html).not.toContain("Vault balance:");
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

    it("transfers.csv: the viewer's holds the organization's paid transfer, another organization's the same days holds none", async () => {
      const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
      const path = `/console/exports/transfers.csv?from=${day(-1)}&to=${day(1)}`;
      const mine: Record<string, string>[] = parse(await (await get(app.server.url, path, viewer.cookie)).text(), { columns: true });
      expect(mine).toHaveLength(1);
      expect(mine[0]).toMatchObject({ recipient_name: "Chart recipient", amount: "1.000000", paid: "yes" });
      const theirs = await (await get(app.server.url, path, stranger.cookie)).text();
      expect(theirs).not.toContain("Chart recipient");
      expect(parse(theirs, { columns: true })).toHaveLength(0);
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
      expect(form).toContain("The payout transfers were not exported");
      expect(form).toContain('aria-invalid="true"');
      const bad = await (await get(app.server.url, "/console/exports?kind=payments&from=2026-02-30&to=2026-03-01", viewer.cookie)).text();
      expect(bad).toContain("That date does not exist.");
      expect((await get(app.server.url, "/console/exports/secrets.csv?from=2026-11-01&to=2026-11-02", viewer.cookie)).status).toBe(404);
    });
  });
});
