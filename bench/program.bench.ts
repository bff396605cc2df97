// Measures stableflow_payouts on bankrun and LiteSVM and prints ONE JSON line: marginal CU per
// recipient, a top-level TransferChecked for comparison, the CPI overhead, the fixed cost of a
// split, and the largest legacy and v0 + lookup-table splits that really execute. Run:
//   npm run bench:program      (needs `node scripts/build-program.mjs` first)
import { existsSync, statSync } from "node:fs";
import { Keypair } from "@solana/web3.js";
import { PROGRAM_SO_PATH } from "../tests/program/harness/artifacts.js";
import { findMaxRecipients, lookupTableAddresses, shapeOptions } from "../tests/program/harness/capacity.js";
import type { RuntimeKind } from "../tests/program/harness/runtime.js";
import {
  distinctAmounts,
  newRecipients,
  planSplit,
  runIdWithCanonicalFirstBump,
  sendSplit,
  setupTreasury,
  startRuntime,
  type TreasuryWorld,
} from "../tests/program/harness/world.js";

/** Recipient counts whose split CU is measured; the slope between them is the marginal cost. */
const SAMPLE_COUNTS = [2, 6, 10] as const;

const GOALS = { cu_overhead_per_recipient_max: 1_500, max_recipients_v0_alt_min: 45, max_recipients_legacy_min: 16 };

interface RuntimeFigures {
  cu_per_recipient: number;
  cu_top_level_transfer: number;
  cu_overhead_per_recipient: number;
  cu_fixed_per_split: number;
  max_recipients_legacy: number;
  max_recipients_v0_alt: number;
  so_bytes: number;
  /** Marginal CU per recipient measured near the v0 maximum (max-10 → max): shows any growth with n. */
  cu_per_recipient_near_max: number;
  /** Raw CU of each sampled split, so the fit can be checked by eye. */
  cu_samples: Record<string, number>;
}

function log(message: string): void {
  process.stderr.write(`${message}\n`);
}

/** Least-squares line through (n, cu): slope = marginal CU per recipient, intercept = fixed CU. */
function fitLine(points: ReadonlyArray<readonly [number, number]>): { slope: number; intercept: number } {
  const n = points.length;
  const meanX = points.reduce((s, [x]) => s + x, 0) / n;
  const meanY = points.reduce((s, [, y]) => s + y, 0) / n;
  const sxy = points.reduce((s, [x, y]) => s + (x - meanX) * (y - meanY), 0);
  const sxx = points.reduce((s, [x]) => s + (x - meanX) ** 2, 0);
  const slope = sxy / sxx;
  return { slope, intercept: meanY - slope * meanX };
}

async function topLevelTransferCu(world: TreasuryWorld): Promise<number> {
  const { client } = world;
  const [destination] = await client.createTokenAccounts(world.mint, [Keypair.generate().publicKey], world.tokenProgram);
  const ix = client.transferCheckedIx({
    source: world.funderAccount,
    mint: world.mint,
    destination: destination!,
    owner: world.funder.publicKey,
    amount: 1_000n,
    decimals: world.decimals,
    tokenProgram: world.tokenProgram,
  });
  const outcome = await client.expectOk(client.send([ix], [world.funder], { feePayer: world.funder }), "top-level TransferChecked");
  return Number(outcome.computeUnits);
}

async function measure(kind: RuntimeKind, soBytes: number): Promise<RuntimeFigures> {
  log(`[${kind}] starting`);
  const client = await startRuntime(kind);
  const world = await setupTreasury(client, { deposit: 100_000_000_000n });

  const samples: Array<[number, number]> = [];
  for (const count of SAMPLE_COUNTS) {
    const recipients = await newRecipients(world, count);
    // Legacy, no compute-budget instruction: the CU figure is the program's own consumption.
    const plan = planSplit(world, recipients, distinctAmounts(count), 0, runIdWithCanonicalFirstBump(world));
    const outcome = await client.expectOk(sendSplit(world, plan, { feePayer: world.authority }), `split to ${count}`);
    samples.push([count, Number(outcome.computeUnits)]);
  }
  const { slope, intercept } = fitLine(samples);
  const transfer = await topLevelTransferCu(world);
  log(`[${kind}] samples ${JSON.stringify(samples)} slope ${slope.toFixed(1)} transfer ${transfer}`);

  const legacyPool = await newRecipients(world, 32);
  const legacy = await findMaxRecipients(world, "legacy", legacyPool);
  log(`[${kind}] legacy max ${legacy.max} (${legacy.outcome.size} bytes); above: ${legacy.refusalAboveMax}`);

  const v0Pool = await newRecipients(world, 100);
  const table = await client.createLookupTable(lookupTableAddresses(world, v0Pool));
  const v0 = await findMaxRecipients(world, "v0_alt", v0Pool, table);
  log(`[${kind}] v0+ALT max ${v0.max} (${v0.outcome.size} bytes, ${v0.outcome.computeUnits} CU); above: ${v0.refusalAboveMax}`);

  // Near the top: the same recipients table, two canonical-bump splits ten recipients apart.
  const nearMax: Array<[number, number]> = [];
  for (const count of [v0.max - 10, v0.max]) {
    const plan = planSplit(world, v0Pool.slice(0, count), distinctAmounts(count), 0, runIdWithCanonicalFirstBump(world));
    const outcome = await client.expectOk(sendSplit(world, plan, shapeOptions(world, "v0_alt", table)), `v0 split to ${count}`);
    nearMax.push([count, Number(outcome.computeUnits)]);
  }
  const nearMaxSlope = fitLine(nearMax).slope;
  log(`[${kind}] near max ${JSON.stringify(nearMax)} slope ${nearMaxSlope.toFixed(1)}`);

  const perRecipient = Math.round(slope);
  return {
    cu_per_recipient: perRecipient,
    cu_top_level_transfer: transfer,
    cu_overhead_per_recipient: perRecipient - transfer,
    cu_fixed_per_split: Math.round(intercept),
    max_recipients_legacy: legacy.max,
    max_recipients_v0_alt: v0.max,
    so_bytes: soBytes,
    cu_per_recipient_near_max: Math.round(nearMaxSlope),
    cu_samples: Object.fromEntries([...samples, ...nearMax].map(([n, cu]) => [String(n), cu])),
  };
}

async function main(): Promise<void> {
  if (!existsSync(PROGRAM_SO_PATH)) {
    // `npm run bench:program` builds it first (scripts/setup.mjs cli); a direct `tsx` run may not have.
    console.error(`bench:program needs the program build at ${PROGRAM_SO_PATH}: run \`npm run build:program\` first.`);
    process.exit(2);
  }
  const soBytes = statSync(PROGRAM_SO_PATH).size;
  const bankrun = await measure("bankrun", soBytes);
  const litesvm = await measure("litesvm", soBytes);
  const runtimes = { bankrun, litesvm };
  const goalsMet = Object.fromEntries(
    Object.entries(runtimes).map(([kind, f]) => [
      kind,
      {
        overhead: f.cu_overhead_per_recipient <= GOALS.cu_overhead_per_recipient_max,
        v0_alt: f.max_recipients_v0_alt >= GOALS.max_recipients_v0_alt_min,
        legacy: f.max_recipients_legacy >= GOALS.max_recipients_legacy_min,
      },
    ]),
  );
  process.stdout.write(`${JSON.stringify({ program: "stableflow_payouts", so_bytes: soBytes, ...runtimes, goals: GOALS, goals_met: goalsMet })}\n`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    log(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exit(1);
  },
);
