// What changed between two versions of a payout policy: the version's terms, and its rules matched by
// recipient (one rule per recipient in a version, so the recipient is a rule's identity across versions):
// added, removed, and changed field by field. Pure; amounts stay bigint.
import type { PayoutRuleKind } from "./policy";

/** A rule as both versions are compared: its recipient and every field that decides a split. */
export interface ComparableRule {
  recipientId: string;
  kind: PayoutRuleKind;
  basisPoints: number | null;
  fixedAmount: bigint | null;
  capPerPayment: bigint | null;
  capPerPeriod: bigint | null;
  periodDays: number | null;
  minPayout: bigint | null;
  priority: number;
}

export interface ComparableVersion {
  version: number;
  requireVerifiedRecipients: boolean;
  payoutSchedule: string;
  rules: readonly ComparableRule[];
}

export const RULE_FIELDS = ["kind", "basisPoints", "fixedAmount", "capPerPayment", "capPerPeriod", "periodDays", "minPayout", "priority"] as const;
export type RuleField = (typeof RULE_FIELDS)[number];
type FieldValue = ComparableRule[RuleField];

export interface FieldChange<F extends string = string, V = unknown> {
  field: F;
  before: V;
  after: V;
}

export interface PolicyDiff {
  from: number;
  to: number;
  terms: FieldChange<"requireVerifiedRecipients" | "payoutSchedule", boolean | string>[];
  added: ComparableRule[];
  removed: ComparableRule[];
  changed: { recipientId: string; before: ComparableRule; after: ComparableRule; fields: FieldChange<RuleField, FieldValue>[] }[];
  unchanged: number;
}

const byRecipient = (a: ComparableRule, b: ComparableRule) => (a.recipientId < b.recipientId ? -1 : a.recipientId > b.recipientId ? 1 : 0);

/** The changes that turn `from` into `to`; every list in recipient id order. */
export function diffPolicyVersions(from: ComparableVersion, to: ComparableVersion): PolicyDiff {
  const terms: PolicyDiff["terms"] = [];
  if (from.requireVerifiedRecipients !== to.requireVerifiedRecipients) {
    terms.push({ field: "requireVerifiedRecipients", before: from.requireVerifiedRecipients, after: to.requireVerifiedRecipients });
  }
  if (from.payoutSchedule !== to.payoutSchedule) terms.push({ field: "payoutSchedule", before: from.payoutSchedule, after: to.payoutSchedule });

  const before = new Map(from.rules.map((rule) => [rule.recipientId, rule]));
  const after = new Map(to.rules.map((rule) => [rule.recipientId, rule]));
  const diff: PolicyDiff = { from: from.version, to: to.version, terms, added: [], removed: [], changed: [], unchanged: 0 };
  for (const rule of [...to.rules].sort(byRecipient)) {
    const old = before.get(rule.recipientId);
    if (!old) {
      diff.added.push(rule);
      continue;
    }
    const fields = RULE_FIELDS.filter((field) => old[field] !== rule[field]).map((field) => ({ field, before: old[field], after: rule[field] }));
    if (fields.length === 0) diff.unchanged++;
    else diff.changed.push({ recipientId: rule.recipientId, before: old, after: rule, fields });
  }
  diff.removed = [...from.rules].filter((rule) => !after.has(rule.recipientId)).sort(byRecipient);
  return diff;
}
