// What settlement keeps besides batches: leases (one executor per batch or treasury task at a time, by
// the database's clock), the run's costs, the treasury's address lookup tables as last read from the
// chain, and set-up transactions in flight (written before they are sent, resolved after).
import { sql, type SqlQueryable, type SqlTransaction } from "~/utils/sql.server";

export interface Lease {
  key: string;
  holder: string;
}

interface Db {
  transaction<T>(fn: (tx: SqlTransaction) => Promise<T>): Promise<T>;
  query<Row = Record<string, unknown>>(statement: ReturnType<typeof sql>): Promise<Row[]>;
}

export class LeaseLostError extends Error {
  readonly code = "LEASE_LOST";
  constructor(readonly lease: Lease) {
    super(`the lease ${lease.key} is no longer held by ${lease.holder}`);
    this.name = "LeaseLostError";
  }
}

/** Takes `key` for `holder` for `ttlMs` when it is free, expired, or already this holder's. */
export async function acquireLease(db: Db, lease: Lease, ttlMs: number): Promise<boolean> {
  const rows = await db.query(sql`
    INSERT INTO settlement_leases (key, holder, expires_at)
    VALUES (${lease.key}, ${lease.holder}, now() + ${ttlMs}::int * interval '1 millisecond')
    ON CONFLICT (key) DO UPDATE SET holder = EXCLUDED.holder, acquired_at = now(), expires_at = EXCLUDED.expires_at
      WHERE settlement_leases.expires_at < now() OR settlement_leases.holder = EXCLUDED.holder
    RETURNING 1`);
  return rows.length === 1;
}

export async function renewLease(db: Db, lease: Lease, ttlMs: number): Promise<boolean> {
  const rows = await db.query(sql`
    UPDATE settlement_leases SET expires_at = now() + ${ttlMs}::int * interval '1 millisecond'
    WHERE key = ${lease.key} AND holder = ${lease.holder} AND expires_at > now()
    RETURNING 1`);
  return rows.length === 1;
}

export async function releaseLease(db: Db, lease: Lease): Promise<void> {
  await db.query(sql`DELETE FROM settlement_leases WHERE key = ${lease.key} AND holder = ${lease.holder}`);
}

/** Inside a transaction: the lease is still ours (locked until commit), else LeaseLostError. */
export async function assertLease(tx: SqlTransaction, lease: Lease): Promise<void> {
  const rows = await tx.query(sql`
    SELECT 1 FROM settlement_leases WHERE key = ${lease.key} AND holder = ${lease.holder} AND expires_at > now() FOR UPDATE`);
  if (rows.length !== 1) throw new LeaseLostError(lease);
}

/** Keys held by a live lease, of those given. */
export async function liveLeases(db: SqlQueryable, keys: readonly string[]): Promise<Set<string>> {
  const rows = await db.query<{ key: string }>(sql`
    SELECT key FROM settlement_leases WHERE expires_at > now()
      AND key IN (SELECT jsonb_array_elements_text(${JSON.stringify(keys)}::jsonb))`);
  return new Set(rows.map((r) => r.key));
}

// ------------------------------------------------------------------------------------------ costs

export type RunCostKind = "SPLIT_FEE" | "SPLIT_RECORD_RENT" | "TOKEN_ACCOUNT_FEE" | "TOKEN_ACCOUNT_RENT" | "LOOKUP_TABLE_FEE" | "LOOKUP_TABLE_RENT";

export interface RunCostRow {
  runId: string;
  batchId?: string | null;
  kind: RunCostKind;
  lamports: bigint;
  signature: string;
}

/** Once per (signature, kind): recording a cost again (a replay after a crash) changes nothing. */
export async function insertRunCosts(db: SqlQueryable, rows: readonly RunCostRow[]): Promise<void> {
  const positive = rows.filter((r) => r.lamports >= 0n);
  if (positive.length === 0) return;
  const json = positive.map((r) => ({ run_id: r.runId, batch_id: r.batchId ?? null, kind: r.kind, lamports: r.lamports.toString(), signature: r.signature }));
  await db.query(sql`
    INSERT INTO payout_run_costs (run_id, batch_id, kind, lamports, signature)
    SELECT x.run_id, x.batch_id, x.kind::payout_run_cost_kind, x.lamports, x.signature
    FROM jsonb_to_recordset(${JSON.stringify(json)}::jsonb) AS x(run_id uuid, batch_id uuid, kind text, lamports bigint, signature text)
    ON CONFLICT (signature, kind) DO NOTHING`);
}

/** A run's cost in lamports, by kind and in all. */
export async function runCosts(db: SqlQueryable, runId: string): Promise<{ total: bigint; byKind: Record<string, bigint> }> {
  const rows = await db.query<{ kind: string; lamports: string }>(sql`
    SELECT kind::text AS kind, sum(lamports)::text AS lamports FROM payout_run_costs WHERE run_id = ${runId}::uuid GROUP BY kind`);
  const byKind = Object.fromEntries(rows.map((r) => [r.kind, BigInt(r.lamports)]));
  return { total: rows.reduce((sum, r) => sum + BigInt(r.lamports), 0n), byKind };
}

// ---------------------------------------------------------------------------- lookup tables

export interface LookupTableRow {
  id: string;
  address: string;
  recentSlot: bigint;
  createdSlot: bigint | null;
  lastExtendedSlot: bigint | null;
  /** Entries as last read from the chain, by position. */
  entries: string[];
}

export async function treasuryLookupTables(db: SqlQueryable, treasury: string): Promise<LookupTableRow[]> {
  const tables = await db.query<{ id: string; address: string; recent_slot: string; created_slot: string | null; last_extended_slot: string | null }>(sql`
    SELECT id, address, recent_slot::text, created_slot::text, last_extended_slot::text FROM address_lookup_tables
    WHERE treasury = ${treasury} AND abandoned_at IS NULL ORDER BY created_at, id`);
  const entries = await db.query<{ table_id: string; address: string }>(sql`
    SELECT e.table_id, e.address FROM address_lookup_table_entries e JOIN address_lookup_tables t ON t.id = e.table_id
    WHERE t.treasury = ${treasury} AND t.abandoned_at IS NULL ORDER BY e.table_id, e.position`);
  return tables.map((t) => ({
    id: t.id,
    address: t.address,
    recentSlot: BigInt(t.recent_slot),
    createdSlot: t.created_slot === null ? null : BigInt(t.created_slot),
    lastExtendedSlot: t.last_extended_slot === null ? null : BigInt(t.last_extended_slot),
    entries: entries.filter((e) => e.table_id === t.id).map((e) => e.address),
  }));
}

/** A new table's row, before its create is sent (its address derives from authority and recent slot). */
export async function insertLookupTable(tx: SqlQueryable, args: { treasury: string; address: string; authority: string; recentSlot: bigint }): Promise<string> {
  const [row] = await tx.query<{ id: string }>(sql`
    INSERT INTO address_lookup_tables (treasury, address, authority, recent_slot)
    VALUES (${args.treasury}, ${args.address}, ${args.authority}, ${args.recentSlot}::bigint) RETURNING id`);
  return row!.id;
}

/** What the chain holds in a table now: entries appended (never rewritten), slots recorded. */
export async function syncLookupTable(
  db: SqlQueryable,
  args: { tableId: string; addresses: readonly string[]; createdSlot?: bigint | null; lastExtendedSlot?: bigint | null },
): Promise<void> {
  const rows = args.addresses.map((address, position) => ({ position, address }));
  await db.query(sql`
    INSERT INTO address_lookup_table_entries (table_id, position, address)
    SELECT ${args.tableId}::uuid, x.position, x.address FROM jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) AS x(position integer, address text)
    ON CONFLICT (table_id, position) DO NOTHING`);
  await db.query(sql`
    UPDATE address_lookup_tables
    SET created_slot = coalesce(created_slot, ${args.createdSlot ?? null}::bigint),
        last_extended_slot = greatest(last_extended_slot, ${args.lastExtendedSlot ?? null}::bigint)
    WHERE id = ${args.tableId}::uuid`);
}

export async function abandonLookupTable(db: SqlQueryable, tableId: string): Promise<void> {
  await db.query(sql`UPDATE address_lookup_tables SET abandoned_at = now() WHERE id = ${tableId}::uuid AND created_slot IS NULL`);
}

// ------------------------------------------------------------------------- set-up transactions

export type SetupKind = "TOKEN_ACCOUNTS" | "LOOKUP_TABLE_CREATE" | "LOOKUP_TABLE_EXTEND";

export interface SetupTransactionRow {
  id: string;
  treasury: string;
  runId: string | null;
  kind: SetupKind;
  signature: string;
  lastValidBlockHeight: bigint;
  lookupTableId: string | null;
  addresses: string[];
}

export async function insertSetupTransaction(db: SqlQueryable, row: Omit<SetupTransactionRow, "id">): Promise<string> {
  const [inserted] = await db.query<{ id: string }>(sql`
    INSERT INTO settlement_setup_transactions (treasury, run_id, kind, signature, last_valid_block_height, lookup_table_id, addresses)
    VALUES (${row.treasury}, ${row.runId}::uuid, ${row.kind}::settlement_setup_kind, ${row.signature}, ${row.lastValidBlockHeight}::bigint,
            ${row.lookupTableId}::uuid, ARRAY(SELECT jsonb_array_elements_text(${JSON.stringify(row.addresses)}::jsonb)))
    RETURNING id`);
  return inserted!.id;
}

export async function pendingSetupTransactions(db: SqlQueryable, treasury: string | null): Promise<SetupTransactionRow[]> {
  const rows = await db.query<{
    id: string; treasury: string; run_id: string | null; kind: SetupKind; signature: string; last_valid_block_height: string;
    lookup_table_id: string | null; addresses: string[];
  }>(sql`
    SELECT id, treasury, run_id, kind::text AS kind, signature, last_valid_block_height::text, lookup_table_id, addresses
    FROM settlement_setup_transactions WHERE status = 'PENDING' AND (${treasury}::text IS NULL OR treasury = ${treasury}::text)
    ORDER BY created_at`);
  return rows.map((r) => ({
    id: r.id,
    treasury: r.treasury,
    runId: r.run_id,
    kind: r.kind,
    signature: r.signature,
    lastValidBlockHeight: BigInt(r.last_valid_block_height),
    lookupTableId: r.lookup_table_id,
    addresses: r.addresses,
  }));
}

export async function resolveSetupTransaction(
  db: Db,
  args: { id: string; status: "CONFIRMED" | "EXPIRED" | "FAILED"; slot?: bigint | null; error?: string | null; costs?: readonly RunCostRow[] },
): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.query(sql`
      UPDATE settlement_setup_transactions
      SET status = ${args.status}::settlement_setup_status, slot = ${args.slot ?? null}::bigint, error = ${args.error?.slice(0, 2000) ?? null},
          resolved_at = now()
      WHERE id = ${args.id}::uuid AND status = 'PENDING'`);
    if (args.costs?.length) await insertRunCosts(tx, args.costs);
  });
}
