// The operator API's outbound webhook endpoints on the real server, on PGlite and PostgreSQL (the cases every
// operation shares — 401, 403, 404, 400, success — are in operator-api.test.ts): the signing secret is in
// the answer that registered the endpoint (and that answer's idempotent replay) and in no other answer, audit
// row or log line; the SSRF guard refuses private destinations at registration and on a change of URL; an
// endpoint the dispatcher disabled after persistent failure is enabled again; the delivery log pages by
// cursor with every attempt's response code from a real receiver; redelivery keeps the webhook-id; a
// deleted endpoint is gone from the API with its waiting deliveries closed. Answers are checked against
// the OpenAPI document.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEndpoint } from "~/models/outbound-webhooks.server";
import { deliverDueWebhooks, type WebhookDeliverySettings } from "~/models/webhook-dispatcher.server";
import { sql } from "~/utils/sql.server";
import { useServedApp } from "../setup/app-server";
import { databaseTargets, type TestDatabase } from "../setup/databases";
import { apiClient, apiOrganization, stateFingerprint, type ApiClient, type ApiOrganization } from "../setup/operator-api";
import { startWebhookReceiver, type WebhookReceiver } from "../setup/webhook-receiver";

process.env.STABLEFLOW_API_RATE_LIMIT = "1000000";
// Every line the served app logs is written, and read back by the last case (no secret in any).
process.env.LOG_LEVEL = "debug";
delete process.env.STABLEFLOW_WEBHOOK_ALLOW_PRIVATE_URLS;

const logged: string[] = [];
for (const stream of [process.stdout, process.stderr]) {
  const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
  stream.write = ((chunk: unknown, ...rest: unknown[]) => {
    logged.push(String(chunk));
    return write(chunk, ...rest);
  }) as typeof stream.write;
}

const PUBLIC_URL = "https://93.184.215.14/hooks/stableflow";
/** The dispatcher as the worker runs it, with loopback allowed and retries at once. */
const DISPATCH: WebhookDeliverySettings = { policy: { allowPrivate: true }, timeoutMs: 5_000, retryBaseMs: 1, retryMaxMs: 1 };

async function dispatchUntil(db: TestDatabase, done: () => Promise<boolean>, what: string) {
  // Nothing leaves the machine: every delivery the dispatcher could take goes to loopback.
  const elsewhere = await db.query<{ url: string }>(sql`
    SELECT e.url FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
    WHERE d.status = 'PENDING' AND e.url NOT LIKE 'http://127.0.0.1:%'`);
  expect(elsewhere).toEqual([]);
  const deadline = Date.now() + 60_000;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`the dispatcher did not get there: ${what}`);
    await deliverDueWebhooks(db, DISPATCH);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe.each(databaseTargets())("operator API webhook endpoints on $name", (target) => {
  const app = useServedApp(target);
  let org: ApiOrganization;
  let api: ApiClient;
  let receiver: WebhookReceiver;
  const secrets: string[] = [];

  beforeAll(async () => {
    org = await apiOrganization(app.db, "Hooked");
    await apiOrganization(app.db, "Bystander");
    api = await apiClient(app.server.url);
    receiver = await startWebhookReceiver();
    secrets.push(org.endpointSecret);
  });
  afterAll(async () => {
    await receiver?.close();
  });

  /** An endpoint on the loopback receiver (the API refuses loopback, as production does; the console's model here). */
  async function receiverEndpoint(eventTypes: ["payout_run.ready"]) {
    const admin = { operatorId: org.adminId, organizationId: org.id, role: "ADMIN" as const };
    const created = await createEndpoint(app.db.prisma, admin, { url: receiver.url, eventTypes }, { allowPrivate: true });
    secrets.push(created.secret);
    receiver.secret = created.secret;
    return created.id;
  }

  async function readyRun(): Promise<string> {
    const [run] = await app.db.prisma.$queryRaw<{ id: string }[]>`
      INSERT INTO payout_runs (organization_id, kind, status, token_decimals, distributable, total_transfers, treasury_remainder)
      VALUES (${org.id}::uuid, 'SWEEP', 'READY', 6, 0, 0, 0) RETURNING id::text`;
    return run!.id;
  }

  it("create answers the signing secret once; its replay answers the same; no other answer or audit row holds it", async () => {
    const body = { url: PUBLIC_URL, description: "CRM", eventTypes: ["payout_run.settled", "payout_run.settled", "recipient.held"] };
    const headers = { "idempotency-key": "register-crm" };
    const created = await api.call("POST", "/api/v1/webhook-endpoints", { key: org.keys.write, body, headers });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ url: PUBLIC_URL, description: "CRM", eventTypes: ["payout_run.settled", "recipient.held"], status: "ENABLED", pendingDeliveries: 0 });
    const secret: string = created.json.secret;
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    secrets.push(secret);
    const row = await app.db.prisma.webhookEndpoint.findUniqueOrThrow({ where: { id: created.json.id } });
    expect(row).toMatchObject({ secret, organizationId: org.id, createdById: null });

    const replay = await api.call("POST", "/api/v1/webhook-endpoints", { key: org.keys.write, body, headers });
    expect(replay.text).toBe(created.text);
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(await app.db.prisma.webhookEndpoint.count({ where: { url: PUBLIC_URL } })).toBe(1);

    const id = created.json.id as string;
    const others = [
      await api.call("GET", "/api/v1/webhook-endpoints", { key: org.keys.read }),
      await api.call("GET", `/api/v1/webhook-endpoints/${id}`, { key: org.keys.read }),
      await api.call("POST", `/api/v1/webhook-endpoints/${id}`, { key: org.keys.write, body: { description: "", url: `${PUBLIC_URL}/v2` } }),
      await api.call("GET", `/api/v1/webhook-endpoints/${id}/deliveries`, { key: org.keys.read }),
    ];
    expect(others.map((a) => a.status)).toEqual([200, 200, 200, 200]);
    expect(others[0]!.json.data.map((e: { id: string }) => e.id)).toContain(id);
    expect(others[2]!.json).toMatchObject({ description: null, url: `${PUBLIC_URL}/v2`, eventTypes: ["payout_run.settled", "recipient.held"] });
    for (const answer of others) for (const s of secrets) expect(answer.text).not.toContain(s);
    const audit = await app.db.prisma.auditLog.findMany({ where: { entityId: id } });
    expect(audit.map((a) => [a.action, a.actorType, a.actorId])).toEqual([
      ["webhook_endpoint.created", "API_KEY", org.keys.write.slice(0, 16)],
      ["webhook_endpoint.updated", "API_KEY", org.keys.write.slice(0, 16)],
    ]);
    expect(audit[1]!.data).toEqual({ url: `${PUBLIC_URL}/v2`, description: "" });
    expect(JSON.stringify(audit.map((a) => a.data))).not.toContain(secret);
  });

  it("error: private, loopback and link-local destinations are refused at registration and on a change of URL (422 naming url), nothing changed", async () => {
    const before = await stateFingerprint(app.db);
    for (const url of ["http://127.0.0.1:8080/hooks", "http://169.254.169.254/latest/meta-data", "http://[::1]/hooks", "https://10.1.2.3/hooks", "http://[::ffff:7f00:1]/x"]) {
      const registered = await api.call("POST", "/api/v1/webhook-endpoints", { key: org.keys.write, body: { url, eventTypes: ["payout_run.settled"] } });
      expect(registered.status, url).toBe(422);
      expect(registered.json.error).toMatchObject({ code: "DESTINATION_REFUSED", field: "url" });
      const moved = await api.call("POST", `/api/v1/webhook-endpoints/${org.endpointId}`, { key: org.keys.write, body: { url } });
      // The fixture's endpoint is on loopback already (registered by the model with loopback allowed): the same URL is no change.
      if (url !== "http://127.0.0.1:8080/hooks") expect(moved.json.error, url).toMatchObject({ code: "DESTINATION_REFUSED", field: "url" });
    }
    const credentials = await api.call("POST", "/api/v1/webhook-endpoints", { key: org.keys.write, body: { url: "https://user:pw@93.184.215.14/x", eventTypes: ["payout_run.settled"] } });
    expect(credentials.json.error).toMatchObject({ code: "VALIDATION_FAILED", field: "url" });
    const unknownEvent = await api.call("POST", "/api/v1/webhook-endpoints", { key: org.keys.write, body: { url: PUBLIC_URL, eventTypes: ["payout_run.exploded"] } });
    expect(unknownEvent.json.error).toMatchObject({ code: "VALIDATION_FAILED", field: "eventTypes.0" });
    expect(await stateFingerprint(app.db)).toBe(before);
  });

  it("an endpoint the dispatcher disabled after persistent failure is enabled again through the API, and its log shows every attempt", async () => {
    receiver.answer = () => 500;
    const endpointId = await receiverEndpoint(["payout_run.ready"]);
    await readyRun();
    await dispatchUntil(app.db, async () => (await app.db.prisma.webhookEndpoint.findUniqueOrThrow({ where: { id: endpointId } })).status === "DISABLED", "the endpoint disabled");
    const stopped = await api.call("GET", `/api/v1/webhook-endpoints/${endpointId}`, { key: org.keys.read });
    expect(stopped.json).toMatchObject({ status: "DISABLED", disabledBySystem: true, disabledReason: expect.any(String), failedDeliveries: 1 });
    const log = await api.call("GET", `/api/v1/webhook-endpoints/${endpointId}/deliveries`, { key: org.keys.read });
    expect(log.json.data).toHaveLength(1);
    expect(log.json.data[0]).toMatchObject({ eventType: "payout_run.ready", status: "FAILED", attempts: 9, lastStatusCode: 500 });
    expect(log.json.data[0].attemptLog.map((a: { statusCode: number }) => a.statusCode)).toEqual(Array(9).fill(500));

    // Disabled, nothing is sent again: a redelivery is a conflict, nothing changed.
    const before = await stateFingerprint(app.db);
    const refused = await api.call("POST", `/api/v1/webhook-deliveries/${log.json.data[0].id}/redeliver`, { key: org.keys.write });
    expect(refused.status).toBe(409);
    expect(refused.json.error.code).toBe("ENDPOINT_NOT_ENABLED");
    expect(await stateFingerprint(app.db)).toBe(before);

    const enabled = await api.call("POST", `/api/v1/webhook-endpoints/${endpointId}`, { key: org.keys.write, body: { enabled: true } });
    expect(enabled.json).toMatchObject({ status: "ENABLED", disabledBySystem: false, disabledReason: null, disabledAt: null });
    receiver.answer = () => 200;
    const again = await api.call("POST", `/api/v1/webhook-deliveries/${log.json.data[0].id}/redeliver`, { key: org.keys.write });
    expect(again.status).toBe(202);
    expect(again.json).toMatchObject({ id: log.json.data[0].id, status: "PENDING", webhookId: log.json.data[0].webhookId, nextAttemptAt: expect.any(String) });
    await dispatchUntil(app.db, async () => receiver.received.some((r) => r.answered === 200), "the redelivery delivered");
    const delivered = await api.call("GET", `/api/v1/webhook-endpoints/${endpointId}/deliveries?status=DELIVERED`, { key: org.keys.read });
    expect(delivered.json.data).toEqual([expect.objectContaining({ status: "DELIVERED", attempts: 10, lastStatusCode: 200, deliveredAt: expect.any(String) })]);
    expect(delivered.json.data[0].attemptLog.at(-1)).toMatchObject({ attempt: 10, manual: true, statusCode: 200 });
    // Every request carried the same webhook-id, and verified with the secret the endpoint was registered with.
    expect(new Set(receiver.received.map((r) => r.webhookId))).toEqual(new Set([log.json.data[0].webhookId]));
    expect(receiver.received.every((r) => r.verifyError === null)).toBe(true);

    const disabled = await api.call("POST", `/api/v1/webhook-endpoints/${endpointId}`, { key: org.keys.write, body: { enabled: false } });
    expect(disabled.json).toMatchObject({ status: "DISABLED", disabledBySystem: false, disabledReason: "disabled through the API" });
  }, 120_000);

  it("the delivery log pages newest first by cursor, within the endpoint's organization", async () => {
    receiver.answer = () => 200;
    const endpointId = await receiverEndpoint(["payout_run.ready"]);
    for (let i = 0; i < 3; i++) await readyRun();
    const pages: string[] = [];
    let cursor: string | null = null;
    do {
      const page: Awaited<ReturnType<ApiClient["call"]>> = await api.call("GET", `/api/v1/webhook-endpoints/${endpointId}/deliveries?limit=2${cursor ? `&starting_after=${cursor}` : ""}`, { key: org.keys.read });
      expect(page.status).toBe(200);
      pages.push(...page.json.data.map((d: { id: string }) => d.id));
      cursor = page.json.next_cursor;
    } while (cursor);
    const rows = await app.db.query<{ id: string }>(sql`SELECT id::text FROM webhook_deliveries WHERE endpoint_id = ${endpointId}::uuid ORDER BY created_at DESC, id DESC`);
    expect(pages).toEqual(rows.map((r) => r.id));
    expect(pages).toHaveLength(3);
    // Another endpoint's delivery is no cursor here.
    const foreign = await api.call("GET", `/api/v1/webhook-endpoints/${endpointId}/deliveries?starting_after=${org.deliveryId}`, { key: org.keys.read });
    expect(foreign.status).toBe(400);
    expect(foreign.json.error.field).toBe("starting_after");
  });

  it("delete: the endpoint is gone from the API, its waiting deliveries close as FAILED, a body is refused", async () => {
    const created = await api.call("POST", "/api/v1/webhook-endpoints", { key: org.keys.write, body: { url: `${PUBLIC_URL}/deleted`, eventTypes: ["payout_run.ready"] } });
    const id = created.json.id as string;
    secrets.push(created.json.secret);
    await readyRun();
    await readyRun();
    expect(await app.db.prisma.webhookDelivery.count({ where: { endpointId: id, status: "PENDING" } })).toBe(2);
    const before = await stateFingerprint(app.db);
    const withBody = await api.call("DELETE", `/api/v1/webhook-endpoints/${id}`, { key: org.keys.write, body: { force: true } });
    expect(withBody.json.error).toMatchObject({ code: "VALIDATION_FAILED", field: "force" });
    expect(await stateFingerprint(app.db)).toBe(before);
    const deleted = await api.call("DELETE", `/api/v1/webhook-endpoints/${id}`, { key: org.keys.write });
    expect(deleted.status).toBe(200);
    expect(deleted.json).toEqual({ id, deleted: true });
    for (const [method, path] of [["GET", `/api/v1/webhook-endpoints/${id}`], ["GET", `/api/v1/webhook-endpoints/${id}/deliveries`], ["POST", `/api/v1/webhook-endpoints/${id}`], ["DELETE", `/api/v1/webhook-endpoints/${id}`]] as const) {
      const answer = await api.call(method, path, { key: org.keys.write });
      expect(answer.status, `${method} ${path}`).toBe(404);
    }
    const list = await api.call("GET", "/api/v1/webhook-endpoints?limit=100", { key: org.keys.read });
    expect(list.json.data.map((e: { id: string }) => e.id)).not.toContain(id);
    const deliveries = await app.db.prisma.webhookDelivery.findMany({ where: { endpointId: id } });
    expect(deliveries.map((d) => [d.status, d.lastError])).toEqual([["FAILED", "the endpoint was deleted"], ["FAILED", "the endpoint was deleted"]]);
  });

  it("no signing secret reached a log line", () => {
    const text = logged.join("");
    // The capture works: the dispatcher said it disabled the endpoint.
    expect(text).toContain("webhook endpoint disabled after persistent failure");
    for (const secret of secrets) expect(text).not.toContain(secret);
  });
});
