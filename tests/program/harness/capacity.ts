// Finds, by really executing, the largest execute_split that fits one transaction: legacy, or v0
// with an address lookup table. Shared by the split tests and bench/program.bench.ts.
import { SystemProgram, type AddressLookupTableAccount, type PublicKey } from "@solana/web3.js";
import { SPLIT_COMPUTE_UNIT_LIMIT, TransactionTooLargeError, type SendOptions, type SentTransaction } from "./client.js";
import {
  captureBeforeSplit,
  distinctAmounts,
  executeSplitIx,
  planSplit,
  type SplitBefore,
  type SplitPlan,
  type TreasuryWorld,
} from "./world.js";

export type TxShape = "legacy" | "v0_alt";

export interface CapacityResult {
  shape: TxShape;
  /** Largest recipient count whose transaction fit in 1232 bytes and executed. */
  max: number;
  /** Largest recipient count whose transaction merely fit in 1232 bytes. */
  maxBySize: number;
  plan: SplitPlan;
  before: SplitBefore;
  outcome: SentTransaction;
  /** Why max + 1 was not possible (size, account locks, a program limit, compute). */
  refusalAboveMax: string;
}

/**
 * The executor is the treasury authority paying its own fees and rent: one signature, as the
 * settlement service sends it. Legacy transactions carry no compute-budget instruction (each
 * one costs the room of a recipient); v0 ones ask for the full 1.4M CU.
 */
export function shapeOptions(world: TreasuryWorld, shape: TxShape, table?: AddressLookupTableAccount): SendOptions {
  return shape === "legacy"
    ? { feePayer: world.authority }
    : { feePayer: world.authority, computeUnitLimit: SPLIT_COMPUTE_UNIT_LIMIT, lookupTables: table ? [table] : [] };
}

/** A lookup table with every account of execute_split except the per-split record, plus the pool. */
export function lookupTableAddresses(world: TreasuryWorld, pool: readonly PublicKey[]): PublicKey[] {
  return [world.treasury, world.vault, world.mint, world.tokenProgram, SystemProgram.programId, ...pool];
}

export async function findMaxRecipients(
  world: TreasuryWorld,
  shape: TxShape,
  pool: readonly PublicKey[],
  table?: AddressLookupTableAccount,
): Promise<CapacityResult> {
  const options = shapeOptions(world, shape, table);
  const planFor = (n: number) => planSplit(world, pool.slice(0, n), distinctAmounts(n, 10n));
  const ixFor = (plan: SplitPlan) => executeSplitIx(world, plan, { payer: world.authority.publicKey });

  // Upper bound by size alone: building is cheap and the runtimes do not enforce the packet limit.
  let maxBySize = 0;
  let sizeRefusal = `the pool of ${pool.length} recipients ran out`;
  for (let n = 1; n <= pool.length; n++) {
    try {
      await world.client.build([ixFor(planFor(n))], [world.authority], options);
      maxBySize = n;
    } catch (error) {
      if (!(error instanceof TransactionTooLargeError)) throw error;
      sizeRefusal = `${n} recipients: ${error.message}`;
      break;
    }
  }
  if (maxBySize === 0) throw new Error(`no ${shape} execute_split fits in a packet`);

  // Then downwards until one really executes; each refusal above it says what the limit is.
  let refusalAboveMax = sizeRefusal;
  for (let n = maxBySize; n >= 1; n--) {
    const plan = planFor(n);
    const before = await captureBeforeSplit(world, plan);
    const outcome = await world.client.send([ixFor(plan)], [world.authority], options);
    if (outcome.ok) return { shape, max: n, maxBySize, plan, before, outcome, refusalAboveMax };
    refusalAboveMax = `${n} recipients: ${outcome.error?.message ?? "failed"} ${lastLogLine(outcome.logs)}`.trim();
  }
  throw new Error(`no ${shape} execute_split executed; last refusal: ${refusalAboveMax}`);
}

function lastLogLine(logs: string[]): string {
  return logs.length ? `(${logs[logs.length - 1]})` : "";
}
