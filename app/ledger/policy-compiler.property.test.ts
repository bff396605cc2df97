// Property tests of the payout policy compiler: the invariants of money it must keep for every valid
// input (conservation, determinism, order independence, thresholds, caps, clawbacks, priority, rounding).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { U64_MAX } from "./money";
import { assertValidPolicy, isValidatedPolicy, type PayoutRuleSpec, type PolicyVersion, type RecipientState } from "./policy";
import { compilePayout, type CompileInput, type PayoutLine, type PayoutPlan } from "./policy-compiler";
import { linesFromTraceRecord, traceRecord, type TraceRecord } from "./policy-trace";

const RUNS = 2000;

interface Draft {
  recipientId: string;
  kind: "PERCENTAGE" | "FIXED";
  basisPoints: number;
  fixedAmount: bigint;
  capPerPayment: bigint | null;
  capPerPeriod: bigint | null;
  periodToDate: bigint | null;
  minPayout: bigint | null;
  priority: number;
  status: "ACTIVE" | "PAUSED";
  walletVerified: boolean;
  balance: bigint;
  clawbackOwed: bigint;
}

// Amounts mostly small (so thresholds, caps and shortfalls bite), sometimes large.
const amount = (max: bigint) => fc.oneof({ weight: 4, arbitrary: fc.bigInt({ min: 0n, max: 2_000n }) }, { weight: 1, arbitrary: fc.bigInt({ min: 0n, max }) });
const optionalAmount = (max: bigint) => fc.option(amount(max), { nil: null, freq: 2 });

const draftArb: fc.Arbitrary<Draft> = fc.record({
  recipientId: fc.stringMatching(/^[a-z0-9_-]{1,6}$/),
  kind: fc.constantFrom("PERCENTAGE", "PERCENTAGE", "FIXED"),
  basisPoints: fc.oneof(fc.integer({ min: 1, max: 10_000 }), fc.constantFrom(1, 3333, 5000, 2500)),
  fixedAmount: fc.bigInt({ min: 1n, max: 1_000_000n }),
  capPerPayment: optionalAmount(10n ** 9n),
  capPerPeriod: optionalAmount(10n ** 9n),
  periodToDate: optionalAmount(10n ** 9n),
  minPayout: optionalAmount(10n ** 6n),
  priority: fc.integer({ min: 0, max: 3 }),
  status: fc.constantFrom("ACTIVE", "ACTIVE", "ACTIVE", "PAUSED"),
  walletVerified: fc.boolean(),
  balance: fc.oneof({ weight: 2, arbitrary: fc.constant(0n) }, { weight: 3, arbitrary: amount(10n ** 12n) }),
  clawbackOwed: fc.oneof({ weight: 3, arbitrary: fc.constant(0n) }, { weight: 2, arbitrary: amount(10n ** 12n) }),
});

const distributableArb = fc.oneof(
  { weight: 4, arbitrary: fc.bigInt({ min: 0n, max: 5_000n }) },
  { weight: 3, arbitrary: fc.bigInt({ min: 0n, max: 10n ** 12n }) },
  // beyond 2^53: the compiler's bigint path
  { weight: 1, arbitrary: fc.bigInt({ min: 1n << 53n, max: U64_MAX >> 1n }) },
);

const scenarioArb = fc.record({
  distributable: distributableArb,
  requireVerified: fc.boolean(),
  drafts: fc.uniqueArray(draftArb, { selector: (d) => d.recipientId, maxLength: 14 }),
});

type Scenario = { distributable: bigint; requireVerified: boolean; drafts: Draft[] };

/** Turn drafts into a valid compile input: basis points trimmed to a 10,000 budget, balances within u64. */
function inputOf({ distributable, requireVerified, drafts }: Scenario): CompileInput {
  let budget = 10_000;
  const rules: PayoutRuleSpec[] = [];
  const recipients = new Map<string, RecipientState>();
  const periodToDate = new Map<string, bigint>();
  const maxBalance = U64_MAX - distributable;
  for (const draft of drafts) {
    const id = `rule:${draft.recipientId}`;
    const asPercentage = draft.kind === "PERCENTAGE" && budget > 0;
    const common = {
      id,
      recipientId: draft.recipientId,
      capPerPayment: draft.capPerPayment,
      capPerPeriod: draft.capPerPeriod,
      minPayout: draft.minPayout,
    };
    if (asPercentage) {
      const bps = Math.min(draft.basisPoints, budget);
      budget -= bps;
      rules.push({ ...common, kind: "PERCENTAGE", basisPoints: bps });
    } else {
      rules.push({ ...common, kind: "FIXED", fixedAmount: draft.fixedAmount, priority: draft.priority });
    }
    if (draft.periodToDate !== null) periodToDate.set(id, draft.periodToDate);
    recipients.set(draft.recipientId, {
      id: draft.recipientId,
      status: draft.status,
      walletVerified: draft.walletVerified,
      balance: draft.balance > maxBalance ? maxBalance : draft.balance,
      clawbackOwed: draft.clawbackOwed,
    });
  }
  const policy: PolicyVersion = { id: "pol", version: 3, requireVerifiedRecipients: requireVerified, rules };
  return { distributable, policy, recipients, periodToDate };
}

const inputArb = scenarioArb.map(inputOf);

function sum(values: readonly bigint[]): bigint {
  return values.reduce((a, b) => a + b, 0n);
}

function ruleOf(input: CompileInput, line: PayoutLine): PayoutRuleSpec {
  return input.policy.rules.find((rule) => rule.id === line.ruleId)!;
}

function periodRoom(input: CompileInput, rule: PayoutRuleSpec): bigint | null {
  if (rule.capPerPeriod === null || rule.capPerPeriod === undefined) return null;
  const used = input.periodToDate?.get(rule.id) ?? 0n;
  return used >= rule.capPerPeriod ? 0n : rule.capPerPeriod - used;
}

function reversed(input: CompileInput): CompileInput {
  const rules = input.policy.rules.slice().reverse();
  return {
    ...input,
    policy: { ...input.policy, rules },
    recipients: new Map([...input.recipients].reverse()),
    periodToDate: new Map([...(input.periodToDate ?? new Map<string, bigint>())].reverse()),
  };
}

describe("compilePayout properties", () => {
  it("conserves money to the unit: per line and in total", () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        const plan = compilePayout(input);
        const { lines, remainder, distributable } = { ...plan };
        for (const line of lines) {
          expect(line.transfer + line.accrued + line.clawbackNetted).toBe(line.share + line.balanceReleased);
          expect(line.balanceAfter).toBe(line.balanceBefore + line.accrued - line.balanceReleased);
          expect(line.clawbackCarried).toBe(line.clawbackOwed - line.clawbackNetted);
          expect(line.balanceAfter).toBeGreaterThanOrEqual(0n);
          expect(line.balanceReleased).toBeLessThanOrEqual(line.balanceBefore);
        }
        const transferred = sum(plan.transfers.map((t) => t.amount));
        const accrued = sum(lines.map((l) => l.accrued));
        const released = sum(lines.map((l) => l.balanceReleased));
        const netted = sum(lines.map((l) => l.clawbackNetted));
        const shares = sum(lines.map((l) => l.share));
        expect(remainder).toBeGreaterThanOrEqual(0n);
        expect(shares + remainder).toBe(distributable);
        expect(transferred + (accrued - released) + netted + remainder).toBe(distributable);
        expect(plan.totals).toEqual({
          fixedShares: sum(lines.filter((l) => l.kind === "FIXED").map((l) => l.share)),
          percentageShares: sum(lines.filter((l) => l.kind === "PERCENTAGE").map((l) => l.share)),
          unallocated: plan.totals.unallocated,
          capExcess: sum(lines.filter((l) => l.kind === "PERCENTAGE").map((l) => l.capExcess)),
          transferred,
          accrued,
          balanceReleased: released,
          clawbackNetted: netted,
        });
        expect(plan.totals.unallocated + plan.totals.capExcess).toBe(remainder);
      }),
      { numRuns: RUNS },
    );
  });

  it("is deterministic: the same input twice gives deep-equal plans", () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        expect(compilePayout(input)).toEqual(compilePayout(input));
      }),
      { numRuns: RUNS },
    );
  });

  it("a validated (frozen) policy compiles to the same plan as an unvalidated copy", () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        const expected = compilePayout(input);
        const validated = assertValidPolicy(structuredClone(input.policy));
        expect(isValidatedPolicy(validated)).toBe(true);
        expect(compilePayout({ ...input, policy: validated })).toEqual(expected);
      }),
      { numRuns: 500 },
    );
  });

  it("does not depend on the order of rules, recipients or period figures in the input", () => {
    fc.assert(
      fc.property(inputArb, fc.integer(), (input, seed) => {
        const expected = compilePayout(input);
        expect(compilePayout(reversed(input))).toEqual(expected);
        // and an arbitrary permutation of the rules
        const rules = input.policy.rules.slice();
        let state = seed;
        for (let i = rules.length - 1; i > 0; i--) {
          state = (Math.imul(state, 1_103_515_245) + 12_345) | 0;
          const j = Math.abs(state) % (i + 1);
          [rules[i], rules[j]] = [rules[j]!, rules[i]!];
        }
        expect(compilePayout({ ...input, policy: { ...input.policy, rules } })).toEqual(expected);
        // recipients handed over in id order (the compiler's merge-join path), with bystanders that
        // have no rule (skipped by the merge, ignored by the lookup)
        const bystander = (id: string): RecipientState => ({ id, status: "ACTIVE", walletVerified: true, balance: 9n, clawbackOwed: 0n });
        const withBystanders = [...input.recipients.values(), bystander("~zz"), bystander(""), bystander("m~")];
        const byId = (a: RecipientState, b: RecipientState) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
        const sortedRecipients = new Map(withBystanders.sort(byId).map((r) => [r.id, r] as const));
        expect(compilePayout({ ...input, recipients: sortedRecipients })).toEqual(expected);
        const shuffledRecipients = new Map(withBystanders.reverse().map((r) => [r.id, r] as const));
        expect(compilePayout({ ...input, recipients: shuffledRecipients })).toEqual(expected);
      }),
      { numRuns: RUNS },
    );
  });

  it("transfers are positive, one per PAID line, u64-sized, in recipient id order", () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        const plan = compilePayout(input);
        const paid = plan.lines.filter((l) => l.outcome === "PAID");
        const expected = paid.map((l) => ({ recipientId: l.recipientId, ruleId: l.ruleId, amount: l.transfer }));
        expect(plan.transfers).toEqual(expected);
        // The ledger writer's read (forEachTransfer) on a fresh plan, whose lines were never built.
        const visited: { recipientId: string; ruleId: string; amount: bigint }[] = [];
        compilePayout(input).forEachTransfer((rule, amount) => visited.push({ recipientId: rule.recipientId, ruleId: rule.id, amount }));
        expect(visited).toEqual(expected);
        for (const transfer of plan.transfers) {
          expect(transfer.amount).toBeGreaterThan(0n);
          expect(transfer.amount).toBeLessThanOrEqual(U64_MAX);
        }
        for (const line of plan.lines) if (line.outcome !== "PAID") expect(line.transfer).toBe(0n);
        const ids = plan.lines.map((l) => l.recipientId);
        expect(ids).toEqual(ids.slice().sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
      }),
      { numRuns: RUNS },
    );
  });

  it("respects thresholds and holds: no transfer below minPayout, none to paused or (when required) unverified", () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        const plan = compilePayout(input);
        for (const line of plan.lines) {
          const rule = ruleOf(input, line);
          const recipient = input.recipients.get(line.recipientId)!;
          const owedToRecipient = line.balanceBefore + line.share - line.clawbackNetted;
          if (line.outcome === "PAID") {
            expect(line.transfer).toBe(owedToRecipient);
            expect(line.transfer).toBeGreaterThanOrEqual(rule.minPayout ?? 0n);
            expect(recipient.status).toBe("ACTIVE");
            if (input.policy.requireVerifiedRecipients) expect(recipient.walletVerified).toBe(true);
            expect(line.balanceAfter).toBe(0n);
          } else if (line.outcome === "HELD") {
            expect(line.balanceAfter).toBe(owedToRecipient);
            expect(line.balanceAfter).toBeGreaterThan(0n);
            const expectedReason =
              recipient.status !== "ACTIVE"
                ? "PAUSED"
                : input.policy.requireVerifiedRecipients && !recipient.walletVerified
                  ? "UNVERIFIED"
                  : "BELOW_MIN_PAYOUT";
            expect(line.holdReason).toBe(expectedReason);
            if (expectedReason === "BELOW_MIN_PAYOUT") expect(line.balanceAfter).toBeLessThan(rule.minPayout ?? 0n);
          } else {
            expect(owedToRecipient).toBe(0n);
            expect(line.balanceAfter).toBe(0n);
          }
        }
      }),
      { numRuns: RUNS },
    );
  });

  it("clawbacks never overdraw: netted <= owed and <= balance + share, the rest carried forward", () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        for (const line of compilePayout(input).lines) {
          expect(line.clawbackNetted).toBeGreaterThanOrEqual(0n);
          expect(line.clawbackNetted).toBeLessThanOrEqual(line.clawbackOwed);
          expect(line.clawbackNetted).toBeLessThanOrEqual(line.balanceBefore + line.share);
          expect(line.clawbackCarried).toBe(line.clawbackOwed - line.clawbackNetted);
          expect(line.transfer).toBeGreaterThanOrEqual(0n);
          // netting is greedy: a clawback is only carried when everything owed to the recipient went into it
          if (line.clawbackCarried > 0n) {
            expect(line.clawbackNetted).toBe(line.balanceBefore + line.share);
            expect(line.transfer).toBe(0n);
            expect(line.balanceAfter).toBe(0n);
          }
        }
      }),
      { numRuns: RUNS },
    );
  });

  it("respects caps per payment and per period", () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        for (const line of compilePayout(input).lines) {
          const rule = ruleOf(input, line);
          if (rule.capPerPayment !== null && rule.capPerPayment !== undefined) expect(line.share).toBeLessThanOrEqual(rule.capPerPayment);
          const room = periodRoom(input, rule);
          if (room !== null) expect(line.share).toBeLessThanOrEqual(room);
          expect(line.capExcess).toBe(line.capApplied === null ? 0n : line.uncapped - (line.kind === "FIXED" ? line.share + line.shortfall : line.share));
        }
      }),
      { numRuns: RUNS },
    );
  });

  it("honours fixed amounts by priority then recipient id, before any percentage", () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        const plan = compilePayout(input);
        const fixedLines = plan.lines
          .filter((l) => l.kind === "FIXED")
          .sort((a, b) => {
            const pa = ruleOf(input, a).priority ?? 0;
            const pb = ruleOf(input, b).priority ?? 0;
            return pa - pb || (a.recipientId < b.recipientId ? -1 : 1);
          });
        let left = input.distributable;
        for (const line of fixedLines) {
          const rule = ruleOf(input, line);
          let ask = rule.fixedAmount!;
          if (rule.capPerPayment !== null && rule.capPerPayment !== undefined && rule.capPerPayment < ask) ask = rule.capPerPayment;
          const room = periodRoom(input, rule);
          if (room !== null && room < ask) ask = room;
          const expected = ask < left ? ask : left;
          expect(line.share).toBe(expected);
          expect(line.shortfall).toBe(ask - expected);
          left -= expected;
        }
        const anyShortfall = fixedLines.some((l) => l.shortfall > 0n);
        for (const line of plan.lines) {
          if (line.kind !== "PERCENTAGE") continue;
          expect(line.basis).toBe(left);
          if (anyShortfall) expect(line.share).toBe(0n);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it("rounds percentages by largest remainder, ties to the smaller recipient id, within the quota", () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        const plan = compilePayout(input);
        const percentage = plan.lines.filter((l) => l.kind === "PERCENTAGE");
        if (percentage.length === 0) return;
        const base = percentage[0]!.basis;
        const bpsSum = percentage.reduce((s, l) => s + l.basisPoints!, 0);
        for (const line of percentage) {
          const exactTimesDenominator = base * BigInt(line.basisPoints!);
          const floor = exactTimesDenominator / 10_000n;
          expect(line.fractionalRemainder).toBe(Number(exactTimesDenominator % 10_000n));
          expect(line.uncapped).toBe(floor + (line.roundedUp ? 1n : 0n));
          if (line.fractionalRemainder === 0) expect(line.roundedUp).toBe(false);
        }
        expect(sum(percentage.map((l) => l.uncapped))).toBe((base * BigInt(bpsSum)) / 10_000n);
        const up = percentage.filter((l) => l.roundedUp);
        const down = percentage.filter((l) => !l.roundedUp);
        for (const u of up) {
          for (const d of down) {
            const ahead = u.fractionalRemainder > d.fractionalRemainder || (u.fractionalRemainder === d.fractionalRemainder && u.recipientId < d.recipientId);
            expect(ahead).toBe(true);
          }
        }
      }),
      { numRuns: RUNS },
    );
  });

  it("a sweep (distributable 0) only moves accrued balances and clawbacks", () => {
    fc.assert(
      fc.property(scenarioArb.map((s) => inputOf({ ...s, distributable: 0n })), (input) => {
        const plan: PayoutPlan = compilePayout(input);
        expect(plan.remainder).toBe(0n);
        for (const line of plan.lines) {
          expect(line.share).toBe(0n);
          expect(line.accrued).toBe(0n);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it("balanceMovements are exactly the lines that move a balance, without building the lines first", () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        // Read first, on a fresh plan: the movements must not depend on `lines` having been built.
        const movements = compilePayout(input).balanceMovements;
        const expected = compilePayout(input)
          .lines.filter((l) => l.accrued > 0n || l.balanceReleased > 0n || l.clawbackNetted > 0n)
          .map((l) => ({
            recipientId: l.recipientId,
            ruleId: l.ruleId,
            outcome: l.outcome,
            holdReason: l.holdReason,
            accrued: l.accrued,
            balanceReleased: l.balanceReleased,
            clawbackNetted: l.clawbackNetted,
          }));
        expect(movements).toEqual(expected);
        const visited: unknown[] = [];
        compilePayout(input).forEachBalanceMovement((rule, accrued, balanceReleased, clawbackNetted, outcome, holdReason) =>
          visited.push({ recipientId: rule.recipientId, ruleId: rule.id, outcome, holdReason, accrued, balanceReleased, clawbackNetted }),
        );
        expect(visited).toEqual(expected);
      }),
      { numRuns: RUNS },
    );
  });

  it("a plan's trace record, through JSON as the audit log stores it, gives back exactly its lines and totals", () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        const plan = compilePayout(input);
        const stored = JSON.parse(JSON.stringify(traceRecord(plan, plan.lines.length))) as TraceRecord;
        expect(linesFromTraceRecord(stored)).toEqual(plan.lines);
        expect(stored.totals).toEqual(Object.fromEntries(Object.entries(plan.totals).map(([key, value]) => [key, value.toString()])));
        expect([stored.distributable, stored.remainder, stored.lineCount]).toEqual([plan.distributable.toString(), plan.remainder.toString(), plan.lines.length]);
      }),
      { numRuns: RUNS },
    );
  });
});
