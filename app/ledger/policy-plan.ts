// The compiled plan's shape and its readers: the per-line codes and typed-array columns the compiler
// fills (policy-compiler.ts), and everything that reads them back (transfers, balance movements, the
// per-line trace) without the compiler's input checks. Pure; split from the compiler along this seam.
import type { PayoutRuleKind, PayoutRuleSpec } from "./policy";
import { BPS_DENOMINATOR } from "./policy";

const BPS = BPS_DENOMINATOR;

export type CapApplied = "PER_PAYMENT" | "PER_PERIOD" | null;
export type HoldReason = "PAUSED" | "UNVERIFIED" | "BELOW_MIN_PAYOUT" | "SCHEDULED";
export type LineOutcome = "PAID" | "HELD" | "NONE";

/** One rule's result and the trace of how each figure was reached (for the operator UI and audits). */
export interface PayoutLine {
  ruleId: string;
  recipientId: string;
  kind: PayoutRuleKind;
  basisPoints: number | null;
  fixedAmount: bigint | null;
  /** PERCENTAGE: the base P all percentage rules share. FIXED: the distributable amount. */
  basis: bigint;
  /** PERCENTAGE: fractional part of the exact share, in 1/10,000 of a base unit (0 = exact). */
  fractionalRemainder: number;
  /** PERCENTAGE: whether largest-remainder rounding gave this rule one more unit. */
  roundedUp: boolean;
  /** The rounded percentage share, or the fixed amount, before caps. */
  uncapped: bigint;
  capApplied: CapApplied;
  /** uncapped - capped. PERCENTAGE: goes to the treasury. FIXED: never drawn from the payment. */
  capExcess: bigint;
  /** FIXED: the capped ask the payment could not cover (0 when honoured in full). */
  shortfall: bigint;
  /** What the rule allocates from this payment (counts toward its period cap). */
  share: bigint;
  balanceBefore: bigint;
  clawbackOwed: bigint;
  clawbackNetted: bigint;
  clawbackCarried: bigint;
  /** Added to the recipient's accrued balance. */
  accrued: bigint;
  /** Taken out of the recipient's accrued balance (paid out or netted against a clawback). */
  balanceReleased: bigint;
  balanceAfter: bigint;
  transfer: bigint;
  outcome: LineOutcome;
  holdReason: HoldReason | null;
}

export interface PayoutTransferPlan {
  recipientId: string;
  ruleId: string;
  /** Token base units, always > 0. */
  amount: bigint;
}

export interface PayoutTotals {
  fixedShares: bigint;
  percentageShares: bigint;
  /** Percentage units left by rounding and by basis points summing to less than 10,000. */
  unallocated: bigint;
  /** Percentage share clipped by caps. */
  capExcess: bigint;
  transferred: bigint;
  accrued: bigint;
  balanceReleased: bigint;
  clawbackNetted: bigint;
}

export interface BalanceMovement {
  recipientId: string;
  ruleId: string;
  outcome: LineOutcome;
  holdReason: HoldReason | null;
  accrued: bigint;
  balanceReleased: bigint;
  clawbackNetted: bigint;
}

/** One transfer of a plan: the rule it pays (its recipientId and id) and the amount, > 0. */
export type TransferVisitor = (rule: PayoutRuleSpec, amount: bigint) => void;
/** One balance movement of a plan; the figures mean what they mean in BalanceMovement. */
export type BalanceMovementVisitor = (
  rule: PayoutRuleSpec,
  accrued: bigint,
  balanceReleased: bigint,
  clawbackNetted: bigint,
  outcome: LineOutcome,
  holdReason: HoldReason | null,
) => void;

export interface PayoutPlan {
  policyId: string;
  policyVersion: number;
  distributable: bigint;
  /** Ascending recipient id; one per PAID line. Built on first read, then the same array. */
  transfers: PayoutTransferPlan[];
  /** Ascending recipient id; one per rule. Built on first read, then the same array. */
  lines: PayoutLine[];
  /**
   * Ascending recipient id; only the lines that move a recipient's balance (accrued, released or
   * netted > 0), which is what the ledger records. Built on first read without building `lines`.
   */
  balanceMovements: BalanceMovement[];
  /**
   * The transfers, as `transfers` lists them, handed to `visit` one at a time without building an object
   * per transfer: what the ledger writer reads (a 100,000-recipient plan has ~70,000 transfers).
   */
  forEachTransfer(visit: TransferVisitor): void;
  /** The balance movements, as `balanceMovements` lists them, without an object per movement. */
  forEachBalanceMovement(visit: BalanceMovementVisitor): void;
  /** Stays in the treasury: unallocated + capExcess (clawbacks recovered are in totals.clawbackNetted). */
  remainder: bigint;
  totals: PayoutTotals;
}

// Per-line codes, one byte per line in the plan's columns (see PlanColumns).
export const OUTCOME_MASK = 0b11;
export const OUTCOME_NONE = 0;
export const OUTCOME_PAID = 1;
export const OUTCOME_HELD = 2;
export const HOLD_SHIFT = 2; // 3 bits: 0 = none, then PAUSED, UNVERIFIED, BELOW_MIN_PAYOUT, SCHEDULED
export const HOLD_MASK = 0b111 << HOLD_SHIFT;
export const CAP_SHIFT = 5; // 0 = none, then PER_PAYMENT, PER_PERIOD
export const CAP_MASK = 0b11 << CAP_SHIFT;
export const ROUNDED_UP = 1 << 7;
const HOLD_REASONS: readonly (HoldReason | null)[] = [null, "PAUSED", "UNVERIFIED", "BELOW_MIN_PAYOUT", "SCHEDULED"];
const CAPS: readonly CapApplied[] = [null, "PER_PAYMENT", "PER_PERIOD"];
const OUTCOMES: readonly LineOutcome[] = ["NONE", "PAID", "HELD"];

/**
 * What the compile keeps of each line: a few typed-array columns, by rule position in recipient id
 * order. At 100,000 recipients a PayoutLine object per rule (24 fields, several fresh bigints) plus a
 * transfer object made a plan of ~27 MB that outlived the young generation: the collector copied it
 * on every compile and the pass ran out of the CPU caches. Typed arrays live outside the collected
 * heap and are written in place. Every other figure of a line follows from these exactly (the same
 * formulas as the pass), so `lines` and `transfers` are rebuilt from them on first read.
 */
export interface PlanColumns {
  /** The rules in recipient id order, as compiled (copied when the policy was not frozen). */
  rules: readonly PayoutRuleSpec[];
  codes: Uint8Array;
  fractions: Uint16Array;
  shares: BigUint64Array;
  balances: BigUint64Array;
  owed: BigUint64Array;
  /** Clawbacks beyond u64::MAX (the input domain allows any non-negative one) by position, else null. */
  owedBeyondU64: Map<number, bigint> | null;
  /** FIXED shortfalls by position, or null when the payment covered every ask. */
  shortfalls: BigUint64Array | null;
  distributable: bigint;
  base: bigint;
  q: bigint;
  r: number;
  fast: boolean;
}

function percentageUncapped(columns: PlanColumns, bps: number, fraction: number, roundedUp: boolean): bigint {
  const extra = (columns.r * bps - fraction) / BPS + (roundedUp ? 1 : 0);
  return columns.fast ? BigInt(Number(columns.q) * bps + extra) : columns.q * BigInt(bps) + BigInt(extra);
}

function owedAt(columns: PlanColumns, i: number): bigint {
  return columns.owedBeyondU64?.get(i) ?? columns.owed[i]!;
}

/** The PayoutLine objects of a compiled plan, from its columns (the trace the operator UI shows). */
export function materialiseLines(columns: PlanColumns): PayoutLine[] {
  const { rules, codes, fractions, shares, balances, owed: owedColumn, shortfalls } = columns;
  const lines: PayoutLine[] = [];
  for (let i = 0; i < rules.length; i++) {
    const rule = rules[i]!;
    const code = codes[i]!;
    const capApplied = CAPS[(code & CAP_MASK) >> CAP_SHIFT]!;
    const share = shares[i]!;
    const balance = balances[i]!;
    const owed = owedAt(columns, i);
    const owedToRecipient = balance + share;
    const netted = owed < owedToRecipient ? owed : owedToRecipient;
    const after = owedToRecipient - netted;
    const outcomeCode = code & OUTCOME_MASK;
    let fraction = 0;
    let roundedUp = false;
    let uncapped: bigint;
    let capExcess = 0n;
    let shortfall = 0n;
    let basis: bigint;
    if (rule.kind === "PERCENTAGE") {
      fraction = fractions[i]!;
      roundedUp = (code & ROUNDED_UP) !== 0;
      uncapped = percentageUncapped(columns, rule.basisPoints!, fraction, roundedUp);
      if (capApplied !== null) capExcess = uncapped - share;
      basis = columns.base;
    } else {
      uncapped = rule.fixedAmount!;
      if (shortfalls !== null) shortfall = shortfalls[i]!;
      if (capApplied !== null) capExcess = uncapped - (share + shortfall);
      basis = columns.distributable;
    }
    let accrued = 0n;
    let released = 0n;
    let balanceAfter = 0n;
    let transfer = 0n;
    if (outcomeCode === OUTCOME_HELD) {
      balanceAfter = after;
      if (after >= balance) accrued = after - balance;
      else released = balance - after;
    } else {
      released = balance;
      if (outcomeCode === OUTCOME_PAID) transfer = after;
    }
    lines.push({
      ruleId: rule.id,
      recipientId: rule.recipientId,
      kind: rule.kind,
      basisPoints: rule.kind === "PERCENTAGE" ? rule.basisPoints! : null,
      fixedAmount: rule.kind === "FIXED" ? rule.fixedAmount! : null,
      basis,
      fractionalRemainder: fraction,
      roundedUp,
      uncapped,
      capApplied,
      capExcess,
      shortfall,
      share,
      balanceBefore: balance,
      clawbackOwed: owed,
      clawbackNetted: netted,
      clawbackCarried: owed - netted,
      accrued,
      balanceReleased: released,
      balanceAfter,
      transfer,
      outcome: OUTCOMES[outcomeCode]!,
      holdReason: HOLD_REASONS[(code & HOLD_MASK) >> HOLD_SHIFT]!,
    });
  }
  return lines;
}

/**
 * Visit the transfers of a compiled plan (one per PAID line, recipient id order), read off its
 * columns: no object per transfer, so a caller writing rows (or summing) does not pay for a copy it
 * throws away. At 100,000 recipients, building ~70,000 transfer objects that outlive V8's young
 * generation cost more than the compile and grew faster than the recipient count.
 */
export function visitTransfers(columns: PlanColumns, visit: TransferVisitor): void {
  const { rules, codes, shares, balances } = columns;
  for (let i = 0; i < rules.length; i++) {
    if ((codes[i]! & OUTCOME_MASK) !== OUTCOME_PAID) continue;
    const owedToRecipient = balances[i]! + shares[i]!;
    const owed = owedAt(columns, i);
    visit(rules[i]!, owed < owedToRecipient ? owedToRecipient - owed : 0n);
  }
}

/** Visit the lines that move a balance (the same formulas as materialiseLines), without objects. */
export function visitBalanceMovements(columns: PlanColumns, visit: BalanceMovementVisitor): void {
  const { rules, codes, shares, balances } = columns;
  for (let i = 0; i < rules.length; i++) {
    const code = codes[i]!;
    const share = shares[i]!;
    const balance = balances[i]!;
    const owed = owedAt(columns, i);
    if (balance === 0n && owed === 0n && (code & OUTCOME_MASK) !== OUTCOME_HELD) continue;
    const owedToRecipient = balance + share;
    const netted = owed < owedToRecipient ? owed : owedToRecipient;
    const after = owedToRecipient - netted;
    const outcomeCode = code & OUTCOME_MASK;
    let accrued = 0n;
    let released = 0n;
    if (outcomeCode === OUTCOME_HELD) {
      if (after >= balance) accrued = after - balance;
      else released = balance - after;
    } else {
      released = balance;
    }
    if (accrued === 0n && released === 0n && netted === 0n) continue;
    visit(rules[i]!, accrued, released, netted, OUTCOMES[outcomeCode]!, HOLD_REASONS[(code & HOLD_MASK) >> HOLD_SHIFT]!);
  }
}

export function materialiseTransfers(columns: PlanColumns): PayoutTransferPlan[] {
  const transfers: PayoutTransferPlan[] = [];
  visitTransfers(columns, (rule, amount) => transfers.push({ recipientId: rule.recipientId, ruleId: rule.id, amount }));
  return transfers;
}

export function materialiseBalanceMovements(columns: PlanColumns): BalanceMovement[] {
  const movements: BalanceMovement[] = [];
  visitBalanceMovements(columns, (rule, accrued, balanceReleased, clawbackNetted, outcome, holdReason) =>
    movements.push({ recipientId: rule.recipientId, ruleId: rule.id, outcome, holdReason, accrued, balanceReleased, clawbackNetted }),
  );
  return movements;
}

/** The figures of a plan that the compile sums; the per-line views come from the columns. */
export interface PlanFigures {
  policyId: string;
  policyVersion: number;
  distributable: bigint;
  remainder: bigint;
  totals: PayoutTotals;
}

/**
 * The plan a compile returns: `transfers`, `lines` and `balanceMovements` are built from the columns on
 * first read and then kept (the same array every time); the visitors walk the columns without building
 * them.
 */
export function payoutPlanFromColumns(columns: PlanColumns, head: PlanFigures): PayoutPlan {
  let transfers: PayoutTransferPlan[] | null = null;
  let lines: PayoutLine[] | null = null;
  let movements: BalanceMovement[] | null = null;
  const figures: Omit<PayoutPlan, "forEachTransfer" | "forEachBalanceMovement"> = {
    policyId: head.policyId,
    policyVersion: head.policyVersion,
    distributable: head.distributable,
    get transfers() {
      return (transfers ??= materialiseTransfers(columns));
    },
    get lines() {
      return (lines ??= materialiseLines(columns));
    },
    get balanceMovements() {
      return (movements ??= materialiseBalanceMovements(columns));
    },
    remainder: head.remainder,
    totals: head.totals,
  };
  // The visitors are methods, not data: non-enumerable, so comparing two plans (toEqual, JSON) compares
  // their figures only.
  return Object.defineProperties(figures, {
    forEachTransfer: { value: (visit: TransferVisitor) => visitTransfers(columns, visit) },
    forEachBalanceMovement: { value: (visit: BalanceMovementVisitor) => visitBalanceMovements(columns, visit) },
  }) as PayoutPlan;
}
