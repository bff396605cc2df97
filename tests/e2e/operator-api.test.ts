// The operator API on the real server, on PGlite and PostgreSQL: every operation refuses a revoked key (401),
// a read key where it writes (403) and another organization's key (404, nothing of the other organization in
// the answer), each refusal changing nothing; every operation succeeds for its own key and refuses bad
// input (400 naming the field); idempotent POSTs replay, refuse a reused key with another body, and 50
// concurrent duplicates create one recipient. Every JSON answer is checked against the OpenAPI document.
import { Keypair } from "@solana/web3.js";
import { beforeAll, describe, expect, it } from "vitest";
import { useServedApp } from "../setup/app-server";
import { databaseTargets } from "../setup/databases";
import { apiClient, apiOrganization, stateFingerprint, type ApiClient, type ApiOrganization } from "../setup/operator-api";

process.env.STABLEFLOW_API_RATE_LIMIT = "1000000";
delete process.env.DODO_PAYMENTS_API_KEY;
delete process.env.STABLEFLOW_PUBLIC_URL;

const wallet = () => Keypair.generate().publicKey.toBase58();
const UNKNOWN_ID = "5d6c3e2a-1b4f-4c8d-9e7a-0f1b2c3d4e5f";

interface Case {
  name: string;
  method: "GET" | "POST" | "DELETE";
  path: (o: ApiOrganization) => string;
  write: boolean;
  /** Names a row of the organization (another organization's key must get a 404). */
  scoped: boolean;
  body?: (o: ApiOrganization) => unknown;
  /** A request the schema refuses, and the field it must name. */
  invalid: { path?: (o: ApiOrganization) => string; body?: unknown; field: string };
  /** Statuses a correct request may get here (run actions without settlement: 503). Cases run in this order. */
  ok: number[];
}

const CASES: Case[] = [
  { name: "listRecipients", method: "GET", path: () => "/api/v1/recipients?status=ACTIVE", write: false, scoped: false, invalid: { path: () => "/api/v1/recipients?status=GONE", field: "status" }, ok: [200] },
  {
    name: "createRecipient",
    method: "POST",
    path: () => "/api/v1/recipients",
    write: true,
    scoped: false,
    body: () => ({ name: "Created by API", walletAddress: wallet(), tokenAccount: wallet() }),
    invalid: { body: { name: "x", walletAddress: wallet(), tokenAccount: wallet(), nickname: "unknown field" }, field: "nickname" },
    ok: [201],
  },
  { name: "getRecipient", method: "GET", path: (o) => `/api/v1/recipients/${o.recipientIds[0]}`, write: false, scoped: true, invalid: { path: () => "/api/v1/recipients/not-a-uuid", field: "recipientId" }, ok: [200] },
  {
    name: "setRecipientStatus",
    method: "POST",
    path: (o) => `/api/v1/recipients/${o.recipientIds[1]}/status`,
    write: true,
    scoped: true,
    body: () => ({ status: "PAUSED" }),
    invalid: { body: { status: "REMOVED" }, field: "status" },
    ok: [200],
  },
  { name: "listPolicyVersions", method: "GET", path: () => "/api/v1/policy-versions?limit=5", write: false, scoped: false, invalid: { path: () => "/api/v1/policy-versions?limit=0", field: "limit" }, ok: [200] },
  {
    name: "createPolicyVersion",
    method: "POST",
    path: () => "/api/v1/policy-versions",
    write: true,
    scoped: false,
    body: (o) => ({ policyName: "API policy", rules: [{ recipientId: o.recipientIds[0], kind: "FIXED", fixedAmount: "1500000" }] }),
    invalid: { body: { policyName: "API policy", rules: [{ recipientId: UNKNOWN_ID, kind: "PERCENTAGE", basisPoints: 20000 }] }, field: "rules.0.basisPoints" },
    ok: [201],
  },
  { name: "getPolicyVersion", method: "GET", path: (o) => `/api/v1/policy-versions/${o.policyVersionId}`, write: false, scoped: true, invalid: { path: () => "/api/v1/policy-versions/42", field: "versionId" }, ok: [200] },
  {
    name: "activatePolicyVersion",
    method: "POST",
    path: (o) => `/api/v1/policy-versions/${o.policyVersionId}/activate`,
    write: true,
    scoped: true,
    invalid: { path: (o) => `/api/v1/policy-versions/${o.policyVersionId}/activate`, body: { now: true }, field: "now" },
    ok: [200],
  },
  { name: "listPayments", method: "GET", path: () => "/api/v1/payments?created_gte=2000-01-01T00:00:00Z", write: false, scoped: false, invalid: { path: () => "/api/v1/payments?created_gte=yesterday", field: "created_gte" }, ok: [200] },
  { name: "getPayment", method: "GET", path: (o) => `/api/v1/payments/${o.paymentId}`, write: false, scoped: true, invalid: { path: () => "/api/v1/payments/x", field: "paymentId" }, ok: [200] },
  { name: "listPayoutRuns", method: "GET", path: () => "/api/v1/payout-runs?status=READY", write: false, scoped: false, invalid: { path: () => "/api/v1/payout-runs?starting_after=nope", field: "starting_after" }, ok: [200] },
  { name: "getPayoutRun", method: "GET", path: (o) => `/api/v1/payout-runs/${o.runId}`, write: false, scoped: true, invalid: { path: () => "/api/v1/payout-runs/1", field: "runId" }, ok: [200] },
  { name: "simulatePayoutRun", method: "POST", path: (o) => `/api/v1/payout-runs/${o.runId}/simulate`, write: false, scoped: true, invalid: { path: () => "/api/v1/payout-runs/1/simulate", field: "runId" }, ok: [503] },
  {
    name: "approvePayoutRun",
    method: "POST",
    path: (o) => `/api/v1/payout-runs/${o.runId}/approve`,
    write: true,
    scoped: true,
    body: () => ({ comment: "looks right" }),
    invalid: { body: { comment: 42 }, field: "comment" },
    ok: [503],
  },
  { name: "executePayoutRun", method: "POST", path: (o) => `/api/v1/payout-runs/${o.runId}/execute`, write: true, scoped: true, invalid: { body: { force: true }, field: "force" }, ok: [503] },
  { name: "retryPayoutRun", method: "POST", path: (o) => `/api/v1/payout-runs/${o.runId}/retry`, write: true, scoped: true, invalid: { body: { batches: [] }, field: "batches" }, ok: [503] },
  {
    name: "rejectPayoutRun",
    method: "POST",
    path: (o) => `/api/v1/payout-runs/${o.runId}/reject`,
    write: true,
    scoped: true,
    body: () => ({ comment: "wrong amounts" }),
    invalid: { body: { comment: "" }, field: "comment" },
    ok: [200],
  },
  {
    name: "cancelPayoutRun",
    method: "POST",
    path: (o) => `/api/v1/payout-runs/${o.runId}/cancel`,
    write: true,
    scoped: true,
    body: () => ({ reason: "rejected by the CRM" }),
    invalid: { body: {}, field: "reason" },
    ok: [200],
  },
  { name: "listBalances", method: "GET", path: () => "/api/v1/balances", write: false, scoped: false, invalid: { path: () => "/api/v1/balances?sort=desc", field: "sort" }, ok: [200] },
  { name: "getTreasury", method: "GET", path: () => "/api/v1/treasury", write: false, scoped: false, invalid: { path: () => "/api/v1/treasury?x=1", field: "x" }, ok: [200] },
  { name: "exportCsv", method: "GET", path: () => "/api/v1/exports/payments?from=2026-01-01&to=2026-12-31", write: false, scoped: false, invalid: { path: () => "/api/v1/exports/payments?from=2026-02-30&to=2026-03-01", field: "from" }, ok: [200] },
  { name: "listWebhookEndpoints", method: "GET", path: () => "/api/v1/webhook-endpoints?status=ENABLED", write: false, scoped: false, invalid: { path: () => "/api/v1/webhook-endpoints?status=BROKEN", field: "status" }, ok: [200] },
  {
    name: "createWebhookEndpoint",
    method: "POST",
    path: () => "/api/v1/webhook-endpoints",
    write: true,
    scoped: false,
    body: () => ({ url: "https://93.184.215.14/hooks/crm", eventTypes: ["payout_run.settled"] }),
    invalid: { body: { url: "ftp://93.184.215.14/hooks", eventTypes: ["payout_run.settled"] }, field: "url" },
    ok: [201],
  },
  { name: "getWebhookEndpoint", method: "GET", path: (o) => `/api/v1/webhook-endpoints/${o.endpointId}`, write: false, scoped: true, invalid: { path: () => "/api/v1/webhook-endpoints/nope", field: "endpointId" }, ok: [200] },
  {
    name: "updateWebhookEndpoint",
    method: "POST",
    path: (o) => `/api/v1/webhook-endpoints/${o.endpointId}`,
    write: true,
    scoped: true,
    body: () => ({ description: "the CRM", eventTypes: ["payout_run.ready", "payout_run.settled"] }),
    invalid: { body: { eventTypes: [] }, field: "eventTypes" },
    ok: [200],
  },
  { name: "listWebhookDeliveries", method: "GET", path: (o) => `/api/v1/webhook-endpoints/${o.endpointId}/deliveries`, write: false, scoped: true, invalid: { path: (o) => `/api/v1/webhook-endpoints/${o.endpointId}/deliveries?limit=500`, field: "limit" }, ok: [200] },
  {
    name: "redeliverWebhookDelivery",
    method: "POST",
    path: (o) => `/api/v1/webhook-deliveries/${o.deliveryId}/redeliver`,
    write: true,
    scoped: true,
    invalid: { path: (o) => `/api/v1/webhook-deliveries/${o.deliveryId}/redeliver`, body: { now: true }, field: "now" },
    ok: [202],
  },
  { name: "deleteWebhookEndpoint", method: "DELETE", path: (o) => `/api/v1/webhook-endpoints/${o.endpointId}`, write: true, scoped: true, invalid: { path: () => "/api/v1/webhook-endpoints/1", field: "endpointId" }, ok: [200] },
];

describe.each(databaseTargets())("operator API on $name", (target) => {
  const app = useServedApp(target);
  let a: ApiOrganization;
  let b: ApiOrganization;
  let api: ApiClient;

  beforeAll(async () => {
    a = await apiOrganization(app.db, "Org A");
    b = await apiOrganization(app.db, "Org B");
    api = await apiClient(app.server.url);
  });

  it("every operation of the document is covered by a case here", () => {
    const documented = Object.values(api.validator.document.paths).flatMap((methods) => Object.values(methods).map((op) => (op as unknown as { operationId: string }).operationId));
    expect(CASES.map((c) => c.name).sort()).toEqual(documented.sort());
  });

  it.each(CASES)("error: $name with a revoked key, a malformed one or none is 401, nothing changed", async (c) => {
    const before = await stateFingerprint(app.db);
    for (const key of [a.keys.revoked, "sf_test_notarealkeyatall", null]) {
      const answer = await api.call(c.method, c.path(a), { key, body: c.body?.(a) });
      expect(answer.status).toBe(401);
      expect(answer.json.error.code).toBe("UNAUTHENTICATED");
      expect(answer.headers.get("www-authenticate")).toMatch(/^Bearer/);
    }
    expect(await stateFingerprint(app.db)).toBe(before);
  });

  it.each(CASES.filter((c) => c.write))("error: $name with a read key is 403, nothing changed", async (c) => {
    const before = await stateFingerprint(app.db);
    const answer = await api.call(c.method, c.path(a), { key: a.keys.read, body: c.body?.(a) });
    expect(answer.status).toBe(403);
    expect(answer.json.error.code).toBe("INSUFFICIENT_SCOPE");
    expect(await stateFingerprint(app.db)).toBe(before);
  });

  it.each(CASES.filter((c) => c.scoped))("error: $name on another organization's row is 404, naming nothing of it, nothing changed", async (c) => {
    const before = await stateFingerprint(app.db);
    const answer = await api.call(c.method, c.path(a), { key: b.keys.write, body: c.body?.(a) });
    expect(answer.status).toBe(404);
    expect(answer.json.error.code).toMatch(/NOT_FOUND$/);
    for (const id of [a.id, a.runId, a.paymentId, a.policyVersionId, a.endpointId, a.deliveryId, a.endpointSecret, ...a.recipientIds]) expect(answer.text).not.toContain(id);
    expect(await stateFingerprint(app.db)).toBe(before);
  });

  it.each(CASES)("error: $name refuses bad input with 400 naming the field, nothing changed", async (c) => {
    const before = await stateFingerprint(app.db);
    const answer = await api.call(c.method, (c.invalid.path ?? c.path)(a), { key: a.keys.write, body: c.invalid.body });
    expect(answer.status).toBe(400);
    expect(answer.json.error).toMatchObject({ code: "VALIDATION_FAILED", field: c.invalid.field });
    expect(await stateFingerprint(app.db)).toBe(before);
  });

  it("lists show only the key's organization, newest first, cut by cursor", async () => {
    for (const path of ["/api/v1/recipients", "/api/v1/payments", "/api/v1/payout-runs", "/api/v1/policy-versions", "/api/v1/balances", "/api/v1/webhook-endpoints"]) {
      const answer = await api.call("GET", path, { key: b.keys.read });
      expect(answer.status).toBe(200);
      expect(answer.text).not.toContain(a.id);
      for (const id of [a.runId, a.paymentId, a.policyVersionId, a.endpointId, ...a.recipientIds]) expect(answer.text).not.toContain(id);
    }
    const first = await api.call("GET", "/api/v1/recipients?limit=1", { key: b.keys.read });
    expect(first.json.data).toHaveLength(1);
    expect(first.json.has_more).toBe(true);
    const second = await api.call("GET", `/api/v1/recipients?limit=1&starting_after=${first.json.next_cursor}`, { key: b.keys.read });
    expect(second.json.data[0].id).not.toBe(first.json.data[0].id);
    expect(b.recipientIds).toContain(second.json.data[0].id);
    // A cursor of another organization names nothing in this list.
    const foreign = await api.call("GET", `/api/v1/recipients?starting_after=${a.recipientIds[0]}`, { key: b.keys.read });
    expect(foreign.status).toBe(400);
    expect(foreign.json.error.field).toBe("starting_after");
  });

  it("reads answer the rows with money as decimal strings of minor units", async () => {
    const payment = await api.call("GET", `/api/v1/payments/${b.paymentId}`, { key: b.keys.read });
    expect(payment.json).toMatchObject({ id: b.paymentId, totalAmount: "12345", settlementAmount: "12000", netSettlementAmount: "12000", currency: "USD" });
    expect(payment.json.events).toEqual([expect.objectContaining({ type: "payment.succeeded", status: "PROCESSED" })]);
    const run = await api.call("GET", `/api/v1/payout-runs/${b.runId}`, { key: b.keys.read });
    expect(run.json).toMatchObject({ id: b.runId, status: "READY", distributable: "3000000", totalTransfers: "2500000", treasuryRemainder: "500000" });
    expect(run.json.transfers).toEqual([expect.objectContaining({ recipientId: b.recipientIds[0], amount: "2500000" })]);
    const csv = await api.call("GET", "/api/v1/exports/payments?from=2000-01-01&to=2099-12-31", { key: b.keys.read });
    expect(csv.headers.get("content-type")).toMatch(/^text\/csv/);
    expect(csv.text).toContain(payment.json.dodoPaymentId);
    expect(csv.text).not.toContain(a.paymentId);
  });

  it("writes succeed for the key's organization, audited with the key's prefix", async () => {
    const results: Record<string, number> = {};
    // Order matters: reject before cancel (cancel ends the run), activate after the version exists.
    for (const c of CASES) {
      const answer = await api.call(c.method, c.path(a), { key: a.keys.write, body: c.body?.(a) });
      expect(c.ok, `${c.name}: ${answer.text.slice(0, 300)}`).toContain(answer.status);
      results[c.name] = answer.status;
    }
    const run = await api.call("GET", `/api/v1/payout-runs/${a.runId}`, { key: a.keys.read });
    expect(run.json.status).toBe("CANCELLED");
    expect(run.json.approvals).toEqual([expect.objectContaining({ decision: "REJECT", by: "API_KEY", apiKeyPrefix: a.keys.write.slice(0, 16) })]);
    const version = await api.call("GET", `/api/v1/policy-versions/${a.policyVersionId}`, { key: a.keys.read });
    expect(version.json.status).toBe("ACTIVE");
    const paused = await api.call("GET", `/api/v1/recipients/${a.recipientIds[1]}`, { key: a.keys.read });
    expect(paused.json.status).toBe("PAUSED");
    const audit = await app.db.prisma.auditLog.findMany({ where: { organizationId: a.id, actorType: "API_KEY" } });
    expect(new Set(audit.map((row) => row.actorId))).toEqual(new Set([a.keys.write.slice(0, 16)]));
    expect(audit.map((row) => row.action)).toEqual(
      expect.arrayContaining([
        "recipient.created", "recipient.paused", "policy.version_created", "payout_run.rejected", "payout_run.cancelled",
        "webhook_endpoint.created", "webhook_endpoint.updated", "webhook_delivery.redelivered", "webhook_endpoint.deleted",
      ]),
    );
    const deleted = await app.db.prisma.webhookEndpoint.findUniqueOrThrow({ where: { id: a.endpointId } });
    expect(deleted).toMatchObject({ description: "the CRM", eventTypes: ["payout_run.ready", "payout_run.settled"], deletedAt: expect.any(Date) });
    // Without settlement in the process, actions that need the chain say so (503), changing nothing.
    expect(results.approvePayoutRun).toBe(503);
  });

  it("ledger refusals keep their codes: a taken wallet is 409, an unknown rule recipient 422 naming the rule", async () => {
    const taken = await app.db.prisma.recipient.findUniqueOrThrow({ where: { id: b.recipientIds[0] } });
    const before = await stateFingerprint(app.db);
    const duplicate = await api.call("POST", "/api/v1/recipients", { key: b.keys.write, body: { name: "again", walletAddress: taken.walletAddress, tokenAccount: wallet() } });
    expect(duplicate.status).toBe(409);
    expect(duplicate.json.error.code).toBe("RECIPIENT_WALLET_TAKEN");
    const unknown = await api.call("POST", "/api/v1/policy-versions", { key: b.keys.write, body: { policyName: "P", rules: [{ recipientId: a.recipientIds[0], kind: "PERCENTAGE", basisPoints: 100 }] } });
    expect(unknown.status).toBe(422);
    expect(unknown.json.error).toMatchObject({ code: "RULE_RECIPIENT_UNKNOWN", field: "rules.0" });
    expect(await stateFingerprint(app.db)).toBe(before);
  });

  it("idempotency: a replay answers the original response; the same key with another body is 409; another key is another request", async () => {
    const body = { name: "Idempotent", walletAddress: wallet(), tokenAccount: wallet() };
    const headers = { "idempotency-key": "signup-1001" };
    const first = await api.call("POST", "/api/v1/recipients", { key: b.keys.write, body, headers });
    expect(first.status).toBe(201);
    const replay = await api.call("POST", "/api/v1/recipients", { key: b.keys.write, rawBody: JSON.stringify({ tokenAccount: body.tokenAccount, walletAddress: body.walletAddress, name: body.name }), headers: { ...headers, "content-type": "application/json" } });
    expect(replay.status).toBe(201);
    expect(replay.text).toBe(first.text);
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    const before = await stateFingerprint(app.db);
    const conflicting = await api.call("POST", "/api/v1/recipients", { key: b.keys.write, body: { ...body, name: "Another" }, headers });
    expect(conflicting.status).toBe(409);
    expect(conflicting.json.error).toMatchObject({ code: "IDEMPOTENCY_KEY_REUSED", field: "Idempotency-Key" });
    expect(await stateFingerprint(app.db)).toBe(before);
    // The same Idempotency-Key from another key of the organization is its own request (the wallet is taken now).
    const other = await api.call("POST", "/api/v1/recipients", { key: b.keys.write2, body, headers });
    expect(other.status).toBe(409);
    expect(other.json.error.code).toBe("RECIPIENT_WALLET_TAKEN");
    // A refusal with a stored answer replays too (it is the original response).
    const again = await api.call("POST", "/api/v1/recipients", { key: b.keys.write2, body, headers });
    expect(again.text).toBe(other.text);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
  });

  it("idempotency: 50 concurrent duplicates create one recipient and all answer it", async () => {
    const body = { name: "Concurrent", walletAddress: wallet(), tokenAccount: wallet() };
    const answers = await Promise.all(
      Array.from({ length: 50 }, () => api.call("POST", "/api/v1/recipients", { key: b.keys.write, body, headers: { "idempotency-key": "burst-7" } })),
    );
    expect(answers.map((r) => r.status)).toEqual(Array(50).fill(201));
    expect(new Set(answers.map((r) => r.json.id)).size).toBe(1);
    expect(await app.db.prisma.recipient.count({ where: { walletAddress: body.walletAddress } })).toBe(1);
    expect(await app.db.prisma.auditLog.count({ where: { entityId: answers[0]!.json.id, action: "recipient.created" } })).toBe(1);
  }, 120_000);

  it("error: an Idempotency-Key that is not printable ASCII is refused before anything happens", async () => {
    const before = await stateFingerprint(app.db);
    const answer = await api.call("POST", "/api/v1/recipients", { key: b.keys.write, body: { name: "x", walletAddress: wallet(), tokenAccount: wallet() }, headers: { "idempotency-key": "has space" } });
    expect(answer.status).toBe(400);
    expect(answer.json.error.code).toBe("IDEMPOTENCY_KEY_INVALID");
    expect(await stateFingerprint(app.db)).toBe(before);
  });

  it("the key's last use is recorded, and revoking it in the model refuses its next request", async () => {
    const row = await app.db.prisma.apiKey.findFirstOrThrow({ where: { prefix: b.keys.read.slice(0, 16) } });
    expect(row.lastUsedAt).not.toBeNull();
    await app.db.prisma.apiKey.update({ where: { id: row.id }, data: { revokedAt: new Date() } });
    expect((await api.call("GET", "/api/v1/recipients", { key: b.keys.read })).status).toBe(401);
  });
});
