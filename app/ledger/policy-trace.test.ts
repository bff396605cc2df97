// Tests of the human-readable payout trace: each step states the figure the compiler reached.
import { describe, expect, it } from "vitest";
import type { PayoutRuleSpec, RecipientState } from "./policy";
import { compilePayout } from "./policy-compiler";
import { explainPayoutLine } from "./policy-trace";

function planFor(distributable: bigint, rules: PayoutRuleSpec[], states: Partial<Record<string, Partial<RecipientState>>> = {}) {
  const recipients = new Map<string, RecipientState>(
    rules.map((rule) => [
      rule.recipientId,
      { id: rule.recipientId, status: "ACTIVE", walletVerified: true, balance: 0n, clawbackOwed: 0n, ...states[rule.recipientId] },
    ]),
  );
  return compilePayout({ distributable, policy: { id: "p", version: 1, rules }, recipients });
}

describe("explainPayoutLine", () => {
  it("explains a rounded-up percentage that is paid", () => {
    const plan = planFor(100n, [
      { id: "r1", recipientId: "a", kind: "PERCENTAGE", basisPoints: 3333 },
      { id: "r2", recipientId: "b", kind: "PERCENTAGE", basisPoints: 6667 },
    ]);
    const steps = explainPayoutLine(plan.lines[1]!, { tokenDecimals: 2, symbol: "USD" });
    expect(steps[0]).toBe("66.67 % (6667 bps) of 1.00 USD = 0.66 USD and 6700/10000 of a base unit; rounded up by largest remainder");
    expect(steps).toContain("share of this payment: 0.67 USD");
    expect(steps.at(-1)).toBe("paid 0.67 USD; accrued balance now 0");
  });

  it("explains a cap, a clawback carried forward and a hold", () => {
    const plan = planFor(
      10_000_000n,
      [{ id: "r1", recipientId: "a", kind: "PERCENTAGE", basisPoints: 5000, capPerPayment: 4_000_000n }],
      { a: { status: "PAUSED", clawbackOwed: 5_000_000n } },
    );
    const steps = explainPayoutLine(plan.lines[0]!);
    expect(steps).toEqual([
      "50.00 % (5000 bps) of 10.000000 sUSD = 5.000000 sUSD exactly",
      "capped per payment: 1.000000 sUSD to the treasury",
      "share of this payment: 4.000000 sUSD",
      "clawback owed 5.000000 sUSD: 4.000000 sUSD netted, 1.000000 sUSD carried to a later run",
      "nothing to pay",
    ]);
  });

  it("explains a fixed amount the payment could not cover, and an accrual below the threshold", () => {
    const plan = planFor(300_000n, [{ id: "r1", recipientId: "a", kind: "FIXED", fixedAmount: 500_000n, minPayout: 1_000_000n }], {
      a: { balance: 200_000n },
    });
    const steps = explainPayoutLine(plan.lines[0]!);
    expect(steps).toContain("fixed amount 0.500000 sUSD");
    expect(steps).toContain("only 0.300000 sUSD of the payment was left at this rule's priority; 0.200000 sUSD not covered");
    expect(steps).toContain("accrued balance before this run: 0.200000 sUSD");
    expect(steps.at(-1)).toBe("held, not paid: the amount is below the recipient's minimum payout; accrued balance now 0.500000 sUSD");
  });
});
