// Tests of the refund clawback split: exact, proportional to shares, never above a share, deterministic.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { allocateClawback, ClawbackError } from "./policy-clawback";

describe("allocateClawback", () => {
  it("splits a full refund back into the shares", () => {
    const shares = [
      { recipientId: "b", share: 300n },
      { recipientId: "a", share: 500n },
    ];
    expect(allocateClawback({ refunded: 1_000n, distributable: 1_000n, shares })).toEqual([
      { recipientId: "a", amount: 500n },
      { recipientId: "b", amount: 300n },
    ]);
  });

  it("splits a partial refund in proportion, the treasury bearing its own part", () => {
    // a quarter refunded: a owes 125, b 75; the treasury's 200 share bears the other 50
    const shares = [
      { recipientId: "a", share: 500n },
      { recipientId: "b", share: 300n },
    ];
    expect(allocateClawback({ refunded: 250n, distributable: 1_000n, shares })).toEqual([
      { recipientId: "a", amount: 125n },
      { recipientId: "b", amount: 75n },
    ]);
  });

  it("hands leftover units by largest fraction, then smaller id", () => {
    // refund 1 of 3 over three shares of 1: quota floor(3 * 1 / 3) = 1, all fractions equal: "a" owes it
    const shares = ["c", "a", "b"].map((recipientId) => ({ recipientId, share: 1n }));
    expect(allocateClawback({ refunded: 1n, distributable: 3n, shares })).toEqual([{ recipientId: "a", amount: 1n }]);
  });

  it("error: a refund above the distributable amount, negative or duplicate shares", () => {
    expect(() => allocateClawback({ refunded: 11n, distributable: 10n, shares: [] })).toThrow(ClawbackError);
    expect(() => allocateClawback({ refunded: 1n, distributable: 10n, shares: [{ recipientId: "a", share: -1n }] })).toThrow(ClawbackError);
    const twice = [
      { recipientId: "a", share: 1n },
      { recipientId: "a", share: 1n },
    ];
    expect(() => allocateClawback({ refunded: 1n, distributable: 10n, shares: twice })).toThrow(ClawbackError);
    expect(() => allocateClawback({ refunded: 1n, distributable: 1n, shares: [{ recipientId: "a", share: 2n }] })).toThrow(ClawbackError);
  });

  it("property: exact quota, within one unit of proportional, never above a share, order-independent", () => {
    const scenario = fc
      .record({
        shares: fc.uniqueArray(fc.record({ recipientId: fc.stringMatching(/^[a-z]{1,4}$/), share: fc.bigInt({ min: 0n, max: 10n ** 15n }) }), {
          selector: (s) => s.recipientId,
          maxLength: 12,
        }),
        treasury: fc.bigInt({ min: 0n, max: 10n ** 15n }),
        refundFraction: fc.double({ min: 0, max: 1, noNaN: true }),
      })
      .map(({ shares, treasury, refundFraction }) => {
        const distributable = shares.reduce((s, x) => s + x.share, 0n) + treasury;
        const refunded = distributable === 0n ? 0n : (distributable * BigInt(Math.floor(refundFraction * 1_000_000))) / 1_000_000n;
        return { shares, distributable, refunded };
      });
    fc.assert(
      fc.property(scenario, ({ shares, distributable, refunded }) => {
        const allocation = allocateClawback({ refunded, distributable, shares });
        const total = allocation.reduce((s, a) => s + a.amount, 0n);
        const shareTotal = shares.reduce((s, x) => s + x.share, 0n);
        expect(total).toBe(distributable === 0n ? 0n : (shareTotal * refunded) / distributable);
        expect(total).toBeLessThanOrEqual(refunded);
        for (const { recipientId, amount } of allocation) {
          const share = shares.find((s) => s.recipientId === recipientId)!.share;
          const exactFloor = (share * refunded) / distributable;
          expect(amount).toBeGreaterThan(0n);
          expect(amount - exactFloor >= 0n && amount - exactFloor <= 1n).toBe(true);
          expect(amount).toBeLessThanOrEqual(share);
        }
        expect(allocateClawback({ refunded, distributable, shares: shares.slice().reverse() })).toEqual(allocation);
      }),
      { numRuns: 2000 },
    );
  });
});
