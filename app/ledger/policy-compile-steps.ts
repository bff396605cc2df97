// The compiler's steps, split from policy-compiler.ts along these seams: an exact allocation-free sum,
// the recipient lookup that merges with the rules in id order, each rule's period-cap room, the per-rule
// columns filled before the main pass, step 1 (FIXED shares when the payment falls short) and step 2's
// rounding of PERCENTAGE shares. Pure.
import {
  BPS_DENOMINATOR,
  PolicyError,
  type PayoutRuleSpec,
  type PolicyIssue,
  type PolicyVersion,
  type RecipientState,
} from "./policy";
import { CAP_SHIFT } from "./policy-plan";

export const NO_PERIOD_TO_DATE: ReadonlyMap<string, bigint> = new Map();
const FOLD_AT = 2 ** 52;
const SMALL_TERM = BigInt(FOLD_AT);

/**
 * An exact sum of non-negative bigints that does not allocate a new bigint per addition (each `+=`
 * on a bigint does, and at 100,000 recipients that garbage makes the collector run, copying the plan
 * being built). Terms up to 2^52 add into a double, exact while it stays below 2^53, and the double is
 * folded into the bigint whenever it passes 2^52.
 */
export class ExactSum {
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
export const BPS = BPS_DENOMINATOR;
export const BPS_BIG = BigInt(BPS_DENOMINATOR);

export function inputError(issue: PolicyIssue): PolicyError {
  return new PolicyError([issue]);
}

export function byRecipientId(a: PayoutRuleSpec, b: PayoutRuleSpec): number {
  // Code-unit order, not localeCompare: the same on every machine and much faster.
  return a.recipientId < b.recipientId ? -1 : a.recipientId > b.recipientId ? 1 : 0;
}

/** What is left of a rule's period cap, or null when it has none. */
export function periodRoom(rule: PayoutRuleSpec, periodToDate: ReadonlyMap<string, bigint>): bigint | null {
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
export class RecipientCursor {
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
export function fillRuleColumns(
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

export function recipientIssue(
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

/** Step 1 when the payment cannot cover every FIXED ask: shares and shortfalls in priority order. */
export interface FixedAllocation {
  /** What is left for the PERCENTAGE rules (P). */
  pool: bigint;
  /** By rule position; null when every ask was covered (then each FIXED share is its ask). */
  fixedShareOf: BigUint64Array | null;
  fixedShortfalls: BigUint64Array | null;
}

/**
 * FIXED rules (bps 0) take their asks (`asks`, by rule position, already lowered by caps). When the
 * payment covers them all, the order cannot matter; otherwise ascending priority, then the given
 * (recipient id) order, each taking min(ask, what is left).
 */
export function allocateFixedShares(
  rules: readonly PayoutRuleSpec[],
  bpsColumn: Uint16Array,
  asks: BigUint64Array,
  distributable: bigint,
  askTotal: bigint,
): FixedAllocation {
  if (askTotal <= distributable) return { pool: distributable - askTotal, fixedShareOf: null, fixedShortfalls: null };
  const ruleCount = rules.length;
  const fixedShareOf = new BigUint64Array(ruleCount);
  const fixedShortfalls = new BigUint64Array(ruleCount);
  const order: number[] = [];
  for (let i = 0; i < ruleCount; i++) {
    if (bpsColumn[i] === 0) order.push(i);
  }
  // Stable sort: equal priorities keep recipient id order.
  order.sort((a, b) => (rules[a]!.priority ?? 0) - (rules[b]!.priority ?? 0));
  let pool = distributable;
  for (const i of order) {
    const ask = asks[i]!;
    const share = ask <= pool ? ask : pool;
    fixedShortfalls[i] = ask - share;
    fixedShareOf[i] = share;
    pool -= share;
  }
  return { pool, fixedShareOf, fixedShortfalls };
}

/** Step 2's largest-remainder rounding of the PERCENTAGE shares of base P, decided before any share is cut. */
export interface PercentageRounding {
  /** P = q * 10000 + r. */
  q: bigint;
  r: number;
  /** P fits a double exactly, and so does every share (<= P). */
  fast: boolean;
  qNumber: number;
  /** Per rule position: (r * bps) mod 10000, the share's fractional part in 1/10000ths. */
  fractions: Uint16Array;
  /** fraction > threshold => rounded up; == threshold => rounded up while ties remain. */
  threshold: number;
  tiesToRoundUp: number;
  /** floor(P * sum(bps) / 10000): what the PERCENTAGE rules receive together before caps. */
  percentageQuota: bigint;
}

/**
 * With P = q*10000 + r, the exact share of bps is q*bps + r*bps/10000, and r*bps < 10^8, so the
 * fractional parts and the rounding need no bigint at all.
 */
export function roundPercentageShares(base: bigint, bpsColumn: Uint16Array): PercentageRounding {
  const ruleCount = bpsColumn.length;
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
  let threshold = BPS;
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
  return { q, r, fast, qNumber, fractions, threshold, tiesToRoundUp, percentageQuota };
}
