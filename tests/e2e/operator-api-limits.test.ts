// The operator API's limits on the real server: a key's requests beyond STABLEFLOW_API_RATE_LIMIT a minute
// are 429 with Retry-After (another key is not slowed), a body over 64 KiB is 413 and a body that is not
// JSON 415, unknown methods 405; none of them changes anything. Also the console pages of the API: an admin
// creates a key (shown once, stored hashed) and revokes it; a viewer cannot; /console/api renders the document.
import { Keypair } from "@solana/web3.js";
import { beforeAll, describe, expect, it } from "vitest";
import { hashApiKey } from "~/models/api-keys.server";
import { useServedApp } from "../setup/app-server";
import { databaseTargets } from "../setup/databases";
import { apiClient, apiOrganization, stateFingerprint, type ApiClient, type ApiOrganization } from "../setup/operator-api";
import { postForm, signedInOperator, type SignedInOperator } from "../setup/operators";

const LIMIT = 8;
process.env.STABLEFLOW_API_RATE_LIMIT = String(LIMIT);
delete process.env.DODO_PAYMENTS_API_KEY;
delete process.env.STABLEFLOW_PUBLIC_URL;

describe.each(databaseTargets())("operator API limits and console pages on $name", (target) => {
  const app = useServedApp(target);
  let org: ApiOrganization;
  let api: ApiClient;
  let admin: SignedInOperator;
  let viewer: SignedInOperator;

  beforeAll(async () => {
    org = await apiOrganization(app.db, "Limited");
    api = await apiClient(app.server.url);
    admin = await signedInOperator(app.db.prisma, { organizationId: org.id, role: "ADMIN" });
    viewer = await signedInOperator(app.db.prisma, { organizationId: org.id, role: "VIEWER" });
  });

  it("error: a body over 64 KiB is 413, a body that is not JSON 415, an unknown method 405; nothing changed", async () => {
    const before = await stateFingerprint(app.db);
    const big = await api.call("POST", "/api/v1/recipients", { key: org.keys.write2, rawBody: JSON.stringify({ name: "x".repeat(70_000) }), headers: { "content-type": "application/json" } });
    expect(big.status).toBe(413);
    expect(big.json.error.code).toBe("BODY_TOO_LARGE");
    const form = await api.call("POST", "/api/v1/recipients", { key: org.keys.write2, rawBody: "name=x", headers: { "content-type": "application/x-www-form-urlencoded" } });
    expect(form.status).toBe(415);
    expect(form.json.error.code).toBe("UNSUPPORTED_MEDIA_TYPE");
    const broken = await api.call("POST", "/api/v1/recipients", { key: org.keys.write2, rawBody: '{"name":', headers: { "content-type": "application/json" } });
    expect(broken.status).toBe(400);
    expect(broken.json.error.code).toBe("INVALID_JSON");
    const deleted = await api.call("DELETE", `/api/v1/recipients/${org.recipientIds[0]}`, { key: org.keys.write2 });
    expect(deleted.status).toBe(405);
    expect(deleted.headers.get("allow")).toBe("GET");
    expect(await stateFingerprint(app.db)).toBe(before);
  });

  it(`error: the ${LIMIT + 1}th request of a minute is 429 with Retry-After, for that key only`, async () => {
    const statuses: number[] = [];
    let refused: Awaited<ReturnType<ApiClient["call"]>> | undefined;
    for (let i = 0; i < LIMIT + 1; i++) {
      const answer = await api.call("GET", "/api/v1/recipients", { key: org.keys.read });
      statuses.push(answer.status);
      if (answer.status === 429) refused = answer;
    }
    expect(statuses.slice(0, LIMIT)).toEqual(Array(LIMIT).fill(200));
    expect(statuses[LIMIT]).toBe(429);
    expect(refused!.json.error.code).toBe("RATE_LIMITED");
    expect(Number(refused!.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    // A write refused for its rate creates nothing.
    const before = await stateFingerprint(app.db);
    const writes = [];
    for (let i = 0; i < LIMIT + 1; i++) {
      writes.push(await api.call("POST", "/api/v1/recipients", { key: org.keys.write, body: { name: `r${i}`, walletAddress: Keypair.generate().publicKey.toBase58(), tokenAccount: Keypair.generate().publicKey.toBase58() } }));
    }
    expect(writes.filter((w) => w.status === 201)).toHaveLength(LIMIT);
    expect(writes[LIMIT]!.status).toBe(429);
    expect(await app.db.prisma.recipient.count({ where: { organizationId: org.id, name: { startsWith: "r" } } })).toBe(LIMIT);
    expect(before).not.toBe(await stateFingerprint(app.db));
  });

  it("an admin creates a key in the console, shown once and stored as its hash; it works; revoking it refuses it", async () => {
    const created = await postForm(app.server.url, "/console/api-keys", { intent: "create", csrf: admin.csrf, name: "Console key", scope: "WRITE" }, { cookie: admin.cookie });
    expect(created.status).toBe(200);
    const html = await created.text();
    const key = /value="(sf_test_[A-Za-z0-9]{40})"/.exec(html)?.[1];
    expect(key).toBeDefined();
    const row = await app.db.prisma.apiKey.findUniqueOrThrow({ where: { tokenHash: hashApiKey(key!) } });
    expect(row).toMatchObject({ name: "Console key", scope: "WRITE", createdById: admin.id, organizationId: org.id });
    const page = await (await fetch(`${app.server.url}/console/api-keys`, { headers: { cookie: admin.cookie } })).text();
    expect(page).toContain(row.prefix);
    expect(page).not.toContain(key!);
    expect((await api.call("GET", "/api/v1/treasury", { key })).status).toBe(200);
    const revoked = await postForm(app.server.url, "/console/api-keys", { intent: "revoke", csrf: admin.csrf, keyId: row.id }, { cookie: admin.cookie });
    expect(revoked.status).toBe(200);
    expect((await api.call("GET", "/api/v1/treasury", { key })).status).toBe(401);
  });

  it("error: a viewer cannot create or revoke keys, and a form without the CSRF token changes nothing", async () => {
    const before = await stateFingerprint(app.db);
    const byViewer = await postForm(app.server.url, "/console/api-keys", { intent: "create", csrf: viewer.csrf, name: "nope", scope: "READ" }, { cookie: viewer.cookie });
    expect(byViewer.status).toBe(403);
    const key = await app.db.prisma.apiKey.findFirstOrThrow({ where: { organizationId: org.id, revokedAt: null } });
    const revokeByViewer = await postForm(app.server.url, "/console/api-keys", { intent: "revoke", csrf: viewer.csrf, keyId: key.id }, { cookie: viewer.cookie });
    expect(revokeByViewer.status).toBe(403);
    const noCsrf = await postForm(app.server.url, "/console/api-keys", { intent: "create", csrf: "wrong", name: "nope", scope: "READ" }, { cookie: admin.cookie });
    expect(noCsrf.status).toBe(403);
    const other = await signedInOperator(app.db.prisma, { organizationId: (await app.db.prisma.organization.create({ data: { slug: `other-${Date.now()}`, name: "Other" } })).id, role: "ADMIN" });
    const foreign = await postForm(app.server.url, "/console/api-keys", { intent: "revoke", csrf: other.csrf, keyId: key.id }, { cookie: other.cookie });
    expect(foreign.status).toBe(404);
    expect(await stateFingerprint(app.db)).toBe(before);
  });

  it("/console/api renders every operation of the document on the server, without JavaScript", async () => {
    const html = await (await fetch(`${app.server.url}/console/api`, { headers: { cookie: viewer.cookie } })).text();
    const document = api.validator.document;
    for (const [path, methods] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(methods)) {
        expect(html.includes(`id="${(operation as unknown as { operationId: string }).operationId}"`)).toBe(true);
        expect(html.includes(`${method.toUpperCase()} ${path}`), `${method} ${path}`).toBe(true);
      }
    }
    expect(html.includes("Needs a write key.") && html.includes("Needs a read key.")).toBe(true);
    const anonymous = await fetch(`${app.server.url}/console/api`, { redirect: "manual" });
    expect(anonymous.status).toBe(302);
  });
});
