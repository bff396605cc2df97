// API keys and idempotency keys on the database, on PGlite and on a real PostgreSQL: a key is stored only as
// its sha256, named by a recognisable prefix, authenticates until revoked, marks its last use; an
// idempotency key is claimed by exactly one of many concurrent requests, replays its stored response,
// refuses another request and can be given back.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PrismaClient } from "~/generated/prisma/client";
import {
  claimIdempotencyKey,
  completeIdempotencyKey,
  canonicalJson,
  releaseIdempotencyKey,
  requestHash,
} from "~/models/api-idempotency.server";
import { API_KEY_PATTERN, ApiKeyError, authenticateApiKey, createApiKey, createApiKeyForOrganization, hashApiKey, listApiKeys, revokeApiKey } from "~/models/api-keys.server";
import { ApiRateLimiter } from "~/api/rate-limit.server";
import { databaseTargets, type TestDatabase } from "../setup/databases";
import { createTestOperator, createTestOrganization } from "../setup/operators";

describe("idempotency request hashes", () => {
  it("one request whatever the key order or spacing of its body; another body, path or method is another request", () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { f: 2, e: 3 }], c: null } })).toBe('{"a":{"c":null,"d":[1,{"e":3,"f":2}]},"b":1}');
    const hash = requestHash("POST", "/api/v1/recipients", { name: "A", walletAddress: "x" });
    expect(requestHash("POST", "/api/v1/recipients", JSON.parse('{ "walletAddress": "x",  "name": "A" }'))).toBe(hash);
    expect(requestHash("POST", "/api/v1/recipients", { name: "B", walletAddress: "x" })).not.toBe(hash);
    expect(requestHash("POST", "/api/v1/recipients/x", { name: "A", walletAddress: "x" })).not.toBe(hash);
  });
});

describe("per-key rate limiting", () => {
  it("allows `limit` requests at once, then refuses with the seconds until the next, and refills evenly", () => {
    let now = 0;
    const limiter = new ApiRateLimiter(60, () => now);
    for (let i = 0; i < 60; i++) expect(limiter.take("key-a")).toBeNull();
    expect(limiter.take("key-a")).toBe(1);
    // Another key has its own bucket.
    expect(limiter.take("key-b")).toBeNull();
    now += 1_000; // one request a second comes back
    expect(limiter.take("key-a")).toBeNull();
    expect(limiter.take("key-a")).toBe(1);
  });
});

describe.each(databaseTargets())("API keys on $name", (target) => {
  let db: TestDatabase;
  let prisma: PrismaClient;
  let organizationId: string;
  let otherOrganizationId: string;
  let adminId: string;
  beforeAll(async () => {
    db = await target.create();
    prisma = db.prisma;
    organizationId = (await createTestOrganization(prisma, "Keys")).id;
    otherOrganizationId = (await createTestOrganization(prisma, "Other")).id;
    adminId = (await createTestOperator(prisma, { organizationId, role: "ADMIN" })).id;
  });
  afterAll(async () => {
    await db?.destroy();
  });

  it("a new key is shown once: the database keeps its sha256 and its prefix, never the key", async () => {
    const created = await createApiKey(prisma, { organizationId, name: "  CRM sync ", scope: "WRITE", createdById: adminId, kind: "test" });
    expect(created.key).toMatch(API_KEY_PATTERN);
    expect(created.key.startsWith("sf_test_")).toBe(true);
    expect(created.prefix).toBe(created.key.slice(0, 16));
    const row = await prisma.apiKey.findUniqueOrThrow({ where: { id: created.id } });
    expect(row).toMatchObject({ name: "CRM sync", scope: "WRITE", prefix: created.prefix, tokenHash: hashApiKey(created.key), createdById: adminId, revokedAt: null });
    expect(JSON.stringify(row)).not.toContain(created.key.slice(16));
    const audit = await prisma.auditLog.findFirstOrThrow({ where: { entityType: "api_key", entityId: created.id } });
    expect(audit).toMatchObject({ action: "api_key.created", actorType: "OPERATOR", actorId: adminId, organizationId });
    expect(JSON.stringify(audit.data)).not.toContain(created.key.slice(16));
  });

  it("authenticates its organization's principal until revoked; a malformed, unknown or revoked key is nobody", async () => {
    const created = await createApiKey(prisma, { organizationId, name: "reader", scope: "READ", createdById: adminId, kind: "live" });
    expect(created.key.startsWith("sf_live_")).toBe(true);
    const now = new Date();
    expect(await authenticateApiKey(prisma, created.key, now)).toEqual({ apiKeyId: created.id, prefix: created.prefix, organizationId, scope: "READ" });
    expect((await prisma.apiKey.findUniqueOrThrow({ where: { id: created.id } })).lastUsedAt?.getTime()).toBe(now.getTime());
    // Used again within the minute: last_used_at is not rewritten on every request.
    await authenticateApiKey(prisma, created.key, new Date(now.getTime() + 10_000));
    expect((await prisma.apiKey.findUniqueOrThrow({ where: { id: created.id } })).lastUsedAt?.getTime()).toBe(now.getTime());
    expect(await authenticateApiKey(prisma, created.key.slice(0, -1) + (created.key.endsWith("A") ? "B" : "A"))).toBeNull();
    expect(await authenticateApiKey(prisma, "sf_live_short")).toBeNull();
    expect(await authenticateApiKey(prisma, `Bearer ${created.key}`)).toBeNull();

    // Another organization's admin cannot revoke it; its own can, once.
    await expect(revokeApiKey(prisma, { id: created.id, organizationId: otherOrganizationId, revokedById: null })).rejects.toMatchObject({ code: "API_KEY_NOT_FOUND" });
    const revoked = await revokeApiKey(prisma, { id: created.id, organizationId, revokedById: adminId });
    expect(revoked.revokedAt).not.toBeNull();
    expect(await authenticateApiKey(prisma, created.key)).toBeNull();
    await expect(revokeApiKey(prisma, { prefix: created.prefix, revokedById: null })).rejects.toMatchObject({ code: "API_KEY_REVOKED" });
    const listed = await listApiKeys(prisma, organizationId);
    expect(listed.find((k) => k.id === created.id)).toMatchObject({ prefix: created.prefix, scope: "READ", revokedAt: revoked.revokedAt });
    expect(await listApiKeys(prisma, otherOrganizationId)).toEqual([]);
  });

  it("the CLI creates keys by organization slug and revokes by prefix; an unknown slug or prefix is refused", async () => {
    const organization = await prisma.organization.findUniqueOrThrow({ where: { id: otherOrganizationId } });
    const created = await createApiKeyForOrganization(prisma, { slug: organization.slug, name: "automation", scope: "WRITE", kind: "test" });
    expect((await authenticateApiKey(prisma, created.key))?.organizationId).toBe(otherOrganizationId);
    await expect(createApiKeyForOrganization(prisma, { slug: "no-such-org", name: "x", scope: "READ", kind: "test" })).rejects.toBeInstanceOf(ApiKeyError);
    await expect(revokeApiKey(prisma, { prefix: "sf_test_00000000", revokedById: null })).rejects.toMatchObject({ code: "API_KEY_NOT_FOUND" });
    await revokeApiKey(prisma, { prefix: created.prefix, revokedById: null });
    expect(await authenticateApiKey(prisma, created.key)).toBeNull();
    const audit = await prisma.auditLog.findFirstOrThrow({ where: { entityId: created.id, action: "api_key.revoked" } });
    expect(audit.actorType).toBe("SYSTEM");
  });

  it("the database refuses a key row without a proper prefix or hash", async () => {
    await expect(prisma.apiKey.create({ data: { organizationId, name: "x", prefix: "sk_test_12345678", tokenHash: "0".repeat(64), scope: "READ" } })).rejects.toThrow();
    await expect(prisma.apiKey.create({ data: { organizationId, name: "x", prefix: "sf_test_12345678", tokenHash: "not-a-hash", scope: "READ" } })).rejects.toThrow();
  });

  it("idempotency: of 20 concurrent claims one wins; the others see it in progress, then its response; another body is a mismatch", async () => {
    const key = await createApiKey(prisma, { organizationId, name: "idem", scope: "WRITE", createdById: null, kind: "test" });
    const claim = { apiKeyId: key.id, key: "order-42", method: "POST", path: "/api/v1/recipients", requestHash: requestHash("POST", "/api/v1/recipients", { a: 1 }) };
    const results = await Promise.all(Array.from({ length: 20 }, () => claimIdempotencyKey(db, claim)));
    expect(results.filter((r) => r.kind === "claimed")).toHaveLength(1);
    expect(results.filter((r) => r.kind === "in_progress")).toHaveLength(19);
    await completeIdempotencyKey(db, { apiKeyId: key.id, key: "order-42", response: { status: 201, body: '{"id":"x"}' } });
    expect(await claimIdempotencyKey(db, claim)).toEqual({ kind: "replay", response: { status: 201, body: '{"id":"x"}' } });
    expect(await claimIdempotencyKey(db, { ...claim, requestHash: requestHash("POST", "/api/v1/recipients", { a: 2 }) })).toEqual({ kind: "mismatch" });
    // The same Idempotency-Key under another API key is another key.
    const other = await createApiKey(prisma, { organizationId, name: "idem 2", scope: "WRITE", createdById: null, kind: "test" });
    expect(await claimIdempotencyKey(db, { ...claim, apiKeyId: other.id })).toEqual({ kind: "claimed" });
    // Given back (the request failed): the next claim acts.
    await releaseIdempotencyKey(db, { apiKeyId: other.id, key: "order-42" });
    expect(await claimIdempotencyKey(db, { ...claim, apiKeyId: other.id })).toEqual({ kind: "claimed" });
  });

  it("idempotency: a key older than 24 hours starts afresh; a completed key is never released", async () => {
    const key = await createApiKey(prisma, { organizationId, name: "old", scope: "WRITE", createdById: null, kind: "test" });
    const claim = { apiKeyId: key.id, key: "k", method: "POST", path: "/p", requestHash: requestHash("POST", "/p", {}) };
    expect(await claimIdempotencyKey(db, claim)).toEqual({ kind: "claimed" });
    await completeIdempotencyKey(db, { apiKeyId: key.id, key: "k", response: { status: 200, body: "{}" } });
    await releaseIdempotencyKey(db, { apiKeyId: key.id, key: "k" });
    expect((await claimIdempotencyKey(db, claim)).kind).toBe("replay");
    await prisma.apiIdempotencyKey.updateMany({ where: { apiKeyId: key.id }, data: { createdAt: new Date(Date.now() - 25 * 60 * 60_000) } });
    expect(await claimIdempotencyKey(db, { ...claim, requestHash: requestHash("POST", "/p", { other: true }) })).toEqual({ kind: "claimed" });
  });
});
