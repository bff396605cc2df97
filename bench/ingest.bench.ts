// bench:ingest — signed payment.succeeded webhooks through the running server (production build, real
// PostgreSQL) from several connections, against a baseline that writes the same rows with plain `pg`
// transactions (no HTTP, no verification, no Prisma). Prints one JSON line.
//
//   DATABASE_URL=postgresql://... npm run bench:ingest          (BENCH_COUNT, BENCH_CONNECTIONS to change)
import { randomBytes, randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { createRequestHandler } from "@remix-run/express";
import express from "express";
import pg from "pg";
import { generateWebhookSecret } from "../app/integrations/webhook-verification.server";
import { clearDatabase, setDatabase } from "../app/utils/db.server";
import { postgresTarget, realPostgresUrl } from "../tests/setup/databases";
import { paymentEvent, signedDelivery } from "../tests/mocks/dodo";

const COUNT = Number(process.env.BENCH_COUNT ?? 3000);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 8);
const WARMUP = 200;

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, index)]!;
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

/** Runs `count` jobs over `connections` workers; returns wall time (ms) and each job's latency (ms). */
async function drive(count: number, connections: number, job: (i: number) => Promise<void>): Promise<{ elapsedMs: number; latencies: number[] }> {
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
  return { elapsedMs: performance.now() - start, latencies };
}

async function main() {
  if (!realPostgresUrl()) {
    console.error("bench:ingest needs DATABASE_URL (a PostgreSQL server where it may create a throwaway database).");
    process.exit(2);
  }
  const buildPath = path.resolve("build/server/index.js");
  if (!existsSync(buildPath)) {
    console.error("bench:ingest needs the production build: run `npm run build` first.");
    process.exit(2);
  }
  const secret = generateWebhookSecret();
  process.env.DODO_PAYMENTS_WEBHOOK_KEY = secret;
  process.env.DODO_PAYMENTS_API_KEY = "sk_bench_unused";
  process.env.LOG_LEVEL = "error";

  const db = await postgresTarget.create();
  const build = await import(pathToFileURL(buildPath).href);
  setDatabase(db);
  const app = express();
  app.all("*", createRequestHandler({ build, mode: "production" }));
  const server = app.listen(0, "127.0.0.1");
  await new Promise<void>((resolve) => server.once("listening", () => resolve()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/webhooks/dodo`;
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS });

  try {
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

    const ingest = await drive(measured.length, CONNECTIONS, async (i) => {
      const status = await post(agent, url, measured[i]!.headers, measured[i]!.body);
      if (status !== 200) throw new Error(`delivery answered ${status}`);
    });
    const recorded = await db.prisma.payment.count();
    if (recorded !== COUNT + WARMUP) throw new Error(`expected ${COUNT + WARMUP} payments, found ${recorded}`);
    // The baseline writes the same rows: as many audit rows per payment as ingestion wrote (the status
    // change, plus the compiler's hold note when the organization has no active policy).
    const auditRows = await db.prisma.auditLog.count();
    const auditPerPayment = Math.round(auditRows / recorded);

    // Baseline: the same rows (webhook event, payment, audit row) in one transaction each, plain pg.
    const pool = new pg.Pool({ connectionString: db.url, max: CONNECTIONS });
    const { id: organizationId } = await db.prisma.organization.findUniqueOrThrow({ where: { slug: "default" }, select: { id: true } });
    const baselineRows = measured.map((d) => ({
      webhookId: `bl_${d.webhookId}`,
      body: d.body,
      headers: JSON.stringify({ "webhook-id": d.webhookId }),
      paymentId: `bl_${randomBytes(9).toString("base64url")}`,
    }));
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
        const paymentUuid = randomUUID();
        await client.query(
          `INSERT INTO payments (id, organization_id, dodo_payment_id, status, total_amount_minor, currency, settlement_amount_minor,
                                 settlement_currency, customer_email, metadata, last_event_at, updated_at)
           VALUES ($1, $2, $3, 'SUCCEEDED', 1000, 'USD', 950, 'USD', 'customer@example.com', '{}', now(), now())`,
          [paymentUuid, organizationId, row.paymentId],
        );
        for (let a = 0; a < auditPerPayment; a++) {
          await client.query(
            `INSERT INTO audit_log (organization_id, actor_type, actor_id, action, entity_type, entity_id, data)
             VALUES ($1, 'WEBHOOK', $2, 'payment.status.succeeded', 'payment', $3, $4)`,
            [organizationId, row.webhookId, paymentUuid, JSON.stringify({ webhookEventId: event.rows[0]!.id })],
          );
        }
        await client.query("COMMIT");
      } catch (error) {
        await client.query("ROLLBACK");
        throw error;
      } finally {
        client.release();
      }
    });
    await pool.end();

    const sorted = [...ingest.latencies].sort((a, b) => a - b);
    const webhooksPerS = COUNT / (ingest.elapsedMs / 1000);
    const baselinePerS = COUNT / (baseline.elapsedMs / 1000);
    console.log(
      JSON.stringify({
        bench: "ingest",
        count: COUNT,
        connections: CONNECTIONS,
        database: "postgresql",
        webhooks_per_s: round(webhooksPerS, 1),
        p50_ms: round(percentile(sorted, 50)),
        p99_ms: round(percentile(sorted, 99)),
        baseline_tx_per_s: round(baselinePerS, 1),
        ratio: round(webhooksPerS / baselinePerS, 3),
        audit_rows_per_payment: auditPerPayment,
      }),
    );
  } finally {
    agent.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    clearDatabase();
    await db.destroy();
  }
}

await main();
