// Outbound webhooks against a fresh database (PGlite, and PostgreSQL when configured) and a receiver on
// loopback that verifies every signature with standardwebhooks' Webhook.verify: events are written in the
// transaction of their change (a rollback leaves none), delivered signed with a webhook-id that stays the
// same across retries, retried on the configured backoff until they succeed, and an endpoint that fails
// for a whole schedule is disabled with an audit entry. Backoff is shortened by settings, never faked.
import { PublicKey } from "@solana/web3.js";
import { Webhook } from "standardwebhooks";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { DodoWebhookVerifier, generateWebhookSecret } from "~/integrations/webhook-verification.server";
import { handleDodoWebhook } from "~/integrations/dodo-webhook-handler.server";
import { approvePayoutRun } from "~/models/approvals.server";
import { ensureDefaultOrganization } from "~/models/organizations.server";
import { createEndpoint, deleteEndpoint, deliveryLog, redeliver, setEndpointEnabled, WebhookEndpointError } from "~/models/outbound-webhooks.server";
import type { Actor } from "~/models/operators.server";
import type { SettlementTarget } from "~/models/settlement.server";
import { deliverDueWebhooks, startWebhookDispatcher, WEBHOOK_MAX_ATTEMPTS, webhookIdOf, type WebhookDeliverySettings } from "~/models/webhook-dispatcher.server";
import type { SettlementQueue } from "~/settlement/executor-queue.server";
import { sql } from "~/utils/sql.server";
import { newDodoId, paymentEvent, signedDelivery } from "../mocks/dodo";
import { databaseTargets, type TestDatabase } from "../setup/databases";
import { createTestOperator, createTestOrganization } from "../setup/operators";
import { startWebhookReceiver, waitUntil as waitFor, type WebhookReceiver } from "../setup/webhook-receiver";

/** Loopback receivers need the setting (as in production); the schedule is 9 attempts 10-100 ms apart. */
const SETTINGS: WebhookDeliverySettings = { policy: { allowPrivate: true }, timeoutMs: 5_000, retryBaseMs: 10, retryMaxMs: 100 };

/** A queue that records what the approval enqueues, or fails like a database error would. */
function fakeQueue(fail = false): SettlementQueue & { enqueued: string[] } {
  const enqueued: string[] = [];
  return {
    enqueued,
    async enqueueBatches(_tx: unknown, jobs: readonly { batchId: string }[]) {
      if (fail) throw new Error("enqueue failed");
      enqueued.push(...jobs.map((j) => j.batchId));
    },
    async enqueueRun(_tx: unknown, job: { runId: string }) {
      if (fail) throw new Error("enqueue failed");
      enqueued.push(job.runId);
    },
    announce() {},
  } as unknown as SettlementQueue & { enqueued: string[] };
}

/** Runs without transfers plan no batches: the target is never asked for a chain. */
const NO_CHAIN_TARGET: SettlementTarget = {
  programId: PublicKey.default,
  capacity: { legacy: 15, v0: 50 },
  treasuryFor: () => ({ treasury: PublicKey.default }) as never,
};

describe.each(databaseTargets())("outbound webhooks on $name", (target) => {
  let db: TestDatabase;
  let admin: Actor;
  let organizationId: string;
  let receiver: WebhookReceiver;

  beforeAll(async () => {
    db = await target.create();
    organizationId = (await ensureDefaultOrganization(db.prisma)).id;
    const operator = await createTestOperator(db.prisma, { organizationId, role: "ADMIN" });
    admin = { operatorId: operator.id, organizationId, role: "ADMIN" };
  });
  afterAll(async () => {
    await db?.destroy();
  });
  afterEach(async () => {
    await receiver?.close();
    // Each case starts with no endpoint listening.
    await db.query(sql`UPDATE webhook_endpoints SET deleted_at = now() WHERE deleted_at IS NULL`);
    await db.query(sql`UPDATE webhook_deliveries SET status = 'FAILED', next_attempt_at = NULL WHERE status = 'PENDING'`);
  });

  async function register(eventTypes: string[], url?: string) {
    receiver = await startWebhookReceiver();
    const created = await createEndpoint(db.prisma, admin, { url: url ?? receiver.url, eventTypes: eventTypes as never }, SETTINGS.policy);
    receiver.secret = created.secret;
    return created;
  }

  async function readyRun(): Promise<string> {
    const [run] = await db.query<{ id: string }>(sql`
      INSERT INTO payout_runs (organization_id, kind, status, token_decimals, distributable, total_transfers, treasury_remainder)
      VALUES (${organizationId}::uuid, 'SWEEP', 'READY', 6, 0, 0, 0) RETURNING id`);
    return run!.id;
  }

  const deliveriesOf = (endpointId: string) =>
    db.prisma.webhookDelivery.findMany({ where: { endpointId }, include: { event: true, attemptsLog: { orderBy: { attempt: "asc" } } }, orderBy: { createdAt: "asc" } });

  it("a Dodo payment becomes payment.recorded, signed so that Webhook.verify accepts it with the endpoint's secret only", async () => {
    const endpoint = await register(["payment.recorded"]);
    expect(endpoint.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    const dodoSecret = generateWebhookSecret();
    const paymentId = newDodoId("pay");
    const delivery = signedDelivery(dodoSecret, paymentEvent({ status: "succeeded", paymentId, totalAmount: 12_345n }));
    const response = await handleDodoWebhook(new Request("http://127.0.0.1/api/webhooks/dodo", { method: "POST", body: delivery.body, headers: delivery.headers }), {
      db,
      verifier: new DodoWebhookVerifier(dodoSecret),
    });
    expect(response.status).toBe(200);

    expect(await deliverDueWebhooks(db, SETTINGS)).toBe(1);
    expect(receiver.received).toHaveLength(1);
    const [got] = receiver.received;
    expect(got!.verifyError).toBeNull();
    expect(got!.payload!.type).toBe("payment.recorded");
    expect(got!.payload!.data).toMatchObject({ dodo_payment_id: paymentId, status: "succeeded", total_amount_minor: "12345", currency: "USD" });
    // Another secret does not verify it: the signature is the endpoint's.
    const headers = Object.fromEntries(Object.entries(got!.headers).map(([k, v]) => [k, String(v)]));
    expect(() => new Webhook(generateWebhookSecret()).verify(got!.body, headers)).toThrow();
    const [row] = await deliveriesOf(endpoint.id);
    expect(row!.status).toBe("DELIVERED");
    expect(got!.webhookId).toBe(webhookIdOf(row!.eventId));
    expect(row!.attemptsLog.map((a) => a.statusCode)).toEqual([200]);
    // The same payment again changes nothing it announces: no second event.
    expect(await deliverDueWebhooks(db, SETTINGS)).toBe(0);
  });

  it("a receiver that fails 5 times and then succeeds gets the event once, every attempt with the same webhook-id", async () => {
    const endpoint = await register(["payout_run.ready"]);
    receiver.answer = (_request, n) => (n <= 5 ? 500 : 200);
    const dispatcher = startWebhookDispatcher(db, SETTINGS, { pollMs: 20 });
    try {
      const runId = await readyRun();
      await waitFor("the delivery", async () => (await deliveriesOf(endpoint.id))[0]?.status === "DELIVERED");
      const [row] = await deliveriesOf(endpoint.id);
      expect(row!.attemptsLog.map((a) => a.statusCode)).toEqual([500, 500, 500, 500, 500, 200]);
      expect(row!.attemptsLog.map((a) => a.attempt)).toEqual([1, 2, 3, 4, 5, 6]);
      expect(receiver.received).toHaveLength(6);
      expect(new Set(receiver.received.map((r) => r.webhookId))).toEqual(new Set([webhookIdOf(row!.eventId)]));
      expect(receiver.received.every((r) => r.verifyError === null && r.payload!.data.id === runId)).toBe(true);
      expect(receiver.received.filter((r) => r.answered === 200)).toHaveLength(1);
      // Nothing is due any more: the success ended the schedule.
      expect(await deliverDueWebhooks(db, SETTINGS)).toBe(0);
    } finally {
      await dispatcher.stop();
    }
  });

  it("the outbox row is written in the state change's transaction: an approval rolled back leaves no payout_run.approved", async () => {
    const endpoint = await register(["payout_run.approved"]);
    const runId = await readyRun();
    await expect(
      approvePayoutRun(db, fakeQueue(true), NO_CHAIN_TARGET, { runId, actor: { type: "OPERATOR", operatorId: admin.operatorId } }),
    ).rejects.toThrow("enqueue failed");
    expect((await db.prisma.payoutRun.findUniqueOrThrow({ where: { id: runId } })).status).toBe("READY");
    expect(await deliveriesOf(endpoint.id)).toHaveLength(0);
    expect(await db.prisma.outboundEvent.count({ where: { eventType: "payout_run.approved" } })).toBe(0);

    // Inside the transaction the event exists; the rollback takes it with the change.
    await expect(
      db.transaction(async (tx) => {
        await tx.query(sql`UPDATE payout_runs SET status = 'APPROVED' WHERE id = ${runId}::uuid`);
        const [{ n }] = await tx.query<{ n: number }>(sql`SELECT count(*)::int AS n FROM outbound_events WHERE event_type = 'payout_run.approved'`);
        expect(n).toBe(1);
        throw new Error("crash before commit");
      }),
    ).rejects.toThrow("crash before commit");
    expect(await db.prisma.outboundEvent.count({ where: { eventType: "payout_run.approved" } })).toBe(0);

    const queue = fakeQueue();
    const approved = await approvePayoutRun(db, queue, NO_CHAIN_TARGET, { runId, actor: { type: "OPERATOR", operatorId: admin.operatorId } });
    expect(approved.status).toBe("APPROVED");
    expect(queue.enqueued).toEqual([runId]);
    const rows = await deliveriesOf(endpoint.id);
    expect(rows.map((r) => r.event.eventType)).toEqual(["payout_run.approved"]);
    expect(JSON.parse(rows[0]!.event.body).data).toMatchObject({ id: runId, status: "approved", total_transfers: "0" });
  });

  it("error: a receiver failing the whole schedule has its endpoint disabled, audited; enabled again, a redelivery keeps the webhook-id", async () => {
    const endpoint = await register(["payout_run.ready"]);
    receiver.answer = () => 503;
    const dispatcher = startWebhookDispatcher(db, SETTINGS, { pollMs: 20 });
    try {
      await readyRun();
      await waitFor("the endpoint disabled", async () => (await db.prisma.webhookEndpoint.findUniqueOrThrow({ where: { id: endpoint.id } })).status === "DISABLED");
      const [row] = await deliveriesOf(endpoint.id);
      expect(row!.status).toBe("FAILED");
      expect(row!.attemptsLog).toHaveLength(WEBHOOK_MAX_ATTEMPTS);
      expect(row!.attemptsLog.every((a) => a.statusCode === 503 && a.error === "HTTP 503")).toBe(true);
      const disabled = await db.prisma.webhookEndpoint.findUniqueOrThrow({ where: { id: endpoint.id } });
      expect(disabled.disabledBySystem).toBe(true);
      expect(disabled.disabledReason).toContain(`${WEBHOOK_MAX_ATTEMPTS} attempts`);
      const audit = await db.prisma.auditLog.findMany({ where: { action: "webhook_endpoint.disabled", entityId: endpoint.id } });
      expect(audit).toHaveLength(1);
      expect(audit[0]!.actorType).toBe("SYSTEM");

      // While disabled, new events are not queued for it.
      await readyRun();
      expect(await deliveriesOf(endpoint.id)).toHaveLength(1);
      await expect(redeliver(db.prisma, admin, row!.id)).rejects.toMatchObject({ code: "ENDPOINT_NOT_ENABLED" });

      await setEndpointEnabled(db.prisma, admin, endpoint.id, true);
      receiver.answer = () => 200;
      await redeliver(db.prisma, admin, row!.id);
      await waitFor("the redelivery", async () => (await deliveriesOf(endpoint.id))[0]?.status === "DELIVERED");
      const [again] = await deliveriesOf(endpoint.id);
      const last = again!.attemptsLog.at(-1)!;
      expect(last).toMatchObject({ attempt: WEBHOOK_MAX_ATTEMPTS + 1, manual: true, statusCode: 200 });
      expect(receiver.received.at(-1)!.webhookId).toBe(receiver.received[0]!.webhookId);
      expect(receiver.received.at(-1)!.verifyError).toBeNull();
    } finally {
      await dispatcher.stop();
    }
  });

  it("error: private and loopback destinations are refused without the setting, at registration and on every attempt", async () => {
    const strict = { allowPrivate: false };
    for (const url of ["http://127.0.0.1:9/hooks", "http://localhost:9/hooks", "http://[::1]:9/", "http://169.254.169.254/latest", "http://10.1.2.3/", "http://[::ffff:192.168.1.1]/"]) {
      await expect(createEndpoint(db.prisma, admin, { url, eventTypes: ["payout_run.ready"] }, strict), url).rejects.toMatchObject({ code: "DESTINATION_REFUSED" });
    }
    await expect(createEndpoint(db.prisma, admin, { url: "ftp://example.com/x", eventTypes: ["payout_run.ready"] }, strict)).rejects.toMatchObject({
      code: "DESTINATION_REFUSED",
    });
    expect(await db.prisma.webhookEndpoint.count({ where: { deletedAt: null } })).toBe(0);

    // Registered where private addresses were allowed, then sent by a dispatcher that refuses them: nothing reaches the receiver.
    const endpoint = await register(["payout_run.ready"]);
    const named = await createEndpoint(db.prisma, admin, { url: receiver.url.replace("127.0.0.1", "localhost"), eventTypes: ["payout_run.ready"] }, SETTINGS.policy);
    await readyRun();
    expect(await deliverDueWebhooks(db, { ...SETTINGS, policy: strict })).toBe(2);
    expect(receiver.received).toHaveLength(0);
    for (const id of [endpoint.id, named.id]) {
      const [row] = await deliveriesOf(id);
      expect(row!.status).toBe("PENDING");
      expect(row!.attemptsLog[0]!.error).toMatch(/^refused: .*(127\.0\.0\.1|::1).* private, loopback or reserved address/);
      expect(row!.attemptsLog[0]!.statusCode).toBeNull();
    }
  });

  it("error: another organization's admin and a viewer change nothing of an endpoint", async () => {
    const endpoint = await register(["payout_run.ready"]);
    await readyRun();
    await deliverDueWebhooks(db, SETTINGS);
    const [delivery] = await deliveriesOf(endpoint.id);
    const other = await createTestOrganization(db.prisma, "Other");
    const otherAdmin = await createTestOperator(db.prisma, { organizationId: other.id, role: "ADMIN" });
    const stranger: Actor = { operatorId: otherAdmin.id, organizationId: other.id, role: "ADMIN" };
    const viewerRow = await createTestOperator(db.prisma, { organizationId, role: "VIEWER" });
    const viewer: Actor = { operatorId: viewerRow.id, organizationId, role: "VIEWER" };
    const before = await db.prisma.webhookEndpoint.findUniqueOrThrow({ where: { id: endpoint.id } });
    for (const [actor, code] of [
      [stranger, "ENDPOINT_NOT_FOUND"],
      [viewer, "NOT_ALLOWED"],
    ] as const) {
      await expect(setEndpointEnabled(db.prisma, actor, endpoint.id, false)).rejects.toBeInstanceOf(WebhookEndpointError);
      await expect(deleteEndpoint(db.prisma, actor, endpoint.id)).rejects.toMatchObject({ code });
    }
    await expect(deliveryLog(db.prisma, stranger, endpoint.id)).rejects.toMatchObject({ code: "ENDPOINT_NOT_FOUND" });
    await expect(redeliver(db.prisma, stranger, delivery!.id)).rejects.toMatchObject({ code: "DELIVERY_NOT_FOUND" });
    await expect(redeliver(db.prisma, viewer, delivery!.id)).rejects.toMatchObject({ code: "NOT_ALLOWED" });
    expect(await db.prisma.webhookEndpoint.findUniqueOrThrow({ where: { id: endpoint.id } })).toEqual(before);
    expect((await deliveriesOf(endpoint.id))[0]!.status).toBe("DELIVERED");
    // The viewer reads the log.
    expect((await deliveryLog(db.prisma, viewer, endpoint.id)).deliveries).toHaveLength(1);
  });
});
