// Payout policies for the console: the organization's versions, one version with its rules, the diff of
// two versions, saving an edit as a new draft, and the preview of a draft's split of a sample payment.
// The preview runs the ledger's compiler (compilePayout) on the version's rules and the recipients' live
// state, exactly as a payment would be compiled; nothing here re-states a rule of the split.
import type { PrismaClient } from "~/generated/prisma/client";
import { formatCurrencyAmount, formatMoney, formatTokenAmount, usdCentsToTokenUnits } from "~/ledger/money";
import { assertValidPolicy, type PayoutRuleSpec } from "~/ledger/policy";
import { compilePayout } from "~/ledger/policy-compiler";
import { diffPolicyVersions, type ComparableRule, type ComparableVersion } from "~/ledger/policy-diff";
import { explainPayoutLine } from "~/ledger/policy-trace";
import type { Actor } from "~/models/operators.server";
import type { Database } from "~/utils/db.server";
import { createPolicyVersion } from "./policies.server";
import type { PolicyVersionInput } from "./policy-input";
import { DEFAULT_TOKEN_DECIMALS } from "./payout-runs.server";
import { loadRecipientStates } from "./recipients.server";

/** Rule amounts as the editor's fields take them back: plain decimals, every digit (no grouping). */
const units = (amount: bigint | null) => (amount === null ? null : formatMoney(amount, DEFAULT_TOKEN_DECIMALS));
/** Figures for reading: exact, grouped, with the token's symbol. */
const tokens = (amount: bigint) => formatTokenAmount(amount, DEFAULT_TOKEN_DECIMALS, "sUSD");

export async function listPolicyVersions(prisma: PrismaClient, organizationId: string) {
  const versions = await prisma.payoutPolicyVersion.findMany({
    where: { organizationId },
    orderBy: [{ createdAt: "desc" }, { version: "desc" }],
    take: 200,
    include: { policy: { select: { name: true } }, _count: { select: { rules: true, runs: true } } },
  });
  return versions.map((v) => ({
    id: v.id,
    policyName: v.policy.name,
    version: v.version,
    status: v.status,
    payoutSchedule: v.payoutSchedule,
    requireVerifiedRecipients: v.requireVerifiedRecipients,
    rules: v._count.rules,
    runs: v._count.runs,
    createdAt: v.createdAt.toISOString(),
  }));
}

/** One version of the organization with its rules (recipient names beside them), or null. */
export async function loadPolicyVersion(prisma: PrismaClient, organizationId: string, versionId: string) {
  const version = await prisma.payoutPolicyVersion.findFirst({
    where: { id: versionId, organizationId },
    include: {
      policy: { select: { name: true } },
      rules: { orderBy: [{ recipientId: "asc" }], include: { recipient: { select: { name: true, status: true } } } },
    },
  });
  if (!version) return null;
  const latest = await prisma.payoutPolicyVersion.findFirst({ where: { policyId: version.policyId }, orderBy: { version: "desc" }, select: { version: true } });
  return { ...version, latestVersion: latest?.version ?? version.version };
}
type LoadedVersion = NonNullable<Awaited<ReturnType<typeof loadPolicyVersion>>>;

/** A rule row's figures (what decides a split), without its row's bookkeeping. */
function ruleFigures(r: LoadedVersion["rules"][number]): ComparableRule {
  const { recipientId, kind, basisPoints, fixedAmount, capPerPayment, capPerPeriod, periodDays, minPayout, priority } = r;
  return { recipientId, kind, basisPoints, fixedAmount, capPerPayment, capPerPeriod, periodDays, minPayout, priority };
}

function comparable(version: LoadedVersion): ComparableVersion {
  return { version: version.version, requireVerifiedRecipients: version.requireVerifiedRecipients, payoutSchedule: version.payoutSchedule, rules: version.rules.map(ruleFigures) };
}

/** A rule's figures as the console shows them: amounts in the token's decimals, shares in basis points. */
function ruleView(rule: ComparableRule, names: ReadonlyMap<string, string>) {
  return {
    recipientId: rule.recipientId,
    recipient: names.get(rule.recipientId) ?? rule.recipientId,
    kind: rule.kind,
    basisPoints: rule.basisPoints,
    fixedAmount: units(rule.fixedAmount),
    capPerPayment: units(rule.capPerPayment),
    capPerPeriod: units(rule.capPerPeriod),
    periodDays: rule.periodDays,
    minPayout: units(rule.minPayout),
    priority: rule.priority,
  };
}

const show = (value: unknown) => (typeof value === "bigint" ? units(value) : value === null ? null : String(value));

/** The version for the page: its terms and rules as text, ready for the editor's fields. */
export function policyVersionView(version: LoadedVersion) {
  const names = new Map(version.rules.map((r) => [r.recipientId, r.recipient.name]));
  return {
    id: version.id,
    policyName: version.policy.name,
    version: version.version,
    latestVersion: version.latestVersion,
    status: version.status,
    locked: version.lockedAt !== null,
    payoutSchedule: version.payoutSchedule,
    requireVerifiedRecipients: version.requireVerifiedRecipients,
    createdAt: version.createdAt.toISOString(),
    rules: comparable(version).rules.map((rule) => ruleView(rule, names)),
  };
}

/** What changed from version `fromId` to `toId` (both of the organization), or null if either is not found. */
export async function comparePolicyVersions(prisma: PrismaClient, organizationId: string, fromId: string, toId: string) {
  const [from, to] = await Promise.all([loadPolicyVersion(prisma, organizationId, fromId), loadPolicyVersion(prisma, organizationId, toId)]);
  if (!from || !to) return null;
  const names = new Map([...from.rules, ...to.rules].map((r) => [r.recipientId, r.recipient.name]));
  const diff = diffPolicyVersions(comparable(from), comparable(to));
  return {
    from: { id: from.id, label: `${from.policy.name} v${from.version}` },
    to: { id: to.id, label: `${to.policy.name} v${to.version}` },
    terms: diff.terms.map((t) => ({ field: t.field, before: String(t.before), after: String(t.after) })),
    added: diff.added.map((r) => ruleView(r, names)),
    removed: diff.removed.map((r) => ruleView(r, names)),
    changed: diff.changed.map((c) => ({
      recipientId: c.recipientId,
      recipient: names.get(c.recipientId) ?? c.recipientId,
      fields: c.fields.map((f) => ({ field: f.field, before: show(f.before), after: show(f.after) })),
    })),
    unchanged: diff.unchanged,
  };
}

/** Save an operator's edit as a new DRAFT version (refused as stale if another version was saved since). */
export async function saveEditedPolicyVersion(prisma: PrismaClient, actor: Actor, input: PolicyVersionInput) {
  return createPolicyVersion(prisma, {
    organizationId: actor.organizationId,
    actorId: actor.operatorId,
    policyName: input.policyName,
    basedOnVersion: input.basedOnVersion ?? 0,
    requireVerifiedRecipients: input.requireVerifiedRecipients,
    payoutSchedule: input.payoutSchedule,
    // The schema's rule is createPolicyVersion's PolicyRuleInput (absent fields are null there).
    rules: input.rules,
  });
}

/**
 * How `versionId` would split a succeeded payment of `sampleCents` USD settled in full: the compiler's
 * plan on the version's rules and the recipients' present state (paused, unverified, balances, clawbacks),
 * with every line's trace. Period caps count nothing used yet (a draft's rules have allocated nothing).
 * Null when the version is not the organization's.
 */
export async function previewPolicySplit(db: Database, organizationId: string, versionId: string, sampleCents: bigint) {
  const version = await loadPolicyVersion(db.prisma, organizationId, versionId);
  if (!version) return null;
  // The compiler's rule: the figures with the row's id (period length is the model's, not the compiler's).
  const specs: PayoutRuleSpec[] = version.rules.map((r) => {
    const { periodDays: _periodDays, ...figures } = ruleFigures(r);
    return { id: r.id, ...figures };
  });
  const { states } = await loadRecipientStates(db, organizationId, specs.map((s) => s.recipientId));
  const policy = assertValidPolicy({ id: version.id, version: version.version, requireVerifiedRecipients: version.requireVerifiedRecipients, rules: specs }, states);
  const distributable = usdCentsToTokenUnits(sampleCents, DEFAULT_TOKEN_DECIMALS);
  const plan = compilePayout({ distributable, policy, recipients: states, accrueAll: version.payoutSchedule !== "INSTANT" });
  const names = new Map(version.rules.map((r) => [r.recipientId, r.recipient.name]));
  const shares = plan.lines.reduce((sum, line) => sum + line.share, 0n);
  return {
    versionLabel: `${version.policy.name} v${version.version}`,
    sample: formatCurrencyAmount(sampleCents, "USD"),
    distributable: tokens(distributable),
    lines: plan.lines.map((line) => ({
      recipientId: line.recipientId,
      recipient: names.get(line.recipientId) ?? line.recipientId,
      share: tokens(line.share),
      transfer: tokens(line.transfer),
      accrued: tokens(line.accrued),
      outcome: line.outcome,
      holdReason: line.holdReason,
      steps: explainPayoutLine(line, { tokenDecimals: DEFAULT_TOKEN_DECIMALS }),
    })),
    shares: tokens(shares),
    remainder: tokens(plan.remainder),
    transferred: tokens(plan.totals.transferred),
    /** shares + remainder = distributable, checked here so that the page can say it holds. */
    conserved: shares + plan.remainder === distributable,
  };
}

/** The recipients a rule may name (all but removed ones), for the editor's choices. */
export async function listRuleRecipients(prisma: PrismaClient, organizationId: string) {
  return prisma.recipient.findMany({
    where: { organizationId, status: { not: "REMOVED" } },
    orderBy: [{ name: "asc" }, { id: "asc" }],
    select: { id: true, name: true, status: true },
    take: 1_000,
  });
}
