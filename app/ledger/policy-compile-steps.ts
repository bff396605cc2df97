// The compiler's input steps, split from policy-compiler.ts along this seam: an exact allocation-free sum,
// the recipient lookup that merges with the rules in id order, each rule's period-cap room, and the
// per-rule columns filled before the main pass. Pure.
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
