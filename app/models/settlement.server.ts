// Settlement as rows: the batch plan written at approval, a batch as the executor reads it, its events
// (written only while the writer holds the batch's lease: a fenced write), holds with the balance entries
// that give the amounts back, superseding batches, and the run's state settled from its batches.
import { randomUUID } from "node:crypto";
import type { PublicKey } from "@solana/web3.js";
import { planBatches, supersedingBatch, type BatchCapacity, type PlannedBatch } from "~/ledger/batch-plan";
import { batchPhase, runOutcome, type BatchEventRow, type BatchEventStatus, type RunOutcome } from "~/settlement/batch-state";
import type { SettlementQueue } from "~/settlement/executor-queue.server";
import { splitPlanHash } from "~/settlement/program";
import type { TreasuryIdentity } from "~/settlement/treasury.server";
import { sql, type SqlQueryable, type SqlTransaction } from "~/utils/sql.server";
import { assertLease, type Lease, type RunCostRow, insertRunCosts } from "./settlement-setup.server";
import { PublicKey as Key } from "@solana/web3.js";

/** What a plan is written for: the program, the capacities, and each organization's treasury. */
export interface SettlementTarget {
  programId: PublicKey;
  capacity: BatchCapacity;
  treasuryFor(organizationId: string): TreasuryIdentity;
}

export interface SettlementDatabase {
  transaction<T>(fn: (tx: SqlTransaction) => Promise<T>): Promise<T>;
  query<Row = Record<string, unknown>>(statement: ReturnType<typeof sql>): Promise<Row[]>;
}

export class SettlementError extends Error {
  constructor(
    readonly code: "LEASE_LOST" | "RUN_NOT_FOUND" | "RUN_NOT_RETRYABLE" | "BATCH_NOT_FOUND",
    message: string,
  ) {
    super(message);
    this.name = "SettlementError";
  }
}

/** The 16 bytes of a UUID: a run's id on chain. */
export function uuidBytes(uuid: string): Uint8Array {
  const hex = uuid.replaceAll("-", "");
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new Error(`not a UUID: ${uuid}`);
  return Uint8Array.from(Buffer.from(hex, "hex"));
}

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");

function planHashOf(target: SettlementTarget, treasury: PublicKey, runId: string, batch: PlannedBatch): string {
  return hex(
    splitPlanHash({
      programId: target.programId,
      treasury,
      runId: uuidBytes(runId),
      batchIndex: batch.index,
      transfers: batch.transfers.map((t) => ({ tokenAccount: new Key(t.tokenAccount), amount: t.amount })),
    }),
  );
}

/** Inserts batches and their items in one statement (ids made here so items can name their batch). */
async function insertBatches(
  tx: SqlTransaction,
  runId: string,
  treasury: PublicKey,
  target: SettlementTarget,
  batches: readonly PlannedBatch[],
  supersedesId: string | null,
): Promise<string[]> {
  if (batches.length === 0) return [];
  const rows = batches.map((batch) => ({
    id: randomUUID(),
    batch_index: batch.index,
    recipient_count: batch.transfers.length,
    total: batch.total.toString(),
    plan_hash: planHashOf(target, treasury, runId, batch),
    transaction_version: batch.version,
  }));
  const items = batches.flatMap((batch, b) => batch.transfers.map((t, position) => ({ batch_id: rows[b]!.id, transfer_id: t.transferId, position })));
  const [written] = await tx.query<{ batches: number; items: number }>(sql`
    WITH b AS (
      INSERT INTO split_batches (id, run_id, batch_index, recipient_count, total, plan_hash, treasury, transaction_version, supersedes_id)
      SELECT x.id, ${runId}::uuid, x.batch_index, x.recipient_count, x.total, x.plan_hash, ${treasury.toBase58()},
             x.transaction_version::split_transaction_version, ${supersedesId}::uuid
      FROM jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) AS x(id uuid, batch_index integer, recipient_count integer, total bigint,
           plan_hash text, transaction_version text)
      RETURNING 1
    ), i AS (
      INSERT INTO split_batch_items (batch_id, transfer_id, position)
      SELECT x.batch_id, x.transfer_id, x.position
      FROM jsonb_to_recordset(${JSON.stringify(items)}::jsonb) AS x(batch_id uuid, transfer_id uuid, position integer)
      RETURNING 1
    )
    SELECT (SELECT count(*) FROM b)::int AS batches, (SELECT count(*) FROM i)::int AS items`);
  if (written?.batches !== rows.length || written.items !== items.length) {
    throw new Error(`settlement: wrote ${JSON.stringify(written)} of ${rows.length} batches and ${items.length} items`);
  }
  return rows.map((r) => r.id);
}

/** The run's transfers cut into batches by capacity: what writeRunPlan writes, and what a preview simulates before approval. */
export async function planRunBatches(db: SqlQueryable, runId: string, capacity: BatchCapacity): Promise<PlannedBatch[]> {
  const transfers = await db.query<{ id: string; token_account: string; amount: string }>(sql`
    SELECT id, token_account, amount::text AS amount FROM payout_transfers WHERE run_id = ${runId}::uuid`);
  return planBatches(transfers.map((t) => ({ transferId: t.id, tokenAccount: t.token_account, amount: BigInt(t.amount) })), capacity);
}

/**
 * The run's batch plan, written once (at approval, in the approval's transaction): its transfers cut by
 * capacity in a deterministic order, each batch with the plan hash the program will recompute. A run that
 * already has batches keeps them (answers their ids).
 */
export async function writeRunPlan(
  tx: SqlTransaction,
  run: { id: string; organizationId: string },
  target: SettlementTarget,
): Promise<{ batchIds: string[]; batches: PlannedBatch[] }> {
  const existing = await tx.query<{ id: string }>(sql`SELECT id FROM split_batches WHERE run_id = ${run.id}::uuid ORDER BY batch_index`);
  if (existing.length > 0) return { batchIds: existing.map((row) => row.id), batches: [] };
  const batches = await planRunBatches(tx, run.id, target.capacity);
  const treasury = target.treasuryFor(run.organizationId).treasury;
  return { batchIds: await insertBatches(tx, run.id, treasury, target, batches, null), batches };
}

export interface BatchItem {
  position: number;
  transferId: string;
  recipientId: string;
  tokenAccount: string;
  amount: bigint;
  walletAddress: string;
  walletKind: "ED25519" | "PDA_OWNER";
}

export interface BatchRecord {
  id: string;
  runId: string;
  organizationId: string;
  paymentId: string | null;
  tokenDecimals: number;
  runStatus: string;
  batchIndex: number;
  recipientCount: number;
  total: bigint;
  planHash: string;
  treasury: string;
  version: "LEGACY" | "V0";
  supersedesId: string | null;
  items: BatchItem[];
  events: BatchEventRow[];
}

interface EventRowText {
  batch_id: string;
  status: BatchEventStatus;
  signature: string | null;
  blockhash: string | null;
  last_valid_block_height: string | null;
  slot: string | null;
  error: string | null;
  transaction_hex: string | null;
}

const toEvent = (row: EventRowText): BatchEventRow => ({
  status: row.status,
  signature: row.signature,
  blockhash: row.blockhash,
  lastValidBlockHeight: row.last_valid_block_height === null ? null : BigInt(row.last_valid_block_height),
  slot: row.slot === null ? null : BigInt(row.slot),
  error: row.error,
  transaction: row.transaction_hex === null ? null : Uint8Array.from(Buffer.from(row.transaction_hex, "hex")),
});

/** The events of some batches, oldest first per batch. */
export async function loadBatchEvents(db: SqlQueryable, batchIds: readonly string[]): Promise<Map<string, BatchEventRow[]>> {
  const rows = await db.query<EventRowText>(sql`
    SELECT batch_id, status::text AS status, signature, blockhash, last_valid_block_height::text, slot::text, error,
           encode(transaction, 'hex') AS transaction_hex
    FROM split_batch_events
    WHERE batch_id IN (SELECT jsonb_array_elements_text(${JSON.stringify(batchIds)}::jsonb)::uuid)
    ORDER BY seq`);
  const byBatch = new Map<string, BatchEventRow[]>(batchIds.map((id) => [id, []]));
  for (const row of rows) byBatch.get(row.batch_id)?.push(toEvent(row));
  return byBatch;
}

export async function loadBatch(db: SqlQueryable, batchId: string): Promise<BatchRecord | null> {
  const [batch] = await db.query<{
    id: string; run_id: string; organization_id: string; payment_id: string | null; token_decimals: number; run_status: string;
    batch_index: number; recipient_count: number; total: string; plan_hash: string; treasury: string; version: "LEGACY" | "V0";
    supersedes_id: string | null;
  }>(sql`
    SELECT b.id, b.run_id, r.organization_id, r.payment_id, r.token_decimals, r.status::text AS run_status, b.batch_index,
           b.recipient_count, b.total::text AS total, b.plan_hash, b.treasury, b.transaction_version::text AS version, b.supersedes_id
    FROM split_batches b JOIN payout_runs r ON r.id = b.run_id
    WHERE b.id = ${batchId}::uuid`);
  if (!batch) return null;
  const items = await db.query<{
    position: number; transfer_id: string; recipient_id: string; token_account: string; amount: string; wallet_address: string;
    wallet_kind: "ED25519" | "PDA_OWNER";
  }>(sql`
    SELECT i.position, t.id AS transfer_id, t.recipient_id, t.token_account, t.amount::text AS amount, rc.wallet_address,
           rc.wallet_kind::text AS wallet_kind
    FROM split_batch_items i JOIN payout_transfers t ON t.id = i.transfer_id JOIN recipients rc ON rc.id = t.recipient_id
    WHERE i.batch_id = ${batchId}::uuid
    ORDER BY i.position`);
  const events = (await loadBatchEvents(db, [batchId])).get(batchId) ?? [];
  return {
    id: batch.id,
    runId: batch.run_id,
    organizationId: batch.organization_id,
    paymentId: batch.payment_id,
    tokenDecimals: batch.token_decimals,
    runStatus: batch.run_status,
    batchIndex: batch.batch_index,
    recipientCount: batch.recipient_count,
    total: BigInt(batch.total),
    planHash: batch.plan_hash,
    treasury: batch.treasury,
    version: batch.version,
    supersedesId: batch.supersedes_id,
    items: items.map((row) => ({
      position: row.position,
      transferId: row.transfer_id,
      recipientId: row.recipient_id,
      tokenAccount: row.token_account,
      amount: BigInt(row.amount),
      walletAddress: row.wallet_address,
      walletKind: row.wallet_kind,
    })),
    events,
  };
}

export interface NewBatchEvent {
  status: BatchEventStatus;
  signature?: string | null;
  blockhash?: string | null;
  lastValidBlockHeight?: bigint | null;
  slot?: bigint | null;
  error?: string | null;
  transaction?: Uint8Array | null;
  lookupTables?: readonly string[] | null;
  feeLamports?: bigint | null;
  computeUnits?: bigint | null;
}

async function insertEvent(tx: SqlTransaction, batchId: string, holder: string, event: NewBatchEvent): Promise<void> {
  await tx.query(sql`
    INSERT INTO split_batch_events (batch_id, status, signature, blockhash, last_valid_block_height, slot, error, transaction,
                                    lookup_tables, fee_lamports, compute_units, holder)
    VALUES (${batchId}::uuid, ${event.status}::split_batch_status, ${event.signature ?? null}, ${event.blockhash ?? null},
            ${event.lastValidBlockHeight ?? null}::bigint, ${event.slot ?? null}::bigint, ${event.error?.slice(0, 2000) ?? null},
            decode(${event.transaction ? hex(event.transaction) : null}, 'hex'),
            (SELECT array_agg(x) FROM jsonb_array_elements_text(${JSON.stringify(event.lookupTables ?? [])}::jsonb) AS x),
            ${event.feeLamports ?? null}::bigint, ${event.computeUnits ?? null}::bigint, ${holder})`);
}

/** Appends an event to a batch, only while `lease` is held (else LEASE_LOST, nothing written), with its costs. */
export async function recordBatchEvent(
  db: SettlementDatabase,
  args: { batchId: string; lease: Lease; event: NewBatchEvent; costs?: readonly RunCostRow[] },
): Promise<void> {
  await db.transaction(async (tx) => {
    await assertLease(tx, args.lease);
    await insertEvent(tx, args.batchId, args.lease.holder, args.event);
    if (args.costs?.length) await insertRunCosts(tx, args.costs);
  });
}

export interface HeldTransfer {
  transferId: string;
  reason: string;
}

/**
 * Holds the recipients of `held` out of `batch` (each amount back to its recipient's balance as an ACCRUAL
 * entry, with the reason) and supersedes the batch with one that pays the others, at the run's next index,
 * enqueued in the same transaction. The caller guarantees no attempt of `batch` can still land (its phase
 * is READY_TO_SIGN or FAILED on chain); the events refuse otherwise. Answers the new batch's id (null when
 * everyone was held).
 */
export async function holdAndSupersede(
  db: SettlementDatabase,
  queue: SettlementQueue,
  args: { batch: BatchRecord; lease: Lease; held: readonly HeldTransfer[]; target: SettlementTarget },
): Promise<string | null> {
  const { batch } = args;
  const heldIds = new Set(args.held.map((h) => h.transferId));
  const next = await db.transaction(async (tx) => {
    await assertLease(tx, args.lease);
    await tx.query(sql`SELECT id FROM payout_runs WHERE id = ${batch.runId}::uuid FOR UPDATE`);
    const events = (await loadBatchEvents(tx, [batch.id])).get(batch.id) ?? [];
    const phase = batchPhase(events);
    if (phase.kind !== "READY_TO_SIGN" && !(phase.kind === "FAILED" && phase.signature)) {
      throw new Error(`settlement: batch ${batch.id} cannot be superseded while it is ${phase.kind}`);
    }
    const holds = batch.items
      .filter((item) => heldIds.has(item.transferId))
      .map((item) => ({
        entry_id: randomUUID(),
        transfer_id: item.transferId,
        recipient_id: item.recipientId,
        amount: item.amount.toString(),
        reason: args.held.find((h) => h.transferId === item.transferId)!.reason.slice(0, 500),
      }));
    await tx.query(sql`
      WITH x AS (
        SELECT * FROM jsonb_to_recordset(${JSON.stringify(holds)}::jsonb)
          AS x(entry_id uuid, transfer_id uuid, recipient_id uuid, amount bigint, reason text)
      ), e AS (
        INSERT INTO recipient_balance_entries (id, organization_id, recipient_id, kind, amount, token_decimals, payment_id, memo)
        SELECT x.entry_id, ${batch.organizationId}::uuid, x.recipient_id, 'ACCRUAL', x.amount, ${batch.tokenDecimals},
               ${batch.paymentId}::uuid, 'held out of run ' || ${batch.runId} || ': ' || x.reason
        FROM x RETURNING 1
      ), h AS (
        INSERT INTO transfer_holds (transfer_id, batch_id, reason, balance_entry_id)
        SELECT x.transfer_id, ${batch.id}::uuid, x.reason, x.entry_id FROM x RETURNING 1
      ), a AS (
        INSERT INTO audit_log (organization_id, actor_type, action, entity_type, entity_id, data)
        SELECT ${batch.organizationId}::uuid, 'SYSTEM', 'settlement.transfer_held', 'payout_transfer', x.transfer_id::text,
               jsonb_build_object('runId', ${batch.runId}::text, 'batchIndex', ${batch.batchIndex}::int, 'amount', x.amount::text, 'reason', x.reason)
        FROM x RETURNING 1
      )
      SELECT (SELECT count(*) FROM h)::int AS holds`);
    const reasons = [...new Set(holds.map((h) => h.reason))].join("; ");
    await insertEvent(tx, batch.id, args.lease.holder, { status: "SUPERSEDED", error: `held ${holds.length}: ${reasons}` });
    const [{ next_index }] = await tx.query<{ next_index: number }>(sql`
      SELECT coalesce(max(batch_index), -1) + 1 AS next_index FROM split_batches WHERE run_id = ${batch.runId}::uuid`);
    const transfers = batch.items.map((item) => ({ transferId: item.transferId, tokenAccount: item.tokenAccount, amount: item.amount }));
    const replacement = supersedingBatch({ transfers }, heldIds, next_index!, args.target.capacity);
    if (!replacement) return null;
    const [id] = await insertBatches(tx, batch.runId, new Key(batch.treasury), args.target, [replacement], batch.id);
    await queue.enqueueBatches(tx, [{ batchId: id!, runId: batch.runId }]);
    return id!;
  });
  queue.announce();
  return next;
}

/** APPROVED -> EXECUTING; true when this call moved it (or it was EXECUTING already). */
export async function startRun(db: SettlementDatabase, runId: string): Promise<boolean> {
  const rows = await db.query<{ status: string }>(sql`
    UPDATE payout_runs SET status = 'EXECUTING', updated_at = now() WHERE id = ${runId}::uuid AND status = 'APPROVED'
    RETURNING status::text AS status`);
  if (rows.length > 0) return true;
  const [run] = await db.query<{ status: string }>(sql`SELECT status::text AS status FROM payout_runs WHERE id = ${runId}::uuid`);
  return run?.status === "EXECUTING";
}

/** The live and superseded batches of a run with their phases. */
export async function runBatchPhases(db: SqlQueryable, runId: string) {
  const batches = await db.query<{ id: string; batch_index: number }>(sql`
    SELECT id, batch_index FROM split_batches WHERE run_id = ${runId}::uuid ORDER BY batch_index`);
  const events = await loadBatchEvents(db, batches.map((b) => b.id));
  return batches.map((b) => ({ id: b.id, batchIndex: b.batch_index, phase: batchPhase(events.get(b.id) ?? []) }));
}

/**
 * Settles an EXECUTING run's state from its batches (see runOutcome), audited with the reason; a run
 * with batches still open stays EXECUTING. Safe to call from any executor at any time.
 */
export async function finalizeRun(db: SettlementDatabase, runId: string): Promise<RunOutcome> {
  return db.transaction(async (tx) => {
    const [run] = await tx.query<{ status: string; organization_id: string }>(sql`
      SELECT status::text AS status, organization_id FROM payout_runs WHERE id = ${runId}::uuid FOR UPDATE`);
    if (!run || run.status !== "EXECUTING") return { status: "EXECUTING" } as RunOutcome;
    const outcome = runOutcome((await runBatchPhases(tx, runId)).map((b) => b.phase));
    if (outcome.status === "EXECUTING") return outcome;
    const reason = "reason" in outcome ? outcome.reason : null;
    await tx.query(sql`UPDATE payout_runs SET status = ${outcome.status}::payout_run_status, updated_at = now() WHERE id = ${runId}::uuid`);
    await tx.query(sql`
      INSERT INTO audit_log (organization_id, actor_type, action, entity_type, entity_id, data)
      VALUES (${run.organization_id}::uuid, 'SYSTEM', ${`payout_run.${outcome.status.toLowerCase()}`}, 'payout_run', ${runId},
              jsonb_build_object('reason', ${reason}::text))`);
    return outcome;
  });
}

/**
 * A PARTIAL or FAILED run tried again: back to EXECUTING, each failed batch marked RETRY and enqueued
 * (settled batches are never touched; a batch whose SplitRecord did not match waits for a person).
 */
export async function retryPayoutRun(
  db: SettlementDatabase,
  queue: SettlementQueue,
  args: { runId: string; actor: { type: "OPERATOR"; operatorId: string } | { type: "API_KEY"; apiKeyId: string; prefix: string } | { type: "SYSTEM" } },
): Promise<{ batches: number }> {
  const result = await db.transaction(async (tx) => {
    const [run] = await tx.query<{ status: string; organization_id: string }>(sql`
      SELECT status::text AS status, organization_id FROM payout_runs WHERE id = ${args.runId}::uuid FOR UPDATE`);
    if (!run) throw new SettlementError("RUN_NOT_FOUND", "no such payout run");
    if (run.status !== "PARTIAL" && run.status !== "FAILED") {
      throw new SettlementError("RUN_NOT_RETRYABLE", `a ${run.status} run cannot be retried; only PARTIAL or FAILED runs can`);
    }
    const failed = (await runBatchPhases(tx, args.runId)).filter((b) => b.phase.kind === "FAILED");
    await tx.query(sql`UPDATE payout_runs SET status = 'EXECUTING', updated_at = now() WHERE id = ${args.runId}::uuid`);
    for (const batch of failed) await insertEvent(tx, batch.id, "retry", { status: "RETRY" });
    await queue.enqueueBatches(tx, failed.map((b) => ({ batchId: b.id, runId: args.runId })));
    if (failed.length === 0) await queue.enqueueRun(tx, { runId: args.runId });
    // As approvals.server.ts's actorIdOf: an API key is named by its public prefix.
    const actorId = args.actor.type === "OPERATOR" ? args.actor.operatorId : args.actor.type === "API_KEY" ? args.actor.prefix : null;
    await tx.query(sql`
      INSERT INTO audit_log (organization_id, actor_type, actor_id, action, entity_type, entity_id, data)
      VALUES (${run.organization_id}::uuid, ${args.actor.type}::audit_actor, ${actorId}, 'payout_run.retried', 'payout_run', ${args.runId},
              jsonb_build_object('batches', ${failed.length}::int, 'from', ${run.status}::text))`);
    return { batches: failed.length };
  });
  queue.announce();
  return result;
}
