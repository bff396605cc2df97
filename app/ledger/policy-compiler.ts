// The payout policy compiler: turns one payment's distributable amount and a policy version into
// transfers, balance movements, clawback netting and a treasury remainder, exactly, to the base unit.
// Pure, total over validated input, O(n log n) (one sort by recipient id, linear when the caller
// already supplies rules in that order, as the database layer does); no Prisma, no I/O.
//
// Order of evaluation (all amounts in token base units):
//   1. FIXED rules, ascending `priority` then recipient id. A rule's ask is its fixedAmount lowered
//      by its caps (per payment, and what is left of its period cap); it takes min(ask, what is left
//      of the payment). A cap therefore never starves a lower-priority fixed rule: the capped part is
//      never drawn. `shortfall` records what the payment could not cover. (When the payment covers
//      every ask, the order cannot matter and the priority sort is skipped.)
//   2. PERCENTAGE rules share the base P = distributable - sum(FIXED shares). Rule i's exact share is
//      P * bps_i / 10000. The rules together receive floor(P * sum(bps) / 10000); each gets the floor
//      of its exact share, and the few units left over go one each to the rules with the largest
//      fractional remainder, ties to the smaller recipient id (largest remainder / Hamilton). No rule
//      with an exact share is ever rounded up, and the total never exceeds P.
//   3. Caps clip each rounded PERCENTAGE share; the clipped excess goes to the treasury (it is not
//      handed to the other rules, which would change what their basis points mean).
//   4. Per recipient, with balance b (accrued, owed to them), clawback c (owed by them), share s:
//        netted   n = min(c, b + s)        the clawback is recovered from what we owe them first
//        carried    = c - n                 the rest of the clawback waits for a later run
//        after      = b + s - n
//      The recipient is PAID `after` (its whole accrued balance plus the share, balance back to 0) when
//      after > 0, after >= minPayout, the recipient is ACTIVE, and (if the policy requires it) its
//      wallet is verified. Otherwise `after` stays as its balance, HELD with a reason: PAUSED, then
//      UNVERIFIED, then BELOW_MIN_PAYOUT. A transfer is never zero, negative, or below the threshold.
//   5. Treasury remainder R = P - floor(P * sum(bps) / 10000) + percentage cap excess
//                           = distributable - sum(shares).
//
// Conservation, checked on every compile and by the property tests:
//   per rule:  transfer + accrued + clawbackNetted = share + balanceReleased
//              balanceAfter = balanceBefore + accrued - balanceReleased
//              clawbackCarried = clawbackOwed - clawbackNetted
//   in total:  sum(transfer) + sum(accrued) + sum(clawbackNetted) + remainder
//                 = distributable + sum(balanceReleased)
//   i.e. sum(transfers) + sum(net accruals) + remainder = distributable - clawbacks recovered,
//   where net accrual = accrued - balanceReleased. Recovered clawback money stays in the treasury
//   (it repays a refund the treasury already funded), so the treasury keeps remainder + sum(netted).
//
// Validation: the rules are checked on every compile unless the policy version went through
// `assertValidPolicy` (which freezes it); the per-payment input (amounts, recipients) always is.
// Input domain: distributable in 0..u64::MAX, every balance <= u64::MAX - distributable (so a transfer
// fits a u64 token amount), clawbacks and period-to-date amounts >= 0. Anything else is a PolicyError.
import { U64_MAX } from "./money";
import {
  BPS_DENOMINATOR,
  findPolicyIssues,
  isValidatedPolicy,
  PolicyError,
  type PayoutRuleKind,
  type PayoutRuleSpec,
  type PolicyIssue,
  type PolicyVersion,
  type RecipientState,
} from "./policy";

export interface CompileInput {
  /** What this payment contributes to payouts, token base units (0 for a sweep of accrued balances). */
  distributable: bigint;
  policy: PolicyVersion;
  /** Every recipient a rule names, by id. */
  recipients: ReadonlyMap<string, RecipientState>;
  /**
   * What each rule (by rule id) already used of its period cap. Absent = 0. The caller decides what
   * counts; the model layer counts the rule's transfers in the period (see loadPeriodToDate).
   */
  periodToDate?: ReadonlyMap<string, bigint>;
}

export type CapApplied = "PER_PAYMENT" | "PER_PERIOD" | null;
export type HoldReason = "PAUSED" | "UNVERIFIED" | "BELOW_MIN_PAYOUT";
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

const NO_PERIOD_TO_DATE: ReadonlyMap<string, bigint> = new Map();
const FOLD_AT = 2 ** 52;
const SMALL_TERM = BigInt(FOLD_AT);

/**
 * An exact sum of non-negative bigints that does not allocate a new bigint per addition (each `+=`
 * on a bigint does, and at 100,000 recipients that garbage makes the collector run, copying the plan
 * being built). Terms up to 2^52 add into a double, exact while it stays below 2^53, and the double is
 * folded into the bigint whenever it passes 2^52.
 */
class ExactSum {
  private small = 0;
  private big = 0n;
  add(amount: bigint): void {
    if (amount <= SMALL_TERM) {
      this.small += Number(amount);
      if (this.small > FOLD_AT) {
        this.big += BigInt(this.small);
        this.small = 0;
      }
    } else {
      this.big += amount;
    }
  }
  get value(): bigint {
    return this.big + BigInt(this.small);
  }
}
const BPS = BPS_DENOMINATOR;
const BPS_BIG = BigInt(BPS_DENOMINATOR);

function inputError(issue: PolicyIssue): PolicyError {
  return new PolicyError([issue]);
}

function byRecipientId(a: PayoutRuleSpec, b: PayoutRuleSpec): number {
  // Code-unit order, not localeCompare: the same on every machine and much faster.
  return a.recipientId < b.recipientId ? -1 : a.recipientId > b.recipientId ? 1 : 0;
}

/** What is left of a rule's period cap, or null when it has none. */
function periodRoom(rule: PayoutRuleSpec, periodToDate: ReadonlyMap<string, bigint>): bigint | null {
  const cap = rule.capPerPeriod;
  if (cap === null || cap === undefined) return null;
  const used = periodToDate.get(rule.id) ?? 0n;
  if (typeof used !== "bigint" || used < 0n) {
    throw inputError({
      code: "INPUT_PERIOD_TO_DATE_INVALID",
      message: `period-to-date of rule ${rule.id} must be a non-negative bigint, got ${String(used)}`,
      ruleId: rule.id,
      recipientId: rule.recipientId,
    });
  }
  return cap > used ? cap - used : 0n;
}

/**
 * Finds each rule's recipient, rules asked for in ascending recipient id order. While the Map iterates
 * in strictly ascending id order with every key equal to its value's id (the model layer inserts them
 * so), it walks the Map in step with the rules (a merge join): no hash probe per rule, which costs a
 * cache miss at 100,000 recipients, and no separate pass over the Map. From the first entry out of
 * that order on it answers with `get`, and so it does for a rule whose id the walk stepped past: the
 * answer is always the one `get` gives.
 */
class RecipientCursor {
  private readonly entries: Iterator<[string, RecipientState]>;
  private current: RecipientState | undefined = undefined;
  private previousId: string | null = null;
  private ordered = true;

  constructor(private readonly recipients: ReadonlyMap<string, RecipientState>) {
    this.entries = recipients.entries();
    this.step();
  }

  private step(): void {
    const next = this.entries.next();
    if (next.done === true) {
      this.current = undefined;
      return;
    }
    const key = next.value[0];
    const recipient = next.value[1];
    const id = recipient.id;
    if (id !== key || (this.previousId !== null && !(this.previousId < id))) {
      this.ordered = false;
      this.current = undefined;
      return;
    }
    this.previousId = id;
    this.current = recipient;
  }

  find(recipientId: string): RecipientState | undefined {
    if (this.ordered) {
      // Recipients without a rule are stepped over.
      while (this.current !== undefined && this.current.id < recipientId) this.step();
      const current = this.current;
      if (current !== undefined && current.id === recipientId) return current;
    }
    return this.recipients.get(recipientId);
  }
}

/**
 * The per-rule columns the compile reads before the main pass, at each rule's position: a FIXED
 * rule's ask (its fixed amount lowered by its cap per payment and what is left of its period cap) in
 * `asks` (the compile passes its shares column), the cap that bound it in `codes`, the sum of asks
 * in `askSum`; a PERCENTAGE rule's basis points in `bps` (0 marks FIXED: valid basis points are
 * 1..10,000). With `checkOrder`, stops and returns false at the first rule not strictly after its
 * predecessor by recipient id.
 */
function fillRuleColumns(
  rules: readonly PayoutRuleSpec[],
  checkOrder: boolean,
  periodToDate: ReadonlyMap<string, bigint>,
  codes: Uint8Array,
  asks: BigUint64Array,
  bps: Uint16Array,
  askSum: ExactSum,
): boolean {
  let previous: string | null = null;
  for (let i = 0; i < rules.length; i++) {
    const rule = rules[i]!;
    if (checkOrder) {
      const recipientId = rule.recipientId;
      if (previous !== null && !(previous < recipientId)) return false;
      previous = recipientId;
    }
    if (rule.kind === "PERCENTAGE") {
      bps[i] = rule.basisPoints!;
      continue;
    }
    let ask = rule.fixedAmount!;
    let cap = 0;
    const perPayment = rule.capPerPayment;
    if (perPayment !== null && perPayment !== undefined && perPayment < ask) {
      ask = perPayment;
      cap = 1;
    }
    const room = periodRoom(rule, periodToDate);
    if (room !== null && room < ask) {
      ask = room;
      cap = 2;
    }
    bps[i] = 0;
    codes[i] = cap << CAP_SHIFT;
    asks[i] = ask;
    askSum.add(ask);
  }
  return true;
}

function recipientIssue(
  code: "RULE_RECIPIENT_UNKNOWN" | "RULE_RECIPIENT_DUPLICATE" | "RULE_RECIPIENT_REMOVED",
  rule: PayoutRuleSpec,
  policy: PolicyVersion,
  detail: string,
): PolicyIssue {
  // Only on the error path: the sorted copy lost the rule's position in the policy.
  const ruleIndex = policy.rules.indexOf(rule);
  return {
    code,
    message: `rule #${ruleIndex} (${rule.id}) for recipient ${rule.recipientId}: ${detail}`,
    ruleIndex,
    ruleId: rule.id,
    recipientId: rule.recipientId,
  };
}

// Per-line codes, one byte per line in the plan's columns (see PlanColumns).
const OUTCOME_MASK = 0b11;
const OUTCOME_NONE = 0;
const OUTCOME_PAID = 1;
const OUTCOME_HELD = 2;
const HOLD_SHIFT = 2; // 0 = none, then PAUSED, UNVERIFIED, BELOW_MIN_PAYOUT
const HOLD_MASK = 0b11 << HOLD_SHIFT;
const CAP_SHIFT = 4; // 0 = none, then PER_PAYMENT, PER_PERIOD
const CAP_MASK = 0b11 << CAP_SHIFT;
const ROUNDED_UP = 1 << 6;
const HOLD_REASONS: readonly (HoldReason | null)[] = [null, "PAUSED", "UNVERIFIED", "BELOW_MIN_PAYOUT"];
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
interface PlanColumns {
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
function materialiseLines(columns: PlanColumns): PayoutLine[] {
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
function visitTransfers(columns: PlanColumns, visit: TransferVisitor): void {
  const { rules, codes, shares, balances } = columns;
  for (let i = 0; i < rules.length; i++) {
    if ((codes[i]! & OUTCOME_MASK) !== OUTCOME_PAID) continue;
    const owedToRecipient = balances[i]! + shares[i]!;
    const owed = owedAt(columns, i);
    visit(rules[i]!, owed < owedToRecipient ? owedToRecipient - owed : 0n);
  }
}

/** Visit the lines that move a balance (the same formulas as materialiseLines), without objects. */
function visitBalanceMovements(columns: PlanColumns, visit: BalanceMovementVisitor): void {
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

function materialiseTransfers(columns: PlanColumns): PayoutTransferPlan[] {
  const transfers: PayoutTransferPlan[] = [];
  visitTransfers(columns, (rule, amount) => transfers.push({ recipientId: rule.recipientId, ruleId: rule.id, amount }));
  return transfers;
}

function materialiseBalanceMovements(columns: PlanColumns): BalanceMovement[] {
  const movements: BalanceMovement[] = [];
  visitBalanceMovements(columns, (rule, accrued, balanceReleased, clawbackNetted, outcome, holdReason) =>
    movements.push({ recipientId: rule.recipientId, ruleId: rule.id, outcome, holdReason, accrued, balanceReleased, clawbackNetted }),
  );
  return movements;
}

/**
 * Compile one payment under a policy version. Deterministic and independent of the order of rules
 * and recipients in the input. Throws PolicyError (with every policy issue) on invalid input.
 *
 * `lines` and `transfers` of the plan are built on first read and then kept (the same array every
 * time): the compile itself keeps per-line figures in typed-array columns (see PlanColumns).
 */
export function compilePayout(input: CompileInput): PayoutPlan {
  const { distributable, policy, recipients } = input;
  const periodToDate = input.periodToDate ?? NO_PERIOD_TO_DATE;
  if (typeof distributable !== "bigint" || distributable < 0n || distributable > U64_MAX) {
    throw inputError({
      code: "INPUT_DISTRIBUTABLE_INVALID",
      message: `distributable must be a bigint in 0..u64::MAX, got ${String(distributable)}`,
    });
  }
  // Rule checks, unless the policy version was validated (and frozen) by assertValidPolicy already.
  // Recipient duplicates, existence and status are checked below on every compile, from the sort and
  // the one lookup per rule.
  const validated = isValidatedPolicy(policy);
  const issues = validated ? [] : findPolicyIssues(policy, undefined, { duplicateRecipients: false });
  if (issues.length > 0) throw new PolicyError(issues);

  const requireVerified = policy.requireVerifiedRecipients === true;
  // Canonical order: every later step walks rules by recipient id, so the input order cannot matter.
  // The model layer supplies rules in that order: then one pass over the rules checks the order and
  // fills the per-rule columns at once; otherwise (or when it meets an invalid period-to-date, to
  // report the same rule whatever the input order) they are sorted and the pass runs again.
  const given = policy.rules;
  const ruleCount = given.length;
  const codes = new Uint8Array(ruleCount);
  // A FIXED rule's ask goes where its share will: the share is the ask unless the payment falls short.
  const shares = new BigUint64Array(ruleCount);
  const bpsColumn = new Uint16Array(ruleCount);
  let askSum = new ExactSum();
  let sorted: readonly PayoutRuleSpec[] = given;
  let inIdOrder = false;
  try {
    inIdOrder = fillRuleColumns(given, true, periodToDate, codes, shares, bpsColumn, askSum);
  } catch (error) {
    if (!(error instanceof PolicyError)) throw error;
  }
  if (!inIdOrder) {
    const copy = given.slice().sort(byRecipientId);
    for (let i = 1; i < ruleCount; i++) {
      if (copy[i]!.recipientId === copy[i - 1]!.recipientId) {
        issues.push(recipientIssue("RULE_RECIPIENT_DUPLICATE", copy[i]!, policy, "the recipient already has a rule in this policy version"));
      }
    }
    if (issues.length > 0) throw new PolicyError(issues);
    sorted = copy;
    codes.fill(0);
    askSum = new ExactSum();
    fillRuleColumns(sorted, false, periodToDate, codes, shares, bpsColumn, askSum);
  }
  // Error reports name the caller's rule objects (`sorted`). Lines are built from `rules` after the
  // compile returns, so a policy that is not frozen is copied rule by rule: a caller editing its
  // rules later cannot change a compiled plan.
  const rules = validated ? sorted : sorted.map((rule) => ({ ...rule }));
  const maxBalance = U64_MAX - distributable;

  // 1. FIXED rules. When the payment covers every ask (fixed amount lowered by caps), the priority
  // order cannot matter and each share is its ask. Otherwise shares and shortfalls by rule position,
  // in priority order.
  let pool = distributable;
  let fixedShareOf: BigUint64Array | null = null;
  let fixedShortfalls: BigUint64Array | null = null;
  const askTotal = askSum.value;
  if (askTotal <= distributable) {
    pool = distributable - askTotal;
  } else {
    fixedShareOf = new BigUint64Array(ruleCount);
    fixedShortfalls = new BigUint64Array(ruleCount);
    const order: number[] = [];
    for (let i = 0; i < ruleCount; i++) {
      if (bpsColumn[i] === 0) order.push(i);
    }
    // Stable sort: equal priorities keep recipient id order.
    order.sort((a, b) => (sorted[a]!.priority ?? 0) - (sorted[b]!.priority ?? 0));
    for (const i of order) {
      const ask = shares[i]!;
      const share = ask <= pool ? ask : pool;
      fixedShortfalls[i] = ask - share;
      fixedShareOf[i] = share;
      pool -= share;
    }
  }
  const fixedShares = distributable - pool;

  // 2. PERCENTAGE rules on base P. With P = q*10000 + r, the exact share of bps is q*bps + r*bps/10000,
  // and r*bps < 10^8, so the fractional parts and the rounding need no bigint at all.
  const base = pool;
  const q = base / BPS_BIG;
  const r = Number(base - q * BPS_BIG);
  // When P fits a double exactly, every share (<= P) does too: one BigInt() per rule instead of three ops.
  const fast = base <= BigInt(Number.MAX_SAFE_INTEGER);
  const qNumber = fast ? Number(q) : 0;
  const fractions = new Uint16Array(ruleCount);
  const remainderCounts = new Int32Array(BPS);
  let bpsSum = 0;
  let extraSum = 0;
  for (let i = 0; i < ruleCount; i++) {
    const bps = bpsColumn[i]!;
    if (bps === 0) continue; // FIXED
    const scaled = r * bps;
    const fraction = scaled % BPS;
    fractions[i] = fraction;
    remainderCounts[fraction]!++;
    extraSum += (scaled - fraction) / BPS;
    bpsSum += bps;
  }
  // Units the percentage rules receive beyond their floors; always fewer than the rules with a
  // non-zero fraction, so the threshold below is >= 1 and exact shares are never rounded up.
  const roundUps = Math.floor((r * bpsSum) / BPS) - extraSum;
  let threshold = BPS; // fraction > threshold => round up; == threshold => round up while ties remain
  let tiesToRoundUp = 0;
  if (roundUps > 0) {
    let above = 0;
    for (let fraction = BPS - 1; fraction >= 1; fraction--) {
      const count = remainderCounts[fraction]!;
      if (above + count >= roundUps) {
        threshold = fraction;
        tiesToRoundUp = roundUps - above;
        break;
      }
      above += count;
    }
  }
  const percentageQuota = q * BigInt(bpsSum) + BigInt(Math.floor((r * bpsSum) / BPS));

  // 3 + 4. One pass in recipient id order: cap percentage shares, then settle each recipient. Each
  // line's figures go to the columns; the totals are summed here, so conservation is checked below
  // on every compile whether or not anyone reads the lines.
  const balances = new BigUint64Array(ruleCount);
  const owedColumn = new BigUint64Array(ruleCount);
  let owedBeyondU64: Map<number, bigint> | null = null;
  const recipientCursor = new RecipientCursor(recipients);
  const capExcessSum = new ExactSum();
  const transferredSum = new ExactSum();
  const accruedSum = new ExactSum();
  const releasedSum = new ExactSum();
  const nettedSum = new ExactSum();
  for (let i = 0; i < ruleCount; i++) {
    const rule = sorted[i]!;
    let share: bigint;
    let code = codes[i]!; // FIXED: the cap that lowered its ask
    const bps = bpsColumn[i]!;
    if (bps !== 0) {
      const fraction = fractions[i]!;
      const roundedUp = fraction > threshold || (fraction === threshold && tiesToRoundUp-- > 0);
      if (roundedUp) code |= ROUNDED_UP;
      const extra = ((r * bps - fraction) / BPS) + (roundedUp ? 1 : 0);
      const uncapped = fast ? BigInt(qNumber * bps + extra) : q * BigInt(bps) + BigInt(extra);
      share = uncapped;
      let cap = 0;
      const perPayment = rule.capPerPayment;
      if (perPayment !== null && perPayment !== undefined && perPayment < share) {
        share = perPayment;
        cap = 1;
      }
      const room = periodRoom(rule, periodToDate);
      if (room !== null && room < share) {
        share = room;
        cap = 2;
      }
      if (cap !== 0) {
        code |= cap << CAP_SHIFT;
        capExcessSum.add(uncapped - share);
      }
    } else {
      if (fixedShareOf === null) {
        share = shares[i]!; // its ask
      } else {
        share = fixedShareOf[i]!;
      }
    }

    const recipient = recipientCursor.find(rule.recipientId);
    if (recipient === undefined || recipient.status === "REMOVED") {
      issues.push(
        recipient === undefined
          ? recipientIssue("RULE_RECIPIENT_UNKNOWN", sorted[i]!, policy, "the recipient does not exist")
          : recipientIssue("RULE_RECIPIENT_REMOVED", sorted[i]!, policy, "the recipient was removed; edit the policy"),
      );
      continue;
    }
    const balance = recipient.balance;
    const owed = recipient.clawbackOwed;
    if (
      recipient.id !== rule.recipientId ||
      typeof balance !== "bigint" ||
      typeof owed !== "bigint" ||
      balance < 0n ||
      balance > maxBalance ||
      owed < 0n
    ) {
      throw inputError({
        code: "INPUT_RECIPIENT_INVALID",
        message: `recipient ${rule.recipientId}: id must match its key, balance must be in 0..u64::MAX - distributable and clawbackOwed >= 0`,
        ruleId: rule.id,
        recipientId: rule.recipientId,
      });
    }
    const owedToRecipient = balance === 0n ? share : balance + share;
    const netted = owed === 0n ? 0n : owed < owedToRecipient ? owed : owedToRecipient;
    const after = netted === 0n ? owedToRecipient : owedToRecipient - netted;

    let hold = 0;
    if (recipient.status !== "ACTIVE") hold = 1;
    else if (requireVerified && !recipient.walletVerified) hold = 2;
    else if (rule.minPayout !== null && rule.minPayout !== undefined && after < rule.minPayout) hold = 3;

    if (after === 0n) {
      // NONE: nothing owed either way; a hold reason would mean nothing.
      if (balance !== 0n) releasedSum.add(balance);
    } else if (hold === 0) {
      code |= OUTCOME_PAID;
      transferredSum.add(after);
      if (balance !== 0n) releasedSum.add(balance);
    } else {
      code |= OUTCOME_HELD | (hold << HOLD_SHIFT);
      if (after > balance) accruedSum.add(after - balance);
      else if (after < balance) releasedSum.add(balance - after);
    }
    if (netted !== 0n) nettedSum.add(netted);
    codes[i] = code;
    shares[i] = share;
    if (balance !== 0n) balances[i] = balance;
    if (owed !== 0n) {
      if (owed <= U64_MAX) owedColumn[i] = owed;
      else (owedBeyondU64 ??= new Map()).set(i, owed);
    }
  }

  if (issues.length > 0) throw new PolicyError(issues);
  const capExcessTotal = capExcessSum.value;
  const transferred = transferredSum.value;
  const accruedTotal = accruedSum.value;
  const releasedTotal = releasedSum.value;
  const nettedTotal = nettedSum.value;
  const percentageShares = percentageQuota - capExcessTotal;
  const unallocated = base - percentageQuota;
  const remainder = unallocated + capExcessTotal;
  // Assert the conservation identity on every compile: a violation is a bug here, never bad input.
  if (
    fixedShares + percentageShares + remainder !== distributable ||
    transferred + accruedTotal + nettedTotal + remainder !== distributable + releasedTotal
  ) {
    throw new Error("payout compiler broke conservation; this is a bug");
  }
  const columns: PlanColumns = {
    rules,
    codes,
    fractions,
    shares,
    balances,
    owed: owedColumn,
    owedBeyondU64,
    shortfalls: fixedShortfalls,
    distributable,
    base,
    q,
    r,
    fast,
  };
  let transfers: PayoutTransferPlan[] | null = null;
  let lines: PayoutLine[] | null = null;
  let movements: BalanceMovement[] | null = null;
  const figures: Omit<PayoutPlan, "forEachTransfer" | "forEachBalanceMovement"> = {
    policyId: policy.id,
    policyVersion: policy.version,
    distributable,
    get transfers() {
      return (transfers ??= materialiseTransfers(columns));
    },
    get lines() {
      return (lines ??= materialiseLines(columns));
    },
    get balanceMovements() {
      return (movements ??= materialiseBalanceMovements(columns));
    },
    remainder,
    totals: {
      fixedShares,
      percentageShares,
      unallocated,
      capExcess: capExcessTotal,
      transferred,
      accrued: accruedTotal,
      balanceReleased: releasedTotal,
      clawbackNetted: nettedTotal,
    },
  };
  // The visitors are methods, not data: non-enumerable, so comparing two plans (toEqual, JSON) compares
  // their figures only.
  const visitors: Pick<PayoutPlan, "forEachTransfer" | "forEachBalanceMovement"> = {
    forEachTransfer: (visit) => visitTransfers(columns, visit),
    forEachBalanceMovement: (visit) => visitBalanceMovements(columns, visit),
  };
  return Object.defineProperties(figures, {
    forEachTransfer: { value: visitors.forEachTransfer },
    forEachBalanceMovement: { value: visitors.forEachBalanceMovement },
  }) as PayoutPlan;
}
