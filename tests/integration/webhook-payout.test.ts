// Webhook -> compile request -> payout run through the REAL seam, worker and compiler (no mock): a succeeded
// payment leaves exactly one request in the webhook's transaction and the worker compiles exactly one READY
// run from it, under concurrent redelivery, crashes, compile failures and concurrent workers (PGlite, PostgreSQL).
import { Keypair } from "@solana/web3.js";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { drainPayoutRunRequests, PAYOUT_RUN_REQUESTS_CHANNEL, startPayoutRunWorker } from "~/models/payout-run-worker.server";
import { handleDodoWebhook } from "~/integrations/dodo-webhook-handler.server";
import { DodoWebhookVerifier, generateWebhookSecret } from "~/integrations/webhook-verification.server";
import { activatePolicyVersion, createPolicyVersion } from "~/models/policies.server";
import { createRecipient } from "~/models/recipients.server";
import { ensureDefaultOrganization } from "~/models/organizations.server";
import { sql } from "~/utils/sql.server";
import { databaseTargets, type TestDatabase } from "../setup/databases";
import { newDodoId, paymentEvent, signedDelivery } from "../mocks/dodo";

const MINT = "So11111111111111111111111111111111111111112";

describe.each(databaseTargets())("webhook to payout run on $name", (target) => {
  let db: TestDatabase;
  let organizationId: string;
  const secret = generateWebhookSecret();
  const verifier = new DodoWebhookVerifier(secret);

  function deliver(d: { headers: Record<string, string>; body: string }) {
    return handleDodoWebhook(new Request("http://127.0.0.1/api/webhooks/dodo", { method: "POST", headers: d.headers, body: d.body }), {
      db,
      verifier,
    });
  }

  beforeAll(async () => {
    db = await target.create();
    // Payments that name no checkout of ours belong to the endpoint's (default) organization: metadata
    // alone never chooses one (tests/integration/checkout-match.test.ts).
    organizationId = (await ensureDefaultOrganization(db.prisma)).id;
    const [artist, producer] = await Promise.all(
      ["artist", "producer"].map((name, i) =>
        createRecipient(db.prisma, {
          organizationId,
          name,
          walletAddress: Keypair.fromSeed(new Uint8Array(32).fill(i + 1)).publicKey.toBase58(),
          mint: MINT,
        }),
      ),
    );
    const version = await createPolicyVersion(db.prisma, {
      organizationId,
      policyName: "Split",
      rules: [
        { recipientId: artist!.id, kind: "PERCENTAGE", basisPoints: 7000 },
        { recipientId: producer!.id, kind: "PERCENTAGE", basisPoints: 2000 },
      ],
    });
    await activatePolicyVersion(db.prisma, { organizationId, versionId: version.id });
  });
  const succeeded = (paymentId: string, amount: bigint) =>
    paymentEvent({ paymentId, status: "succeeded", totalAmount: amount });

  afterAll(async () => {
    await db?.destroy();
  });

  it("100 concurrent deliveries of one payment.succeeded: one payment, one READY run, transfers conserving the amount", async () => {
    const paymentId = newDodoId("pay");
    const d = signedDelivery(
      secret,
      paymentEvent({ paymentId, status: "succeeded", totalAmount: 10_000n, settlementAmount: 9_999n }),
    );
    // When: 100 concurrent deliveries of the same webhook
    const responses = await Promise.all(Array.from({ length: 100 }, () => deliver(d)));
    expect(responses.map((r) => r.status)).toEqual(Array(100).fill(200));
    const payment = await db.prisma.payment.findUniqueOrThrow({ where: { dodoPaymentId: paymentId } });
    expect(payment.organizationId).toBe(organizationId);
    // Then: one compile request, no run yet (the webhook does not compile) ...
    expect(await db.prisma.payoutRunRequest.count({ where: { paymentId: payment.id } })).toBe(1);
    expect(await db.prisma.payoutRun.count({ where: { paymentId: payment.id } })).toBe(0);
    // ... and after the worker drains, exactly one run.
    await drainPayoutRunRequests(db);
    const runs = await db.prisma.payoutRun.findMany({ where: { paymentId: payment.id }, include: { transfers: true } });
    expect(runs).toHaveLength(1);
    const run = runs[0]!;
    expect(run.status).toBe("READY");
    // 9,999 settlement cents in a 6-decimal token: 10,000 base units per cent.
    expect(run.distributable).toBe(9_999n * 10_000n);
    const paid = run.transfers.reduce((sum, t) => sum + t.amount, 0n);
    expect(paid + run.treasuryRemainder).toBe(run.distributable);
    expect(run.transfers.map((t) => t.amount).sort((a, b) => (a < b ? -1 : 1))).toEqual([19_998_000n, 69_993_000n]);
    expect(await db.prisma.auditLog.count({ where: { entityType: "payment", entityId: payment.id } })).toBe(1);
  });

  it("20 concurrent distinct payments: 20 runs, none lost to the per-organization compile lock", async () => {
    const ids = Array.from({ length: 20 }, () => newDodoId("pay"));
    const responses = await Promise.all(
      ids.map((paymentId, i) =>
        deliver(signedDelivery(secret, paymentEvent({ paymentId, status: "succeeded", totalAmount: BigInt(100 + i) }))),
      ),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(20).fill(200));
    expect(await drainPayoutRunRequests(db)).toEqual({ compiled: 20, held: 0, failed: 0, windowsClosed: 0 });
    expect(await db.prisma.payoutRun.count({ where: { payment: { dodoPaymentId: { in: ids } } } })).toBe(20);
  });

  it("a failed payment compiles nothing", async () => {
    const paymentId = newDodoId("pay");
    const response = await deliver(signedDelivery(secret, paymentEvent({ paymentId, status: "failed", totalAmount: 500n })));
    expect(response.status).toBe(200);
    expect(await db.prisma.payoutRunRequest.count({ where: { payment: { dodoPaymentId: paymentId } } })).toBe(0);
    await drainPayoutRunRequests(db);
    expect(await db.prisma.payoutRun.count({ where: { payment: { dodoPaymentId: paymentId } } })).toBe(0);
  });

  it("crash between commit and compile: the request survives and the next drain compiles it", async () => {
    // Given: a delivery committed its request, and the process died before any worker ran
    const paymentId = newDodoId("pay");
    const ok = await deliver(signedDelivery(secret, succeeded(paymentId, 5_000n)));
    expect(ok.status).toBe(200);
    const payment = await db.prisma.payment.findUniqueOrThrow({ where: { dodoPaymentId: paymentId } });
    const pending = await db.prisma.payoutRunRequest.findUniqueOrThrow({ where: { paymentId: payment.id } });
    expect(pending).toMatchObject({ completedAt: null, attempts: 0, payoutRunId: null, organizationId });
    // When: the next process drains
    expect(await drainPayoutRunRequests(db)).toEqual({ compiled: 1, held: 0, failed: 0, windowsClosed: 0 });
    // Then: the run exists and the request points at it
    const run = await db.prisma.payoutRun.findFirstOrThrow({ where: { paymentId: payment.id, status: { not: "CANCELLED" } } });
    const done = await db.prisma.payoutRunRequest.findUniqueOrThrow({ where: { paymentId: payment.id } });
    expect(done).toMatchObject({ payoutRunId: run.id, attempts: 1, lastError: null });
    expect(done.completedAt).not.toBeNull();
    // And: draining again (or a redelivery) compiles nothing more
    expect((await deliver(signedDelivery(secret, succeeded(paymentId, 5_000n)))).status).toBe(200);
    expect(await drainPayoutRunRequests(db)).toEqual({ compiled: 0, held: 0, failed: 0, windowsClosed: 0 });
    expect(await db.prisma.payoutRun.count({ where: { paymentId: payment.id } })).toBe(1);
  });

  it("error: a compile failure keeps the request with attempts=1 and last_error; a later drain compiles it", async () => {
    // Given: a committed request and a compiler that throws on this attempt
    const paymentId = newDodoId("pay");
    expect((await deliver(signedDelivery(secret, succeeded(paymentId, 7_000n)))).status).toBe(200);
    const payment = await db.prisma.payment.findUniqueOrThrow({ where: { dodoPaymentId: paymentId } });
    let calls = 0;
    const failing = await drainPayoutRunRequests(db, {
      compile: async () => {
        calls++;
        throw new Error("compiler exploded");
      },
    });
    // Then: nothing compiled, the failure is on the request, and the attempt's writes rolled back
    expect(failing).toEqual({ compiled: 0, held: 0, failed: 1, windowsClosed: 0 });
    expect(calls).toBe(1);
    const kept = await db.prisma.payoutRunRequest.findUniqueOrThrow({ where: { paymentId: payment.id } });
    expect(kept).toMatchObject({ attempts: 1, completedAt: null, payoutRunId: null });
    expect(kept.lastError).toContain("compiler exploded");
    expect(kept.availableAt.getTime()).toBeGreaterThan(kept.createdAt.getTime());
    expect(await db.prisma.payoutRun.count({ where: { paymentId: payment.id } })).toBe(0);
    // And: it is not retried before its backoff runs out
    expect(await drainPayoutRunRequests(db)).toEqual({ compiled: 0, held: 0, failed: 0, windowsClosed: 0 });
    // When: a drain after the backoff, with the real compiler
    const later = new Date(kept.availableAt.getTime() + 1000);
    expect(await drainPayoutRunRequests(db, { now: later })).toEqual({ compiled: 1, held: 0, failed: 0, windowsClosed: 0 });
    const done = await db.prisma.payoutRunRequest.findUniqueOrThrow({ where: { paymentId: payment.id } });
    const run = await db.prisma.payoutRun.findFirstOrThrow({ where: { paymentId: payment.id, status: { not: "CANCELLED" } } });
    expect(done).toMatchObject({ attempts: 2, lastError: null, payoutRunId: run.id });
  });

  it("error: one failing request in a batch fails alone; the others of the batch are compiled", async () => {
    // Given: three committed requests, and a compiler that throws for one payment only
    const ids = [newDodoId("pay"), newDodoId("pay"), newDodoId("pay")];
    for (const [i, id] of ids.entries()) expect((await deliver(signedDelivery(secret, succeeded(id, BigInt(2_000 + i))))).status).toBe(200);
    const bad = await db.prisma.payment.findUniqueOrThrow({ where: { dodoPaymentId: ids[1]! } });
    const { compilePaymentRuns } = await import("~/models/payout-runs.server");
    // When: one drain with all three in one batch (a batch holding the bad payment fails whole)
    const batches: number[] = [];
    const result = await drainPayoutRunRequests(db, {
      batch: 10,
      compile: async (tx, payments) => {
        batches.push(payments.length);
        if (payments.some((payment) => payment.id === bad.id)) throw new Error("this payment cannot compile");
        return compilePaymentRuns(tx, payments);
      },
    });
    // Then: the batch of three failed, and each request was retried on its own
    expect(batches).toEqual([3, 1, 1, 1]);
    // And: two runs, one failure recorded on its own request only
    expect(result).toEqual({ compiled: 2, held: 0, failed: 1, windowsClosed: 0 });
    const requests = await db.prisma.payoutRunRequest.findMany({ where: { payment: { dodoPaymentId: { in: ids } } } });
    for (const request of requests) {
      if (request.paymentId === bad.id) expect(request).toMatchObject({ attempts: 1, completedAt: null, payoutRunId: null });
      else expect(request).toMatchObject({ attempts: 1, lastError: null });
    }
    expect(requests.find((r) => r.paymentId === bad.id)!.lastError).toContain("this payment cannot compile");
    expect(await db.prisma.payoutRun.count({ where: { payment: { dodoPaymentId: { in: ids } } } })).toBe(2);
    // And: a drain after the backoff with the real compiler finishes it
    const later = new Date(Date.now() + 10 * 60_000);
    expect(await drainPayoutRunRequests(db, { now: later })).toEqual({ compiled: 1, held: 0, failed: 0, windowsClosed: 0 });
  });

  it("a held payment (non-USD settlement) completes its request without a run, the hold audited", async () => {
    const paymentId = newDodoId("pay");
    const event = paymentEvent({ paymentId, status: "succeeded", totalAmount: 900n, currency: "EUR" });
    expect((await deliver(signedDelivery(secret, event))).status).toBe(200);
    const payment = await db.prisma.payment.findUniqueOrThrow({ where: { dodoPaymentId: paymentId } });
    expect(await drainPayoutRunRequests(db)).toEqual({ compiled: 0, held: 1, failed: 0, windowsClosed: 0 });
    const done = await db.prisma.payoutRunRequest.findUniqueOrThrow({ where: { paymentId: payment.id } });
    expect(done).toMatchObject({ payoutRunId: null, attempts: 1 });
    expect(done.completedAt).not.toBeNull();
    expect(await db.prisma.auditLog.count({ where: { action: "payout.held", entityId: payment.id } })).toBe(1);
  });

  it("concurrent drains never compile one request twice", async () => {
    // Given: 30 committed requests
    const ids = Array.from({ length: 30 }, () => newDodoId("pay"));
    const responses = await Promise.all(ids.map((id, i) => deliver(signedDelivery(secret, succeeded(id, BigInt(1_000 + i))))));
    expect(responses.map((r) => r.status)).toEqual(Array(30).fill(200));
    // When: four workers drain at once (on PostgreSQL each on its own pooled connection)
    const results = await Promise.all(Array.from({ length: 4 }, () => drainPayoutRunRequests(db)));
    // Then: each request was compiled by exactly one of them, once
    expect(results.reduce((sum, r) => sum + r.compiled, 0)).toBe(30);
    expect(results.every((r) => r.failed === 0 && r.held === 0)).toBe(true);
    const requests = await db.prisma.payoutRunRequest.findMany({ where: { payment: { dodoPaymentId: { in: ids } } } });
    expect(requests).toHaveLength(30);
    expect(requests.every((r) => r.attempts === 1 && r.completedAt !== null && r.payoutRunId !== null)).toBe(true);
    const runIds = requests.map((r) => r.payoutRunId!);
    expect(new Set(runIds).size).toBe(30);
    expect(await db.prisma.auditLog.count({ where: { action: "payout_run.compiled", entityId: { in: runIds } } })).toBe(30);
  });

  // The webhook runs its transaction on the pg driver (and the rest of the app reaches PostgreSQL through
  // it too, under Prisma), so the driver's query() sees every statement.
  it.runIf(target.name === "postgres")("a first-time payment.succeeded delivery is one statement, compiles nothing inside, and is announced after it", async () => {
    // A payment without our metadata belongs to the default organization, whose id the process caches
    // after its first delivery (that one also looks the organization up, outside the transaction).
    const plain = (paymentId: string) => paymentEvent({ paymentId, status: "succeeded", totalAmount: 3_300n });
    expect((await deliver(signedDelivery(secret, plain(newDodoId("pay"))))).status).toBe(200);
    const statements: string[] = [];
    const original = pg.Client.prototype.query;
    // Given: every statement sent to PostgreSQL is recorded
    pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
      const first = args[0] as string | { text?: string };
      statements.push(typeof first === "string" ? first : String(first?.text));
      return (original as (...a: unknown[]) => unknown).apply(this, args);
    } as typeof original;
    try {
      // When: a new payment's succeeded event is delivered (and the announcement, at most 50 ms later, sent)
      expect((await deliver(signedDelivery(secret, plain(newDodoId("pay"))))).status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 150));
    } finally {
      pg.Client.prototype.query = original;
    }
    // Then: one statement writing version, event, payment, audit and compile request; no read before it
    // (a first event is folded into "nothing recorded yet") and no transaction (the statement is atomic,
    // conditional on the version being 0); no NOTIFY inside it (it would serialise commits)
    const announcements = statements.filter((text) => /^SELECT pg_notify\(/.test(text.trim()));
    const written = statements.filter((text) => !announcements.includes(text));
    expect(written.map((text) => text.trim().split(/\s+/)[0]!.toUpperCase())).toEqual(["WITH"]);
    expect(written.some((text) => /payout_runs\b|, 11\)|pg_notify/.test(text))).toBe(false);
    expect(written[0]).toContain("payout_run_requests");
    expect(written[0]).toContain("payment_state_versions");
    // And: the request was announced to workers in other processes, after the commit, on its own
    expect(announcements.length).toBeGreaterThanOrEqual(1);
  });

  it("the running worker is woken by the webhook's commit and makes the run READY without a poll", async () => {
    // Given: a worker whose poll interval is far longer than the test
    const worker = startPayoutRunWorker(db, { intervalMs: 3_600_000 });
    try {
      // Let its first (empty) drain finish and the worker go to sleep.
      await new Promise((resolve) => setTimeout(resolve, 200));
      const paymentId = newDodoId("pay");
      // When: a succeeded payment is delivered
      expect((await deliver(signedDelivery(secret, succeeded(paymentId, 4_200n)))).status).toBe(200);
      // Then: its run appears (the wake-up, not the hour-long poll, drained it)
      let run = null;
      for (let i = 0; i < 200 && !run; i++) {
        run = await db.prisma.payoutRun.findFirst({ where: { payment: { dodoPaymentId: paymentId } } });
        if (!run) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(run?.status).toBe("READY");
    } finally {
      await worker.stop();
    }
  });

  it("a committed compile request is announced on the worker channel (how a worker in another process hears of it); a duplicate is not; a burst shares announcements", async () => {
    // Given: a listener on the channel, as the worker process holds one
    let notified = 0;
    const unlisten = await db.listen(PAYOUT_RUN_REQUESTS_CHANNEL, () => notified++);
    try {
      const delivery = signedDelivery(secret, succeeded(newDodoId("pay"), 4_300n));
      // When: a succeeded payment is delivered, then the same delivery again
      expect((await deliver(delivery)).status).toBe(200);
      await expect.poll(() => notified, { timeout: 5_000 }).toBe(1);
      expect((await deliver(delivery)).status).toBe(200);
      // Then: one notification (the redelivery wrote nothing, so it notified nothing)
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(notified).toBe(1);
      // When: a burst of 30 succeeded payments at once
      const burst = Array.from({ length: 30 }, () => signedDelivery(secret, succeeded(newDodoId("pay"), 4_400n)));
      expect((await Promise.all(burst.map(deliver))).map((r) => r.status)).toEqual(Array(30).fill(200));
      // Then: it is announced, in fewer notifications than commits (at most one per 50 ms per process)
      await expect.poll(() => notified, { timeout: 5_000 }).toBeGreaterThan(1);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(notified - 1).toBeLessThan(30);
    } finally {
      await unlisten();
    }
  });

  it("a worker in another process stops listening during a burst and listens again after it: no request waits for the poll", async () => {
    // Requests committed with their notification by SQL, as another process's webhook commits them (the
    // in-process wake-up of this file's deliveries would hide a worker that is not listening).
    const requestFromElsewhere = (count: number) =>
      db.query(sql`
        WITH p AS (
          INSERT INTO payments (organization_id, dodo_payment_id, status, total_amount_minor, currency,
                                settlement_amount_minor, settlement_currency, last_event_at, updated_at)
          SELECT ${organizationId}::uuid, 'pay_burst_' || gen_random_uuid(), 'SUCCEEDED', 1000, 'USD', 990, 'USD', now(), now()
          FROM generate_series(1, ${count}::int)
          RETURNING id),
        r AS (INSERT INTO payout_run_requests (organization_id, payment_id) SELECT ${organizationId}::uuid, id FROM p RETURNING id)
        SELECT pg_notify(${PAYOUT_RUN_REQUESTS_CHANNEL}, '') FROM r`);
    const pending = async () => (await db.prisma.payoutRunRequest.count({ where: { completedAt: null } })) as number;
    // Given: no request left by the tests before (the worker starts asleep), and a worker in "another process"
    await drainPayoutRunRequests(db);
    expect(await pending()).toBe(0);
    const subscriptions: string[] = [];
    const worker = startPayoutRunWorker(db, {
      intervalMs: 3_600_000,
      listen: async (onNotify, onLost) => {
        const stop = await db.listen(PAYOUT_RUN_REQUESTS_CHANNEL, onNotify, onLost);
        subscriptions.push("listen");
        return async () => {
          subscriptions.push("unlisten");
          await stop();
        };
      },
    });
    try {
      await expect.poll(() => subscriptions, { timeout: 5_000 }).toEqual(["listen"]);
      // When: a burst of requests, committed one statement at a time
      for (let i = 0; i < 20; i++) await requestFromElsewhere(1);
      // Then: every one is compiled (the hour-long poll never ran), and the worker listened again after
      await expect.poll(pending, { timeout: 10_000 }).toBe(0);
      await expect.poll(() => subscriptions.at(-1), { timeout: 5_000 }).toBe("listen");
      expect(subscriptions).toContain("unlisten");
      // And: the next request, after the burst, is heard and compiled too
      await requestFromElsewhere(3);
      await expect.poll(pending, { timeout: 10_000 }).toBe(0);
    } finally {
      await worker.stop();
    }
  });
});
