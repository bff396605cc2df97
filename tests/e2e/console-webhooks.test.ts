// /console/webhooks on the real server: every mutation refused for anonymous visitors, viewers (and operators
// where only admins may), another organization's admin and bad CSRF, with nothing changed; the same requests
// from the right operator change what they name; the signing secret is shown once, in the answer that created
// it, and never in a page again; viewers read the endpoints and the delivery log; the shell links the page.
import { beforeAll, describe, expect, it } from "vitest";
import { ensureDefaultOrganization } from "~/models/organizations.server";
import { createEndpoint, setEndpointEnabled } from "~/models/outbound-webhooks.server";
import { sql } from "~/utils/sql.server";
import { useServedApp } from "../setup/app-server";
import { databaseTargets, type TestDatabase } from "../setup/databases";
import { createTestOrganization, csrfPair, postForm, signedInOperator, type SignedInOperator } from "../setup/operators";

// Loopback destinations are allowed by the setting, as in any test (production refuses them without it).
process.env.STABLEFLOW_WEBHOOK_ALLOW_PRIVATE_URLS = "true";

async function snapshot(db: TestDatabase) {
  const p = db.prisma;
  const [endpoints, deliveries, audit] = await Promise.all([
    p.webhookEndpoint.findMany({ orderBy: { id: "asc" }, select: { id: true, url: true, status: true, disabledAt: true, deletedAt: true, organizationId: true } }),
    p.webhookDelivery.findMany({ orderBy: { id: "asc" }, select: { id: true, status: true, scheduleFrom: true, nextAttemptAt: true } }),
    p.auditLog.count(),
  ]);
  return { endpoints, deliveries, audit };
}

type Who = "anonymous" | "viewer" | "operator" | "otherOrgAdmin" | "admin";

describe.each(databaseTargets())("/console/webhooks on $name", (target) => {
  const app = useServedApp(target);
  const people = {} as Record<Exclude<Who, "anonymous">, SignedInOperator>;
  let enabledId: string;
  let disabledId: string;
  let deliveryId: string;

  beforeAll(async () => {
    const prisma = app.db.prisma;
    const org = await ensureDefaultOrganization(prisma);
    const other = await createTestOrganization(prisma, "Org B");
    people.admin = await signedInOperator(prisma, { organizationId: org.id, role: "ADMIN" });
    people.operator = await signedInOperator(prisma, { organizationId: org.id, role: "OPERATOR" });
    people.viewer = await signedInOperator(prisma, { organizationId: org.id, role: "VIEWER" });
    people.otherOrgAdmin = await signedInOperator(prisma, { organizationId: other.id, role: "ADMIN" });
    const actor = { operatorId: people.admin.id, organizationId: org.id, role: "ADMIN" as const };
    const policy = { allowPrivate: true };
    enabledId = (await createEndpoint(prisma, actor, { url: "http://127.0.0.1:9/enabled", eventTypes: ["payout_run.ready"] }, policy)).id;
    disabledId = (await createEndpoint(prisma, actor, { url: "http://127.0.0.1:9/disabled", eventTypes: ["payout_run.settled"] }, policy)).id;
    await setEndpointEnabled(prisma, actor, disabledId, false);
    // A READY run: its payout_run.ready is queued for the enabled endpoint by the database.
    await app.db.query(sql`
      INSERT INTO payout_runs (organization_id, kind, status, token_decimals, distributable, total_transfers, treasury_remainder)
      VALUES (${org.id}::uuid, 'SWEEP', 'READY', 6, 0, 0, 0)`);
    deliveryId = (await prisma.webhookDelivery.findFirstOrThrow({ where: { endpointId: enabledId } })).id;
  });

  function cookieOf(who: Who): { cookie: string; csrf: string } {
    if (who === "anonymous") return csrfPair();
    return { cookie: people[who].cookie, csrf: people[who].csrf };
  }

  // (Registering names no row: another organization's admin registering registers in their own organization.)
  const mutations: { intent: string; refused: readonly Who[]; fields: () => Record<string, string> }[] = [
    { intent: "create", refused: ["anonymous", "viewer", "operator"], fields: () => ({ url: "http://127.0.0.1:9/new", eventTypes: "payout_run.ready" }) },
    { intent: "disable", refused: ["anonymous", "viewer", "operator", "otherOrgAdmin"], fields: () => ({ endpointId: enabledId }) },
    { intent: "enable", refused: ["anonymous", "viewer", "operator", "otherOrgAdmin"], fields: () => ({ endpointId: disabledId }) },
    { intent: "delete", refused: ["anonymous", "viewer", "operator", "otherOrgAdmin"], fields: () => ({ endpointId: enabledId }) },
    { intent: "redeliver", refused: ["anonymous", "viewer", "otherOrgAdmin"], fields: () => ({ deliveryId }) },
  ];
  const matrix = mutations.flatMap((m) => m.refused.map((who) => ({ ...m, who })));

  it.each(matrix)("error: POST /console/webhooks intent=$intent refused for $who, nothing changed", async ({ intent, fields, who }) => {
    const before = await snapshot(app.db);
    const { cookie, csrf } = cookieOf(who);
    const response = await postForm(app.server.url, "/console/webhooks", { intent, csrf, ...fields() }, { cookie });
    if (who === "anonymous") {
      expect(response.status).toBe(302);
      expect(response.headers.get("location")).toMatch(/^\/login\?next=/);
    } else if (who === "otherOrgAdmin") {
      expect(response.status).toBe(404);
      expect(await response.text()).toMatch(/no such (webhook endpoint|delivery) in your organization/);
    } else {
      expect(response.status).toBe(403);
      expect(await response.text()).toMatch(/Viewers can see|Only admins/);
    }
    expect(await snapshot(app.db)).toEqual(before);
  });

  it.each(mutations)("error: POST intent=$intent refused for the admin with a missing or wrong CSRF token or another site's Origin; nothing changed", async ({ intent, fields }) => {
    const admin = people.admin;
    for (const attempt of [
      { label: "missing token", body: { intent, ...fields() }, origin: undefined as string | undefined },
      { label: "wrong token", body: { intent, csrf: csrfPair().csrf, ...fields() }, origin: undefined },
      { label: "foreign Origin", body: { intent, csrf: admin.csrf, ...fields() }, origin: "http://evil.example" },
    ]) {
      const before = await snapshot(app.db);
      const response = await postForm(app.server.url, "/console/webhooks", attempt.body, { cookie: admin.cookie, origin: attempt.origin });
      // Remix refuses a foreign Origin itself (a bare 500) before our check can answer 403: refused either way.
      if (attempt.origin) expect([403, 500], attempt.label).toContain(response.status);
      else expect(response.status, attempt.label).toBe(403);
      expect(await snapshot(app.db), attempt.label).toEqual(before);
    }
  });

  it("a viewer reads the endpoints and the delivery log, without forms that change them; another organization's log is not found", async () => {
    const page = await fetch(`${app.server.url}/console/webhooks?endpoint=${enabledId}`, { headers: { cookie: people.viewer.cookie } });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain("http://127.0.0.1:9/enabled");
    expect(html).toMatch(/<h2 id="log-heading"[^>]*>Delivery log of http:\/\/127\.0\.0\.1:9\/enabled<\/h2>/);
    expect(html).toContain("payout_run.ready");
    expect(html).toContain('href="/console/webhooks"'); // the console's nav links the page
    expect(html).not.toContain("Register an endpoint");
    expect(html).not.toContain("Send again");
    expect(html).not.toMatch(/whsec_/);
    const foreign = await fetch(`${app.server.url}/console/webhooks?endpoint=${enabledId}`, { headers: { cookie: people.otherOrgAdmin.cookie } });
    expect(foreign.status).toBe(404);
  });

  it("the organization's admin and operator do change what they name; the secret is shown once", async () => {
    const post = (who: SignedInOperator, fields: Record<string, string>) => postForm(app.server.url, "/console/webhooks", { csrf: who.csrf, ...fields }, { cookie: who.cookie });
    const prisma = app.db.prisma;
    // Field errors from the schema, as sentences.
    const bad = await post(people.admin, { intent: "create", url: "ftp://example.com/x" });
    expect(bad.status).toBe(400);
    const badHtml = await bad.text();
    expect(badHtml).toContain("Enter an http:// or https:// URL");
    expect(badHtml).toContain("Choose at least one event.");

    const created = await postForm(
      app.server.url,
      "/console/webhooks",
      new URLSearchParams([["intent", "create"], ["csrf", people.admin.csrf], ["url", "http://127.0.0.1:9/created"], ["eventTypes", "payout_run.settled"], ["eventTypes", "recipient.held"]]) as never,
      { cookie: people.admin.cookie },
    );
    expect(created.status).toBe(200);
    const row = await prisma.webhookEndpoint.findFirstOrThrow({ where: { url: "http://127.0.0.1:9/created" } });
    expect(row.eventTypes).toEqual(["payout_run.settled", "recipient.held"]);
    expect(row.organizationId).toBe(people.admin.organizationId);
    expect(await created.text()).toContain(row.secret);
    const later = await (await fetch(`${app.server.url}/console/webhooks`, { headers: { cookie: people.admin.cookie } })).text();
    expect(later).toContain("http://127.0.0.1:9/created");
    expect(later).not.toContain(row.secret);

    expect((await post(people.operator, { intent: "redeliver", deliveryId })).status).toBe(200);
    expect((await prisma.webhookDelivery.findUniqueOrThrow({ where: { id: deliveryId } })).status).toBe("PENDING");
    expect((await post(people.admin, { intent: "disable", endpointId: enabledId })).status).toBe(200);
    expect((await prisma.webhookEndpoint.findUniqueOrThrow({ where: { id: enabledId } })).status).toBe("DISABLED");
    expect((await post(people.admin, { intent: "enable", endpointId: disabledId })).status).toBe(200);
    expect((await prisma.webhookEndpoint.findUniqueOrThrow({ where: { id: disabledId } })).status).toBe("ENABLED");
    expect((await post(people.admin, { intent: "delete", endpointId: enabledId })).status).toBe(200);
    expect((await prisma.webhookEndpoint.findUniqueOrThrow({ where: { id: enabledId } })).deletedAt).not.toBeNull();
    const audit = await prisma.auditLog.findMany({ where: { entityType: "webhook_endpoint", actorId: { in: [people.admin.id, people.operator.id] } }, select: { action: true } });
    expect(audit.map((a) => a.action).sort()).toEqual(
      ["webhook_delivery.redelivered", "webhook_endpoint.created", "webhook_endpoint.created", "webhook_endpoint.created", "webhook_endpoint.deleted", "webhook_endpoint.disabled", "webhook_endpoint.disabled", "webhook_endpoint.enabled"].sort(),
    );
  });

  it("an endpoint the dispatcher disabled is announced by a banner", async () => {
    await app.db.query(sql`
      UPDATE webhook_endpoints SET status = 'DISABLED', disabled_at = now(), disabled_by_system = true,
             disabled_reason = '9 attempts over the retry schedule failed (last: HTTP 503); nothing succeeded since'
      WHERE id = ${disabledId}::uuid`);
    const html = await (await fetch(`${app.server.url}/console/webhooks`, { headers: { cookie: people.viewer.cookie } })).text();
    expect(html).toMatch(/role="alert"[^>]*>[\s\S]*Deliveries to http:\/\/127\.0\.0\.1:9\/disabled stopped/);
    expect(html).toContain("9 attempts over the retry schedule failed (last: HTTP 503)");
    expect(html).not.toContain("disabled after failing for a whole");
    // Every other console page carries the notice, linking here.
    const overview = await (await fetch(`${app.server.url}/console`, { headers: { cookie: people.viewer.cookie } })).text();
    expect(overview).toMatch(/role="alert"[^>]*>A webhook endpoint was disabled after failing for a whole[\s\S]*?href="\/console\/webhooks">See Webhooks/);
  });
});
