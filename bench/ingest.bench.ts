// bench:ingest — signed payment.succeeded webhooks through the server running as its own process
// (`node scripts/serve.mjs`, production build, real PostgreSQL) from several connections, against a
// baseline that writes the same rows with plain `pg` transactions (no HTTP, no verification, no Prisma);
// then how long the server's payout-run worker takes to compile every requested run. Prints one JSON line.
//
//   DATABASE_URL=postgresql://... npm run bench:ingest   (BENCH_COUNT, BENCH_ROUNDS, BENCH_CONNECTIONS to change)
//
// Paired rounds: each round starts the server, measures the webhooks, waits for every run, stops the
// server and measures the baseline right after, so both sides of a round's ratio see the same machine
// (other work on this shared 2-core machine moved single figures by ±40% within minutes). The printed
// ratio is the median of the rounds' ratios; every round's figures are printed too.
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import http from "node:http";
import net, { type AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { Keypair } from "@solana/web3.js";
import pg from "pg";
import { generateWebhookSecret } from "../app/integrations/webhook-verification.server";
import { ensureDefaultOrganization } from "../app/models/organizations.server";
import { activatePolicyVersion, createPolicyVersion } from "../app/models/policies.server";
import { createRecipient } from "../app/models/recipients.server";
import { postgresTarget, realPostgresUrl } from "../tests/setup/databases";
import { childPids, cpuMsByComm, processCpuMs } from "../tests/setup/processes";
import { paymentEvent, signedDelivery } from "../tests/mocks/dodo";

/** Measured deliveries per round, and rounds. */
const COUNT = Number(process.env.BENCH_COUNT ?? 1000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 8);
const WARMUP = 150;
/** Recipients of the benchmark organization's active policy (each compiled run pays them all). */
const RECIPIENTS = Number(process.env.BENCH_RECIPIENTS ?? 4);

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, index)]!;
}

function round1(value: number): number {
  return round(value, 1);
}

function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

function post(agent: http.Agent, url: string, headers: Record<string, string>, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: "POST", agent, headers: { ...headers, "content-length": String(Buffer.byteLength(body)) } });
    req.on("response", (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", reject);
    req.end(body);
  });
}

/** Runs `count` jobs over `connections` workers; returns its start, wall time (ms) and each job's latency (ms). */
async function drive(count: number, connections: number, job: (i: number) => Promise<void>): Promise<{ startMs: number; elapsedMs: number; latencies: number[] }> {
  const latencies: number[] = [];
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (next < count) {
        const i = next++;
        const t = performance.now();
        await job(i);
        latencies.push(performance.now() - t);
      }
    }),
  );
  return { startMs: start, elapsedMs: performance.now() - start, latencies };
}

const MINT = "So11111111111111111111111111111111111111112";

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/** Starts the server as `npm start` does (its own process, its own database pool and payout-run worker). */
async function startServer(env: Record<string, string>): Promise<ChildProcess> {
  // BENCH_SERVER_NODE_ARGS (e.g. "--cpu-prof") profiles the server process.
  const nodeArgs = (process.env.BENCH_SERVER_NODE_ARGS ?? "").split(" ").filter(Boolean);
  // DATABASE_MIGRATION_URL of this process names another database than the bench's own: never passed on.
  const { DATABASE_MIGRATION_URL: _notPassedOn, ...inherited } = process.env;
  const child = spawn(process.execPath, [...nodeArgs, "scripts/serve.mjs"], { env: { ...inherited, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (chunk) => (stderr += String(chunk)));
  await new Promise<void>((resolve, reject) => {
    let stdout = "";
    child.stdout!.on("data", (chunk) => {
      stdout += String(chunk);
      if (stdout.includes("StableFlow listening")) resolve();
    });
    child.once("exit", (code) => reject(new Error(`server exited (${code}) before listening: ${stderr.slice(0, 2000)}`)));
  });
  return child;
}

const PAUSE_WORKER = process.env.BENCH_PAUSE_WORKER === "1";

/** The server's payout-run worker process (scripts/payout-worker.mjs): its CPU is charged to ingestion. */
function payoutWorkerPid(server: ChildProcess): number {
  const [pid] = childPids(server.pid!, "payout-worker.mjs");
  if (!pid) throw new Error("bench:ingest: the server has no payout-run worker process");
  return pid;
}

/** CPU time so far of the processes a window is charged for: the server, its worker, PostgreSQL, this bench. */
function cpuSnapshot(serverPid?: number, workerPid?: number) {
  const usage = process.cpuUsage();
  return {
    server: serverPid ? processCpuMs(serverPid) : 0,
    worker: workerPid ? processCpuMs(workerPid) : 0,
    postgres: cpuMsByComm("postgres"),
    bench: (usage.user + usage.system) / 1000,
  };
}

/** CPU ms per item spent between two snapshots, by process (PostgreSQL summed over its backends). */
function cpuPerItem(before: ReturnType<typeof cpuSnapshot>, after: ReturnType<typeof cpuSnapshot>, items: number) {
  let postgres = 0;
  for (const [pid, ms] of after.postgres) postgres += ms - (before.postgres.get(pid) ?? 0);
  const per = (ms: number) => round(ms / items, 3);
  return { server: per(after.server - before.server), worker: per(after.worker - before.worker), postgres: per(postgres), bench: per(after.bench - before.bench) };
}

async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  await exited;
}

async function main() {
  if (!realPostgresUrl()) {
    console.error("bench:ingest needs DATABASE_URL (a PostgreSQL server where it may create a throwaway database).");
    process.exit(2);
  }
  if (!existsSync(path.resolve("build/server/index.js"))) {
    console.error("bench:ingest needs the production build: run `npm run build` first.");
    process.exit(2);
  }
  const secret = generateWebhookSecret();
  const db = await postgresTarget.create();
  const dataDir = await mkdtemp(path.join(os.tmpdir(), "sf-bench-ingest-"));
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  let server: ChildProcess | undefined;

  try {
    // The endpoint's organization pays out under a real policy, so the worker compiles real runs
    // (transfers, balance entries, audit trace), not holds.
    const { id: organizationId } = await ensureDefaultOrganization(db.prisma);
    const recipients = [];
    for (let i = 0; i < RECIPIENTS; i++) {
      recipients.push(
        await createRecipient(db.prisma, {
          organizationId,
          name: `recipient ${i}`,
          walletAddress: Keypair.fromSeed(new Uint8Array(32).fill(i + 1)).publicKey.toBase58(),
          mint: MINT,
        }),
      );
    }
    const version = await createPolicyVersion(db.prisma, {
      organizationId,
      policyName: "Bench split",
      rules: recipients.map((r) => ({ recipientId: r!.id, kind: "PERCENTAGE" as const, basisPoints: Math.floor(9000 / RECIPIENTS) })),
    });
    await activatePolicyVersion(db.prisma, { organizationId, versionId: version.id });

    const pendingRequests = async () =>
      Number((await db.prisma.$queryRaw<{ n: bigint }[]>`SELECT count(*) AS n FROM payout_run_requests WHERE completed_at IS NULL`)[0]!.n);
    /** Polls until the worker completed every request; returns when (performance.now()). */
    const allCompiled = async (): Promise<number> => {
      for (;;) {
        if ((await pendingRequests()) === 0) return performance.now();
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    const median = (values: number[]) => {
      const sorted = [...values].sort((a, b) => a - b);
      return sorted.length % 2 ? sorted[sorted.length >> 1]! : (sorted[sorted.length / 2 - 1]! + sorted[sorted.length / 2]!) / 2;
    };

    const rounds: {
      webhooks_per_s: number;
      baseline_tx_per_s: number;
      ratio: number;
      pending_at_last_200: number;
      compile_lag_after_last_200_ms: number;
      runs_compiled_per_s: number;
      cpu: { ingest: ReturnType<typeof cpuPerItem>; baseline: ReturnType<typeof cpuPerItem> };
    }[] = [];
    const latencies: number[] = [];
    let auditPerPayment = 0;
    for (let roundIndex = 0; roundIndex < ROUNDS; roundIndex++) {
      const port = await freePort();
      server = await startServer({
        DATABASE_URL: db.url!,
        PORT: String(port),
        HOST: "127.0.0.1",
        STABLEFLOW_DATA_DIR: dataDir,
        DODO_PAYMENTS_WEBHOOK_KEY: secret,
        DODO_PAYMENTS_API_KEY: "sk_bench_unused",
        LOG_LEVEL: "error",
      });
      const url = `http://127.0.0.1:${port}/api/webhooks/dodo`;

      // Deliveries are signed before the clock starts: signing is Dodo's cost, not ours.
      const deliveries = Array.from({ length: COUNT + WARMUP }, (_, i) =>
        signedDelivery(secret, paymentEvent({ status: "succeeded", totalAmount: BigInt(1000 + (i % 5000)), settlementAmount: BigInt(950 + (i % 5000)) })),
      );
      const warm = deliveries.slice(0, WARMUP);
      const measured = deliveries.slice(WARMUP);
      await drive(warm.length, CONNECTIONS, async (i) => {
        const status = await post(agent, url, warm[i]!.headers, warm[i]!.body);
        if (status !== 200) throw new Error(`warm-up delivery answered ${status}`);
      });
      await allCompiled();

      // Diagnostic (BENCH_PAUSE_WORKER=1, never the reported configuration): the compile worker process
      // is stopped (SIGSTOP) while the deliveries are measured, to see what ingestion alone would do.
      const workerPid = payoutWorkerPid(server);
      if (PAUSE_WORKER) process.kill(workerPid, "SIGSTOP");
      const cpuBefore = cpuSnapshot(server.pid, workerPid);
      const ingest = await drive(measured.length, CONNECTIONS, async (i) => {
        const status = await post(agent, url, measured[i]!.headers, measured[i]!.body);
        if (status !== 200) throw new Error(`delivery answered ${status}`);
      });
      const ingestCpu = cpuPerItem(cpuBefore, cpuSnapshot(server.pid, workerPid), COUNT);
      if (PAUSE_WORKER) process.kill(workerPid, "SIGCONT");
      latencies.push(...ingest.latencies);
      const ingestEnd = ingest.startMs + ingest.elapsedMs;
      const pendingAtLast200 = await pendingRequests();
      const compiledAt = await allCompiled();

      const recorded = await db.prisma.payment.count({ where: { dodoPaymentId: { startsWith: "pay_" } } });
      if (recorded !== (roundIndex + 1) * (COUNT + WARMUP)) throw new Error(`expected ${(roundIndex + 1) * (COUNT + WARMUP)} payments, found ${recorded}`);
      const runs = await db.prisma.payoutRun.count();
      if (runs !== recorded) throw new Error(`expected ${recorded} payout runs, found ${runs}`);
      // The baseline writes the rows the webhook's statement writes: as many WEBHOOK audit rows per
      // payment as ingestion wrote (the worker's compile audit is not the webhook's work).
      const webhookAudits = await db.prisma.auditLog.count({ where: { actorType: "WEBHOOK", actorId: { startsWith: "msg_" } } });
      auditPerPayment = Math.round(webhookAudits / recorded);
      await stopServer(server);
      server = undefined;

      // Baseline, right after: the same rows (webhook event, payment, audit row, compile request, and the
      // payment's state version) in one transaction each, plain pg, with the server stopped (its worker
      // would otherwise compile the baseline's requests).
      const pool = new pg.Pool({ connectionString: db.url, max: CONNECTIONS });
      const baselineRows = measured.map((d) => ({
        webhookId: `bl_${d.webhookId}`,
        body: d.body,
        headers: JSON.stringify({ "webhook-id": d.webhookId }),
        paymentId: `bl_${randomBytes(9).toString("base64url")}`,
      }));
      const baselineCpuBefore = cpuSnapshot();
      const baseline = await drive(baselineRows.length, CONNECTIONS, async (i) => {
        const row = baselineRows[i]!;
        const client = await pool.connect();
        try {
          await client.query("BEGIN");
          const event = await client.query<{ id: string }>(
            `INSERT INTO webhook_events (webhook_id, organization_id, event_type, webhook_timestamp, raw_body, headers, status, processed_at)
             VALUES ($1, $2, 'payment.succeeded', now(), $3, $4, 'PROCESSED', now()) RETURNING id`,
            [row.webhookId, organizationId, row.body, row.headers],
          );
          await client.query(`INSERT INTO payment_state_versions (dodo_payment_id, version) VALUES ($1, 1)`, [row.paymentId]);
          const paymentUuid = randomUUID();
          await client.query(
            `INSERT INTO payments (id, organization_id, dodo_payment_id, status, total_amount_minor, currency, settlement_amount_minor,
                                   settlement_currency, customer_email, metadata, last_event_at, updated_at, net_settlement_minor)
             VALUES ($1, $2, $3, 'SUCCEEDED', 1000, 'USD', 950, 'USD', 'customer@example.com', '{}', now(), now(), 950)`,
            [paymentUuid, organizationId, row.paymentId],
          );
          for (let a = 0; a < auditPerPayment; a++) {
            await client.query(
              `INSERT INTO audit_log (organization_id, actor_type, actor_id, action, entity_type, entity_id, data)
               VALUES ($1, 'WEBHOOK', $2, 'payment.status.succeeded', 'payment', $3, $4)`,
              [organizationId, row.webhookId, paymentUuid, JSON.stringify({ webhookEventId: event.rows[0]!.id })],
            );
          }
          await client.query(`INSERT INTO payout_run_requests (organization_id, payment_id) VALUES ($1, $2)`, [organizationId, paymentUuid]);
          await client.query("COMMIT");
        } catch (error) {
          await client.query("ROLLBACK");
          throw error;
        } finally {
          client.release();
        }
      });
      const baselineCpu = cpuPerItem(baselineCpuBefore, cpuSnapshot(), COUNT);
      await pool.end();
      // The baseline's compile requests are nobody's work: completed, so the next round's worker skips them.
      await db.prisma.$executeRaw`UPDATE payout_run_requests SET completed_at = now() WHERE completed_at IS NULL`;

      const webhooksPerS = COUNT / (ingest.elapsedMs / 1000);
      const baselinePerS = COUNT / (baseline.elapsedMs / 1000);
      const untilAllCompiledMs = compiledAt - ingest.startMs;
      rounds.push({
        webhooks_per_s: round1(webhooksPerS),
        baseline_tx_per_s: round1(baselinePerS),
        ratio: round(webhooksPerS / baselinePerS, 3),
        pending_at_last_200: pendingAtLast200,
        compile_lag_after_last_200_ms: round(compiledAt - ingestEnd, 0),
        runs_compiled_per_s: round1(COUNT / (untilAllCompiledMs / 1000)),
        cpu: { ingest: ingestCpu, baseline: baselineCpu },
      });
    }

    const sorted = [...latencies].sort((a, b) => a - b);
    const medianCpu = (cpus: ReturnType<typeof cpuPerItem>[]) =>
      Object.fromEntries((["server", "worker", "postgres", "bench"] as const).map((key) => [key, round(median(cpus.map((c) => c[key])), 3)]));
    console.log(
      JSON.stringify({
        bench: "ingest",
        count_per_round: COUNT,
        rounds: ROUNDS,
        connections: CONNECTIONS,
        database: "postgresql",
        server: "own process, payout-run worker in its own process",
        ...(PAUSE_WORKER ? { diagnostic: "worker paused while deliveries were measured" } : {}),
        webhooks_per_s: round1(median(rounds.map((r) => r.webhooks_per_s))),
        p50_ms: round(percentile(sorted, 50)),
        p99_ms: round(percentile(sorted, 99)),
        baseline_tx_per_s: round1(median(rounds.map((r) => r.baseline_tx_per_s))),
        ratio: round(median(rounds.map((r) => r.ratio)), 3),
        ratio_per_round: rounds.map((r) => r.ratio),
        webhooks_per_s_per_round: rounds.map((r) => r.webhooks_per_s),
        baseline_tx_per_s_per_round: rounds.map((r) => r.baseline_tx_per_s),
        audit_rows_per_payment: auditPerPayment,
        recipients: RECIPIENTS,
        pending_at_last_200_per_round: rounds.map((r) => r.pending_at_last_200),
        compile_lag_after_last_200_ms_per_round: rounds.map((r) => r.compile_lag_after_last_200_ms),
        runs_compiled_per_s: round1(median(rounds.map((r) => r.runs_compiled_per_s))),
        // CPU ms per measured delivery (ingest: while the deliveries were measured; the worker's compile
        // after the last 200 is not in it) and per baseline transaction, by process, median over rounds.
        cpu_ms_per_delivery: medianCpu(rounds.map((r) => r.cpu.ingest)),
        cpu_ms_per_baseline_tx: medianCpu(rounds.map((r) => r.cpu.baseline)),
        loadavg_1m: round(os.loadavg()[0]!, 2),
      }),
    );
  } finally {
    agent.destroy();
    if (server) await stopServer(server);
    await db.destroy();
    await rm(dataDir, { recursive: true, force: true });
  }
}

await main();
