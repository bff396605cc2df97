// The batch planner: every transfer in exactly one batch, totals kept, capacities respected, no token
// account twice in a batch, the same plan whatever order the transfers come in, and no more batches
// than the capacity forces. Property tests over random runs, plus the edges around the capacities.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BatchPlanError, planBatches, supersedingBatch, type BatchCapacity, type PlannableTransfer } from "./batch-plan";
import { U64_MAX } from "./money";

const CAPACITY: BatchCapacity = { legacy: 18, v0: 50 };

function transfersOf(n: number, amount = (i: number) => BigInt(i + 1)): PlannableTransfer[] {
  return Array.from({ length: n }, (_, i) => ({ transferId: `t${String(i).padStart(5, "0")}`, tokenAccount: `acct${i}`, amount: amount(i) }));
}

const transferArb = (accounts: number) =>
  fc.record({
    tokenAccount: fc.integer({ min: 0, max: accounts - 1 }).map((i) => `acct${i}`),
    amount: fc.oneof(fc.bigInt({ min: 1n, max: 1_000n }), fc.bigInt({ min: 1n, max: 10n ** 12n })),
  });

const runArb = fc
  .tuple(fc.integer({ min: 1, max: 400 }), fc.integer({ min: 0, max: 300 }))
  .chain(([accounts, n]) => fc.array(transferArb(accounts), { minLength: n, maxLength: n }))
  .map((rows) => rows.map((row, i) => ({ ...row, transferId: `t${i}` })));

const capacityArb = fc
  .tuple(fc.integer({ min: 1, max: 30 }), fc.integer({ min: 0, max: 40 }))
  .map(([legacy, extra]) => ({ legacy, v0: legacy + extra }));

describe("planBatches", () => {
  it("puts every transfer in exactly one batch, keeps every total, and respects the capacities", () => {
    fc.assert(
      fc.property(runArb, capacityArb, (transfers, capacity) => {
        const batches = planBatches(transfers, capacity);
        const placed = batches.flatMap((b) => b.transfers.map((t) => t.transferId));
        expect(placed.sort()).toEqual(transfers.map((t) => t.transferId).sort());
        const sum = (list: readonly PlannableTransfer[]) => list.reduce((s, t) => s + t.amount, 0n);
        expect(batches.reduce((s, b) => s + b.total, 0n)).toBe(sum(transfers));
        for (const batch of batches) {
          expect(batch.total).toBe(sum(batch.transfers));
          expect(batch.transfers.length).toBeGreaterThan(0);
          expect(batch.transfers.length).toBeLessThanOrEqual(capacity.v0);
          expect(batch.version).toBe(batch.transfers.length <= capacity.legacy ? "LEGACY" : "V0");
          const accounts = batch.transfers.map((t) => t.tokenAccount);
          expect(new Set(accounts).size).toBe(accounts.length);
        }
        expect(batches.map((b) => b.index)).toEqual(batches.map((_, i) => i));
      }),
      { numRuns: 300 },
    );
  });

  it("is the same plan whatever order the transfers come in", () => {
    fc.assert(
      fc.property(
        runArb.chain((transfers) => fc.tuple(fc.constant(transfers), fc.shuffledSubarray(transfers, { minLength: transfers.length }))),
        capacityArb,
        ([transfers, shuffled], capacity) => {
          expect(planBatches(shuffled, capacity)).toEqual(planBatches(transfers, capacity));
        },
      ),
      { numRuns: 200 },
    );
  });

  it("uses no more batches than the v0 capacity and repeated token accounts force, sizes within one of each other", () => {
    fc.assert(
      fc.property(runArb, capacityArb, (transfers, capacity) => {
        const batches = planBatches(transfers, capacity);
        const repeats = new Map<string, number>();
        for (const t of transfers) repeats.set(t.tokenAccount, (repeats.get(t.tokenAccount) ?? 0) + 1);
        const floor = transfers.length === 0 ? 0 : Math.max(Math.ceil(transfers.length / capacity.v0), ...repeats.values());
        expect(batches.length).toBe(floor);
        const sizes = batches.map((b) => b.transfers.length);
        if (sizes.length > 0) expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
      }),
      { numRuns: 300 },
    );
  });

  it("cuts at the capacities: 1 and 18 legacy, 19 and 50 one v0, 51 two v0 of 26 and 25, 1,000 twenty of 50", () => {
    const shape = (n: number) => planBatches(transfersOf(n), CAPACITY).map((b) => `${b.version}:${b.transfers.length}`);
    expect(shape(1)).toEqual(["LEGACY:1"]);
    expect(shape(18)).toEqual(["LEGACY:18"]);
    expect(shape(19)).toEqual(["V0:19"]);
    expect(shape(50)).toEqual(["V0:50"]);
    expect(shape(51)).toEqual(["V0:26", "V0:25"]);
    expect(shape(1000)).toEqual(Array(20).fill("V0:50"));
    expect(shape(0)).toEqual([]);
  });

  it("orders each batch by token account, then transfer id", () => {
    const transfers = [
      { transferId: "b", tokenAccount: "Z", amount: 1n },
      { transferId: "a", tokenAccount: "Z", amount: 2n },
      { transferId: "c", tokenAccount: "A", amount: 3n },
    ];
    const [only, second] = planBatches(transfers, CAPACITY);
    expect(only!.transfers.map((t) => t.transferId)).toEqual(["c", "b"]);
    expect(second!.transfers.map((t) => t.transferId)).toEqual(["a"]);
  });

  it("error: a zero amount, an amount beyond u64, a repeated transfer id, a batch total beyond u64, an impossible capacity", () => {
    expect(() => planBatches([{ transferId: "x", tokenAccount: "a", amount: 0n }], CAPACITY)).toThrow(BatchPlanError);
    expect(() => planBatches([{ transferId: "x", tokenAccount: "a", amount: U64_MAX + 1n }], CAPACITY)).toThrow(/u64/);
    expect(() => planBatches([...transfersOf(2), transfersOf(1)[0]!], CAPACITY)).toThrow(/twice/);
    expect(() => planBatches(transfersOf(2, () => U64_MAX), CAPACITY)).toThrow(/more than a u64/);
    expect(() => planBatches(transfersOf(2), { legacy: 20, v0: 10 })).toThrow(/legacy <= v0/);
  });
});

describe("supersedingBatch", () => {
  it("keeps the order without the held transfers, at the next index, with the shape its size needs", () => {
    const [batch] = planBatches(transfersOf(20), CAPACITY);
    expect(batch!.version).toBe("V0");
    const held = new Set([batch!.transfers[3]!.transferId, batch!.transfers[7]!.transferId]);
    const next = supersedingBatch(batch!, held, 4, CAPACITY)!;
    expect(next.index).toBe(4);
    expect(next.version).toBe("LEGACY");
    expect(next.transfers).toEqual(batch!.transfers.filter((t) => !held.has(t.transferId)));
    expect(next.total).toBe(batch!.total - batch!.transfers[3]!.amount - batch!.transfers[7]!.amount);
  });

  it("is null when every recipient was held, and refuses a supersession that leaves no one out", () => {
    const [batch] = planBatches(transfersOf(2), CAPACITY);
    expect(supersedingBatch(batch!, new Set(batch!.transfers.map((t) => t.transferId)), 1, CAPACITY)).toBeNull();
    expect(() => supersedingBatch(batch!, new Set(), 1, CAPACITY)).toThrow(BatchPlanError);
  });
});
