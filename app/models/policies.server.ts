// Payout policies as rows: versions created whole and validated before insert, activation (one active
// version per organization), and loading the active version in the shape the compiler takes.
import type { Prisma, PrismaClient } from "~/generated/prisma/client";
import { LedgerError } from "~/ledger/money";
import {
  assertValidPolicy,
  findPolicyIssues,
  PolicyError,
  type PayoutRuleKind,
  type PayoutRuleSpec,
  type PolicyIssue,
  type PolicyVersion,
  type RecipientState,
} from "~/ledger/policy";
import { PAYOUT_SCHEDULES, type PayoutSchedule } from "~/ledger/payout-schedule";
import { isUniqueViolation } from "~/utils/db-errors.server";
import { sql, type SqlQueryable } from "~/utils/sql.server";

type Db = PrismaClient | Prisma.TransactionClient;

export type PolicyModelErrorCode = "POLICY_NOT_FOUND" | "POLICY_VERSION_CONFLICT" | "POLICY_VERSION_NOT_DRAFT" | "POLICY_SCHEDULE_INVALID";

export class PolicyModelError extends LedgerError {
  readonly code: PolicyModelErrorCode;
  constructor(code: PolicyModelErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

export interface PolicyRuleInput {
  recipientId: string;
  kind: PayoutRuleKind;
  basisPoints?: number | null;
  fixedAmount?: bigint | null;
  capPerPayment?: bigint | null;
  capPerPeriod?: bigint | null;
  /** Length of the period a `capPerPeriod` counts over, in days (required with it, refused without it). */
  periodDays?: number | null;
  minPayout?: bigint | null;
  priority?: number | null;
}

/**
 * Create a new DRAFT version of the named policy (creating the policy on first use), with its rules.
 * Every rule is validated against the organization's recipients first (PolicyError naming the rule);
 * nothing is written unless all of it is valid.
 */
export async function createPolicyVersion(
  prisma: PrismaClient,
  args: {
    organizationId: string;
    policyName: string;
    requireVerifiedRecipients?: boolean;
    /** INSTANT (default): each payment is its own run; HOURLY / DAILY / WEEKLY: swept at each window's close. */
    payoutSchedule?: PayoutSchedule;
    rules: readonly PolicyRuleInput[];
    /**
     * The version an operator's edit started from (0: a new policy). When another version was saved since,
     * the save is refused (POLICY_VERSION_CONFLICT) rather than silently superseding what they did not see.
     */
    basedOnVersion?: number;
    /** Who saves it, for the audit trail (omitted by seeds and tests, which audit nothing). */
    actorId?: string;
    /** API_KEY: the operator API's key, named by its prefix in `actorId`. */
    actorType?: "OPERATOR" | "API_KEY";
  },
) {
  const payoutSchedule = args.payoutSchedule ?? "INSTANT";
  if (!(PAYOUT_SCHEDULES as readonly string[]).includes(payoutSchedule)) {
    throw new PolicyModelError("POLICY_SCHEDULE_INVALID", `payout schedule must be one of ${PAYOUT_SCHEDULES.join(", ")}`);
  }
  const specs: PayoutRuleSpec[] = args.rules.map((rule, index) => ({
    id: `rule#${index}`,
    recipientId: rule.recipientId,
    kind: rule.kind,
    basisPoints: rule.basisPoints ?? null,
    fixedAmount: rule.fixedAmount ?? null,
    capPerPayment: rule.capPerPayment ?? null,
    capPerPeriod: rule.capPerPeriod ?? null,
    minPayout: rule.minPayout ?? null,
    priority: rule.priority ?? null,
  }));
  const recipientRows = await prisma.recipient.findMany({
    where: { organizationId: args.organizationId, id: { in: [...new Set(args.rules.map((rule) => rule.recipientId))] } },
    select: { id: true, status: true },
  });
  const recipients = new Map<string, RecipientState>(
    recipientRows.map((row) => [row.id, { id: row.id, status: row.status, walletVerified: false, balance: 0n, clawbackOwed: 0n }]),
  );
  const draft: PolicyVersion = { id: "draft", version: 1, requireVerifiedRecipients: args.requireVerifiedRecipients ?? false, rules: specs };
  const issues: PolicyIssue[] = findPolicyIssues(draft, recipients);
  args.rules.forEach((rule, index) => {
    const hasCap = rule.capPerPeriod !== null && rule.capPerPeriod !== undefined;
    const days = rule.periodDays;
    const hasDays = days !== null && days !== undefined;
    if (hasCap !== hasDays || (hasDays && (!Number.isInteger(days) || days < 1 || days > 3660))) {
      issues.push({
        code: "RULE_CAP_INVALID",
        message: `rule #${index} for recipient ${rule.recipientId}: capPerPeriod needs periodDays (1..3660 days) and periodDays needs capPerPeriod`,
        ruleIndex: index,
        recipientId: rule.recipientId,
      });
    }
  });
  if (issues.length > 0) throw new PolicyError(issues);

  try {
    return await prisma.$transaction(async (tx) => {
      const policy =
        (await tx.payoutPolicy.findFirst({ where: { organizationId: args.organizationId, name: args.policyName } })) ??
        (await tx.payoutPolicy.create({ data: { organizationId: args.organizationId, name: args.policyName } }));
      const latest = await tx.payoutPolicyVersion.findFirst({ where: { policyId: policy.id }, orderBy: { version: "desc" } });
      if (args.basedOnVersion !== undefined && (latest?.version ?? 0) !== args.basedOnVersion) {
        throw new PolicyModelError(
          "POLICY_VERSION_CONFLICT",
          args.basedOnVersion === 0
            ? `a policy named "${args.policyName}" already exists (its newest version is ${latest?.version}); edit that version instead`
            : `version ${latest?.version ?? 0} of this policy was saved after version ${args.basedOnVersion}, which you edited; open the newest version and make your change there`,
        );
      }
      const version = await tx.payoutPolicyVersion.create({
        data: {
          policyId: policy.id,
          organizationId: args.organizationId,
          version: (latest?.version ?? 0) + 1,
          requireVerifiedRecipients: args.requireVerifiedRecipients ?? false,
          payoutSchedule,
        },
      });
      await tx.payoutRule.createMany({
        // The validated specs, as columns (their draft ids aside), with what the compiler does not see.
        data: specs.map(({ id: _draftId, ...columns }, index) => ({
          ...columns,
          policyVersionId: version.id,
          periodDays: args.rules[index]!.periodDays ?? null,
          priority: columns.priority ?? 0,
        })),
      });
      if (args.actorId) {
        await tx.auditLog.create({
          data: {
            organizationId: args.organizationId,
            actorType: args.actorType ?? "OPERATOR",
            actorId: args.actorId,
            action: "policy.version_created",
            entityType: "payout_policy_version",
            entityId: version.id,
            data: { policy: args.policyName, version: version.version, rules: specs.length, basedOnVersion: args.basedOnVersion ?? null },
          },
        });
      }
      return version;
    });
  } catch (error) {
    // Two operators saving a version of one policy at once: one wins the version number, the other retries.
    if (isUniqueViolation(error)) {
      throw new PolicyModelError("POLICY_VERSION_CONFLICT", "another version of this policy was saved at the same time; try again");
    }
    throw error;
  }
}

/** Holds a policy activation can fix: no policy, or one that no longer fits its recipients (see compileRun). */
export const POLICY_FIXABLE_HOLDS = ["NO_ACTIVE_POLICY", "RULE_"] as const;

/**
 * Make a DRAFT version the organization's active one, retiring the version active before it. Payments held
 * for want of a (fitting) policy are asked again in the same transaction: the payout-run worker compiles
 * them under the new version (it finds them at its next poll).
 */
export async function activatePolicyVersion(
  prisma: PrismaClient,
  /** actorType API_KEY: the operator API's key, named by its prefix in `actorId`. */
  args: { organizationId: string; versionId: string; actorId?: string; actorType?: "OPERATOR" | "API_KEY" },
) {
  return prisma.$transaction(async (tx) => {
    const version = await tx.payoutPolicyVersion.findFirst({ where: { id: args.versionId, organizationId: args.organizationId } });
    if (!version) throw new PolicyModelError("POLICY_NOT_FOUND", "no such policy version in this organization");
    if (version.status !== "DRAFT") throw new PolicyModelError("POLICY_VERSION_NOT_DRAFT", `policy version is ${version.status}, not DRAFT`);
    await tx.payoutPolicyVersion.updateMany({
      where: { organizationId: args.organizationId, status: "ACTIVE" },
      data: { status: "RETIRED" },
    });
    const active = await tx.payoutPolicyVersion.update({ where: { id: version.id }, data: { status: "ACTIVE" } });
    const asked = await tx.$executeRaw`
      UPDATE payout_run_requests SET completed_at = NULL, hold_reason = NULL, attempts = 0, last_error = NULL, available_at = now()
      WHERE organization_id = ${args.organizationId}::uuid AND completed_at IS NOT NULL AND payout_run_id IS NULL
        AND (hold_reason LIKE 'NO_ACTIVE_POLICY%' OR hold_reason LIKE 'RULE\_%')`;
    await tx.auditLog.create({
      data: {
        organizationId: args.organizationId,
        actorType: args.actorType ?? "OPERATOR",
        actorId: args.actorId ?? null,
        action: "policy.activated",
        entityType: "payout_policy_version",
        entityId: version.id,
        data: { version: version.version, heldPaymentsAskedAgain: asked },
      },
    });
    return active;
  });
}

export interface LoadedPolicy {
  /** Validated and frozen: the compiler does not re-check its rules. */
  policy: PolicyVersion;
  /** Period length by rule id, for rules with a period cap. */
  periodDays: Map<string, number>;
  schedule: PayoutSchedule;
  /** The organization's time zone, in which schedule windows open and close. */
  timeZone: string;
}

interface RuleRow {
  version_id: string;
  version: number;
  require_verified_recipients: boolean;
  payout_schedule: PayoutSchedule;
  time_zone: string;
  id: string | null;
  recipient_id: string;
  kind: PayoutRuleKind;
  basis_points: number | null;
  fixed_amount: string | null;
  cap_per_payment: string | null;
  cap_per_period: string | null;
  period_days: number | null;
  min_payout: string | null;
  priority: number;
}

const bigintOrNull = (text: string | null) => (text === null ? null : BigInt(text));

/**
 * The organization's active policy version in the compiler's shape (rules in recipient id order), or
 * null. One statement on the driver (the payout-run worker reads it once per batch, decision 006).
 */
export async function loadActivePolicy(db: SqlQueryable, organizationId: string): Promise<LoadedPolicy | null> {
  const rows = await db.query<RuleRow>(sql`
    SELECT v.id AS version_id, v.version, v.require_verified_recipients, v.payout_schedule::text AS payout_schedule, o.time_zone,
           r.id, r.recipient_id, r.kind::text AS kind, r.basis_points, r.fixed_amount::text AS fixed_amount,
           r.cap_per_payment::text AS cap_per_payment, r.cap_per_period::text AS cap_per_period, r.period_days,
           r.min_payout::text AS min_payout, r.priority
    FROM payout_policy_versions v JOIN organizations o ON o.id = v.organization_id
    LEFT JOIN payout_rules r ON r.policy_version_id = v.id
    WHERE v.organization_id = ${organizationId}::uuid AND v.status = 'ACTIVE'
    ORDER BY r.recipient_id, r.id`);
  const first = rows[0];
  if (!first) return null;
  const periodDays = new Map<string, number>();
  const rules: PayoutRuleSpec[] = [];
  for (const row of rows) {
    if (row.id === null) continue; // a version without rules: the validation below refuses it
    if (row.period_days !== null) periodDays.set(row.id, row.period_days);
    rules.push({
      id: row.id,
      recipientId: row.recipient_id,
      kind: row.kind,
      basisPoints: row.basis_points,
      fixedAmount: bigintOrNull(row.fixed_amount),
      capPerPayment: bigintOrNull(row.cap_per_payment),
      capPerPeriod: bigintOrNull(row.cap_per_period),
      minPayout: bigintOrNull(row.min_payout),
      priority: row.priority,
    });
  }
  const policy = assertValidPolicy({
    id: first.version_id,
    version: first.version,
    requireVerifiedRecipients: first.require_verified_recipients,
    rules,
  });
  return { policy, periodDays, schedule: first.payout_schedule, timeZone: first.time_zone };
}

/**
 * What each period-capped rule already allocated in its current period: the sum of its own shares (paid
 * or accrued, payout_rule_shares) in runs compiled within the last `periodDays` days of `now`, cancelled
 * runs excluded. Not its transfers: a transfer also pays balances accrued before the period, and a share
 * that accrued counts when it is allocated, not when a later run pays it. One statement for every capped
 * rule; none when no rule has a period cap.
 */
export async function loadPeriodToDate(db: SqlQueryable, periodDays: ReadonlyMap<string, number>, now: Date): Promise<Map<string, bigint>> {
  const result = new Map<string, bigint>();
  if (periodDays.size === 0) return result;
  const windows = [...periodDays].map(([ruleId, days]) => ({ rule_id: ruleId, since: new Date(now.getTime() - days * 86_400_000).toISOString() }));
  const rows = await db.query<{ rule_id: string; amount: string }>(sql`
    SELECT s.rule_id, sum(s.share)::text AS amount
    FROM jsonb_to_recordset(${JSON.stringify(windows)}::jsonb) AS w(rule_id uuid, since timestamptz)
    JOIN payout_rule_shares s ON s.rule_id = w.rule_id
    JOIN payout_runs r ON r.id = s.run_id
    WHERE s.created_at >= w.since AND r.status <> 'CANCELLED'
    GROUP BY s.rule_id`);
  for (const row of rows) result.set(row.rule_id, BigInt(row.amount));
  return result;
}
