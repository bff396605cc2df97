// Validation of payout policy versions: every issue code, and that each error names its rule.
import { describe, expect, it } from "vitest";
import {
  assertValidPolicy,
  findPolicyIssues,
  isValidatedPolicy,
  parsePolicyVersion,
  PolicyError,
  type PayoutRuleSpec,
  type PolicyVersion,
  type RecipientState,
} from "./policy";

function policyOf(rules: PayoutRuleSpec[]): PolicyVersion {
  return { id: "pol_1", version: 1, rules };
}

function pct(id: string, recipientId: string, basisPoints: number, extra: Partial<PayoutRuleSpec> = {}): PayoutRuleSpec {
  return { id, recipientId, kind: "PERCENTAGE", basisPoints, ...extra };
}

function fixed(id: string, recipientId: string, fixedAmount: bigint, extra: Partial<PayoutRuleSpec> = {}): PayoutRuleSpec {
  return { id, recipientId, kind: "FIXED", fixedAmount, ...extra };
}

function recipient(id: string, status: RecipientState["status"] = "ACTIVE"): RecipientState {
  return { id, status, walletVerified: true, balance: 0n, clawbackOwed: 0n };
}

function codes(policy: PolicyVersion, recipients?: ReadonlyMap<string, RecipientState>): string[] {
  return findPolicyIssues(policy, recipients).map((issue) => issue.code);
}

describe("findPolicyIssues", () => {
  it("accepts a mixed policy using every field", () => {
    const policy = policyOf([
      pct("r1", "alice", 6000, { capPerPayment: 0n, capPerPeriod: 10n, minPayout: 5n }),
      pct("r2", "bob", 4000),
      fixed("r3", "carol", 1n, { priority: 3 }),
    ]);
    expect(findPolicyIssues(policy)).toEqual([]);
    expect(assertValidPolicy(policy)).toBe(policy);
  });

  it("accepts basis points summing to exactly 10000 and an empty policy", () => {
    expect(codes(policyOf([pct("r1", "a", 10_000)]))).toEqual([]);
    expect(codes(policyOf([]))).toEqual([]);
  });

  it("error: basis points sum above 10000", () => {
    expect(codes(policyOf([pct("r1", "a", 5000), pct("r2", "b", 5001)]))).toEqual(["RULE_BPS_SUM_EXCEEDED"]);
  });

  it("error: basis points outside 1..10000 or not an integer", () => {
    for (const bps of [0, -1, 10_001, 12.5, Number.NaN]) {
      expect(codes(policyOf([pct("r1", "a", bps)])), String(bps)).toEqual(["RULE_BPS_OUT_OF_RANGE"]);
    }
    expect(codes(policyOf([{ id: "r1", recipientId: "a", kind: "PERCENTAGE" }]))).toEqual(["RULE_BPS_OUT_OF_RANGE"]);
  });

  it("error: fixed amount zero, negative, above u64 or missing", () => {
    for (const amount of [0n, -5n, 1n << 64n]) {
      expect(codes(policyOf([fixed("r1", "a", amount)])), String(amount)).toEqual(["RULE_FIXED_AMOUNT_INVALID"]);
    }
    expect(codes(policyOf([{ id: "r1", recipientId: "a", kind: "FIXED" }]))).toEqual(["RULE_FIXED_AMOUNT_INVALID"]);
  });

  it("error: fields of the other kind", () => {
    expect(codes(policyOf([pct("r1", "a", 100, { fixedAmount: 5n })]))).toEqual(["RULE_KIND_FIELDS"]);
    expect(codes(policyOf([fixed("r1", "a", 5n, { basisPoints: 100 })]))).toEqual(["RULE_KIND_FIELDS"]);
    expect(codes(policyOf([{ id: "r1", recipientId: "a", kind: "BONUS" as never }]))).toEqual(["RULE_KIND_FIELDS"]);
  });

  it("error: negative caps", () => {
    expect(codes(policyOf([pct("r1", "a", 100, { capPerPayment: -1n })]))).toEqual(["RULE_CAP_INVALID"]);
    expect(codes(policyOf([fixed("r1", "a", 5n, { capPerPeriod: -1n })]))).toEqual(["RULE_CAP_INVALID"]);
  });

  it("error: negative minimum payout", () => {
    expect(codes(policyOf([pct("r1", "a", 100, { minPayout: -1n })]))).toEqual(["RULE_MIN_PAYOUT_INVALID"]);
  });

  it("error: priority negative or fractional", () => {
    expect(codes(policyOf([fixed("r1", "a", 5n, { priority: -1 })]))).toEqual(["RULE_PRIORITY_INVALID"]);
    expect(codes(policyOf([fixed("r1", "a", 5n, { priority: 0.5 })]))).toEqual(["RULE_PRIORITY_INVALID"]);
  });

  it("error: duplicate rule id", () => {
    expect(codes(policyOf([pct("r1", "a", 100), pct("r1", "b", 100)]))).toEqual(["RULE_ID_DUPLICATE"]);
  });

  it("error: duplicate recipient", () => {
    expect(codes(policyOf([pct("r1", "a", 100), fixed("r2", "a", 5n)]))).toEqual(["RULE_RECIPIENT_DUPLICATE"]);
  });

  it("error: unknown recipient", () => {
    const recipients = new Map([["a", recipient("a")]]);
    expect(codes(policyOf([pct("r1", "a", 100), pct("r2", "ghost", 100)]), recipients)).toEqual(["RULE_RECIPIENT_UNKNOWN"]);
  });

  it("error: removed recipient", () => {
    const recipients = new Map([
      ["a", recipient("a")],
      ["b", recipient("b", "REMOVED")],
    ]);
    expect(codes(policyOf([pct("r1", "a", 100), pct("r2", "b", 100)]), recipients)).toEqual(["RULE_RECIPIENT_REMOVED"]);
  });

  it("a paused recipient is not a validation error", () => {
    const recipients = new Map([["a", recipient("a", "PAUSED")]]);
    expect(codes(policyOf([pct("r1", "a", 100)]), recipients)).toEqual([]);
  });

  it("names the rule index, id and recipient in each issue", () => {
    const [issue] = findPolicyIssues(policyOf([pct("r1", "a", 100), fixed("r7", "bob", 0n)]));
    expect(issue).toMatchObject({ code: "RULE_FIXED_AMOUNT_INVALID", ruleIndex: 1, ruleId: "r7", recipientId: "bob" });
    expect(issue!.message).toContain("rule #1 (r7) for recipient bob");
  });

  it("assertValidPolicy throws a PolicyError carrying every issue, code of the first", () => {
    const policy = policyOf([pct("r1", "a", 0), fixed("r2", "b", 0n), pct("r3", "c", 100, { capPerPayment: -1n })]);
    let caught: unknown;
    try {
      assertValidPolicy(policy);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(PolicyError);
    const error = caught as PolicyError;
    expect(error.code).toBe("RULE_BPS_OUT_OF_RANGE");
    expect(error.issues.map((issue) => issue.code)).toEqual(["RULE_BPS_OUT_OF_RANGE", "RULE_FIXED_AMOUNT_INVALID", "RULE_CAP_INVALID"]);
    expect(error.message).toContain("and 2 more");
  });
});

describe("validated policies", () => {
  it("assertValidPolicy freezes the version and its rules, and remembers it", () => {
    const policy = policyOf([pct("r1", "a", 100), fixed("r2", "b", 5n)]);
    expect(isValidatedPolicy(policy)).toBe(false);
    assertValidPolicy(policy);
    expect(isValidatedPolicy(policy)).toBe(true);
    expect(Object.isFrozen(policy) && Object.isFrozen(policy.rules) && policy.rules.every((rule) => Object.isFrozen(rule))).toBe(true);
    // ESM is strict mode: writing to a frozen rule throws instead of silently changing a validated policy
    expect(() => {
      (policy.rules[0] as { basisPoints: number }).basisPoints = 20_000;
    }).toThrow(TypeError);
  });

  it("an invalid policy is neither frozen nor remembered", () => {
    const policy = policyOf([pct("r1", "a", 0)]);
    expect(() => assertValidPolicy(policy)).toThrow(PolicyError);
    expect(isValidatedPolicy(policy)).toBe(false);
    expect(Object.isFrozen(policy.rules[0])).toBe(false);
  });
});

describe("parsePolicyVersion", () => {
  it("accepts amounts as digit strings (JSON has no bigint) and defaults requireVerifiedRecipients to false", () => {
    const policy = parsePolicyVersion({
      id: "pol_1",
      version: 2,
      rules: [
        { id: "r1", recipientId: "a", kind: "FIXED", fixedAmount: "2500000", capPerPeriod: "10000000", priority: 1 },
        { id: "r2", recipientId: "b", kind: "PERCENTAGE", basisPoints: 2500, minPayout: null },
      ],
    });
    expect(policy.requireVerifiedRecipients).toBe(false);
    expect(policy.rules[0]).toMatchObject({ fixedAmount: 2_500_000n, capPerPeriod: 10_000_000n });
  });

  it("error: shape problems name the rule index and field", () => {
    let caught: unknown;
    try {
      parsePolicyVersion({ id: "pol_1", version: 1, rules: [{ id: "r1", recipientId: "a", kind: "FIXED", fixedAmount: "12.5" }] });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(PolicyError);
    const error = caught as PolicyError;
    expect(error.code).toBe("POLICY_SHAPE");
    expect(error.issues[0]).toMatchObject({ ruleIndex: 0, path: "rules.0.fixedAmount" });
  });

  it("error: a number where an amount belongs is refused, never coerced", () => {
    expect(() =>
      parsePolicyVersion({ id: "pol_1", version: 1, rules: [{ id: "r1", recipientId: "a", kind: "FIXED", fixedAmount: 5 }] }),
    ).toThrow(PolicyError);
  });

  it("error: semantic issues after a good shape", () => {
    const recipients = new Map([["a", recipient("a", "REMOVED")]]);
    expect(() => parsePolicyVersion({ id: "pol_1", version: 1, rules: [{ id: "r1", recipientId: "a", kind: "PERCENTAGE", basisPoints: 10 }] }, recipients)).toThrow(
      expect.objectContaining({ code: "RULE_RECIPIENT_REMOVED" }),
    );
  });
});
