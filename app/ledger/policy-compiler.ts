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
//      UNVERIFIED, then SCHEDULED (`accrueAll`: a payment of a scheduled policy, whose window's sweep
//      pays), then BELOW_MIN_PAYOUT. A transfer is never zero, negative, or below the threshold.
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
import { CAP_SHIFT, HOLD_SHIFT, OUTCOME_HELD, OUTCOME_PAID, payoutPlanFromColumns, ROUNDED_UP, type PayoutPlan, type PlanColumns } from "./policy-plan";
import {
  allocateFixedShares,
  BPS,
  byRecipientId,
  ExactSum,
  fillRuleColumns,
  inputError,
  NO_PERIOD_TO_DATE,
  periodRoom,
  RecipientCursor,
  recipientIssue,
  roundPercentageShares,
} from "./policy-compile-steps";

export type {
  BalanceMovement,
  BalanceMovementVisitor,
  CapApplied,
  HoldReason,
  LineOutcome,
  PayoutLine,
  PayoutPlan,
  PayoutTotals,
  PayoutTransferPlan,
  TransferVisitor,
} from "./policy-plan";

export interface CompileInput {
  /** What this payment contributes to payouts, token base units (0 for a sweep of accrued balances). */
  distributable: bigint;
  policy: PolicyVersion;
  /** Every recipient a rule names, by id. */
  recipients: ReadonlyMap<string, RecipientState>;
  /**
   * What each rule (by rule id) already used of its period cap. Absent = 0. The caller decides what
   * counts; the model layer counts the rule's shares in the period (see loadPeriodToDate).
   */
  periodToDate?: ReadonlyMap<string, bigint>;
  /** Hold every share in the recipients' balances (reason SCHEDULED): a payment of a scheduled policy. */
  accrueAll?: boolean;
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
  const accrueAll = input.accrueAll === true;
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
  const { pool, fixedShareOf, fixedShortfalls } = allocateFixedShares(sorted, bpsColumn, shares, distributable, askSum.value);
  const fixedShares = distributable - pool;

  // 2. PERCENTAGE rules on base P. With P = q*10000 + r, the exact share of bps is q*bps + r*bps/10000,
  // and r*bps < 10^8, so the fractional parts and the rounding need no bigint at all.
  const base = pool;
  const rounding = roundPercentageShares(base, bpsColumn);
  const { q, r, fast, qNumber, fractions, threshold, percentageQuota } = rounding;
  let tiesToRoundUp = rounding.tiesToRoundUp;

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
    else if (accrueAll) hold = 4;
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
  return payoutPlanFromColumns(columns, {
    policyId: policy.id,
    policyVersion: policy.version,
    distributable,
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
  });
}
