// Human-readable explanation of one compiled payout line, step by step, for the operator UI and exports.
// Pure formatting of the compiler's structured trace; no figure here is computed anew except for display.
import { formatMoney } from "./money";
import type { PayoutLine, PayoutPlan } from "./policy-compiler";

export interface ExplainOptions {
  /** Decimals of the payout token (6 for sUSD). */
  tokenDecimals?: number;
  /** Unit shown after amounts. */
  symbol?: string;
}

const HOLD_TEXT = {
  PAUSED: "the recipient is paused",
  UNVERIFIED: "the policy requires a verified wallet and this one is not verified yet",
  BELOW_MIN_PAYOUT: "the amount is below the recipient's minimum payout",
  SCHEDULED: "the policy pays on a schedule; the window's sweep pays the accrued balance",
} as const;

/** The steps that produced a line's figures, in the order the compiler applied them. */
export function explainPayoutLine(line: PayoutLine, options: ExplainOptions = {}): string[] {
  const decimals = options.tokenDecimals ?? 6;
  const symbol = options.symbol ?? "sUSD";
  const money = (amount: bigint) => `${formatMoney(amount, decimals)} ${symbol}`;
  const steps: string[] = [];

  if (line.kind === "PERCENTAGE") {
    const bps = line.basisPoints ?? 0;
    const percent = `${(bps / 100).toFixed(2)} %`;
    const floor = line.uncapped - (line.roundedUp ? 1n : 0n);
    if (line.fractionalRemainder === 0) {
      steps.push(`${percent} (${bps} bps) of ${money(line.basis)} = ${money(floor)} exactly`);
    } else {
      steps.push(
        `${percent} (${bps} bps) of ${money(line.basis)} = ${money(floor)} and ${line.fractionalRemainder}/10000 of a base unit; ` +
          (line.roundedUp ? "rounded up by largest remainder" : "rounded down (other fractions were larger or the ties went to smaller ids)"),
      );
    }
  } else {
    steps.push(`fixed amount ${money(line.uncapped)}`);
  }
  if (line.capApplied !== null) {
    const which = line.capApplied === "PER_PAYMENT" ? "per payment" : "for the period";
    const where = line.kind === "PERCENTAGE" ? "to the treasury" : "left in the payment for the other rules";
    steps.push(`capped ${which}: ${money(line.capExcess)} ${where}`);
  }
  if (line.shortfall > 0n) {
    steps.push(`only ${money(line.share)} of the payment was left at this rule's priority; ${money(line.shortfall)} not covered`);
  }
  steps.push(`share of this payment: ${money(line.share)}`);
  if (line.balanceBefore > 0n) steps.push(`accrued balance before this run: ${money(line.balanceBefore)}`);
  if (line.clawbackOwed > 0n) {
    steps.push(
      `clawback owed ${money(line.clawbackOwed)}: ${money(line.clawbackNetted)} netted` +
        (line.clawbackCarried > 0n ? `, ${money(line.clawbackCarried)} carried to a later run` : ""),
    );
  }
  if (line.outcome === "PAID") {
    steps.push(`paid ${money(line.transfer)}; accrued balance now 0`);
  } else if (line.outcome === "HELD") {
    steps.push(`held, not paid: ${HOLD_TEXT[line.holdReason ?? "BELOW_MIN_PAYOUT"]}; accrued balance now ${money(line.balanceAfter)}`);
  } else {
    steps.push("nothing to pay");
  }
  return steps;
}

// ---------------------------------------------------------------- the trace as an audit record

/**
 * A compiled plan's trace as the audit log keeps it (`payout_run.compiled`): totals, and every line as an
 * array of values in the order `lineFields` names, once per record rather than once per line (the keys
 * were most of the record's bytes; the worker writes one record per payment, decision 006). Amounts are
 * decimal strings of base units (JSON has no bigint). `linesFromTraceRecord` gives the PayoutLines back.
 */
export interface TraceRecord {
  distributable: string;
  remainder: string;
  totals: Record<string, string>;
  lineCount: number;
  /** The PayoutLine field each position of a line holds. */
  lineFields: readonly (keyof PayoutLine)[];
  /** One array per line, `lineFields` order; empty when there were more lines than a record keeps. */
  lines: (string | number | boolean | null)[][];
}

/**
 * Every field of a line, in record order, and how it is stored: amounts as decimal strings. Exactly the
 * fields of PayoutLine (`satisfies`): a field added to or dropped from PayoutLine fails to compile here.
 */
const LINE_FIELD_KINDS = {
  ruleId: "text",
  recipientId: "text",
  kind: "text",
  basisPoints: "number",
  fixedAmount: "amount",
  basis: "amount",
  fractionalRemainder: "number",
  roundedUp: "flag",
  uncapped: "amount",
  capApplied: "text",
  capExcess: "amount",
  shortfall: "amount",
  share: "amount",
  balanceBefore: "amount",
  clawbackOwed: "amount",
  clawbackNetted: "amount",
  clawbackCarried: "amount",
  accrued: "amount",
  balanceReleased: "amount",
  balanceAfter: "amount",
  transfer: "amount",
  outcome: "text",
  holdReason: "text",
} as const satisfies Record<keyof PayoutLine, "text" | "number" | "flag" | "amount">;

const LINE_FIELDS = Object.keys(LINE_FIELD_KINDS) as (keyof PayoutLine)[];
const isAmountField = (field: keyof PayoutLine) => (LINE_FIELD_KINDS as Record<string, string>)[field] === "amount";

/** Beyond this many lines a record keeps the totals only; the run's rows hold every amount. */
export const TRACE_RECORD_MAX_LINES = 10_000;

export function traceRecord(plan: PayoutPlan, lineCount: number): TraceRecord {
  const complete = lineCount <= TRACE_RECORD_MAX_LINES;
  const totals: Record<string, string> = {};
  for (const [key, value] of Object.entries(plan.totals)) totals[key] = value.toString();
  return {
    distributable: plan.distributable.toString(),
    remainder: plan.remainder.toString(),
    totals,
    lineCount,
    lineFields: LINE_FIELDS,
    lines: complete
      ? plan.lines.map((line) =>
          LINE_FIELDS.map((field) => {
            const value = line[field];
            return typeof value === "bigint" ? value.toString() : value;
          }),
        )
      : [],
  };
}

/** The lines of a trace record, as the compiler made them (for explainPayoutLine and the operator UI). */
export function linesFromTraceRecord(record: Pick<TraceRecord, "lineFields" | "lines">): PayoutLine[] {
  return record.lines.map((values) => {
    const line: Record<string, unknown> = {};
    record.lineFields.forEach((field, i) => {
      const value = values[i] ?? null;
      line[field] = isAmountField(field) && value !== null ? BigInt(value as string) : value;
    });
    return line as unknown as PayoutLine;
  });
}
