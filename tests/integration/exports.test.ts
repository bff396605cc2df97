// The CSV exports on both databases, read back with a real CSV parser: names with commas, quotes, newlines
// and formula prefixes survive (formulas neutralised), amounts are the exact decimals of their minor units,
// the date range is the viewer's days with its end excluded, another organization's rows never appear, and
// a 100,000-row export is read in pages of at most 1,000 rows, pulled one page per read, with the heap
// bounded while the file is several times larger than that bound.
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { Keypair } from "@solana/web3.js";
import { parse } from "csv-parse/sync";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { EXPORT_PAGE_SIZE, exportCsvChunks, exportCsvStream, parseExportRange, type ExportKind, type ExportRange } from "~/models/exports.server";
import type { Database } from "~/utils/db.server";
import { sql, type SqlStatement } from "~/utils/sql.server";
import { databaseTargets, type TestDatabase } from "../setup/databases";
import { createTestOrganization } from "../setup/operators";
import { recordBatchRows } from "../setup/settled-payout";

const TRICKY_NAMES = [
  "Smith, Jane",
  'The "Best" Shop',
  "two\nlines\r\nand more",
  '=HYPERLINK("http://evil.example","x")',
  "+49 30 123456",
  "-1+1",
  "@SUM(A1)",
  "Zoë Ångström",
];

function rangeOf(from: string, to: string, timeZone = "UTC"): ExportRange {
  const parsed = parseExportRange({ from, to }, timeZone);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  return parsed.range;
}

async function exportText(db: Pick<Database, "query">, kind: ExportKind, organizationId: string, range: ExportRange, pageSize?: number): Promise<string> {
  let text = "";
  for await (const chunk of exportCsvChunks(db, kind, organizationId, range, { pageSize })) text += chunk;
  return text;
}

function records(text: string): Record<string, string>[] {
  return parse(text, { columns: true, record_delimiter: "\r\n" });
}

/** `db` with every query's row count recorded. */
function counting(db: Database): { db: Pick<Database, "query">; pages: number[] } {
  const pages: number[] = [];
  return {
    pages,
    db: {
      async query<Row>(statement: SqlStatement) {
        const rows = await db.query<Row>(statement);
        pages.push(rows.length);
        return rows;
      },
    },
  };
}

describe.each(databaseTargets())("CSV exports on $name", (target) => {
  let db: TestDatabase;
  let orgId: string;
  let otherOrgId: string;

  beforeAll(async () => {
    db = await target.create();
    orgId = (await createTestOrganization(db.prisma, "Exporting org")).id;
    otherOrgId = (await createTestOrganization(db.prisma, "Other org")).id;
  });
  afterAll(async () => {
    await db?.destroy();
  });

  async function payment(organizationId: string, args: { name: string; createdAt: string; total: bigint; currency?: string; dodoId: string }) {
    const currency = args.currency ?? "USD";
    const checkout = await db.prisma.checkoutSession.create({
      data: { organizationId, amountMinor: args.total, currency, customerEmail: "buyer@example.test", customerName: args.name },
    });
    return db.prisma.payment.create({
      data: {
        organizationId,
        dodoPaymentId: args.dodoId,
        checkoutSessionId: checkout.id,
        status: "SUCCEEDED",
        totalAmountMinor: args.total,
        currency,
        settlementAmountMinor: args.total,
        settlementCurrency: currency,
        customerEmail: "buyer@example.test",
        lastEventAt: new Date(args.createdAt),
        createdAt: new Date(args.createdAt),
      },
    });
  }

  it("payments: tricky names round-trip, formulas neutralised, exact amounts per currency, the range's end excluded, scoped to the organization", async () => {
    // Given payments of this organization on 2026-11-10 (one per tricky name), one in JPY, one at the first
    // instant after the range, and one of another organization inside the range
    for (const [i, name] of TRICKY_NAMES.entries()) {
      await payment(orgId, { name, createdAt: `2026-11-10T0${i}:00:00.000Z`, total: 100_000_000_001n + BigInt(i), dodoId: `pay_tricky_${i}` });
    }
    await payment(orgId, { name: "Yen buyer", createdAt: "2026-11-11T12:00:00Z", total: 1500n, currency: "JPY", dodoId: "pay_yen" });
    await payment(orgId, { name: "Too late", createdAt: "2026-11-12T00:00:00Z", total: 1n, dodoId: "pay_late" });
    await payment(otherOrgId, { name: "Not yours", createdAt: "2026-11-10T12:00:00Z", total: 5n, dodoId: "pay_other" });

    // When the 10th to the 11th are exported (UTC days)
    const rows = records(await exportText(db, "payments", orgId, rangeOf("2026-11-10", "2026-11-11"), 3));

    // Then each tricky name reads back exactly (a formula with an apostrophe before it)
    expect(rows.map((r) => r.dodo_payment_id)).toEqual([...TRICKY_NAMES.map((_, i) => `pay_tricky_${i}`), "pay_yen"]);
    for (const [i, name] of TRICKY_NAMES.entries()) {
      const formula = /^[=+\-@]/.test(name);
      expect(rows[i]!.customer_name).toBe(formula ? `'${name}` : name);
      expect(rows[i]!.total).toBe(`1000000000.${String(1 + i).padStart(2, "0")}`);
    }
    expect(rows[TRICKY_NAMES.length]).toMatchObject({ currency: "JPY", total: "1500", refunded: "0", status: "SUCCEEDED" });
    expect(rows[0]!.created_at_utc).toBe("2026-11-10T00:00:00.000000Z");
    expect(rows.some((r) => r.dodo_payment_id === "pay_other" || r.dodo_payment_id === "pay_late")).toBe(false);

    // And the other organization's export of the same days holds its own row only
    const theirs = records(await exportText(db, "payments", otherOrgId, rangeOf("2026-11-10", "2026-11-11")));
    expect(theirs.map((r) => r.dodo_payment_id)).toEqual(["pay_other"]);
  });

  it("payments: the days are the viewer's: in Berlin the 10th begins at 23:00 UTC on the 9th", async () => {
    await payment(orgId, { name: "Late evening", createdAt: "2026-11-09T23:30:00Z", total: 7n, dodoId: "pay_berlin" });
    const utc = records(await exportText(db, "payments", orgId, rangeOf("2026-11-10", "2026-11-10")));
    const berlin = records(await exportText(db, "payments", orgId, rangeOf("2026-11-10", "2026-11-10", "Europe/Berlin")));
    expect(utc.map((r) => r.dodo_payment_id)).not.toContain("pay_berlin");
    expect(berlin.map((r) => r.dodo_payment_id)).toContain("pay_berlin");
  });

  it("transfers: recipient names round-trip, the amount is exact at the token's decimals, a paid transfer carries its signature", async () => {
    const recipients = [];
    for (const name of TRICKY_NAMES.slice(0, 4)) {
      const wallet = Keypair.generate().publicKey.toBase58();
      recipients.push(
        await db.prisma.recipient.create({ data: { organizationId: orgId, name, walletAddress: wallet, tokenAccount: Keypair.generate().publicKey.toBase58() } }),
      );
    }
    const paid = await recordBatchRows(db.prisma, {
      organizationId: orgId,
      transfers: recipients.map((r, i) => ({ recipientId: r.id, tokenAccount: r.tokenAccount, amount: 1_000_001n + BigInt(i) })),
    });
    const stranger = await db.prisma.recipient.create({
      data: { organizationId: otherOrgId, name: "Stranger", walletAddress: Keypair.generate().publicKey.toBase58(), tokenAccount: Keypair.generate().publicKey.toBase58() },
    });
    await recordBatchRows(db.prisma, { organizationId: otherOrgId, transfers: [{ recipientId: stranger.id, tokenAccount: stranger.tokenAccount, amount: 9n }] });

    const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
    const rows = records(await exportText(db, "transfers", orgId, rangeOf(day(-1), day(1)), 2));
    expect(rows).toHaveLength(recipients.length);
    const byName = new Map(rows.map((r) => [r.recipient_name, r]));
    for (const [i, r] of recipients.entries()) {
      const name = /^[=+\-@]/.test(r.name) ? `'${r.name}` : r.name;
      expect(byName.get(name), r.name).toMatchObject({
        amount: `1.00000${1 + i}`,
        token_decimals: "6",
        paid: "yes",
        signature: paid.signature,
        run_id: paid.runId,
        token_account: r.tokenAccount,
      });
    }
    expect(rows.some((r) => r.recipient_name === "Stranger")).toBe(false);
  });

  it("transfers: 5,000 rows three to a timestamp come once each, in pages of 1,000", async () => {
    const org = (await createTestOrganization(db.prisma, "Many transfers")).id;
    const recipient = await db.prisma.recipient.create({
      data: { organizationId: org, name: "Bulk recipient", walletAddress: Keypair.generate().publicKey.toBase58(), tokenAccount: Keypair.generate().publicKey.toBase58() },
    });
    const run = await db.prisma.payoutRun.create({
      data: { organizationId: org, kind: "SWEEP", tokenDecimals: 6, distributable: 12_502_500n, totalTransfers: 12_502_500n, treasuryRemainder: 0n },
    });
    const total = 5_000;
    await db.query(sql`
      INSERT INTO payout_transfers (run_id, recipient_id, token_account, amount, created_at)
      SELECT ${run.id}::uuid, ${recipient.id}::uuid, ${recipient.tokenAccount}, g, timestamptz '2026-09-01 12:00:00+00' + (g / 3) * interval '1 microsecond'
      FROM generate_series(1, ${total}) AS g`);
    const { db: counted, pages } = counting(db);
    const rows = records(await exportText(counted, "transfers", org, rangeOf("2026-09-01", "2026-09-01")));
    expect(rows).toHaveLength(total);
    expect(new Set(rows.map((r) => r.transfer_id)).size).toBe(total);
    expect(rows.reduce((sum, r) => sum + BigInt(r.amount.replace(".", "")), 0n)).toBe(12_502_500n);
    expect(pages).toEqual([1000, 1000, 1000, 1000, 1000, 0]);
  });

  it("a 100,000-row export reads at most 1,000 rows per query, one page per pull, with the heap bounded", { timeout: 600_000 }, async () => {
    // Given 100,000 payments of one day, three to a timestamp (so pages end between equal timestamps)
    const org = (await createTestOrganization(db.prisma, "Big org")).id;
    const total = 100_000;
    await db.query(sql`
      INSERT INTO payments (organization_id, dodo_payment_id, status, total_amount_minor, currency, settlement_amount_minor,
        settlement_currency, customer_email, last_event_at, created_at)
      SELECT ${org}::uuid, 'pay_bulk_' || g, 'SUCCEEDED', g, 'USD', g, 'USD', 'customer-' || lpad(g::text, 6, '0') || '.with.a.longer.address@example.test',
        timestamptz '2026-10-01 00:00:00+00' + (g / 3) * interval '1 millisecond',
        timestamptz '2026-10-01 00:00:00+00' + (g / 3) * interval '1 millisecond'
      FROM generate_series(1, ${total}) AS g`);
    const range = rangeOf("2026-10-01", "2026-10-01");

    // The pull: nothing is read before the consumer asks, and each read costs one page
    {
      const { db: counted, pages } = counting(db);
      const reader = exportCsvStream(counted, "payments", org, range).getReader();
      await reader.read(); // the header
      expect(pages).toHaveLength(0);
      await reader.read();
      expect(pages).toEqual([EXPORT_PAGE_SIZE]);
      await reader.cancel();
    }

    // The whole file, with the retained heap sampled after a collection every ten pages
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    const { db: counted, pages } = counting(db);
    // Off the heap: one byte per payment, set when its row arrives.
    const seen = new Uint8Array(total + 1);
    let duplicates = 0;
    let bytes = 0;
    let lines = 0;
    let chunks = 0;
    gc();
    const baseline = process.memoryUsage().heapUsed;
    let peakGrowth = 0;
    const decoder = new TextDecoder();
    const reader = exportCsvStream(counted, "payments", org, range).getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      bytes += value.byteLength;
      const text = decoder.decode(value);
      for (const line of text.split("\r\n")) {
        const n = Number(/^[^,]+,pay_bulk_(\d+),/.exec(line)?.[1] ?? 0);
        if (n > 0) {
          if (seen[n]) duplicates++;
          seen[n] = 1;
        }
        if (line) lines++;
      }
      if (++chunks % 10 === 0) {
        gc();
        peakGrowth = Math.max(peakGrowth, process.memoryUsage().heapUsed - baseline);
      }
    }

    // Then every row came exactly once, in 101 queries (the last one finds nothing more) of at most 1,000 rows
    expect(duplicates).toBe(0);
    expect(seen.subarray(1).every((v) => v === 1)).toBe(true);
    expect(lines).toBe(total + 1);
    expect(Math.max(...pages)).toBe(EXPORT_PAGE_SIZE);
    expect(pages).toHaveLength(total / EXPORT_PAGE_SIZE + 1);
    expect(pages.reduce((a, b) => a + b, 0)).toBe(total);
    // And the heap held far less than the file: about one page at a time
    const limit = 8 * 1024 * 1024;
    expect(bytes).toBeGreaterThan(2 * limit);
    expect(peakGrowth).toBeLessThan(limit);
    console.log(`export of ${total} rows: ${(bytes / 1e6).toFixed(1)} MB in ${pages.length} queries, retained heap growth at most ${(peakGrowth / 1e6).toFixed(1)} MB`);
  });
});

describe("an export that fails part way", () => {
  it("error: the stream errors (the client sees a cut-off body) after the pages it had, and says which export failed", async () => {
    const range = rangeOf("2026-01-01", "2026-01-01");
    let calls = 0;
    const failing = {
      async query<Row>(): Promise<Row[]> {
        calls++;
        if (calls === 2) throw new Error("connection lost");
        return Array.from({ length: 2 }, (_, i) => ({ id: `00000000-0000-0000-0000-00000000000${calls}${i}`, cursor_at: "2026-01-01T00:00:00.000000Z", dodo_payment_id: `pay_${calls}_${i}`, status: "SUCCEEDED", currency: "USD", total_amount_minor: "1", refunded_amount_minor: "0", settlement_currency: null, settlement_amount_minor: null, net_settlement_minor: null, dispute_state: "NONE", customer_name: null, customer_email: null })) as Row[];
      },
    };
    const reader = exportCsvStream(failing, "payments", "00000000-0000-0000-0000-000000000000", range, { pageSize: 2 }).getReader();
    const decoder = new TextDecoder();
    expect(decoder.decode((await reader.read()).value)).toMatch(/^payment_id,/);
    expect(decoder.decode((await reader.read()).value)).toContain("pay_1_1");
    const stderr = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    vi.stubEnv("LOG_LEVEL", "error"); // tests log nothing by default
    try {
      await expect(reader.read()).rejects.toThrow("connection lost");
      const line = stderr.mock.calls.map((c) => String(c[0])).find((l) => l.includes("CSV export failed part way"));
      expect(JSON.parse(line!)).toMatchObject({ level: "error", kind: "payments", from: "2026-01-01", error: "connection lost" });
    } finally {
      stderr.mockRestore();
      vi.unstubAllEnvs();
    }
  });
});
