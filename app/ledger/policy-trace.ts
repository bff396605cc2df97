// Human-readable explanation of one compiled payout line, step by step, for the operator UI and exports.
// Pure formatting of the compiler's structured trace; no figure here is computed anew except for display.
import { formatMoney } from "./money";
import type { PayoutLine } from "./policy-compiler";

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
