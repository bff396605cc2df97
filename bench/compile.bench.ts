// Benchmark of the payout policy compiler: median wall time at 100 .. 100,000 recipients, the scaling
// exponent, and a plain bigint summing loop over the same amounts as a yardstick for this machine.
// Prints one JSON line. Run: npm run bench:compile
import { availableParallelism, loadavg } from "node:os";
import { PerformanceObserver } from "node:perf_hooks";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { assertValidPolicy } from "../app/ledger/policy";
import { compilePayout } from "../app/ledger/policy-compiler";
import { compileScenario } from "./compile-fixture";

const SIZES = [100, 1_000, 10_000, 100_000] as const;

/**
 * A compile as the app uses it: the plan plus the two outputs the model layer writes to the ledger,
 * read the way the writer reads them (`forEachTransfer`, `forEachBalanceMovement`: each row's rule and
 * amounts, no object per row). The visited amounts are checked against the plan's totals, so the
 * timed body is a real read and a wrong visitor fails the benchmark. The per-line trace (`plan.lines`)
 * is built only for the operator's view and small audits, and is timed separately as
 * ms_100000_with_lines.
 */
function compileForLedger(input: Parameters<typeof compilePayout>[0]) {
  const plan = compilePayout(input);
  let transferred = 0n;
  let moved = 0n;
  let rows = 0;
  plan.forEachTransfer((rule, amount) => {
    if (rule.recipientId !== undefined) rows++;
    transferred += amount;
  });
  plan.forEachBalanceMovement((rule, accrued, released, netted) => {
    if (rule.recipientId !== undefined) rows++;
    moved += accrued + released + netted;
  });
  const { totals } = plan;
  if (transferred !== totals.transferred || moved !== totals.accrued + totals.balanceReleased + totals.clawbackNetted || rows === 0) {
    throw new Error("the visited ledger rows disagree with the plan's totals");
  }
  return plan;
}

function median(values: number[]): number {
  const sorted = values.slice().sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/**
 * Median wall time and median process CPU time of `runs` timed calls after `warmup` untimed ones (JIT
 * tiers settle during warm-up). CPU time (all threads, so GC helpers count) does not grow while the
 * process waits for a core, which makes it the steadier figure on a shared machine.
 */
function measure(fn: () => unknown, warmup: number, runs: number): { wall: number; cpu: number } {
  let sink: unknown;
  for (let i = 0; i < warmup; i++) sink = fn();
  const walls: number[] = [];
  const cpus: number[] = [];
  for (let i = 0; i < runs; i++) {
    const cpuStart = process.cpuUsage();
    const start = performance.now();
    sink = fn();
    walls.push(performance.now() - start);
    const cpu = process.cpuUsage(cpuStart);
    cpus.push((cpu.user + cpu.system) / 1000);
  }
  if (sink === undefined) throw new Error("benchmark body returned nothing");
  return { wall: median(walls), cpu: median(cpus) };
}

/**
 * Memory the result of `fn` keeps alive, per recipient: on the collected heap (what the collector must
 * copy or mark) and in array buffers (typed-array columns: outside that heap, never copied).
 */
async function retainedBytesPerRecipient(fn: () => unknown, recipients: number): Promise<{ heap: number; arrayBuffers: number }> {
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as () => void;
  // Array buffers of collected objects are freed after the collection, on a later turn: collect twice.
  const collect = async () => {
    for (let i = 0; i < 2; i++) {
      gc();
      await settle();
    }
  };
  await collect();
  const before = process.memoryUsage();
  const kept = fn();
  await collect();
  const after = process.memoryUsage();
  if (kept === undefined) throw new Error("benchmark body returned nothing");
  return {
    heap: Math.round((after.heapUsed - before.heapUsed) / recipients),
    arrayBuffers: Math.round((after.arrayBuffers - before.arrayBuffers) / recipients),
  };
}

function sumAmounts(amounts: readonly bigint[]): bigint {
  let total = 0n;
  for (let i = 0; i < amounts.length; i++) total += amounts[i]!;
  return total;
}

function round(value: number, digits = 3): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

// Garbage collection during the timed 100,000 runs: the plan itself (one line per recipient) is what
// the collector copies, so this share says how much of the figure is the heap rather than the compiler.
let gcMs = 0;
let countGc = false;
const gcObserver = new PerformanceObserver((list) => {
  if (countGc) for (const entry of list.getEntries()) gcMs += entry.duration;
});
gcObserver.observe({ entryTypes: ["gc"] });
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

const result: Record<string, number | string> = {};
for (const size of SIZES) {
  const { input, amounts } = compileScenario(size, "database");
  // As in the app: a policy version is validated (and frozen) once when loaded, then compiled per payment.
  assertValidPolicy(input.policy, input.recipients);
  // Sanity: the benchmarked compile is a real one (moves money, holds some, leaves a remainder).
  const plan = compilePayout(input);
  if (plan.transfers.length === 0 || plan.lines.length !== size) throw new Error(`degenerate scenario at ${size}`);
  const runs = size >= 100_000 ? 11 : size >= 10_000 ? 21 : 51;
  const warmup = size >= 100_000 ? 3 : 10;
  await settle();
  gcMs = 0;
  countGc = size === 100_000;
  const compiled = measure(() => compileForLedger(input), warmup, runs);
  result[`ms_${size}`] = round(compiled.wall);
  result[`cpu_ms_${size}`] = round(compiled.cpu);
  await settle();
  countGc = false;
  if (size === 100_000) {
    result.gc_ms_per_compile_100000 = round(gcMs / (runs + warmup));
    const kept = await retainedBytesPerRecipient(() => compilePayout(input), size);
    result.plan_bytes_per_recipient_100000 = kept.heap;
    result.plan_column_bytes_per_recipient_100000 = kept.arrayBuffers;
    // The full per-line trace (built on first read) on top: what the operator's trace view costs.
    result.ms_100000_with_lines = round(
      measure(() => {
        const read = compilePayout(input);
        return read.lines.length + read.transfers.length;
      }, 2, 7).wall,
    );
  }
  result[`baseline_sum_ms_${size}`] = round(measure(() => sumAmounts(amounts), warmup, runs).wall, 4);
}
{
  // Worst case: 100,000 recipients handed over in random order (the sort and the hash lookups do real
  // work, memory is touched out of order) and a policy never validated before (rules checked each time).
  const { input } = compileScenario(100_000, "shuffled");
  result.ms_100000_shuffled_unvalidated = round(measure(() => compileForLedger(input), 3, 11).wall);
}
{
  // The exponent from paired rounds: each round times 10,000 and 100,000 recipients back to back, so
  // both see the same load on this shared 2-core machine; the median over rounds is the figure. (The
  // sequential medians above are minutes apart and a neighbour's build can skew one of them.)
  const small = compileScenario(10_000, "database").input;
  const large = compileScenario(100_000, "database").input;
  assertValidPolicy(small.policy, small.recipients);
  assertValidPolicy(large.policy, large.recipients);
  const exponents: number[] = [];
  for (let round = 0; round < 15; round++) {
    await settle();
    const t10k = measure(() => compileForLedger(small), 2, 9).cpu;
    const t100k = measure(() => compileForLedger(large), 1, 3).cpu;
    exponents.push(Math.log(t100k / t10k) / Math.log(10));
  }
  result.scaling_exponent_paired_rounds = exponents.length;
  result.scaling_exponent_paired_spread = round(Math.max(...exponents) - Math.min(...exponents));
  result.scaling_exponent = round(median(exponents));
}
const ms10k = result.ms_10000 as number;
const ms100k = result.ms_100000 as number;
result.scaling_exponent_sequential = round(Math.log(ms100k / ms10k) / Math.log(10));
result.scaling_exponent_cpu = round(Math.log((result.cpu_ms_100000 as number) / (result.cpu_ms_10000 as number)) / Math.log(10));
result.ratio_to_baseline_100000 = round(ms100k / (result.baseline_sum_ms_100000 as number), 1);
// The same exponent for the plain loop: how much of the superlinearity is this machine's memory system.
result.baseline_scaling_exponent = round(
  Math.log((result.baseline_sum_ms_100000 as number) / (result.baseline_sum_ms_10000 as number)) / Math.log(10),
);
gcObserver.disconnect();
result.node = process.version;
result.cpus = availableParallelism();
// Other work on the machine moves every figure here: the 1-minute load average at the end, for context.
result.loadavg_1m = round(loadavg()[0]!, 2);
console.log(JSON.stringify(result));
