// bench:settle — settlement on the embedded chain (its own process, BENCH_SLOT_MS slots, default 400 as
// npm start runs it), the ledger on PGlite in this process with one executor, as npm start has it.
// Prints one JSON line:
// - e2e_p50_ms / e2e_p99_ms: from posting a signed payment.succeeded webhook to the payment's run being
//   SETTLED, for an organization whose 4-recipient policy auto-approves (BENCH_PAYMENTS, default 100, one
//   at a time: latency, not throughput);
// - for a run of BENCH_RECIPIENTS (default 1,000) recipients without token accounts: split transactions,
//   set-up transactions (token accounts, lookup tables) the first time and for the same recipients again,
//   recipients settled per second (first run and repeat), and fee lamports per recipient.
//
//   npm run bench:settle
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { generateWebhookSecret } from "../app/integrations/webhook-verification.server";
import { handleDodoWebhookNode } from "../app/integrations/dodo-webhook-handler.server";
import { appWebhookDeps } from "../app/integrations/webhook-deps.server";
import { autoApproveRuns, setPolicyAutoApproveBelow } from "../app/models/approvals.server";
import { startPayoutRunWorker } from "../app/models/payout-run-worker.server";
import { activatePolicyVersion, createPolicyVersion } from "../app/models/policies.server";
import { runCosts } from "../app/models/settlement-setup.server";
import { startExecutors } from "../app/settlement/executor-runtime.server";
import { setDatabase } from "../app/utils/db.server";
import { resetEnvForTests } from "../app/utils/env.server";
import { sql } from "../app/utils/sql.server";
import { paymentEvent, signedDelivery } from "../tests/mocks/dodo";
import { pgliteTarget } from "../tests/setup/databases";
import { createSettlementWorld } from "../tests/setup/settlement";
import type { TestChain } from "../tests/setup/chain";

const SLOT_MS = Number(process.env.BENCH_SLOT_MS ?? 400);
const PAYMENTS = Number(process.env.BENCH_PAYMENTS ?? 100);
const RECIPIENTS = Number(process.env.BENCH_RECIPIENTS ?? 1000);
const ROOT = path.resolve(import.meta.dirname, "..");

const log = (line: string) => process.stderr.write(`[bench:settle] ${line}\n`);

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.max(0, Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** The embedded chain server as a child process, as npm start runs it (not in test mode). */
async function startChain(dataDir: string): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [path.join(ROOT, "scripts/chain-server.mjs")], {
    cwd: ROOT,
    env: { ...process.env, STABLEFLOW_DATA_DIR: dataDir, STABLEFLOW_CHAIN_PORT: "0", STABLEFLOW_CHAIN_SLOT_MS: String(SLOT_MS), STABLEFLOW_ENV: "development" },
    stdio: ["ignore", "pipe", "pipe", "ipc"],
  });
  let output = "";
  child.stderr!.on("data", (c) => (output += String(c)));
  const url = await new Promise<string>((resolve, reject) => {
    child.on("message", (message: { type?: string; url?: string }) => message?.type === "stableflow-chain-ready" && resolve(message.url!));
    child.once("exit", (code) => reject(new Error(`chain server exited (${code}):\n${output}`)));
  });
  return { url, child };
}

async function main() {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "sf-bench-settle-"));
  const secret = generateWebhookSecret();
  process.env.DODO_PAYMENTS_WEBHOOK_KEY = secret;
  process.env.STABLEFLOW_DATA_DIR = dataDir;
  process.env.LOG_LEVEL = process.env.LOG_LEVEL ?? "warn";
  resetEnvForTests();
  const chain = await startChain(dataDir);
  log(`chain at ${chain.url}, ${SLOT_MS} ms slots`);
  const world = await createSettlementWorld({ target: pgliteTarget, chain: { url: chain.url } as TestChain });
  setDatabase(world.db);
  const executors = await startExecutors(world.db, { client: world.client, signers: world.signers, target: world.target }, { count: 1 });
  const worker = startPayoutRunWorker(world.db, {
    onCompiled: (runIds) => void autoApproveRuns(world.db, executors.queue, world.target, { runIds }).catch(() => undefined),
  });
  const server = http.createServer((req, res) => void handleDodoWebhookNode(req, res, appWebhookDeps));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const webhookUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/webhooks/dodo`;

  // ---- e2e: webhook -> compiled -> auto-approved -> settled, for a 4-recipient policy
  const four = await world.addRecipients(4, { withTokenAccounts: true });
  const version = await createPolicyVersion(world.db.prisma, {
    organizationId: world.organizationId,
    policyName: "bench",
    rules: four.map((r, i) => ({ recipientId: r.id, kind: "PERCENTAGE" as const, basisPoints: [4000, 3000, 2000, 1000][i]! })),
  });
  await setPolicyAutoApproveBelow(world.db, { policyVersionId: version.id, below: 10n ** 12n });
  await activatePolicyVersion(world.db.prisma, { organizationId: world.organizationId, versionId: version.id });
  const latencies: number[] = [];
  for (let i = 0; i < PAYMENTS + 3; i++) {
    const event = paymentEvent({ status: "succeeded", totalAmount: BigInt(1000 + i), settlementAmount: BigInt(950 + i) });
    const paymentId = (event.data as { payment_id: string }).payment_id;
    const delivery = signedDelivery(secret, event);
    const started = performance.now();
    const response = await fetch(webhookUrl, { method: "POST", headers: delivery.headers, body: delivery.body });
    if (response.status !== 200) throw new Error(`webhook answered ${response.status}: ${await response.text()}`);
    for (;;) {
      const [row] = await world.db.query<{ status: string }>(sql`
        SELECT r.status::text AS status FROM payout_runs r JOIN payments p ON p.id = r.payment_id WHERE p.dodo_payment_id = ${paymentId}`);
      if (row?.status === "SETTLED") break;
      if (row && ["PARTIAL", "FAILED", "CANCELLED"].includes(row.status)) throw new Error(`payment ${paymentId}'s run is ${row.status}`);
      if (performance.now() - started > 60_000) throw new Error(`payment ${paymentId} not settled within 60 s (${row?.status ?? "no run"})`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    // The first three warm the path (the lookup of the mint, the first blockhash, JIT).
    if (i >= 3) latencies.push(performance.now() - started);
  }
  latencies.sort((a, b) => a - b);
  log(`e2e p50 ${percentile(latencies, 50).toFixed(0)} ms, p99 ${percentile(latencies, 99).toFixed(0)} ms over ${latencies.length} payments`);
  await world.db.query(sql`UPDATE payout_policy_versions SET status = 'RETIRED' WHERE id = ${version.id}::uuid`);

  // ---- a run of RECIPIENTS recipients, the first time (token accounts and lookup tables to make) and again
  const recipients = await world.addRecipients(RECIPIENTS);
  const settleRun = async (amount: bigint) => {
    const runId = await world.createRun(recipients.map((recipient) => ({ recipient, amount })));
    const started = performance.now();
    await world.approve(runId, executors.queue);
    const status = await world.waitForRun(runId, ["SETTLED", "PARTIAL", "FAILED"], 3_600_000);
    const seconds = (performance.now() - started) / 1000;
    if (status !== "SETTLED") throw new Error(`the ${RECIPIENTS}-recipient run ended ${status}`);
    const [splits] = await world.db.query<{ n: number }>(sql`
      SELECT count(*)::int AS n FROM split_batch_events e JOIN split_batches b ON b.id = e.batch_id WHERE b.run_id = ${runId}::uuid AND e.status = 'CONFIRMED'`);
    const [setup] = await world.db.query<{ n: number }>(sql`
      SELECT count(*)::int AS n FROM settlement_setup_transactions WHERE run_id = ${runId}::uuid AND status = 'CONFIRMED'`);
    const costs = await runCosts(world.db, runId);
    return { runId, seconds, splits: splits!.n, setup: setup!.n, costs };
  };
  const first = await settleRun(1_000n);
  log(`first ${RECIPIENTS}-recipient run: ${first.splits} splits, ${first.setup} set-up transactions, ${first.seconds.toFixed(1)} s`);
  const repeat = await settleRun(2_000n);
  log(`repeat: ${repeat.splits} splits, ${repeat.setup} set-up transactions, ${repeat.seconds.toFixed(1)} s`);
  const report = await world.report([first.runId, repeat.runId]);

  const n = BigInt(RECIPIENTS);
  const figures = {
    bench: "settle",
    slot_ms: SLOT_MS,
    payments: latencies.length,
    e2e_p50_ms: Math.round(percentile(latencies, 50)),
    e2e_p99_ms: Math.round(percentile(latencies, 99)),
    recipients: RECIPIENTS,
    split_transactions_1000: first.splits,
    setup_transactions_1000: first.setup,
    setup_transactions_1000_repeat: repeat.setup,
    recipients_per_s: Math.round((RECIPIENTS / repeat.seconds) * 10) / 10,
    recipients_per_s_first_run: Math.round((RECIPIENTS / first.seconds) * 10) / 10,
    fee_lamports_per_recipient: Number((repeat.costs.byKind.SPLIT_FEE ?? 0n) / n),
    cost_lamports_per_recipient_first_run: Number(first.costs.total / n),
    cost_lamports_per_recipient_repeat: Number(repeat.costs.total / n),
    drift: report.drift,
    goals: {
      split_transactions_1000: first.splits <= 20,
      setup_transactions_1000_repeat: repeat.setup === 0,
      e2e_p50_ms: percentile(latencies, 50) <= 2 * SLOT_MS + 100,
      fee_lamports_per_recipient: (repeat.costs.byKind.SPLIT_FEE ?? 0n) / n <= 150n,
    },
  };
  console.log(JSON.stringify(figures));

  server.close();
  await worker.stop();
  await executors.stop();
  await world.destroy();
  chain.child.kill("SIGTERM");
  rmSync(dataDir, { recursive: true, force: true });
  process.exit(0);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
