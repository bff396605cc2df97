// Money in and out of one organization for the overview: revenue (the settlement amount of succeeded
// payments, by the day they were recorded) against payouts (the totals of split batches confirmed on
// chain, by the day of confirmation), day by day in the viewer's time zone; and what the vault's runway is
// measured against (recent runs' totals, what compiled runs still owe). Sums are done by the database in
// 15-minute buckets (every zone's offset is a multiple of 15 minutes) and folded into local days here.
import { usdCentsToTokenUnits } from "~/ledger/money";
import { localDayStart } from "~/ledger/payout-schedule";
import type { Database } from "~/utils/db.server";
import { sql } from "~/utils/sql.server";
import { formatInstant } from "~/utils/time-zone";

type Queryable = Pick<Database, "query">;

const BUCKET_SECONDS = 900;

export interface DayFlow {
  /** YYYY-MM-DD in the zone asked for. */
  day: string;
  /** USD cents of settlement. */
  revenueCents: bigint;
  /** Base units of the payout token. */
  payoutUnits: bigint;
}

export interface MoneyFlow {
  days: DayFlow[];
  timeZone: string;
  /** Succeeded payments in the range settled in a currency other than USD: not in the chart (no exact rate). */
  otherCurrencyPayments: number;
}

function addDays(day: string, n: number): string {
  const [y, m, d] = day.split("-").map(Number);
  return new Date(Date.UTC(y!, m! - 1, d! + n)).toISOString().slice(0, 10);
}

/** The last `dayCount` days up to today (in `timeZone`), each day's revenue and payouts. */
export async function loadMoneyFlow(db: Queryable, organizationId: string, options: { timeZone: string; dayCount?: number; now?: Date }): Promise<MoneyFlow> {
  const dayCount = options.dayCount ?? 30;
  const today = formatInstant(options.now ?? new Date(), options.timeZone, { dateOnly: true });
  const first = addDays(today, -(dayCount - 1));
  const startsAt = localDayStart(first, options.timeZone);
  const endsAt = localDayStart(addDays(today, 1), options.timeZone);
  const [revenue, payouts] = await Promise.all([
    db.query<{ bucket: string; currency: string; total: string; payments: number }>(sql`
      SELECT floor(extract(epoch FROM p.created_at) / ${BUCKET_SECONDS})::bigint::text AS bucket, p.settlement_currency AS currency,
        sum(p.settlement_amount_minor)::text AS total, count(*)::int AS payments
      FROM payments p
      WHERE p.organization_id = ${organizationId}::uuid AND p.status = 'SUCCEEDED' AND p.settlement_amount_minor IS NOT NULL
        AND p.created_at >= ${startsAt}::timestamptz AND p.created_at < ${endsAt}::timestamptz
      GROUP BY 1, 2`),
    db.query<{ bucket: string; total: string }>(sql`
      SELECT floor(extract(epoch FROM e.created_at) / ${BUCKET_SECONDS})::bigint::text AS bucket, sum(b.total)::text AS total
      FROM split_batches b
        JOIN payout_runs r ON r.id = b.run_id
        JOIN LATERAL (SELECT x.status, x.created_at FROM split_batch_events x WHERE x.batch_id = b.id ORDER BY x.seq DESC LIMIT 1) e ON e.status = 'CONFIRMED'
      WHERE r.organization_id = ${organizationId}::uuid AND e.created_at >= ${startsAt}::timestamptz AND e.created_at < ${endsAt}::timestamptz
      GROUP BY 1`),
  ]);
  const days = new Map<string, DayFlow>();
  for (let i = 0; i < dayCount; i++) {
    const day = addDays(first, i);
    days.set(day, { day, revenueCents: 0n, payoutUnits: 0n });
  }
  const dayOf = (bucket: string) => formatInstant(new Date(Number(bucket) * BUCKET_SECONDS * 1000), options.timeZone, { dateOnly: true });
  let otherCurrencyPayments = 0;
  for (const row of revenue) {
    if (row.currency !== "USD") {
      otherCurrencyPayments += row.payments;
      continue;
    }
    const flow = days.get(dayOf(row.bucket));
    if (flow) flow.revenueCents += BigInt(row.total);
  }
  for (const row of payouts) {
    const flow = days.get(dayOf(row.bucket));
    if (flow) flow.payoutUnits += BigInt(row.total);
  }
  return { days: [...days.values()], timeZone: options.timeZone, otherCurrencyPayments };
}

/** Revenue of a day in the payout token's base units (a USD cent is exact in any token of 2+ decimals). */
export function revenueInTokenUnits(flow: DayFlow, tokenDecimals: number): bigint {
  return usdCentsToTokenUnits(flow.revenueCents, tokenDecimals);
}

export interface RunwayFacts {
  /** Totals of the 20 newest runs that paid out (SETTLED or PARTIAL), base units. */
  recentRunTotals: bigint[];
  /** What READY, APPROVED and EXECUTING runs still have to pay (their total less batches already confirmed). */
  owed: bigint;
  /** The token decimals the newest run was compiled with (null before the first run). */
  tokenDecimals: number | null;
}

export async function loadRunwayFacts(db: Queryable, organizationId: string): Promise<RunwayFacts> {
  const [recent, owed, decimals] = await Promise.all([
    db.query<{ total: string }>(sql`
      SELECT total_transfers::text AS total FROM payout_runs
      WHERE organization_id = ${organizationId}::uuid AND status IN ('SETTLED', 'PARTIAL') AND kind <> 'ACCRUAL'
      ORDER BY seq DESC LIMIT 20`),
    db.query<{ owed: string }>(sql`
      SELECT coalesce(sum(r.total_transfers - coalesce(paid.total, 0)), 0)::text AS owed
      FROM payout_runs r
        LEFT JOIN LATERAL (
          SELECT sum(b.total) AS total FROM split_batches b
          WHERE b.run_id = r.id
            AND (SELECT e.status FROM split_batch_events e WHERE e.batch_id = b.id ORDER BY e.seq DESC LIMIT 1) = 'CONFIRMED'
        ) paid ON true
      WHERE r.organization_id = ${organizationId}::uuid AND r.status IN ('READY', 'APPROVED', 'EXECUTING') AND r.kind <> 'ACCRUAL'`),
    db.query<{ token_decimals: number }>(sql`
      SELECT token_decimals FROM payout_runs WHERE organization_id = ${organizationId}::uuid ORDER BY seq DESC LIMIT 1`),
  ]);
  return {
    recentRunTotals: recent.map((r) => BigInt(r.total)),
    owed: BigInt(owed[0]?.owed ?? "0"),
    tokenDecimals: decimals[0]?.token_decimals ?? null,
  };
}
