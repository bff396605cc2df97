import { describe, expect, it } from "vitest";
import { diffPolicyVersions, type ComparableRule, type ComparableVersion } from "./policy-diff";

const rule = (recipientId: string, overrides: Partial<ComparableRule> = {}): ComparableRule => ({
  recipientId,
  kind: "PERCENTAGE",
  basisPoints: 1000,
  fixedAmount: null,
  capPerPayment: null,
  capPerPeriod: null,
  periodDays: null,
  minPayout: null,
  priority: 0,
  ...overrides,
});
const version = (n: number, rules: ComparableRule[], overrides: Partial<ComparableVersion> = {}): ComparableVersion => ({
  version: n,
  requireVerifiedRecipients: false,
  payoutSchedule: "INSTANT",
  rules,
  ...overrides,
});

describe("diffPolicyVersions", () => {
  it("names rules added, removed and changed (field by field, exact bigint values), whatever the input order", () => {
    // Given version 1 with rules for a, b, c and version 2 that drops a, changes b's share and c's cap, adds d
    const v1 = version(1, [rule("c", { capPerPayment: 5_000_000n }), rule("a"), rule("b")]);
    const v2 = version(2, [rule("d", { kind: "FIXED", basisPoints: null, fixedAmount: 2_500_000n }), rule("b", { basisPoints: 2500 }), rule("c", { capPerPayment: 5_000_001n })], {
      payoutSchedule: "DAILY",
    });
    // When they are compared
    const diff = diffPolicyVersions(v1, v2);
    // Then each change is listed once, in recipient order
    expect(diff.added.map((r) => r.recipientId)).toEqual(["d"]);
    expect(diff.added[0]!.fixedAmount).toBe(2_500_000n);
    expect(diff.removed.map((r) => r.recipientId)).toEqual(["a"]);
    expect(diff.changed).toEqual([
      { recipientId: "b", before: v1.rules[2], after: v2.rules[1], fields: [{ field: "basisPoints", before: 1000, after: 2500 }] },
      { recipientId: "c", before: v1.rules[0], after: v2.rules[2], fields: [{ field: "capPerPayment", before: 5_000_000n, after: 5_000_001n }] },
    ]);
    expect(diff.unchanged).toBe(0);
    expect(diff.terms).toEqual([{ field: "payoutSchedule", before: "INSTANT", after: "DAILY" }]);
    expect([diff.from, diff.to]).toEqual([1, 2]);
  });

  it("two equal versions differ in nothing; the reverse diff swaps added and removed", () => {
    const v1 = version(1, [rule("a"), rule("b", { minPayout: 10n })]);
    const same = diffPolicyVersions(v1, version(2, [rule("b", { minPayout: 10n }), rule("a")]));
    expect(same).toMatchObject({ added: [], removed: [], changed: [], terms: [], unchanged: 2 });
    const v3 = version(3, [rule("a"), rule("e")], { requireVerifiedRecipients: true });
    const forward = diffPolicyVersions(v1, v3);
    const backward = diffPolicyVersions(v3, v1);
    expect(forward.added).toEqual(backward.removed);
    expect(forward.removed).toEqual(backward.added);
    expect(backward.terms).toEqual([{ field: "requireVerifiedRecipients", before: true, after: false }]);
  });
});
