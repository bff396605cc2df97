// The vault's runway: whole average runs covered (floor), and the warnings for an empty vault, one that
// cannot pay what compiled runs owe, and one that lasts fewer than LOW_BALANCE_RUNS average runs.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { LOW_BALANCE_RUNS, treasuryRunway } from "./treasury-runway";

describe("treasuryRunway", () => {
  it("covers whole average runs only, rounding down", () => {
    const runway = treasuryRunway({ vaultBalance: 1_000_000n, recentRunTotals: [300_000n, 100_000n], owed: 0n });
    expect(runway).toEqual({ averageRun: 200_000n, runsCovered: 5n, owed: 0n, warnings: [] });
    expect(treasuryRunway({ vaultBalance: 599_999n, recentRunTotals: [200_000n], owed: 0n }).runsCovered).toBe(2n);
  });

  it("warns below three average runs, below what is owed, and when empty", () => {
    expect(treasuryRunway({ vaultBalance: 599_999n, recentRunTotals: [200_000n], owed: 0n }).warnings).toEqual(["FEW_RUNS"]);
    expect(treasuryRunway({ vaultBalance: 10_000_000n, recentRunTotals: [200_000n], owed: 10_000_001n }).warnings).toEqual(["BELOW_OWED"]);
    expect(treasuryRunway({ vaultBalance: 0n, recentRunTotals: [], owed: 5n }).warnings).toEqual(["EMPTY", "BELOW_OWED"]);
  });

  it("without a run that paid, there is no average and no run count (not a zero)", () => {
    expect(treasuryRunway({ vaultBalance: 5n, recentRunTotals: [], owed: 0n })).toEqual({ averageRun: null, runsCovered: null, owed: 0n, warnings: [] });
    expect(treasuryRunway({ vaultBalance: 5n, recentRunTotals: [0n], owed: 0n }).averageRun).toBeNull();
  });

  it("property: covered runs times the average never exceed the balance, one more always does", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 18n }), fc.array(fc.bigInt({ min: 1n, max: 10n ** 15n }), { minLength: 1, maxLength: 20 }), (balance, totals) => {
        const { averageRun, runsCovered, warnings } = treasuryRunway({ vaultBalance: balance, recentRunTotals: totals, owed: 0n });
        expect(runsCovered! * averageRun!).toBeLessThanOrEqual(balance);
        expect((runsCovered! + 1n) * averageRun!).toBeGreaterThan(balance);
        expect(warnings.includes("FEW_RUNS")).toBe(balance > 0n && runsCovered! < LOW_BALANCE_RUNS);
      }),
    );
  });
});
