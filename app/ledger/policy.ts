// Payout policy versions: the rule types, the zod schema for external input, and the validation that
// names the offending rule. Pure: no Prisma, no I/O. The compiler is in policy-compiler.ts.
//
// Decisions (binding for the compiler and the database layer):
// - One rule per recipient in a policy version. Thresholds, balances and clawbacks are per recipient;
//   two rules for one recipient would make "whose threshold?" ambiguous, so it is an error.
// - `priority` orders FIXED rules only (lower number first, then recipient id); it is ignored on
//   PERCENTAGE rules, which are all computed on the same base.
// - `requireVerifiedRecipients` (default false, as in the schema): when true, a recipient whose wallet
//   ownership is not proven keeps its share accrued (held, reason UNVERIFIED) instead of being paid.
// - A rule naming a REMOVED recipient, or a recipient the caller does not know, is a validation error:
//   the policy must be edited, the compiler never silently drops a rule.
import { z } from "zod";
import { LedgerError, U64_MAX } from "./money";

export type PayoutRuleKind = "PERCENTAGE" | "FIXED";
export type RecipientStatus = "ACTIVE" | "PAUSED" | "REMOVED";

/** Basis points in a whole: 10,000 bps = 100 %. */
export const BPS_DENOMINATOR = 10_000;

/**
 * One rule of a policy version, flat like its database row. Amounts are token base units.
 * PERCENTAGE needs `basisPoints` (1..10,000) and no `fixedAmount`; FIXED needs `fixedAmount` (> 0) and no `basisPoints`.
 */
export interface PayoutRuleSpec {
  id: string;
  recipientId: string;
  kind: PayoutRuleKind;
  basisPoints?: number | null;
  fixedAmount?: bigint | null;
  /** Most this rule may allocate from one payment. */
  capPerPayment?: bigint | null;
  /** Most this rule may allocate in the current period; the caller supplies what it already allocated. */
  capPerPeriod?: bigint | null;
  /** Threshold below which the recipient's share accrues instead of being transferred. */
  minPayout?: bigint | null;
  /** FIXED rules are honoured in ascending priority, then recipient id, when the payment is too small for all. */
  priority?: number | null;
}

export interface PolicyVersion {
  id: string;
  version: number;
  requireVerifiedRecipients?: boolean;
  rules: readonly PayoutRuleSpec[];
}

/** What the ledger knows about a recipient when a payment is compiled. */
export interface RecipientState {
  id: string;
  status: RecipientStatus;
  walletVerified: boolean;
  /** Accrued balance owed to the recipient (below-threshold and held shares), token base units, >= 0. */
  balance: bigint;
  /** Open clawbacks owed back by the recipient (refunds / lost disputes after settlement), >= 0. */
  clawbackOwed: bigint;
}

export type PolicyIssueCode =
  | "POLICY_SHAPE"
  | "RULE_ID_DUPLICATE"
  | "RULE_RECIPIENT_DUPLICATE"
  | "RULE_KIND_FIELDS"
  | "RULE_BPS_OUT_OF_RANGE"
  | "RULE_BPS_SUM_EXCEEDED"
  | "RULE_FIXED_AMOUNT_INVALID"
  | "RULE_CAP_INVALID"
  | "RULE_MIN_PAYOUT_INVALID"
  | "RULE_PRIORITY_INVALID"
  | "RULE_RECIPIENT_UNKNOWN"
  | "RULE_RECIPIENT_REMOVED"
  | "INPUT_DISTRIBUTABLE_INVALID"
  | "INPUT_RECIPIENT_INVALID"
  | "INPUT_PERIOD_TO_DATE_INVALID";

export interface PolicyIssue {
  code: PolicyIssueCode;
  message: string;
  ruleIndex?: number;
  ruleId?: string;
  recipientId?: string;
  /** For shape errors: where in the input (e.g. "rules.3.fixedAmount"). */
  path?: string;
}

/** A policy or compile input that cannot be used. `code` is the first issue's; `issues` lists all found. */
export class PolicyError extends LedgerError {
  readonly code: PolicyIssueCode;
  readonly issues: readonly PolicyIssue[];
  constructor(issues: readonly PolicyIssue[]) {
    const first = issues[0];
    if (!first) throw new TypeError("PolicyError needs at least one issue");
    super(issues.length === 1 ? first.message : `${first.message} (and ${issues.length - 1} more)`);
    this.code = first.code;
    this.issues = issues;
  }
}

function describeRule(rule: PayoutRuleSpec, index: number): string {
  return `rule #${index} (${String(rule.id)}) for recipient ${String(rule.recipientId)}`;
}

function ruleIssue(code: PolicyIssueCode, rule: PayoutRuleSpec, index: number, detail: string): PolicyIssue {
  return { code, message: `${describeRule(rule, index)}: ${detail}`, ruleIndex: index, ruleId: rule.id, recipientId: rule.recipientId };
}

function isAmount(value: unknown): value is bigint {
  return typeof value === "bigint";
}

function checkOptionalAmount(
  value: bigint | null | undefined,
  code: PolicyIssueCode,
  label: string,
  rule: PayoutRuleSpec,
  index: number,
  issues: PolicyIssue[],
): void {
  if (value === null || value === undefined) return;
  if (!isAmount(value) || value < 0n || value > U64_MAX) {
    issues.push(ruleIssue(code, rule, index, `${label} must be a bigint in 0..u64::MAX, got ${String(value)}`));
  }
}

export interface PolicyCheckOptions {
  /**
   * Report a recipient named by two rules. The compiler turns this off and finds duplicates from its
   * sort by recipient id instead, which spares it a hash set of every recipient.
   */
  duplicateRecipients?: boolean;
}

/**
 * Every problem with a policy version, in rule order (empty when it is usable). With `recipients`,
 * also checks that each rule's recipient is known and not removed. Linear in the number of rules.
 */
export function findPolicyIssues(
  policy: PolicyVersion,
  recipients?: ReadonlyMap<string, RecipientState>,
  options: PolicyCheckOptions = {},
): PolicyIssue[] {
  const issues: PolicyIssue[] = [];
  const ruleIds = new Set<string>();
  const recipientIds = options.duplicateRecipients === false ? null : new Set<string>();
  let bpsSum = 0;
  const rules = policy.rules;
  for (let index = 0; index < rules.length; index++) {
    const rule = rules[index]!;
    if (typeof rule.id !== "string" || typeof rule.recipientId !== "string") {
      issues.push(ruleIssue("POLICY_SHAPE", rule, index, "id and recipientId must be strings"));
      continue;
    }
    const idCount = ruleIds.size;
    ruleIds.add(rule.id);
    if (ruleIds.size === idCount) issues.push(ruleIssue("RULE_ID_DUPLICATE", rule, index, "rule id appears twice"));
    if (recipientIds) {
      const recipientCount = recipientIds.size;
      recipientIds.add(rule.recipientId);
      if (recipientIds.size === recipientCount) {
        issues.push(ruleIssue("RULE_RECIPIENT_DUPLICATE", rule, index, "the recipient already has a rule in this policy version"));
      }
    }

    if (rule.kind === "PERCENTAGE") {
      if (rule.fixedAmount !== null && rule.fixedAmount !== undefined) {
        issues.push(ruleIssue("RULE_KIND_FIELDS", rule, index, "a PERCENTAGE rule must not carry a fixedAmount"));
      }
      const bps = rule.basisPoints;
      if (typeof bps !== "number" || !Number.isInteger(bps) || bps < 1 || bps > BPS_DENOMINATOR) {
        issues.push(ruleIssue("RULE_BPS_OUT_OF_RANGE", rule, index, `basisPoints must be an integer in 1..10000, got ${String(bps)}`));
      } else {
        bpsSum += bps;
      }
    } else if (rule.kind === "FIXED") {
      if (rule.basisPoints !== null && rule.basisPoints !== undefined) {
        issues.push(ruleIssue("RULE_KIND_FIELDS", rule, index, "a FIXED rule must not carry basisPoints"));
      }
      const amount = rule.fixedAmount;
      if (!isAmount(amount) || amount <= 0n || amount > U64_MAX) {
        issues.push(ruleIssue("RULE_FIXED_AMOUNT_INVALID", rule, index, `fixedAmount must be a bigint in 1..u64::MAX, got ${String(amount)}`));
      }
    } else {
      issues.push(ruleIssue("RULE_KIND_FIELDS", rule, index, `unknown rule kind ${String((rule as { kind: unknown }).kind)}`));
    }

    checkOptionalAmount(rule.capPerPayment, "RULE_CAP_INVALID", "capPerPayment", rule, index, issues);
    checkOptionalAmount(rule.capPerPeriod, "RULE_CAP_INVALID", "capPerPeriod", rule, index, issues);
    checkOptionalAmount(rule.minPayout, "RULE_MIN_PAYOUT_INVALID", "minPayout", rule, index, issues);
    const priority = rule.priority;
    if (priority !== null && priority !== undefined && (!Number.isSafeInteger(priority) || priority < 0)) {
      issues.push(ruleIssue("RULE_PRIORITY_INVALID", rule, index, `priority must be a non-negative integer, got ${String(priority)}`));
    }

    if (recipients) {
      const recipient = recipients.get(rule.recipientId);
      if (!recipient) {
        issues.push(ruleIssue("RULE_RECIPIENT_UNKNOWN", rule, index, "the recipient does not exist"));
      } else if (recipient.status === "REMOVED") {
        issues.push(ruleIssue("RULE_RECIPIENT_REMOVED", rule, index, "the recipient was removed; edit the policy"));
      }
    }
  }
  if (bpsSum > BPS_DENOMINATOR) {
    issues.push({
      code: "RULE_BPS_SUM_EXCEEDED",
      message: `percentage rules add up to ${bpsSum} basis points; at most 10000 (100 %) allowed`,
    });
  }
  return issues;
}

// Policy versions that passed validation, frozen so they cannot change afterwards. A policy version is
// immutable once a run uses it (the database enforces that too), and a payment compile is far more
// frequent than a policy edit, so the compiler skips re-validating the rules of these.
const validatedPolicies = new WeakSet<PolicyVersion>();

/**
 * Throw a PolicyError listing every issue, or return the policy, now frozen (the version, its rules
 * array and every rule) and remembered as validated: `compilePayout` then skips the rule checks.
 */
export function assertValidPolicy(policy: PolicyVersion, recipients?: ReadonlyMap<string, RecipientState>): PolicyVersion {
  const issues = findPolicyIssues(policy, recipients);
  if (issues.length > 0) throw new PolicyError(issues);
  if (!validatedPolicies.has(policy)) {
    for (const rule of policy.rules) Object.freeze(rule);
    Object.freeze(policy.rules);
    Object.freeze(policy);
    validatedPolicies.add(policy);
  }
  return policy;
}

/** Whether `policy` went through `assertValidPolicy` (and is therefore frozen and rule-valid). */
export function isValidatedPolicy(policy: PolicyVersion): boolean {
  return validatedPolicies.has(policy);
}

// ---------------------------------------------------------------- schema for external input

/** Amounts from forms or JSON: a bigint, or a string of base-unit digits (JSON has no bigint). */
const baseUnits = z.union([z.bigint(), z.string().regex(/^[0-9]{1,20}$/, "expected base units as a string of digits").transform((s) => BigInt(s))]);
const optionalBaseUnits = baseUnits.nullish();
const identifier = z.string().min(1).max(128);

export const payoutRuleSchema = z.object({
  id: identifier,
  recipientId: identifier,
  kind: z.enum(["PERCENTAGE", "FIXED"]),
  basisPoints: z.number().int().nullish(),
  fixedAmount: optionalBaseUnits,
  capPerPayment: optionalBaseUnits,
  capPerPeriod: optionalBaseUnits,
  minPayout: optionalBaseUnits,
  priority: z.number().int().nullish(),
});

export const policyVersionSchema = z.object({
  id: identifier,
  version: z.number().int().min(1),
  requireVerifiedRecipients: z.boolean().default(false),
  rules: z.array(payoutRuleSchema).max(100_000),
});

/**
 * Parse untrusted input into a validated policy version. Shape errors name the rule index and field;
 * semantic errors come from `findPolicyIssues`. Throws PolicyError.
 */
export function parsePolicyVersion(input: unknown, recipients?: ReadonlyMap<string, RecipientState>): PolicyVersion {
  const parsed = policyVersionSchema.safeParse(input);
  if (!parsed.success) {
    throw new PolicyError(
      parsed.error.issues.map((issue) => {
        const path = issue.path.map(String).join(".");
        const ruleIndex = issue.path[0] === "rules" && typeof issue.path[1] === "number" ? issue.path[1] : undefined;
        return {
          code: "POLICY_SHAPE" as const,
          message: `${ruleIndex === undefined ? "policy" : `rule #${ruleIndex}`}: ${path || "(root)"}: ${issue.message}`,
          path,
          ...(ruleIndex === undefined ? {} : { ruleIndex }),
        };
      }),
    );
  }
  return assertValidPolicy(parsed.data, recipients);
}
