// The close of a payout schedule's windows: a scheduled job kept as rows (payout_windows), not timers.
// A payment of a scheduled policy accrues its shares and makes sure its window's row exists; once the
// window's end has passed, the payout-run worker closes it: one SWEEP run per (organization, window) that
// pays each recipient its accrued total in one transfer, and the row marked closed in the same
// transaction. A restart across the close time loses nothing (the row waits, due) and doubles nothing
// (the row is claimed with SKIP LOCKED and closed with its sweep; a unique index allows one live sweep
// per window). Why rows and not pg-boss: docs/decisions/009-payouts-follow-the-payment.md.
import { log, redact } from "~/utils/log.server";
import { sql, type SqlStatement, type SqlTransaction } from "~/utils/sql.server";
import { lockOrganizationPayouts, OrganizationLedger } from "./payout-ledger.server";
import { RunRows } from "./payout-run-rows.server";
import { compileRun, DEFAULT_TOKEN_DECIMALS } from "./payout-runs.server";

export interface WindowDatabase {
  transaction<T>(fn: (tx: SqlTransaction) => Promise<T>): Promise<T>;
  query<Row = Record<string, unknown>>(statement: SqlStatement): Promise<Row[]>;
}

export interface CloseWindowsResult {
  /** Windows closed (with a sweep run, or with nothing to pay). */
  closed: number;
  /** Sweep runs written. */
  sweeps: number;
  /** Windows whose close failed this time (kept due, retried with backoff). */
  failed: number;
}

const LAST_ERROR_MAX = 2000;

interface DueWindow {
  id: string;
  organization_id: string;
  ends_at: string;
}

/** Claims and closes one due window; null when none is due (or every due one is held by another worker). */
async function closeOne(db: WindowDatabase, now: Date, tokenDecimals: number, claimed: { id?: string }): Promise<"swept" | "empty" | null> {
  return db.transaction(async (tx) => {
    const [window] = await tx.query<DueWindow>(sql`
      SELECT id, organization_id, ends_at::text AS ends_at FROM payout_windows
      WHERE closed_at IS NULL AND ends_at <= ${now}::timestamptz AND available_at <= ${now}::timestamptz
      ORDER BY ends_at, id
      LIMIT 1
      FOR UPDATE SKIP LOCKED`);
    if (!window) return null;
    claimed.id = window.id;
    await lockOrganizationPayouts(tx, window.organization_id);
    const ledger = await OrganizationLedger.load(tx, window.organization_id, now);
    const rows = new RunRows();
    const run = ledger
      ? compileRun(ledger, rows, { kind: "SWEEP", paymentId: null, distributable: 0n, tokenDecimals, now, payoutWindowId: window.id })
      : null;
    rows.audit(window.organization_id, "payout_window.closed", "payout_window", window.id, {
      sweepRunId: run?.payoutRunId ?? null,
      reason: ledger ? (run ? null : "nothing accrued to pay") : "no active policy: balances stay accrued",
    });
    await rows.flush(tx);
    await tx.query(sql`
      UPDATE payout_windows SET closed_at = ${now}::timestamptz, sweep_run_id = ${run?.payoutRunId ?? null}::uuid, last_error = NULL
      WHERE id = ${window.id}::uuid`);
    return run ? "swept" : "empty";
  });
}

/**
 * Closes every window due at `now` (default: the wall clock), oldest first, one transaction each. A failed
 * close is recorded on its row (attempts, last error, a later available_at) and retried by a later call.
 */
export async function closeDuePayoutWindows(
  db: WindowDatabase,
  options: { now?: Date; limit?: number; tokenDecimals?: number } = {},
): Promise<CloseWindowsResult> {
  const now = options.now ?? new Date();
  const limit = options.limit ?? 100;
  const result: CloseWindowsResult = { closed: 0, sweeps: 0, failed: 0 };
  // One cheap look first: the worker calls this after every drain, and almost always nothing is due.
  const [due] = await db.query<{ due: boolean }>(sql`
    SELECT EXISTS (SELECT 1 FROM payout_windows
                   WHERE closed_at IS NULL AND ends_at <= ${now}::timestamptz AND available_at <= ${now}::timestamptz) AS due`);
  if (!due?.due) return result;
  for (let i = 0; i < limit; i++) {
    const claimed: { id?: string } = {};
    try {
      const outcome = await closeOne(db, now, options.tokenDecimals ?? DEFAULT_TOKEN_DECIMALS, claimed);
      if (outcome === null) break;
      result.closed++;
      if (outcome === "swept") result.sweeps++;
    } catch (error) {
      if (!claimed.id) throw error;
      result.failed++;
      const message = redact(error instanceof Error ? `${error.name}: ${error.message}` : String(error)).slice(0, LAST_ERROR_MAX);
      await db.query(sql`
        UPDATE payout_windows SET attempts = attempts + 1, last_error = ${message},
               available_at = now() + make_interval(secs => least(power(2, least(attempts, 20)), 300))
        WHERE id = ${claimed.id}::uuid AND closed_at IS NULL`);
      log.warn("payout window close failed; will retry", { windowId: claimed.id, error: message });
    }
  }
  return result;
}
