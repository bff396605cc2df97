// Unit tests of the payout policy compiler: every rule kind, rounding, caps, thresholds, holds,
// clawbacks, and the input errors it raises.
import { describe, expect, it } from "vitest";
import { U64_MAX } from "./money";
import type { PayoutRuleSpec, PolicyVersion, RecipientState } from "./policy";
import { compilePayout, type CompileInput, type PayoutLine, type PayoutPlan } from "./policy-compiler";

function pct(recipientId: string, basisPoints: number, extra: Partial<PayoutRuleSpec> = {}): PayoutRuleSpec {
  return { id: `rule_${recipientId}`, recipientId, kind: "PERCENTAGE", basisPoints, ...extra };
}

function fixed(recipientId: string, fixedAmount: bigint, extra: Partial<PayoutRuleSpec> = {}): PayoutRuleSpec {
  return { id: `rule_${recipientId}`, recipientId, kind: "FIXED", fixedAmount, ...extra };
}

function recipientsFor(rules: PayoutRuleSpec[], overrides: Record<string, Partial<RecipientState>> = {}): Map<string, RecipientState> {
  return new Map(
    rules.map((rule) => [
      rule.recipientId,
      { id: rule.recipientId, status: "ACTIVE", walletVerified: true, balance: 0n, clawbackOwed: 0n, ...overrides[rule.recipientId] },
    ]),
  );
}

function compile(
  distributable: bigint,
  rules: PayoutRuleSpec[],
  options: { overrides?: Record<string, Partial<RecipientState>>; requireVerified?: boolean; periodToDate?: Record<string, bigint> } = {},
): PayoutPlan {
  const policy: PolicyVersion = { id: "pol", version: 1, requireVerifiedRecipients: options.requireVerified ?? false, rules };
  const input: CompileInput = { distributable, policy, recipients: recipientsFor(rules, options.overrides) };
  if (options.periodToDate) input.periodToDate = new Map(Object.entries(options.periodToDate));
  return compilePayout(input);
}

function line(plan: PayoutPlan, recipientId: string): PayoutLine {
  const found = plan.lines.find((l) => l.recipientId === recipientId);
  if (!found) throw new Error(`no line for ${recipientId}`);
  return found;
}

function transferOf(plan: PayoutPlan, recipientId: string): bigint {
  return plan.transfers.find((t) => t.recipientId === recipientId)?.amount ?? 0n;
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return undefined;
}

describe("percentage rules", () => {
  it("pays each recipient its basis points and leaves the rest to the treasury", () => {
    const plan = compile(1_000_000n, [pct("alice", 2500), pct("bob", 1000)]);
    expect(plan.transfers).toEqual([
      { recipientId: "alice", ruleId: "rule_alice", amount: 250_000n },
      { recipientId: "bob", ruleId: "rule_bob", amount: 100_000n },
    ]);
    expect(plan.remainder).toBe(650_000n);
    expect(plan.totals.unallocated).toBe(650_000n);
  });

  it("largest remainder: the leftover unit goes to the largest fraction", () => {
    // 100 * 3333/10000 = 33.33 for a and b, 100 * 3334/10000 = 33.34 for c: c gets the 100th unit.
    const plan = compile(100n, [pct("a", 3333), pct("b", 3333), pct("c", 3334)]);
    expect([transferOf(plan, "a"), transferOf(plan, "b"), transferOf(plan, "c")]).toEqual([33n, 33n, 34n]);
    expect(line(plan, "c")).toMatchObject({ roundedUp: true, fractionalRemainder: 3400 });
    expect(line(plan, "a")).toMatchObject({ roundedUp: false, fractionalRemainder: 3300 });
    expect(plan.remainder).toBe(0n);
  });

  it("largest remainder: equal fractions break ties by recipient id, whatever the rule order", () => {
    // 1 unit, two halves: the quota is 1 and the smaller recipient id receives it.
    const forward = compile(1n, [pct("rcp_a", 5000), pct("rcp_b", 5000)]);
    const backward = compile(1n, [pct("rcp_b", 5000), pct("rcp_a", 5000)]);
    expect(transferOf(forward, "rcp_a")).toBe(1n);
    expect(transferOf(forward, "rcp_b")).toBe(0n);
    expect(backward).toEqual(forward);
  });

  it("largest remainder: a larger fraction beats a smaller id", () => {
    // 7 units: a (1000 bps) 0.7, z (4000 bps) 2.8, total quota floor(3.5) = 3; floors 0 + 2, one unit to z (.8 > .7).
    const plan = compile(7n, [pct("a", 1000), pct("z", 4000)]);
    expect(transferOf(plan, "a")).toBe(0n);
    expect(transferOf(plan, "z")).toBe(3n);
    expect(plan.remainder).toBe(4n);
  });

  it("never rounds up an exact share, even when units are left to hand out", () => {
    // 10 units: a exactly 5, b and c 2.5 each; quota 10, floors 9: the unit goes to b (tie, smaller id), never a.
    const plan = compile(10n, [pct("a", 5000), pct("b", 2500), pct("c", 2500)]);
    expect([transferOf(plan, "a"), transferOf(plan, "b"), transferOf(plan, "c")]).toEqual([5n, 3n, 2n]);
    expect(line(plan, "a")).toMatchObject({ fractionalRemainder: 0, roundedUp: false });
    expect(plan.remainder).toBe(0n);
  });

  it("uses every unit when the basis points sum to 10000", () => {
    const plan = compile(1_000_003n, [pct("a", 3333), pct("b", 3333), pct("c", 3334)]);
    expect(plan.totals.transferred).toBe(1_000_003n);
    expect(plan.remainder).toBe(0n);
  });

  it("is exact for amounts beyond 2^53 (the bigint path)", () => {
    const distributable = U64_MAX - 12_345n;
    const plan = compile(distributable, [pct("a", 3333), pct("b", 6667)]);
    const exactA = (distributable * 3333n) / 10_000n;
    const exactB = (distributable * 6667n) / 10_000n;
    // floors exact, and the one leftover unit (if any) to the larger fraction
    expect(transferOf(plan, "a") + transferOf(plan, "b")).toBe(distributable);
    expect(transferOf(plan, "a") - exactA).toBeGreaterThanOrEqual(0n);
    expect(transferOf(plan, "a") - exactA).toBeLessThanOrEqual(1n);
    expect(transferOf(plan, "b") - exactB).toBeGreaterThanOrEqual(0n);
    expect(transferOf(plan, "b") - exactB).toBeLessThanOrEqual(1n);
  });
});

describe("fixed rules", () => {
  it("pays fixed amounts first and percentages on what is left", () => {
    const plan = compile(10_000n, [fixed("fee", 1_000n), pct("alice", 5000)]);
    expect(transferOf(plan, "fee")).toBe(1_000n);
    expect(transferOf(plan, "alice")).toBe(4_500n);
    expect(line(plan, "alice").basis).toBe(9_000n);
    expect(plan.remainder).toBe(4_500n);
  });

  it("honours fixed amounts by priority when the payment is too small, recording the shortfall", () => {
    const plan = compile(250n, [fixed("low", 100n, { priority: 2 }), fixed("high", 200n, { priority: 0 }), pct("p", 5000)]);
    expect(transferOf(plan, "high")).toBe(200n);
    expect(transferOf(plan, "low")).toBe(50n);
    expect(line(plan, "low").shortfall).toBe(50n);
    expect(line(plan, "high").shortfall).toBe(0n);
    expect(transferOf(plan, "p")).toBe(0n);
    expect(plan.remainder).toBe(0n);
  });

  it("equal priorities are honoured in recipient id order", () => {
    const plan = compile(150n, [fixed("rcp_b", 100n, { priority: 1 }), fixed("rcp_a", 100n, { priority: 1 })]);
    expect(transferOf(plan, "rcp_a")).toBe(100n);
    expect(transferOf(plan, "rcp_b")).toBe(50n);
  });

  it("a missing priority counts as 0", () => {
    const plan = compile(100n, [fixed("rcp_a", 100n, { priority: 1 }), fixed("rcp_b", 100n)]);
    expect(transferOf(plan, "rcp_b")).toBe(100n);
    expect(transferOf(plan, "rcp_a")).toBe(0n);
  });

  it("a capped fixed rule leaves the capped part for the next priority", () => {
    const plan = compile(150n, [fixed("first", 100n, { priority: 0, capPerPayment: 30n }), fixed("second", 120n, { priority: 1 })]);
    expect(line(plan, "first")).toMatchObject({ share: 30n, capApplied: "PER_PAYMENT", capExcess: 70n });
    expect(transferOf(plan, "second")).toBe(120n);
    expect(plan.remainder).toBe(0n);
  });
});

describe("caps", () => {
  it("cap per payment clips a percentage share; the excess goes to the treasury", () => {
    const plan = compile(1_000n, [pct("a", 5000, { capPerPayment: 300n }), pct("b", 5000)]);
    expect(transferOf(plan, "a")).toBe(300n);
    expect(transferOf(plan, "b")).toBe(500n);
    expect(line(plan, "a")).toMatchObject({ uncapped: 500n, capApplied: "PER_PAYMENT", capExcess: 200n });
    expect(plan.totals.capExcess).toBe(200n);
    expect(plan.remainder).toBe(200n);
  });

  it("cap per period counts what the rule already allocated in the period", () => {
    const plan = compile(1_000n, [pct("a", 5000, { capPerPeriod: 1_200n })], { periodToDate: { rule_a: 1_000n } });
    expect(transferOf(plan, "a")).toBe(200n);
    expect(line(plan, "a")).toMatchObject({ capApplied: "PER_PERIOD", capExcess: 300n });
    expect(plan.remainder).toBe(800n);
  });

  it("an exhausted period cap allocates nothing", () => {
    const plan = compile(1_000n, [pct("a", 5000, { capPerPeriod: 500n }), fixed("f", 100n, { capPerPeriod: 100n })], {
      periodToDate: { rule_a: 900n, rule_f: 100n },
    });
    expect(plan.transfers).toEqual([]);
    expect(line(plan, "a").outcome).toBe("NONE");
    expect(line(plan, "f")).toMatchObject({ share: 0n, capApplied: "PER_PERIOD" });
    // f never drew its 100, so the percentage base is the whole payment
    expect(line(plan, "a").basis).toBe(1_000n);
    expect(plan.remainder).toBe(1_000n);
  });

  it("the tighter of the two caps applies", () => {
    const plan = compile(1_000n, [pct("a", 10_000, { capPerPayment: 400n, capPerPeriod: 350n })]);
    expect(transferOf(plan, "a")).toBe(350n);
    expect(line(plan, "a").capApplied).toBe("PER_PERIOD");
  });

  it("a zero cap blocks the rule", () => {
    const plan = compile(1_000n, [pct("a", 10_000, { capPerPayment: 0n })]);
    expect(plan.transfers).toEqual([]);
    expect(plan.remainder).toBe(1_000n);
  });
});

describe("minimum payout threshold", () => {
  it("a share below the threshold accrues to the balance", () => {
    const plan = compile(100n, [pct("a", 5000, { minPayout: 80n })]);
    expect(plan.transfers).toEqual([]);
    expect(line(plan, "a")).toMatchObject({ outcome: "HELD", holdReason: "BELOW_MIN_PAYOUT", accrued: 50n, balanceAfter: 50n });
  });

  it("once balance plus share reaches the threshold the whole balance is paid with the share", () => {
    const plan = compile(100n, [pct("a", 5000, { minPayout: 80n })], { overrides: { a: { balance: 30n } } });
    expect(transferOf(plan, "a")).toBe(80n);
    expect(line(plan, "a")).toMatchObject({ outcome: "PAID", balanceReleased: 30n, balanceAfter: 0n, accrued: 0n });
  });

  it("a sweep (distributable 0) pays accrued balances at or above the threshold", () => {
    const plan = compile(0n, [pct("a", 5000, { minPayout: 80n }), pct("b", 5000, { minPayout: 80n })], {
      overrides: { a: { balance: 80n }, b: { balance: 79n } },
    });
    expect(plan.transfers).toEqual([{ recipientId: "a", ruleId: "rule_a", amount: 80n }]);
    expect(line(plan, "b")).toMatchObject({ outcome: "HELD", balanceAfter: 79n, accrued: 0n, balanceReleased: 0n });
  });
});

describe("recipient status", () => {
  it("a paused recipient's share accrues, held with reason PAUSED", () => {
    const plan = compile(100n, [pct("a", 5000)], { overrides: { a: { status: "PAUSED", balance: 7n } } });
    expect(plan.transfers).toEqual([]);
    expect(line(plan, "a")).toMatchObject({ outcome: "HELD", holdReason: "PAUSED", accrued: 50n, balanceAfter: 57n });
  });

  it("an unverified wallet is held only when the policy requires verification", () => {
    const rules = [pct("a", 5000)];
    const overrides = { a: { walletVerified: false } };
    const held = compile(100n, rules, { overrides, requireVerified: true });
    const paid = compile(100n, rules, { overrides, requireVerified: false });
    expect(line(held, "a")).toMatchObject({ outcome: "HELD", holdReason: "UNVERIFIED", balanceAfter: 50n });
    expect(transferOf(paid, "a")).toBe(50n);
  });

  it("paused outranks unverified, which outranks the threshold, as the hold reason", () => {
    const plan = compile(100n, [pct("a", 5000, { minPayout: 1_000n }), pct("b", 5000, { minPayout: 1_000n })], {
      overrides: { a: { status: "PAUSED", walletVerified: false }, b: { walletVerified: false } },
      requireVerified: true,
    });
    expect(line(plan, "a").holdReason).toBe("PAUSED");
    expect(line(plan, "b").holdReason).toBe("UNVERIFIED");
  });
});

describe("clawbacks", () => {
  it("a clawback smaller than the share is netted in full", () => {
    const plan = compile(1_000n, [pct("a", 5000)], { overrides: { a: { clawbackOwed: 120n } } });
    expect(transferOf(plan, "a")).toBe(380n);
    expect(line(plan, "a")).toMatchObject({ clawbackNetted: 120n, clawbackCarried: 0n });
    expect(plan.totals.clawbackNetted).toBe(120n);
  });

  it("a clawback larger than balance plus share takes all of it and carries the rest forward", () => {
    const plan = compile(1_000n, [pct("a", 5000)], { overrides: { a: { clawbackOwed: 600n, balance: 40n } } });
    expect(plan.transfers).toEqual([]);
    expect(line(plan, "a")).toMatchObject({
      outcome: "NONE",
      clawbackNetted: 540n,
      clawbackCarried: 60n,
      balanceReleased: 40n,
      balanceAfter: 0n,
    });
  });

  it("a held recipient's clawback is netted against its accrued balance", () => {
    const plan = compile(100n, [pct("a", 1000)], { overrides: { a: { status: "PAUSED", balance: 50n, clawbackOwed: 25n } } });
    // share 10, netted 25: 15 comes out of the balance
    expect(line(plan, "a")).toMatchObject({ outcome: "HELD", clawbackNetted: 25n, accrued: 0n, balanceReleased: 15n, balanceAfter: 35n });
  });

  it("the threshold applies after netting", () => {
    const plan = compile(100n, [pct("a", 10_000, { minPayout: 90n })], { overrides: { a: { clawbackOwed: 20n } } });
    expect(line(plan, "a")).toMatchObject({ outcome: "HELD", holdReason: "BELOW_MIN_PAYOUT", balanceAfter: 80n, clawbackNetted: 20n });
  });
});

describe("plan shape", () => {
  it("lines and transfers come out in recipient id order with per-rule totals", () => {
    const plan = compile(1_000n, [pct("c", 1000), fixed("a", 10n), pct("b", 1000)]);
    expect(plan.lines.map((l) => l.recipientId)).toEqual(["a", "b", "c"]);
    expect(plan.transfers.map((t) => t.recipientId)).toEqual(["a", "b", "c"]);
    expect(plan.totals).toMatchObject({ fixedShares: 10n, percentageShares: 198n, transferred: 208n });
    expect(plan.remainder).toBe(792n);
    expect(plan).toMatchObject({ policyId: "pol", policyVersion: 1, distributable: 1_000n });
  });

  it("an empty policy sends everything to the treasury", () => {
    const plan = compile(5n, []);
    expect(plan.transfers).toEqual([]);
    expect(plan.lines).toEqual([]);
    expect(plan.remainder).toBe(5n);
  });
});

describe("input errors", () => {
  it("error: distributable negative or above u64", () => {
    expect(codeOf(() => compile(-1n, [pct("a", 100)]))).toBe("INPUT_DISTRIBUTABLE_INVALID");
    expect(codeOf(() => compile(U64_MAX + 1n, [pct("a", 100)]))).toBe("INPUT_DISTRIBUTABLE_INVALID");
  });

  it("error: invalid policy (every issue from validation)", () => {
    expect(codeOf(() => compile(10n, [pct("a", 6000), pct("b", 6000)]))).toBe("RULE_BPS_SUM_EXCEEDED");
    expect(codeOf(() => compile(10n, [fixed("a", 0n)]))).toBe("RULE_FIXED_AMOUNT_INVALID");
  });

  it("error: duplicate recipient", () => {
    const rules = [pct("a", 100), { ...fixed("a", 5n), id: "other" }];
    let caught: unknown;
    try {
      compile(10n, rules);
    } catch (error) {
      caught = error;
    }
    expect(caught).toMatchObject({ code: "RULE_RECIPIENT_DUPLICATE" });
    expect((caught as { issues: unknown[] }).issues[0]).toMatchObject({ recipientId: "a" });
  });

  it("error: unknown recipient, naming the rule", () => {
    const rules = [pct("a", 100), pct("ghost", 100)];
    const policy: PolicyVersion = { id: "pol", version: 1, rules };
    let caught: unknown;
    try {
      compilePayout({ distributable: 10n, policy, recipients: recipientsFor([rules[0]!]) });
    } catch (error) {
      caught = error;
    }
    expect(caught).toMatchObject({ code: "RULE_RECIPIENT_UNKNOWN" });
    expect((caught as { issues: unknown[] }).issues[0]).toMatchObject({ ruleIndex: 1, ruleId: "rule_ghost", recipientId: "ghost" });
  });

  it("error: removed recipient", () => {
    expect(codeOf(() => compile(10n, [pct("a", 100)], { overrides: { a: { status: "REMOVED" } } }))).toBe("RULE_RECIPIENT_REMOVED");
  });

  it("error: unknown recipient when the recipients come in id order (merge path)", () => {
    const rules = [pct("b", 100), pct("d", 100)];
    const recipients = recipientsFor([pct("a", 1), pct("b", 1), pct("c", 1)]);
    expect(codeOf(() => compilePayout({ distributable: 10n, policy: { id: "pol", version: 1, rules }, recipients }))).toBe(
      "RULE_RECIPIENT_UNKNOWN",
    );
  });

  it("error: negative balance or clawback, or a recipient filed under another id", () => {
    expect(codeOf(() => compile(10n, [pct("a", 100)], { overrides: { a: { balance: -1n } } }))).toBe("INPUT_RECIPIENT_INVALID");
    expect(codeOf(() => compile(10n, [pct("a", 100)], { overrides: { a: { clawbackOwed: -1n } } }))).toBe("INPUT_RECIPIENT_INVALID");
    expect(codeOf(() => compile(10n, [pct("a", 100)], { overrides: { a: { id: "b" } } }))).toBe("INPUT_RECIPIENT_INVALID");
  });

  it("error: a balance that could overflow a u64 transfer", () => {
    expect(codeOf(() => compile(10n, [pct("a", 100)], { overrides: { a: { balance: U64_MAX - 9n } } }))).toBe("INPUT_RECIPIENT_INVALID");
    expect(codeOf(() => compile(10n, [pct("a", 100)], { overrides: { a: { balance: U64_MAX - 10n } } }))).toBeUndefined();
  });

  it("error: negative period-to-date", () => {
    expect(codeOf(() => compile(10n, [pct("a", 100, { capPerPeriod: 5n })], { periodToDate: { rule_a: -1n } }))).toBe(
      "INPUT_PERIOD_TO_DATE_INVALID",
    );
  });
});

describe("scheduled payments (accrueAll)", () => {
  it("holds every share in the balance with reason SCHEDULED, the same shares as an instant compile", () => {
    const rules = [pct("alice", 2500, { minPayout: 1n }), fixed("bob", 70_000n), pct("carol", 1000)];
    const instant = compile(1_000_000n, rules);
    const policy: PolicyVersion = { id: "pol", version: 1, rules };
    const scheduled = compilePayout({
      distributable: 1_000_000n,
      policy,
      recipients: recipientsFor(rules, { carol: { status: "PAUSED" } }),
      accrueAll: true,
    });
    expect(scheduled.transfers).toEqual([]);
    expect(scheduled.lines.map((l) => [l.recipientId, l.share, l.accrued, l.outcome, l.holdReason])).toEqual([
      ["alice", line(instant, "alice").share, line(instant, "alice").share, "HELD", "SCHEDULED"],
      ["bob", 70_000n, 70_000n, "HELD", "SCHEDULED"],
      // a paused recipient keeps its own, more specific reason
      ["carol", line(instant, "carol").share, line(instant, "carol").share, "HELD", "PAUSED"],
    ]);
    expect(scheduled.remainder).toBe(instant.remainder);
    expect(scheduled.totals.accrued + scheduled.remainder).toBe(1_000_000n);
  });

  it("an existing balance is not released by a scheduled payment: it stays for the sweep", () => {
    const rules = [pct("alice", 5000)];
    const plan = compilePayout({
      distributable: 100n,
      policy: { id: "pol", version: 1, rules },
      recipients: recipientsFor(rules, { alice: { balance: 40n } }),
      accrueAll: true,
    });
    expect(line(plan, "alice")).toMatchObject({ share: 50n, accrued: 50n, balanceReleased: 0n, balanceAfter: 90n, transfer: 0n });
  });
});
