// The input schemas of payout policies, shared by the console's forms and the operator API: a new version
// (its rules), activation, and the split preview. Amounts are exact: a decimal string at the scale the
// caller names (the token's decimals for a form, 0 for base units), parsed by the ledger's one money parser.
// The rule checks the compiler needs are the ledger's (findPolicyIssues, at createPolicyVersion); these
// schemas catch what a person can mistype, beside the field it concerns.
import { z } from "zod";
import { MoneyError, parseMoney, U64_MAX } from "~/ledger/money";
import { PAYOUT_SCHEDULES } from "~/ledger/payout-schedule";
import { BPS_DENOMINATOR } from "~/ledger/policy";

export const RULE_KINDS = ["PERCENTAGE", "FIXED"] as const;
/** At most this many rules per version through a form or the API (the compiler takes far more; people do not). */
export const MAX_RULES_PER_VERSION = 1_000;

const blankToUndefined = (value: unknown) => (value === null || (typeof value === "string" && value.trim() === "") ? undefined : value);

const MONEY_MESSAGES: Partial<Record<MoneyError["code"], (scale: number) => string>> = {
  MONEY_SYNTAX: (scale) => (scale === 0 ? "Enter whole base units, like 2500000." : "Enter a plain decimal amount, like 12.50."),
  MONEY_EXPONENT: () => "Write the digits out (no exponent).",
  MONEY_TOO_MANY_DECIMALS: (scale) => (scale === 0 ? "Enter whole base units (no decimals)." : `Use at most ${scale} decimals.`),
  MONEY_NEGATIVE: () => "The amount cannot be negative.",
  MONEY_OUT_OF_RANGE: () => "The amount is larger than a token account can hold.",
};

/** An amount typed as a decimal at `scale` (or a bigint from code), as base units; optional unless `required`. */
export function amountField(scale: number, options: { min?: bigint; max?: bigint } = {}) {
  const min = options.min ?? 0n;
  const max = options.max ?? U64_MAX;
  return z.preprocess(
    blankToUndefined,
    z
      .union([z.bigint(), z.string().max(40, { error: "The amount is too long." })], { error: "Enter an amount." })
      .transform((value, ctx) => {
        if (typeof value === "bigint") {
          if (value < 0n || value > max) ctx.addIssue({ code: "custom", message: MONEY_MESSAGES.MONEY_OUT_OF_RANGE!(scale) });
          return value;
        }
        try {
          return parseMoney(value, { scale, max });
        } catch (error) {
          if (!(error instanceof MoneyError)) throw error;
          ctx.addIssue({ code: "custom", message: MONEY_MESSAGES[error.code]?.(scale) ?? "Enter an amount." });
          return z.NEVER;
        }
      })
      .refine((value) => value >= min, { error: min === 1n ? "The amount must be more than zero." : "The amount is too small." })
      .optional(),
  );
}

/** A whole number from a form (text) or JSON (a number), optional. */
function integerField(min: number, max: number, message: string) {
  return z.preprocess(
    (value) => {
      const blank = blankToUndefined(value);
      return typeof blank === "string" && /^\s*-?\d{1,12}\s*$/.test(blank) ? Number(blank) : blank;
    },
    z.number({ error: message }).int({ error: message }).min(min, { error: message }).max(max, { error: message }).optional(),
  );
}

/** A checkbox ("on" or absent) or a JSON boolean. */
const checkbox = z.preprocess((value) => value === "on" || value === "true" || value === true, z.boolean());

/** One rule as a person or a client writes it; `scale` is the decimals its amounts are written in. */
export function policyRuleSchema(scale: number) {
  return z
    .object({
      recipientId: z.uuid({ error: "Choose a recipient." }),
      kind: z.enum(RULE_KINDS, { error: "Choose a percentage or a fixed amount." }),
      basisPoints: integerField(1, BPS_DENOMINATOR, "Enter basis points from 1 to 10000 (100 = 1 %)."),
      fixedAmount: amountField(scale, { min: 1n }),
      capPerPayment: amountField(scale),
      capPerPeriod: amountField(scale),
      periodDays: integerField(1, 3660, "Enter a period from 1 to 3660 days."),
      minPayout: amountField(scale),
      priority: integerField(0, 1_000_000, "Enter a priority from 0 to 1000000 (lower goes first)."),
    })
    .superRefine((rule, ctx) => {
      if (rule.kind === "PERCENTAGE") {
        if (rule.basisPoints === undefined) ctx.addIssue({ code: "custom", path: ["basisPoints"], message: "A percentage rule needs its share in basis points." });
        if (rule.fixedAmount !== undefined) ctx.addIssue({ code: "custom", path: ["fixedAmount"], message: "A percentage rule has no fixed amount: leave it empty." });
      } else {
        if (rule.fixedAmount === undefined) ctx.addIssue({ code: "custom", path: ["fixedAmount"], message: "A fixed rule needs its amount." });
        if (rule.basisPoints !== undefined) ctx.addIssue({ code: "custom", path: ["basisPoints"], message: "A fixed rule has no basis points: leave them empty." });
      }
      if ((rule.capPerPeriod === undefined) !== (rule.periodDays === undefined)) {
        const path = rule.capPerPeriod === undefined ? "capPerPeriod" : "periodDays";
        ctx.addIssue({ code: "custom", path: [path], message: "A period cap needs both its amount and its length in days." });
      }
    });
}

/**
 * A new version of a policy. `basedOnVersion` is the version the edit started from (0 for a new policy):
 * when another version was saved since, the save is refused as stale rather than silently overwriting.
 */
export function policyVersionInputSchema(scale: number) {
  return z
    .object({
      policyName: z.string({ error: "Enter the policy's name." }).trim().min(1, { error: "Enter the policy's name." }).max(100, { error: "Use at most 100 characters." }),
      basedOnVersion: integerField(0, 2_147_483_647, "The version you edited is not a version number."),
      requireVerifiedRecipients: checkbox,
      payoutSchedule: z.preprocess(blankToUndefined, z.enum(PAYOUT_SCHEDULES, { error: "Choose instant, hourly, daily or weekly." }).default("INSTANT")),
      rules: z
        .array(policyRuleSchema(scale), { error: "Add at least one rule." })
        .min(1, { error: "Add at least one rule." })
        .max(MAX_RULES_PER_VERSION, { error: `At most ${MAX_RULES_PER_VERSION} rules per version.` }),
    })
    .superRefine((input, ctx) => {
      const seen = new Set<string>();
      let bps = 0;
      input.rules.forEach((rule, index) => {
        if (seen.has(rule.recipientId)) ctx.addIssue({ code: "custom", path: ["rules", index, "recipientId"], message: "This recipient already has a rule above: one rule per recipient." });
        seen.add(rule.recipientId);
        if (rule.kind === "PERCENTAGE") bps += rule.basisPoints ?? 0;
      });
      if (bps > BPS_DENOMINATOR) {
        ctx.addIssue({ code: "custom", path: ["rules"], message: `The percentage rules add up to ${bps} basis points; at most 10000 (100 %).` });
      }
    });
}
export type PolicyVersionInput = z.infer<ReturnType<typeof policyVersionInputSchema>>;
export type PolicyRuleFormInput = PolicyVersionInput["rules"][number];

export const PolicyVersionIdSchema = z.object({ versionId: z.uuid({ error: "Choose a policy version." }) });

/** The preview's sample payment: an amount in the payment's currency, written as a decimal (scale: the currency's). */
export function policyPreviewSchema(currencyScale: number) {
  return z.object({
    versionId: z.uuid({ error: "Choose a policy version." }),
    sampleAmount: amountField(currencyScale).refine((value) => value !== undefined, { error: "Enter a sample amount." }),
  });
}

/**
 * A form's flat fields as the nested object the schemas take: `rules.2.kind` becomes `rules[2].kind`.
 * Rule rows without a recipient (the spare rows of a form, or a rule the operator removed by choosing no
 * recipient) are dropped, and the rest renumbered in order, so that field errors name the rows as the
 * person sees them after a re-render.
 */
export function policyFormValues(form: FormData): Record<string, unknown> & { rules: Record<string, string>[] } {
  const top: Record<string, unknown> = {};
  const rows = new Map<number, Record<string, string>>();
  for (const [key, value] of form) {
    if (typeof value !== "string") continue;
    const match = /^rules\.(\d{1,4})\.([A-Za-z]{1,40})$/.exec(key);
    if (!match) {
      top[key] = value;
      continue;
    }
    const index = Number(match[1]);
    const row = rows.get(index) ?? {};
    row[match[2]!] = value;
    rows.set(index, row);
  }
  const rules = [...rows.entries()]
    .sort(([a], [b]) => a - b)
    .map(([, row]) => row)
    .filter((row) => (row.recipientId ?? "").trim() !== "");
  return { ...top, rules };
}
