// Reconciliation, two ways. `reconcileOpenRuns` (at executor start, every 30 s) puts every batch that is
// not known settled back in front of an executor, which resolves it from the chain first (SplitRecord
// present -> settled if it matches; absent and expired -> sign again; absent and valid -> wait), approves
// what the system may approve, and settles runs whose batches are all done. `reconcileReport` (npm run
// reconcile) proves ledger == chain: per run, its batches against their SplitRecords and its transfers
// accounted for; per treasury, vault balance + settled total == deposits - withdrawals (the program's
// Deposited / Withdrawn events in the treasury's history) and the chain's settled total == the ledger's.
import { PublicKey } from "@solana/web3.js";
import { autoApproveRuns, type ApprovalPolicy } from "~/models/approvals.server";
import { finalizeRun, runBatchPhases, startRun, uuidBytes, type SettlementDatabase } from "~/models/settlement.server";
import { liveLeases } from "~/models/settlement-setup.server";
import { sql } from "~/utils/sql.server";
import type { ChainAccountInfo, ChainClient } from "./chain.server";
import type { ExecutorContext } from "./executor-context.server";
import { decodeSplitRecord, decodeTreasury, splitRecordAddress } from "./program";
import { treasuryMovements } from "./treasury-events";
import { isTerminal, type BatchPhase } from "./batch-state";

/** One pass of the executor's reconciliation; answers how many batches it put back in the queue. */
export async function reconcileOpenRuns(ctx: ExecutorContext, policy: ApprovalPolicy = {}): Promise<{ enqueued: number; finalized: number; approved: number }> {
  const approved = await autoApproveRuns(ctx.db, ctx.queue, ctx.target, { policy });
  const runs = await ctx.db.query<{ id: string; status: string }>(sql`
    SELECT id, status::text AS status FROM payout_runs WHERE status IN ('APPROVED', 'EXECUTING') ORDER BY seq LIMIT 1000`);
  let enqueued = 0;
  let finalized = 0;
  for (const run of runs) {
    const batches = await runBatchPhases(ctx.db, run.id);
    const open = batches.filter((b) => !isTerminal(b.phase));
    if (open.length === 0) {
      if (run.status === "APPROVED") await startRun(ctx.db, run.id);
      if ((await finalizeRun(ctx.db, run.id)).status !== "EXECUTING") finalized++;
      continue;
    }
    const leased = await liveLeases(ctx.db, open.map((b) => `batch:${b.id}`));
    for (const batch of open) {
      if (leased.has(`batch:${batch.id}`)) continue;
      await ctx.queue.enqueueBatchNow({ batchId: batch.id, runId: run.id });
      enqueued++;
    }
  }
  if (enqueued > 0 || approved > 0) ctx.queue.wakeWorkers();
  return { enqueued, finalized, approved };
}

// ---------------------------------------------------------------------------------- the report

export interface BatchReconciliation {
  batchId: string;
  batchIndex: number;
  phase: BatchPhase["kind"];
  total: string;
  recipients: number;
  onChain: { recipients: number; total: string; planHashMatches: boolean } | null;
  drift: string | null;
}

export interface RunReconciliation {
  runId: string;
  status: string;
  /** Token base units, decimal strings. */
  transfers: string;
  settled: string;
  held: string;
  unsettled: string;
  batches: BatchReconciliation[];
  drift: string[];
}

export interface TreasuryReconciliation {
  treasury: string;
  vault: string;
  vaultBalance: string;
  settledOnChain: string;
  settledInLedger: string;
  deposits: string;
  withdrawals: string;
  splitsOnChain: string;
  drift: string[];
}

export interface ReconcileReport {
  checkedAt: string;
  runs: RunReconciliation[];
  treasuries: TreasuryReconciliation[];
  /** Number of discrepancies; zero means ledger == chain. */
  drift: number;
}

interface BatchRow {
  id: string;
  run_id: string;
  batch_index: number;
  recipient_count: number;
  total: string;
  plan_hash: string;
  treasury: string | null;
}

function checkBatch(row: BatchRow, phase: BatchPhase, account: ChainAccountInfo | null): BatchReconciliation {
  const record = account && account.lamports > 0n ? decodeSplitRecord(Uint8Array.from(account.data)) : null;
  const onChain = record
    ? { recipients: record.recipientCount, total: record.total.toString(), planHashMatches: Buffer.from(record.planHash).toString("hex") === row.plan_hash }
    : null;
  const matches = onChain !== null && onChain.planHashMatches && onChain.total === row.total && onChain.recipients === row.recipient_count;
  let drift: string | null = null;
  if (phase.kind === "CONFIRMED" && !matches) drift = onChain ? "recorded settled, but the SplitRecord differs" : "recorded settled, but no SplitRecord exists";
  else if (phase.kind === "MISMATCH") drift = "the SplitRecord does not match the batch (an alert)";
  else if (phase.kind !== "CONFIRMED" && onChain) drift = `a SplitRecord exists but the ledger says ${phase.kind}`;
  return { batchId: row.id, batchIndex: row.batch_index, phase: phase.kind, total: row.total, recipients: row.recipient_count, onChain, drift };
}

async function reconcileRuns(db: SettlementDatabase, client: ChainClient, programId: PublicKey, runIds: string[] | null): Promise<RunReconciliation[]> {
  const runs = await db.query<{ id: string; status: string; total_transfers: string }>(sql`
    SELECT id, status::text AS status, total_transfers::text FROM payout_runs
    WHERE status IN ('EXECUTING', 'SETTLED', 'PARTIAL', 'FAILED')
      AND (${runIds ? JSON.stringify(runIds) : null}::jsonb IS NULL OR id IN (SELECT jsonb_array_elements_text(${runIds ? JSON.stringify(runIds) : null}::jsonb)::uuid))
    ORDER BY seq`);
  const out: RunReconciliation[] = [];
  for (const run of runs) {
    const rows = await db.query<BatchRow>(sql`
      SELECT id, run_id, batch_index, recipient_count, total::text, plan_hash, treasury FROM split_batches WHERE run_id = ${run.id}::uuid ORDER BY batch_index`);
    const phases = new Map((await runBatchPhases(db, run.id)).map((b) => [b.id, b.phase]));
    const addresses = rows.map((row) =>
      splitRecordAddress({ treasury: new PublicKey(row.treasury!), runId: uuidBytes(run.id), batchIndex: row.batch_index, programId }),
    );
    const accounts = await client.accounts(addresses, { commitment: "confirmed" });
    const batches = rows.map((row, i) => checkBatch(row, phases.get(row.id)!, accounts[i] ?? null));
    const [held] = await db.query<{ held: string }>(sql`
      SELECT coalesce(sum(t.amount), 0)::text AS held FROM transfer_holds h JOIN payout_transfers t ON t.id = h.transfer_id WHERE t.run_id = ${run.id}::uuid`);
    const live = batches.filter((b) => b.phase !== "SUPERSEDED");
    const settled = live.filter((b) => b.phase === "CONFIRMED").reduce((s, b) => s + BigInt(b.total), 0n);
    const unsettled = live.filter((b) => b.phase !== "CONFIRMED").reduce((s, b) => s + BigInt(b.total), 0n);
    const drift = batches.filter((b) => b.drift).map((b) => `batch ${b.batchIndex}: ${b.drift}`);
    const accounted = settled + unsettled + BigInt(held!.held);
    if (accounted !== BigInt(run.total_transfers)) {
      drift.push(`transfers total ${run.total_transfers}, but settled + unsettled + held = ${accounted}`);
    }
    if (run.status === "SETTLED" && unsettled !== 0n) drift.push(`run is SETTLED with ${unsettled} unsettled`);
    if (run.status === "EXECUTING") drift.push("run is still EXECUTING (reconcile again once the executors are done)");
    out.push({ runId: run.id, status: run.status, transfers: run.total_transfers, settled: settled.toString(), held: held!.held, unsettled: unsettled.toString(), batches, drift });
  }
  return out;
}

/** Deposits and withdrawals in the treasury's whole history, from the program's events. */
async function treasuryFlows(client: ChainClient, treasury: PublicKey, programId: PublicKey): Promise<{ deposits: bigint; withdrawals: bigint }> {
  let deposits = 0n;
  let withdrawals = 0n;
  let before: string | undefined;
  for (;;) {
    const page = await client.read("getSignaturesForAddress", (c) => c.getSignaturesForAddress(treasury, { limit: 1000, before }, "confirmed"));
    for (const entry of page) {
      if (entry.err) continue;
      const tx = await client.read("getTransaction", (c) => c.getTransaction(entry.signature, { commitment: "confirmed", maxSupportedTransactionVersion: 0 }));
      for (const movement of treasuryMovements(tx?.meta?.logMessages ?? [], treasury, programId)) {
        if (movement.kind === "deposit") deposits += movement.amount;
        if (movement.kind === "withdrawal") withdrawals += movement.amount;
      }
    }
    if (page.length < 1000) break;
    before = page[page.length - 1]!.signature;
  }
  return { deposits, withdrawals };
}

async function reconcileTreasury(db: SettlementDatabase, client: ChainClient, programId: PublicKey, treasuryText: string): Promise<TreasuryReconciliation> {
  const treasury = new PublicKey(treasuryText);
  const drift: string[] = [];
  const account = await client.account(treasury);
  const state = account ? decodeTreasury(account.data) : null;
  const vault = state?.vault ?? PublicKey.default;
  let vaultBalance = 0n;
  if (state) {
    const balance = await client.read("getTokenAccountBalance", (c) => c.getTokenAccountBalance(vault, "confirmed"));
    vaultBalance = BigInt(balance.value.amount);
  } else drift.push("the treasury account does not exist on chain");
  const [ledger] = await db.query<{ settled: string }>(sql`
    SELECT coalesce(sum(b.total), 0)::text AS settled FROM split_batches b
    WHERE b.treasury = ${treasuryText}
      AND (SELECT e.status FROM split_batch_events e WHERE e.batch_id = b.id ORDER BY e.seq DESC LIMIT 1) = 'CONFIRMED'`);
  const { deposits, withdrawals } = await treasuryFlows(client, treasury, programId);
  const settledOnChain = state?.totalSettled ?? 0n;
  if (settledOnChain !== BigInt(ledger!.settled)) drift.push(`the chain settled ${settledOnChain}, the ledger ${ledger!.settled}`);
  if (vaultBalance + settledOnChain !== deposits - withdrawals) {
    drift.push(`vault ${vaultBalance} + settled ${settledOnChain} != deposits ${deposits} - withdrawals ${withdrawals}`);
  }
  return {
    treasury: treasuryText,
    vault: vault.toBase58(),
    vaultBalance: vaultBalance.toString(),
    settledOnChain: settledOnChain.toString(),
    settledInLedger: ledger!.settled,
    deposits: deposits.toString(),
    withdrawals: withdrawals.toString(),
    splitsOnChain: (state?.splitsExecuted ?? 0n).toString(),
    drift,
  };
}

/** Ledger against chain for every run that reached the chain (or `runIds`) and every treasury they used. */
export async function reconcileReport(
  db: SettlementDatabase,
  client: ChainClient,
  args: { programId: PublicKey; runIds?: string[]; treasuries?: string[] },
): Promise<ReconcileReport> {
  const runs = await reconcileRuns(db, client, args.programId, args.runIds ?? null);
  const used = await db.query<{ treasury: string }>(sql`SELECT DISTINCT treasury FROM split_batches WHERE treasury IS NOT NULL ORDER BY treasury`);
  const treasuryList = [...new Set([...(args.treasuries ?? []), ...used.map((r) => r.treasury)])];
  const treasuries = [];
  for (const treasury of treasuryList) treasuries.push(await reconcileTreasury(db, client, args.programId, treasury));
  const drift = runs.reduce((n, r) => n + r.drift.length, 0) + treasuries.reduce((n, t) => n + t.drift.length, 0);
  return { checkedAt: new Date().toISOString(), runs, treasuries, drift };
}
