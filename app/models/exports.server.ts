// CSV exports of one organization's payments and payout transfers over a date range, streamed: rows are
// read in pages keyed by (created_at, id) and each page is encoded and handed on before the next is read,
// so memory holds one page whatever the range holds (a 100,000-row export reads 100 pages of 1,000). The
// stream is pulled: a client that reads slowly makes the next query wait. Amounts are exact decimals from
// minor units (app/ledger/money.ts), times ISO 8601 in UTC with microseconds, cells encoded by
// app/utils/csv.ts. Hand-written SQL (app/utils/sql.server.ts): the keyset needs the timestamp's
// microseconds, which a JavaScript Date would drop. Also what /api/v1's export endpoint reuses.
import { z } from "zod";
import { currencyScale, formatMoney } from "~/ledger/money";
import { localDayStart } from "~/ledger/payout-schedule";
import { csvHeader, csvRows, type CsvColumn } from "~/utils/csv";
import type { Database } from "~/utils/db.server";
import { log } from "~/utils/log.server";
import { sql } from "~/utils/sql.server";

export const EXPORT_KINDS = ["payments", "transfers"] as const;
export type ExportKind = (typeof EXPORT_KINDS)[number];

/** Rows per query: small enough to bound memory, large enough that 100,000 rows are 100 round trips. */
export const EXPORT_PAGE_SIZE = 1000;

const IsoDay = z
  .string({ error: "Give a date." })
  .trim()
  .regex(/^\d{4}-\d{2}-\d{2}$/, "Give a date as YYYY-MM-DD.")
  .refine((day) => {
    const [y, m, d] = day.split("-").map(Number);
    const date = new Date(Date.UTC(y!, m! - 1, d!));
    return date.getUTCFullYear() === y && date.getUTCMonth() === m! - 1 && date.getUTCDate() === d && y! >= 2000 && y! <= 9999;
  }, "That date does not exist.");

/** The form's fields (also the query string of the CSV routes): two calendar days, both included. */
export const ExportRangeSchema = z
  .object({ from: IsoDay, to: IsoDay })
  .refine((range) => range.from <= range.to, { path: ["to"], message: "The end date must not be before the start date." });

export interface ExportRange {
  /** The days as given, for file names and headings. */
  from: string;
  to: string;
  /** The zone the days are read in. */
  timeZone: string;
  /** Inclusive. */
  startsAt: Date;
  /** Exclusive: the start of the day after `to`. */
  endsAt: Date;
}

export type ExportRangeResult = { ok: true; range: ExportRange } | { ok: false; errors: Partial<Record<"from" | "to", string>> };

function dayAfter(day: string): string {
  const [y, m, d] = day.split("-").map(Number);
  return new Date(Date.UTC(y!, m! - 1, d! + 1)).toISOString().slice(0, 10);
}

/** `from` and `to` (YYYY-MM-DD) as the instants where those days start and end in `timeZone`. */
export function parseExportRange(input: { from?: string | null; to?: string | null }, timeZone: string): ExportRangeResult {
  const parsed = ExportRangeSchema.safeParse({ from: input.from ?? undefined, to: input.to ?? undefined });
  if (!parsed.success) {
    const errors: Partial<Record<"from" | "to", string>> = {};
    for (const issue of parsed.error.issues) {
      const field = issue.path[0];
      if ((field === "from" || field === "to") && !errors[field]) errors[field] = issue.message;
    }
    return { ok: false, errors };
  }
  const { from, to } = parsed.data;
  return { ok: true, range: { from, to, timeZone, startsAt: localDayStart(from, timeZone), endsAt: localDayStart(dayAfter(to), timeZone) } };
}

export function exportFileName(kind: ExportKind, range: Pick<ExportRange, "from" | "to">): string {
  return `stableflow-${kind}-${range.from}-to-${range.to}.csv`;
}

// ------------------------------------------------------------------------------------------------ rows

/** The keyset of every page: created_at to the microsecond (as text) and the row id. */
interface Keyed {
  cursor_at: string;
  id: string;
}

const NO_ID = "00000000-0000-0000-0000-000000000000";

interface PaymentRow extends Keyed {
  dodo_payment_id: string;
  status: string;
  currency: string;
  total_amount_minor: string;
  refunded_amount_minor: string;
  settlement_currency: string | null;
  settlement_amount_minor: string | null;
  net_settlement_minor: string | null;
  dispute_state: string;
  customer_name: string | null;
  customer_email: string | null;
}

const amount = (minor: string | null, currency: string | null) => (minor === null || currency === null ? null : formatMoney(BigInt(minor), currencyScale(currency)));

const PAYMENT_COLUMNS: CsvColumn<PaymentRow>[] = [
  { header: "payment_id", value: (r) => r.id },
  { header: "dodo_payment_id", value: (r) => r.dodo_payment_id },
  { header: "created_at_utc", value: (r) => r.cursor_at },
  { header: "status", value: (r) => r.status },
  { header: "currency", value: (r) => r.currency },
  { header: "total", value: (r) => amount(r.total_amount_minor, r.currency) },
  { header: "refunded", value: (r) => amount(r.refunded_amount_minor, r.currency) },
  { header: "settlement_currency", value: (r) => r.settlement_currency },
  { header: "settlement_amount", value: (r) => amount(r.settlement_amount_minor, r.settlement_currency) },
  { header: "net_settlement", value: (r) => amount(r.net_settlement_minor, r.settlement_currency) },
  { header: "dispute_state", value: (r) => r.dispute_state },
  { header: "customer_name", value: (r) => r.customer_name },
  { header: "customer_email", value: (r) => r.customer_email },
];

interface TransferRow extends Keyed {
  run_id: string;
  run_kind: string;
  run_status: string;
  token_decimals: number;
  recipient_id: string;
  recipient_name: string;
  wallet_address: string;
  token_account: string;
  amount: string;
  dodo_payment_id: string | null;
  hold_reason: string | null;
  signature: string | null;
  slot: string | null;
}

const TRANSFER_COLUMNS: CsvColumn<TransferRow>[] = [
  { header: "transfer_id", value: (r) => r.id },
  { header: "created_at_utc", value: (r) => r.cursor_at },
  { header: "run_id", value: (r) => r.run_id },
  { header: "run_kind", value: (r) => r.run_kind },
  { header: "run_status", value: (r) => r.run_status },
  { header: "recipient_id", value: (r) => r.recipient_id },
  { header: "recipient_name", value: (r) => r.recipient_name },
  { header: "wallet_address", value: (r) => r.wallet_address },
  { header: "token_account", value: (r) => r.token_account },
  { header: "amount", value: (r) => formatMoney(BigInt(r.amount), r.token_decimals) },
  { header: "token_decimals", value: (r) => r.token_decimals },
  { header: "paid", value: (r) => (r.signature ? "yes" : r.hold_reason ? "held" : "no") },
  { header: "hold_reason", value: (r) => r.hold_reason },
  { header: "signature", value: (r) => r.signature },
  { header: "slot", value: (r) => r.slot },
  { header: "dodo_payment_id", value: (r) => r.dodo_payment_id },
];

type Queryable = Pick<Database, "query">;

interface Page {
  organizationId: string;
  range: ExportRange;
  after: { at: string; id: string };
  limit: number;
}

// to_char with US: the key to the microsecond, so no row is skipped or repeated at a page boundary.
function paymentPage(db: Queryable, page: Page): Promise<PaymentRow[]> {
  return db.query<PaymentRow>(sql`
    SELECT p.id::text AS id, to_char(p.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS cursor_at,
      p.dodo_payment_id, p.status::text AS status, p.currency, p.total_amount_minor::text AS total_amount_minor,
      p.refunded_amount_minor::text AS refunded_amount_minor, p.settlement_currency,
      p.settlement_amount_minor::text AS settlement_amount_minor, p.net_settlement_minor::text AS net_settlement_minor,
      p.dispute_state::text AS dispute_state, c.customer_name, p.customer_email
    FROM payments p LEFT JOIN checkout_sessions c ON c.id = p.checkout_session_id
    WHERE p.organization_id = ${page.organizationId}::uuid
      AND p.created_at >= ${page.range.startsAt}::timestamptz AND p.created_at < ${page.range.endsAt}::timestamptz
      AND (p.created_at, p.id) > (${page.after.at}::timestamptz, ${page.after.id}::uuid)
    ORDER BY p.created_at, p.id
    LIMIT ${page.limit}`);
}

// A transfer is paid when a batch that carries it has a CONFIRMED event (a superseded batch never does).
function transferPage(db: Queryable, page: Page): Promise<TransferRow[]> {
  return db.query<TransferRow>(sql`
    SELECT t.id::text AS id, to_char(t.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS cursor_at,
      r.id::text AS run_id, r.kind::text AS run_kind, r.status::text AS run_status, r.token_decimals,
      t.recipient_id::text AS recipient_id, rc.name AS recipient_name, rc.wallet_address, t.token_account,
      t.amount::text AS amount, p.dodo_payment_id, h.reason AS hold_reason, s.signature, s.slot::text AS slot
    FROM payout_transfers t
      JOIN payout_runs r ON r.id = t.run_id
      JOIN recipients rc ON rc.id = t.recipient_id
      LEFT JOIN payments p ON p.id = r.payment_id
      LEFT JOIN transfer_holds h ON h.transfer_id = t.id
      LEFT JOIN LATERAL (
        SELECT e.signature, e.slot FROM split_batch_items i
          JOIN split_batch_events e ON e.batch_id = i.batch_id AND e.status = 'CONFIRMED'
        WHERE i.transfer_id = t.id ORDER BY e.seq DESC LIMIT 1
      ) s ON true
    WHERE r.organization_id = ${page.organizationId}::uuid
      AND t.created_at >= ${page.range.startsAt}::timestamptz AND t.created_at < ${page.range.endsAt}::timestamptz
      AND (t.created_at, t.id) > (${page.after.at}::timestamptz, ${page.after.id}::uuid)
    ORDER BY t.created_at, t.id
    LIMIT ${page.limit}`);
}

interface ExportSpec<Row extends Keyed> {
  columns: readonly CsvColumn<Row>[];
  page(db: Queryable, page: Page): Promise<Row[]>;
}

const SPECS: { [K in ExportKind]: ExportSpec<Keyed> } = {
  payments: { columns: PAYMENT_COLUMNS, page: paymentPage } as unknown as ExportSpec<Keyed>,
  transfers: { columns: TRANSFER_COLUMNS, page: transferPage } as unknown as ExportSpec<Keyed>,
};

export interface ExportOptions {
  pageSize?: number;
}

/**
 * The export as CSV text chunks: the header, then one chunk per page of rows. Scoped to `organizationId`
 * by every query; the range's end is exclusive.
 */
export async function* exportCsvChunks(db: Queryable, kind: ExportKind, organizationId: string, range: ExportRange, options: ExportOptions = {}): AsyncGenerator<string> {
  const spec = SPECS[kind];
  const limit = options.pageSize ?? EXPORT_PAGE_SIZE;
  yield csvHeader(spec.columns);
  let after = { at: range.startsAt.toISOString(), id: NO_ID };
  for (;;) {
    const rows = await spec.page(db, { organizationId, range, after, limit });
    if (rows.length > 0) yield csvRows(spec.columns, rows);
    if (rows.length < limit) return;
    const last = rows[rows.length - 1]!;
    after = { at: last.cursor_at, id: last.id };
  }
}

/** The export as a byte stream for a Response body: each pull reads the next page, nothing ahead. */
export function exportCsvStream(db: Queryable, kind: ExportKind, organizationId: string, range: ExportRange, options: ExportOptions = {}): ReadableStream<Uint8Array> {
  const chunks = exportCsvChunks(db, kind, organizationId, range, options);
  const encoder = new TextEncoder();
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        let next: IteratorResult<string>;
        try {
          next = await chunks.next();
        } catch (error) {
          // The status line is long sent: the client sees a cut-off body, the log says why.
          log.error("CSV export failed part way", { kind, organizationId, from: range.from, to: range.to, error });
          controller.error(error);
          return;
        }
        if (next.done) controller.close();
        else controller.enqueue(encoder.encode(next.value));
      },
      async cancel() {
        await chunks.return(undefined);
      },
    },
    { highWaterMark: 0 },
  );
}

export const paymentsCsvStream = (db: Queryable, organizationId: string, range: ExportRange, options?: ExportOptions) =>
  exportCsvStream(db, "payments", organizationId, range, options);
export const transfersCsvStream = (db: Queryable, organizationId: string, range: ExportRange, options?: ExportOptions) =>
  exportCsvStream(db, "transfers", organizationId, range, options);

/**
 * The HTTP answer of /console/exports/<kind>.csv: the stream as an attachment, or, for dates the form's
 * schema refuses, a redirect back to the form, which shows the same schema's messages beside its fields.
 */
export function csvExportResponse(db: Queryable, kind: ExportKind, organizationId: string, params: URLSearchParams, timeZone: string): Response {
  const parsed = parseExportRange({ from: params.get("from"), to: params.get("to") }, timeZone);
  if (!parsed.ok) {
    const back = new URLSearchParams({ kind, from: params.get("from") ?? "", to: params.get("to") ?? "" });
    return new Response(null, { status: 303, headers: { location: `/console/exports?${back}` } });
  }
  return new Response(exportCsvStream(db, kind, organizationId, parsed.range), {
    headers: {
      "content-type": "text/csv; charset=utf-8; header=present",
      "content-disposition": `attachment; filename="${exportFileName(kind, parsed.range)}"`,
      "cache-control": "no-store",
    },
  });
}
