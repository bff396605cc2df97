// Payout runs as the console (and the operator API) read them, always scoped to one organization: the list
// by state, one run in full (transfers, batches with their state, signatures, fees and compute units, the
// run's cost, holds and why, decisions), and its progress (batch by batch) for the live view. Amounts stay
// bigint here; the page formats them.
import { batchPhase, type BatchPhase } from "~/settlement/batch-state";
import { sql, type SqlQueryable } from "~/utils/sql.server";
import { paymentLabel } from "~/utils/identifiers";
import { RUN_STATUSES } from "./console-overview.server";
import { loadBatchEvents } from "./settlement.server";

export type RunStatus = (typeof RUN_STATUSES)[number];
export { RUN_STATUSES };

export interface RunListRow {
  id: string;
  kind: string;
  status: RunStatus;
  tokenDecimals: number;
  totalTransfers: bigint;
  transfers: number;
  batches: number;
  approvals: number;
  rejected: boolean;
  dodoPaymentId: string | null;
  /** How every page names the payment: Dodo's id with our short id (app/utils/identifiers.ts). */
  paymentLabel: string | null;
  holdReason: string | null;
  createdAt: string;
}

/** The organization's payable runs (accrual runs pay nothing themselves), newest first, of one state or all. */
export async function listPayoutRuns(db: SqlQueryable, organizationId: string, args: { status?: RunStatus; limit?: number } = {}): Promise<RunListRow[]> {
  const rows = await db.query<{
    id: string; kind: string; status: RunStatus; token_decimals: number; total_transfers: string; transfers: number; batches: number;
    approvals: number; rejected: boolean; dodo_payment_id: string | null; payment_id: string | null; hold_reason: string | null; created_at: Date | string;
  }>(sql`
    SELECT r.id, r.kind::text AS kind, r.status::text AS status, r.token_decimals, r.total_transfers::text AS total_transfers,
           (SELECT count(*) FROM payout_transfers t WHERE t.run_id = r.id)::int AS transfers,
           (SELECT count(*) FROM split_batches b WHERE b.run_id = r.id)::int AS batches,
           (SELECT count(*) FROM payout_approvals a WHERE a.run_id = r.id AND a.decision = 'APPROVE')::int AS approvals,
           EXISTS (SELECT 1 FROM payout_approvals a WHERE a.run_id = r.id AND a.decision = 'REJECT') AS rejected,
           p.dodo_payment_id, p.id::text AS payment_id, r.hold_reason, r.created_at
    FROM payout_runs r LEFT JOIN payments p ON p.id = r.payment_id
    WHERE r.organization_id = ${organizationId}::uuid AND r.kind <> 'ACCRUAL'
      AND (${args.status ?? null}::text IS NULL OR r.status::text = ${args.status ?? null}::text)
    ORDER BY r.seq DESC
    LIMIT ${args.limit ?? 200}`);
  return rows.map((r) => ({
    id: r.id,
    kind: r.kind,
    status: r.status,
    tokenDecimals: r.token_decimals,
    totalTransfers: BigInt(r.total_transfers),
    transfers: r.transfers,
    batches: r.batches,
    approvals: r.approvals,
    rejected: r.rejected,
    dodoPaymentId: r.dodo_payment_id,
    paymentLabel: r.dodo_payment_id && r.payment_id ? paymentLabel({ dodoPaymentId: r.dodo_payment_id, id: r.payment_id }) : null,
    holdReason: r.hold_reason,
    createdAt: new Date(r.created_at).toISOString(),
  }));
}

/** A batch's state in words a person reads, from its folded phase. */
export type BatchState = "planned" | "sending" | "settled" | "failed" | "superseded" | "mismatch";

export function batchState(phase: BatchPhase): BatchState {
  switch (phase.kind) {
    case "READY_TO_SIGN":
      return "planned";
    case "OPEN":
      return "sending";
    case "CONFIRMED":
      return "settled";
    case "FAILED":
      return "failed";
    case "SUPERSEDED":
      return "superseded";
    case "MISMATCH":
      return "mismatch";
  }
}

export interface BatchProgress {
  id: string;
  index: number;
  state: BatchState;
  /** The attempt that settled it (or the open or last one). */
  signature: string | null;
  error: string | null;
}

export interface RunProgress {
  runId: string;
  status: RunStatus;
  batches: BatchProgress[];
}

interface BatchRow {
  id: string;
  batch_index: number;
  recipient_count: number;
  total: string;
  plan_hash: string;
  transaction_version: string | null;
  supersedes_index: number | null;
}

async function runBatches(db: SqlQueryable, runId: string) {
  const batches = await db.query<BatchRow>(sql`
    SELECT b.id, b.batch_index, b.recipient_count, b.total::text AS total, b.plan_hash, b.transaction_version::text AS transaction_version,
           s.batch_index AS supersedes_index
    FROM split_batches b LEFT JOIN split_batches s ON s.id = b.supersedes_id
    WHERE b.run_id = ${runId}::uuid ORDER BY b.batch_index`);
  const events = await loadBatchEvents(db, batches.map((b) => b.id));
  return batches.map((b) => {
    const list = events.get(b.id) ?? [];
    const phase = batchPhase(list);
    const signature = phase.kind === "CONFIRMED" ? phase.signature : phase.kind === "OPEN" ? phase.attempt.signature : ([...list].reverse().find((e) => e.signature)?.signature ?? null);
    const error = phase.kind === "FAILED" || phase.kind === "MISMATCH" ? phase.error : null;
    return { row: b, events: list, phase, progress: { id: b.id, index: b.batch_index, state: batchState(phase), signature, error } satisfies BatchProgress };
  });
}

/** The run's state and each batch's, or null when the organization has no such run. */
export async function payoutRunProgress(db: SqlQueryable, organizationId: string, runId: string): Promise<RunProgress | null> {
  const [run] = await db.query<{ status: RunStatus }>(sql`
    SELECT status::text AS status FROM payout_runs WHERE id = ${runId}::uuid AND organization_id = ${organizationId}::uuid`);
  if (!run) return null;
  return { runId, status: run.status, batches: (await runBatches(db, runId)).map((b) => b.progress) };
}

export interface RunDetail {
  id: string;
  kind: string;
  status: RunStatus;
  tokenDecimals: number;
  distributable: bigint;
  totalTransfers: bigint;
  treasuryRemainder: bigint;
  holdReason: string | null;
  cancelReason: string | null;
  createdAt: string;
  /** label: how every page names the payment (app/utils/identifiers.ts). */
  payment: { dodoPaymentId: string; label: string; currency: string; totalMinor: bigint } | null;
  transfers: { id: string; recipientName: string; tokenAccount: string; amount: bigint; batchIndex: number | null; heldReason: string | null }[];
  batches: (BatchProgress & {
    version: string | null;
    recipients: number;
    total: bigint;
    planHash: string;
    supersedesIndex: number | null;
    feeLamports: bigint | null;
    computeUnits: bigint | null;
    signatures: { signature: string; status: string }[];
  })[];
  holds: { recipientName: string; tokenAccount: string; amount: bigint; reason: string; batchIndex: number }[];
  decisions: { operator: string; decision: string; comment: string | null; at: string }[];
  costs: { totalLamports: bigint; byKind: { kind: string; lamports: bigint }[] };
}

/** One run of the organization in full, or null. */
export async function payoutRunDetail(db: SqlQueryable, organizationId: string, runId: string): Promise<RunDetail | null> {
  if (!/^[0-9a-f-]{36}$/i.test(runId)) return null;
  const [run] = await db.query<{
    id: string; kind: string; status: RunStatus; token_decimals: number; distributable: string; total_transfers: string; treasury_remainder: string;
    hold_reason: string | null; cancel_reason: string | null; created_at: Date | string; dodo_payment_id: string | null; payment_id: string | null; currency: string | null; total_minor: string | null;
  }>(sql`
    SELECT r.id, r.kind::text AS kind, r.status::text AS status, r.token_decimals, r.distributable::text, r.total_transfers::text,
           r.treasury_remainder::text, r.hold_reason, r.cancel_reason, r.created_at, p.dodo_payment_id, p.id::text AS payment_id, p.currency, p.total_amount_minor::text AS total_minor
    FROM payout_runs r LEFT JOIN payments p ON p.id = r.payment_id
    WHERE r.id = ${runId}::uuid AND r.organization_id = ${organizationId}::uuid`);
  if (!run) return null;
  const batches = await runBatches(db, runId);
  const [transfers, holds, decisions, costs, fees] = await Promise.all([
    db.query<{ id: string; name: string; token_account: string; amount: string; batch_index: number | null; held_reason: string | null }>(sql`
      SELECT t.id, rc.name, t.token_account, t.amount::text AS amount, h.reason AS held_reason,
             (SELECT max(b.batch_index) FROM split_batch_items i JOIN split_batches b ON b.id = i.batch_id WHERE i.transfer_id = t.id) AS batch_index
      FROM payout_transfers t JOIN recipients rc ON rc.id = t.recipient_id LEFT JOIN transfer_holds h ON h.transfer_id = t.id
      WHERE t.run_id = ${runId}::uuid ORDER BY rc.name, t.id`),
    db.query<{ name: string; token_account: string; amount: string; reason: string; batch_index: number }>(sql`
      SELECT rc.name, t.token_account, t.amount::text AS amount, h.reason, b.batch_index
      FROM transfer_holds h JOIN payout_transfers t ON t.id = h.transfer_id JOIN recipients rc ON rc.id = t.recipient_id JOIN split_batches b ON b.id = h.batch_id
      WHERE t.run_id = ${runId}::uuid ORDER BY b.batch_index, rc.name`),
    db.query<{ operator: string | null; by_system: boolean; decision: string; comment: string | null; created_at: Date | string }>(sql`
      SELECT o.name AS operator, a.by_system, a.decision::text AS decision, a.comment, a.created_at
      FROM payout_approvals a LEFT JOIN operators o ON o.id = a.operator_id WHERE a.run_id = ${runId}::uuid ORDER BY a.created_at`),
    db.query<{ kind: string; lamports: string }>(sql`
      SELECT kind::text AS kind, sum(lamports)::text AS lamports FROM payout_run_costs WHERE run_id = ${runId}::uuid GROUP BY kind ORDER BY kind`),
    db.query<{ batch_id: string; fee: string | null; units: string | null }>(sql`
      SELECT e.batch_id, e.fee_lamports::text AS fee, e.compute_units::text AS units FROM split_batch_events e JOIN split_batches b ON b.id = e.batch_id
      WHERE b.run_id = ${runId}::uuid AND e.status = 'CONFIRMED'`),
  ]);
  const feeOf = new Map(fees.map((f) => [f.batch_id, f]));
  const byKind = costs.map((c) => ({ kind: c.kind, lamports: BigInt(c.lamports) }));
  return {
    id: run.id,
    kind: run.kind,
    status: run.status,
    tokenDecimals: run.token_decimals,
    distributable: BigInt(run.distributable),
    totalTransfers: BigInt(run.total_transfers),
    treasuryRemainder: BigInt(run.treasury_remainder),
    holdReason: run.hold_reason,
    cancelReason: run.cancel_reason,
    createdAt: new Date(run.created_at).toISOString(),
    payment:
      run.dodo_payment_id && run.payment_id
        ? {
            dodoPaymentId: run.dodo_payment_id,
            label: paymentLabel({ dodoPaymentId: run.dodo_payment_id, id: run.payment_id }),
            currency: run.currency ?? "",
            totalMinor: BigInt(run.total_minor ?? "0"),
          }
        : null,
    transfers: transfers.map((t) => ({ id: t.id, recipientName: t.name, tokenAccount: t.token_account, amount: BigInt(t.amount), batchIndex: t.batch_index, heldReason: t.held_reason })),
    batches: batches.map(({ row, events, progress }) => {
      const fee = feeOf.get(row.id);
      const signatures = new Map<string, string>();
      for (const e of events) if (e.signature) signatures.set(e.signature, e.status);
      return {
        ...progress,
        version: row.transaction_version,
        recipients: row.recipient_count,
        total: BigInt(row.total),
        planHash: row.plan_hash,
        supersedesIndex: row.supersedes_index,
        feeLamports: fee?.fee ? BigInt(fee.fee) : null,
        computeUnits: fee?.units ? BigInt(fee.units) : null,
        signatures: [...signatures].map(([signature, status]) => ({ signature, status })),
      };
    }),
    holds: holds.map((h) => ({ recipientName: h.name, tokenAccount: h.token_account, amount: BigInt(h.amount), reason: h.reason, batchIndex: h.batch_index })),
    decisions: decisions.map((d) => ({ operator: d.by_system ? "the system (policy auto-approval)" : (d.operator ?? "an operator"), decision: d.decision, comment: d.comment, at: new Date(d.created_at).toISOString() })),
    costs: { totalLamports: byKind.reduce((sum, c) => sum + c.lamports, 0n), byKind },
  };
}
