// The measured capacities against the figures bench:program measured by executing splits (README's
// table): if the program, the client or the transaction shape drifts, this notices.
import { readFileSync } from "node:fs";
import path from "node:path";
import { PublicKey } from "@solana/web3.js";
import { describe, expect, it } from "vitest";
import { measureLegacyCapacity, measureV0Capacity, settlementCapacity } from "./batch-capacity";
import { accountLocks, fitsPacket, PACKET_DATA_SIZE, splitTransaction, transactionSize } from "./batch-transaction";
import { MAX_RECIPIENTS, PROGRAM_ID } from "./program";

/** A figure of README's bench:program table (the bankrun column; both runtimes agree on sizes). */
function readmeFigure(name: string): number {
  const readme = readFileSync(path.resolve(import.meta.dirname, "../../README.md"), "utf8");
  const row = readme.split("\n").find((line) => line.startsWith("|") && line.includes(`\`${name}\``));
  if (!row) throw new Error(`README has no bench:program row for ${name}`);
  const cells = row.split("|").map((c) => c.trim());
  return Number(cells[2]!.replace(/,/g, ""));
}

describe("measured split capacities", () => {
  it("legacy without compute-budget instructions, one signer: the figure bench:program executed", () => {
    expect(measureLegacyCapacity({ distinctFeePayer: false, computeBudget: false })).toBe(readmeFigure("max_recipients_legacy"));
  });

  it("v0 over a lookup table: the program's MAX_RECIPIENTS, as bench:program executed", () => {
    expect(measureV0Capacity({ distinctFeePayer: false, computeBudget: false })).toBe(readmeFigure("max_recipients_v0_alt"));
    expect(settlementCapacity(true).v0).toBe(MAX_RECIPIENTS);
    expect(settlementCapacity(false).v0).toBe(MAX_RECIPIENTS);
  });

  it("the executor's shapes lose room to the compute-budget instructions and to a second signer", () => {
    const single = settlementCapacity(false);
    const two = settlementCapacity(true);
    expect(single.legacy).toBeLessThan(measureLegacyCapacity({ distinctFeePayer: false, computeBudget: false }));
    expect(two.legacy).toBeLessThan(single.legacy);
    expect(two.legacy).toBeGreaterThanOrEqual(10);
  });

  it("at the legacy capacity the transaction fits the packet; one recipient more does not", () => {
    for (const distinctFeePayer of [false, true]) {
      const n = settlementCapacity(distinctFeePayer).legacy;
      const build = (count: number) =>
        splitTransaction({
          programId: PROGRAM_ID,
          treasury: key(1), vault: key(2), mint: key(3), tokenProgram: key(4),
          feePayer: distinctFeePayer ? key(5) : key(6), authority: key(6),
          runId: new Uint8Array(16), batchIndex: 1,
          transfers: Array.from({ length: count }, (_, i) => ({ tokenAccount: key(100 + i), amount: 1n })),
          version: "LEGACY", recentBlockhash: "11111111111111111111111111111111", computeUnitLimit: 200_000, microLamports: 0n,
        });
      expect(fitsPacket(build(n))).toBe(true);
      expect(transactionSize(build(n + 1))).toBeGreaterThan(PACKET_DATA_SIZE);
      expect(accountLocks(build(n))).toBeLessThanOrEqual(64);
    }
  });
});

function key(i: number): PublicKey {
  const bytes = new Uint8Array(32);
  new DataView(bytes.buffer).setUint32(0, i + 1);
  return new PublicKey(bytes);
}
