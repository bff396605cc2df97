// The crash matrix: an executor process (scripts/executor.mjs) is killed by SIGKILL at each step of the
// send path, at a random one of that step's occurrences in the run, and in every third round the chain
// process is killed and restarted too; then a fresh executor takes over. After each round: every
// recipient's balance rose by exactly its transfer (nobody paid twice, nothing lost), the vault fell by
// the sum, the reconciliation shows zero drift; at the end `npm run reconcile --json` (the CLI, as a
// process) agrees. CRASH_ROUNDS rounds per step (default 1 in `npm test`, 79 s beside the
// other settlement files; 20 for the full matrix, 28 min alone).
import { spawn } from "node:child_process";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CrashPoint } from "~/settlement/executor-context.server";
import type { SettlementQueue } from "~/settlement/executor-queue.server";
import { useTestChain } from "../setup/chain";
import {
  createSettlementWorld,
  openTestQueue,
  processDatabaseTargets,
  spawnExecutor,
  type ExecutorProcess,
  type SettlementWorld,
} from "../setup/settlement";

const ROUNDS = Math.max(1, Number(process.env.CRASH_ROUNDS ?? 1));
const RECIPIENTS = 60; // two v0 batches of 30
const ROOT = path.resolve(import.meta.dirname, "../..");

/** Each step, and how often a run of 60 recipients (half without token accounts) passes it. */
const STEPS: { point: CrashPoint | "random-moment"; occurrences: number; newTreasury?: boolean }[] = [
  { point: "after-persist-before-send", occurrences: 2 },
  { point: "after-send", occurrences: 2 },
  { point: "after-confirm-before-record", occurrences: 2 },
  { point: "between-batches", occurrences: 2 },
  { point: "lookup-table-create", occurrences: 1, newTreasury: true },
  { point: "lookup-table-extend", occurrences: 2 },
  { point: "token-accounts", occurrences: 4 },
  // Not at a step: at a random instant of the run, executor and (in some rounds) chain alike.
  { point: "random-moment", occurrences: 1 },
];

const chain = useTestChain({ slotMs: 40 });

function randomInt(min: number, max: number): number {
  return min + Math.floor(Math.random() * (max - min + 1));
}

describe.each(processDatabaseTargets())("crash matrix on $name", (target) => {
  let world: SettlementWorld;
  let queue: SettlementQueue;
  const running: ExecutorProcess[] = [];
  let round = 0;

  beforeAll(async () => {
    world = await createSettlementWorld({ target, chain: chain.current });
    queue = await openTestQueue(world);
  }, 180_000);
  afterAll(async () => {
    for (const p of running) await p.kill("SIGTERM");
    await queue?.stop();
    await world?.destroy();
  });

  async function crashRound(step: (typeof STEPS)[number]): Promise<string> {
    round += 1;
    if (step.newTreasury) await world.newTreasury();
    const withAccounts = await world.addRecipients(RECIPIENTS / 2, { withTokenAccounts: true });
    const without = await world.addRecipients(RECIPIENTS / 2);
    const recipients = [...withAccounts, ...without];
    const amounts = recipients.map((_, i) => 1_000n * BigInt(round) + BigInt(i));
    const runId = await world.createRun(recipients.map((recipient, i) => ({ recipient, amount: amounts[i]! })));
    const accounts = recipients.map((r) => r.tokenAccount);
    const before = await world.tokenBalances(accounts);
    const vaultBefore = await world.vaultBalance();
    const killChain = round % 3 === 0;
    const crashAfter = randomInt(1, step.occurrences);

    const doomed =
      step.point === "random-moment" ? spawnExecutor(world) : spawnExecutor(world, { crashPoint: step.point, crashAfter });
    running.push(doomed);
    await world.approve(runId, queue);
    let how: string;
    if (step.point === "random-moment") {
      await doomed.holder;
      await new Promise((resolve) => setTimeout(resolve, randomInt(200, 4_000)));
      if (killChain) await chain.current.kill();
      how = await doomed.kill("SIGKILL");
    } else {
      // The step is reached unless the run settles first (a batch that needed no table, say): then stop it.
      how = await Promise.race([
        doomed.exited,
        world.waitForRun(runId, ["SETTLED", "PARTIAL", "FAILED"], 240_000).then(() => doomed.kill("SIGTERM")),
      ]);
      if (killChain) await chain.current.kill();
    }
    running.splice(running.indexOf(doomed), 1);
    if (killChain) await chain.current.restart();

    const successor = spawnExecutor(world);
    running.push(successor);
    const status = await world.waitForRun(runId, ["SETTLED", "PARTIAL", "FAILED"], 300_000);
    await successor.kill("SIGTERM");
    running.splice(running.indexOf(successor), 1);
    const label = `round ${round} (${step.point} #${crashAfter}${killChain ? ", chain killed" : ""}, first executor ${how})`;
    expect(status, `${label}\n${doomed.output()}\n${successor.output()}`).toBe("SETTLED");

    const after = await world.tokenBalances(accounts);
    amounts.forEach((amount, i) => expect(after[i]! - before[i]!, `${label}: recipient ${i}`).toBe(amount));
    expect(vaultBefore - (await world.vaultBalance()), label).toBe(amounts.reduce((s, a) => s + a, 0n));
    const report = await world.report([runId]);
    expect(report.drift, `${label}: ${JSON.stringify(report, null, 1)}`).toBe(0);
    return how;
  }

  for (const step of STEPS) {
    it(`killed at ${step.point}: ${ROUNDS} round(s), nobody paid twice, nothing lost, zero drift`, async () => {
      const outcomes: string[] = [];
      for (let i = 0; i < ROUNDS; i++) outcomes.push(await crashRound(step));
      // The executor was really killed (not merely done) in at least one round of every step.
      expect(outcomes).toContain("SIGKILL");
    }, ROUNDS * 600_000);
  }

  it("npm run reconcile --json, as a process, shows zero drift over every run and treasury of the matrix", async () => {
    const env: Record<string, string | undefined> = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      STABLEFLOW_ENV: "test",
      LOG_LEVEL: "warn",
      SOLANA_RPC_URL: chain.current.url,
      ...(world.db.url ? { DATABASE_URL: world.db.url } : { STABLEFLOW_DATA_DIR: world.db.dataDir! }),
    };
    const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, ["--import", "tsx", path.join(ROOT, "scripts/reconcile.ts"), "--json"], { cwd: ROOT, env: env as NodeJS.ProcessEnv });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (c) => (stdout += String(c)));
      child.stderr.on("data", (c) => (stderr += String(c)));
      child.on("exit", (code) => resolve({ code, stdout, stderr }));
    });
    expect(code, stderr + stdout).toBe(0);
    const report = JSON.parse(stdout.trim().split("\n").at(-1)!) as { drift: number; runs: { status: string }[]; treasuries: unknown[] };
    expect(report.drift).toBe(0);
    expect(report.runs.length).toBeGreaterThanOrEqual(STEPS.length * ROUNDS);
    expect(report.runs.every((r) => r.status === "SETTLED")).toBe(true);
    expect(report.treasuries.length).toBeGreaterThanOrEqual(1 + ROUNDS);
  }, 300_000);
});
