// One organization's payout state, read once under its payout lock (decision 006): the active policy
// with its schedule and the organization's time zone, its recipients' balances and open clawbacks, and
// what each period-capped rule allocated in its window. Each compile carries its own effects forward
// (`apply`), so the next payment of a batch sees them exactly as if it had read them back from the rows:
// only compiles write accruals, nettings and shares, and they hold this lock.
import type { PolicyVersion, RecipientState } from "~/ledger/policy";
import { compilePayout, type PayoutPlan } from "~/ledger/policy-compiler";
import type { PayoutSchedule } from "~/ledger/payout-schedule";
import { sql, type SqlTransaction } from "~/utils/sql.server";
import { loadActivePolicy, loadPeriodToDate } from "./policies.server";
import { loadRecipientStates, type RecipientRow } from "./recipients.server";

/**
 * Compiles in one organization are serialised: two runs reading the same accrued balance at once would
 * both pay it out. A transaction-scoped advisory lock, released at commit or rollback. Everything that
 * moves a run's money or status takes it (compiles, cancellations, clawbacks, window closes, the
 * executor's status changes).
 */
export async function lockOrganizationPayouts(tx: SqlTransaction, organizationId: string): Promise<void> {
  await tx.query(sql`SELECT pg_advisory_xact_lock(hashtextextended(${`payouts:${organizationId}`}, 11))`);
}

export class OrganizationLedger {
  private constructor(
    readonly organizationId: string,
    readonly policy: PolicyVersion,
    readonly schedule: PayoutSchedule,
    readonly timeZone: string,
    private readonly periodDays: ReadonlyMap<string, number>,
    private readonly states: Map<string, RecipientState>,
    readonly recipients: ReadonlyMap<string, RecipientRow>,
    private readonly periodToDate: Map<string, bigint>,
  ) {}

  /** Null when the organization has no active policy. Call with the organization's lock held. */
  static async load(tx: SqlTransaction, organizationId: string, now: Date): Promise<OrganizationLedger | null> {
    const loaded = await loadActivePolicy(tx, organizationId);
    if (!loaded) return null;
    const { policy, periodDays } = loaded;
    const { states, rows } = await loadRecipientStates(tx, organizationId, policy.rules.map((rule) => rule.recipientId));
    const periodToDate = await loadPeriodToDate(tx, periodDays, now);
    return new OrganizationLedger(organizationId, policy, loaded.schedule, loaded.timeZone, periodDays, states, rows, periodToDate);
  }

  /** The rules whose shares a run records (they have a period cap). */
  get cappedRules(): ReadonlySet<string> {
    return new Set(this.periodDays.keys());
  }

  compile(distributable: bigint, accrueAll = false): PayoutPlan {
    return compilePayout({ distributable, policy: this.policy, recipients: this.states, periodToDate: this.periodToDate, accrueAll });
  }

  /** The plan's effects on the state the next compile reads (Map.set keeps the id order the compiler merges on). */
  apply(plan: PayoutPlan): void {
    const shares = this.periodDays.size > 0 ? new Map<string, bigint>() : null;
    const addShare = (ruleId: string, amount: bigint) => {
      if (shares && this.periodDays.has(ruleId)) shares.set(ruleId, (shares.get(ruleId) ?? 0n) + amount);
    };
    plan.forEachBalanceMovement((rule, accrued, released, netted) => {
      const state = this.states.get(rule.recipientId)!;
      this.states.set(rule.recipientId, { ...state, balance: state.balance + accrued - released, clawbackOwed: state.clawbackOwed - netted });
      addShare(rule.id, accrued + netted - released);
    });
    if (!shares) return;
    plan.forEachTransfer((rule, amount) => addShare(rule.id, amount));
    // A period cap counts the rule's own share (paid or accrued), exactly what the run's share rows hold.
    for (const [ruleId, share] of shares) this.periodToDate.set(ruleId, (this.periodToDate.get(ruleId) ?? 0n) + share);
  }
}
