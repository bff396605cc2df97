// The rows a batch of compiles writes, gathered in memory and written by ONE statement (decision 006):
// runs, transfers, balance entries, period-capped rule shares, audit rows, and the schedule windows the
// batch's payments accrue into. Amounts travel as decimal
// strings inside JSON and are cast to bigint by the database; ids are made here, so transfers and entries
// can name their run before it is written.
import { randomUUID } from "node:crypto";
import type { PolicyVersion } from "~/ledger/policy";
import type { PayoutPlan } from "~/ledger/policy-compiler";
import type { PayoutWindowBounds } from "~/ledger/payout-schedule";
import { traceRecord } from "~/ledger/policy-trace";
import { sql, type SqlTransaction } from "~/utils/sql.server";
import type { RecipientRow } from "./recipients.server";

export type PayoutRunKind = "PAYMENT" | "SWEEP" | "ACCRUAL";

export interface CompiledRun {
  /** Null when no run is written (a hold; or nothing left to pay), so compiling again later works. */
  payoutRunId: string | null;
  /** False when the payment already had its run (a redelivery, or a second succeeded event). */
  created: boolean;
  /** Why nothing was compiled (unsupported currency, no active policy, an open dispute, ...). */
  holdReason: string | null;
  /** The compiler's plan, when this call compiled one. */
  plan: PayoutPlan | null;
}

export interface RunSpec {
  organizationId: string;
  kind: PayoutRunKind;
  paymentId: string | null;
  policy: PolicyVersion;
  plan: PayoutPlan;
  recipients: ReadonlyMap<string, RecipientRow>;
  tokenDecimals: number;
  now: Date;
  /** Rules with a period cap: their share in this run is recorded (what the cap counts). */
  cappedRules: ReadonlySet<string>;
  supersedesRunId?: string | null;
  payoutWindowId?: string | null;
}

/** A window key: one row per (organization, schedule, start). */
const windowKey = (organizationId: string, bounds: PayoutWindowBounds) => `${organizationId}|${bounds.schedule}|${bounds.startsAt.toISOString()}`;

export class RunRows {
  private runs: object[] = [];
  private transfers: object[] = [];
  private entries: object[] = [];
  private shares: object[] = [];
  private audits: object[] = [];
  private windows = new Map<string, object>();

  hold(organizationId: string, paymentId: string | null, holdReason: string): CompiledRun {
    // A run's figures are fixed once written (the database enforces it), so a zero-figure placeholder
    // run would block the real one for ever; without it, compiling again once the cause is fixed works.
    this.audit(organizationId, "payout.held", "payment", paymentId ?? "sweep", { holdReason });
    return { payoutRunId: null, created: false, holdReason, plan: null };
  }

  audit(organizationId: string, action: string, entityType: string, entityId: string, data: Record<string, unknown>): void {
    this.audits.push({ organization_id: organizationId, action, entity_type: entityType, entity_id: entityId, data });
  }

  /** The schedule window a payment's shares accrue into: created once, closed by its sweep (payout-windows.server.ts). */
  ensureWindow(organizationId: string, bounds: PayoutWindowBounds): void {
    const key = windowKey(organizationId, bounds);
    if (this.windows.has(key)) return;
    this.windows.set(key, {
      organization_id: organizationId,
      schedule: bounds.schedule,
      time_zone: bounds.timeZone,
      starts_at: bounds.startsAt.toISOString(),
      ends_at: bounds.endsAt.toISOString(),
    });
  }

  run(spec: RunSpec): string {
    const { plan, policy, organizationId, paymentId, tokenDecimals } = spec;
    const runId = randomUUID();
    this.runs.push({
      n: this.runs.length,
      id: runId,
      organization_id: organizationId,
      kind: spec.kind,
      payment_id: paymentId,
      policy_version_id: policy.id,
      token_decimals: tokenDecimals,
      distributable: plan.distributable.toString(),
      total_transfers: plan.totals.transferred.toString(),
      treasury_remainder: plan.remainder.toString(),
      supersedes_run_id: spec.supersedesRunId ?? null,
      payout_window_id: spec.payoutWindowId ?? null,
      // The compile's clock, not the database's: period caps count runs by this time, and a caller that
      // passes `now` (a replay, a test) gets windows that agree with it.
      created_at: spec.now.toISOString(),
    });
    // Rows straight off the plan's columns (forEach*: no intermediate transfer or movement objects).
    const capped = spec.cappedRules.size > 0 ? new Map<string, bigint>() : null;
    const addShare = (ruleId: string, amount: bigint) => {
      if (capped && spec.cappedRules.has(ruleId)) capped.set(ruleId, (capped.get(ruleId) ?? 0n) + amount);
    };
    plan.forEachTransfer((rule, amount) => {
      const tokenAccount = spec.recipients.get(rule.recipientId)!.tokenAccount;
      this.transfers.push({ run_id: runId, recipient_id: rule.recipientId, rule_id: rule.id, token_account: tokenAccount, amount: amount.toString() });
      addShare(rule.id, amount);
    });
    const common = { organization_id: organizationId, token_decimals: tokenDecimals, payment_id: paymentId, payout_run_id: runId, source_run_id: null };
    plan.forEachBalanceMovement((rule, accrued, released, netted, outcome, holdReason) => {
      const recipient_id = rule.recipientId;
      if (accrued > 0n) this.entries.push({ ...common, recipient_id, kind: "ACCRUAL", amount: accrued.toString(), memo: holdReason });
      if (released > 0n) {
        const memo = outcome === "PAID" ? "paid with this run" : "netted against a clawback";
        this.entries.push({ ...common, recipient_id, kind: "ACCRUAL_PAID", amount: released.toString(), memo });
      }
      if (netted > 0n) this.entries.push({ ...common, recipient_id, kind: "CLAWBACK_NETTED", amount: netted.toString(), memo: null });
      // share = transfer + accrued + netted - released (the compiler's per-line identity)
      addShare(rule.id, accrued + netted - released);
    });
    if (capped) {
      for (const [ruleId, share] of capped) {
        if (share > 0n) this.shares.push({ run_id: runId, rule_id: ruleId, share: share.toString(), created_at: spec.now.toISOString() });
      }
    }
    this.audit(organizationId, "payout_run.compiled", "payout_run", runId, {
      paymentId,
      kind: spec.kind,
      supersedesRunId: spec.supersedesRunId ?? null,
      policyVersionId: policy.id,
      policyVersion: policy.version,
      ...traceRecord(plan, policy.rules.length),
    });
    return runId;
  }

  /** Writes every gathered row in one statement; checks the database wrote exactly what was sent. */
  async flush(tx: SqlTransaction): Promise<void> {
    if (this.audits.length === 0) return; // every run, hold and hold change has its audit row
    const windows = [...this.windows.values()];
    const sent = {
      runs: this.runs.length,
      transfers: this.transfers.length,
      entries: this.entries.length,
      shares: this.shares.length,
      audits: this.audits.length,
    };
    const [written] = await tx.query<typeof sent>(sql`
      WITH windows AS (
        INSERT INTO payout_windows (organization_id, schedule, time_zone, starts_at, ends_at)
        SELECT x.organization_id, x.schedule::payout_schedule, x.time_zone, x.starts_at, x.ends_at
        FROM jsonb_to_recordset(${JSON.stringify(windows)}::jsonb) AS x(organization_id uuid, schedule text, time_zone text,
             starts_at timestamptz, ends_at timestamptz)
        ON CONFLICT (organization_id, schedule, starts_at) DO NOTHING
        RETURNING 1
      ), runs AS (
        INSERT INTO payout_runs (id, organization_id, kind, payment_id, policy_version_id, status, token_decimals,
                                 distributable, total_transfers, treasury_remainder, supersedes_run_id,
                                 payout_window_id, created_at)
        SELECT x.id, x.organization_id, x.kind::payout_run_kind, x.payment_id, x.policy_version_id, 'READY', x.token_decimals,
               x.distributable, x.total_transfers, x.treasury_remainder, x.supersedes_run_id, x.payout_window_id,
               x.created_at
        FROM jsonb_to_recordset(${JSON.stringify(this.runs)}::jsonb) AS x(id uuid, organization_id uuid, kind text,
             payment_id uuid, policy_version_id uuid, token_decimals integer, distributable bigint, total_transfers bigint,
             treasury_remainder bigint, supersedes_run_id uuid, payout_window_id uuid, created_at timestamptz, n integer)
        -- in compile order: seq (the identity) follows it, and the cascade of a cancellation reads it
        ORDER BY x.n
        RETURNING 1
      ), transfers AS (
        INSERT INTO payout_transfers (run_id, recipient_id, rule_id, token_account, amount)
        SELECT x.run_id, x.recipient_id, x.rule_id, x.token_account, x.amount
        FROM jsonb_to_recordset(${JSON.stringify(this.transfers)}::jsonb) AS x(run_id uuid, recipient_id uuid, rule_id uuid,
             token_account text, amount bigint)
        RETURNING 1
      ), entries AS (
        INSERT INTO recipient_balance_entries (organization_id, recipient_id, kind, amount, token_decimals, payment_id, payout_run_id,
                                               source_run_id, memo)
        SELECT x.organization_id, x.recipient_id, x.kind::balance_entry_kind, x.amount, x.token_decimals, x.payment_id, x.payout_run_id,
               x.source_run_id, x.memo
        FROM jsonb_to_recordset(${JSON.stringify(this.entries)}::jsonb) AS x(organization_id uuid, recipient_id uuid, kind text,
             amount bigint, token_decimals integer, payment_id uuid, payout_run_id uuid, source_run_id uuid, memo text)
        RETURNING 1
      ), shares AS (
        INSERT INTO payout_rule_shares (run_id, rule_id, share, created_at)
        SELECT x.run_id, x.rule_id, x.share, x.created_at
        FROM jsonb_to_recordset(${JSON.stringify(this.shares)}::jsonb) AS x(run_id uuid, rule_id uuid, share bigint, created_at timestamptz)
        RETURNING 1
      ), audits AS (
        INSERT INTO audit_log (organization_id, actor_type, action, entity_type, entity_id, data)
        SELECT x.organization_id, 'SYSTEM', x.action, x.entity_type, x.entity_id, x.data
        FROM jsonb_to_recordset(${JSON.stringify(this.audits)}::jsonb) AS x(organization_id uuid, action text, entity_type text,
             entity_id text, data jsonb)
        RETURNING 1
      )
      SELECT (SELECT count(*) FROM runs)::int AS runs, (SELECT count(*) FROM transfers)::int AS transfers,
             (SELECT count(*) FROM entries)::int AS entries, (SELECT count(*) FROM shares)::int AS shares,
             (SELECT count(*) FROM audits)::int AS audits, (SELECT count(*) FROM windows)::int AS windows`);
    if (!written || Object.entries(sent).some(([key, count]) => written[key as keyof typeof sent] !== count)) {
      throw new Error(`payout runs: the database wrote ${JSON.stringify(written)} of ${JSON.stringify(sent)} rows`);
    }
    this.runs = [];
    this.transfers = [];
    this.entries = [];
    this.shares = [];
    this.audits = [];
    this.windows = new Map();
  }
}
