// Route-level authorization on the real server, for every mutating route of operator access: anonymous,
// a viewer, an operator of another organization, a missing or wrong CSRF token and a foreign Origin are
// each refused with nothing changed, and the same request from the right operator does change it (so a
// refusal is the check at work, not a broken request). Also: no public page sends customer personal data.
import { beforeAll, describe, expect, it } from "vitest";
import { generateWebhookSecret } from "~/integrations/webhook-verification.server";
import { createSession } from "~/models/operator-sessions.server";
import { inviteOperator, issueSetupTokenIfNoOperator } from "~/models/operators.server";
import { ensureDefaultOrganization } from "~/models/organizations.server";
import { sessionCookieName } from "~/utils/session.server";
import { newDodoId, paymentEvent, signedDelivery } from "../mocks/dodo";
import { useServedApp } from "../setup/app-server";
import { databaseTargets, type TestDatabase } from "../setup/databases";
import { createTestOrganization, csrfPair, postForm, signedInOperator, type SignedInOperator } from "../setup/operators";

const secret = generateWebhookSecret();
process.env.DODO_PAYMENTS_WEBHOOK_KEY = secret;
delete process.env.DODO_PAYMENTS_API_KEY;
delete process.env.STABLEFLOW_PUBLIC_URL;

/** Everything an operator-access route could change, minus what merely reading touches (last_seen_at). */
async function snapshot(db: TestDatabase) {
  const p = db.prisma;
  const [operators, invitations, sessions, setup, audit, organizations] = await Promise.all([
    p.operator.findMany({ orderBy: { id: "asc" }, select: { id: true, role: true, disabledAt: true, passwordHash: true, name: true } }),
    p.operatorInvitation.findMany({ orderBy: { id: "asc" }, select: { id: true, acceptedAt: true, revokedAt: true } }),
    p.operatorSession.findMany({ orderBy: { id: "asc" }, select: { id: true, revokedAt: true } }),
    p.setupToken.findMany({ orderBy: { id: "asc" }, select: { id: true, usedAt: true } }),
    p.auditLog.count(),
    p.organization.findMany({ orderBy: { id: "asc" }, select: { id: true, name: true } }),
  ]);
  return { operators, invitations, sessions, setup, audit, organizations };
}

type Who = "anonymous" | "viewer" | "operator" | "otherOrgAdmin" | "admin";

describe.each(databaseTargets())("operator access routes on $name", (target) => {
  const app = useServedApp(target);
  const people = {} as Record<Exclude<Who, "anonymous">, SignedInOperator>;
  let target1: SignedInOperator; // a viewer of the organization, the subject of the admin's changes
  let invitationId: string;
  let invitationToken: string;

  beforeAll(async () => {
    const prisma = app.db.prisma;
    const org = await createTestOrganization(prisma, "Org A");
    const other = await createTestOrganization(prisma, "Org B");
    people.admin = await signedInOperator(prisma, { organizationId: org.id, role: "ADMIN" });
    people.operator = await signedInOperator(prisma, { organizationId: org.id, role: "OPERATOR" });
    people.viewer = await signedInOperator(prisma, { organizationId: org.id, role: "VIEWER" });
    people.otherOrgAdmin = await signedInOperator(prisma, { organizationId: other.id, role: "ADMIN" });
    target1 = await signedInOperator(prisma, { organizationId: org.id, role: "VIEWER" });
    const invited = await inviteOperator(prisma, { operatorId: people.admin.id, organizationId: org.id, role: "ADMIN" }, { email: "invitee@example.test", role: "VIEWER" });
    invitationId = invited.invitation.id;
    invitationToken = invited.token;
  });

  function cookieOf(who: Who): { cookie: string; csrf: string } {
    if (who === "anonymous") return csrfPair();
    return { cookie: people[who].cookie, csrf: people[who].csrf };
  }

  // Each mutation of /console/team, with who may do it. The fields are built late (ids exist after beforeAll).
  // (Inviting names no row of another organization: another organization's admin inviting someone invites
  // them into their own organization, tested below; so `invite` is not in that column of the matrix.)
  const teamMutations: { intent: string; refused: readonly Who[]; fields: () => Record<string, string> }[] = [
    { intent: "change-role", refused: ["anonymous", "viewer", "operator", "otherOrgAdmin"], fields: () => ({ operatorId: target1.id, role: "ADMIN" }) },
    { intent: "invite", refused: ["anonymous", "viewer", "operator"], fields: () => ({ email: "someone.new@example.test", role: "OPERATOR" }) },
    { intent: "revoke-invitation", refused: ["anonymous", "viewer", "operator", "otherOrgAdmin"], fields: () => ({ invitationId }) },
    { intent: "revoke-operator-sessions", refused: ["anonymous", "viewer", "operator", "otherOrgAdmin"], fields: () => ({ operatorId: target1.id }) },
    { intent: "disable", refused: ["anonymous", "viewer", "operator", "otherOrgAdmin"], fields: () => ({ operatorId: target1.id }) },
  ];
  const matrix = teamMutations.flatMap((m) => m.refused.map((who) => ({ ...m, who })));

  it.each(matrix)("error: POST /console/team intent=$intent refused for $who, nothing changed", async ({ intent, fields, who }) => {
      const before = await snapshot(app.db);
      const { cookie, csrf } = cookieOf(who);
      const response = await postForm(app.server.url, "/console/team", { intent, csrf, ...fields() }, { cookie });
      const after = await snapshot(app.db);
      if (who === "anonymous") {
        expect(response.status).toBe(302);
        expect(response.headers.get("location")).toMatch(/^\/login\?next=/);
      } else if (who === "otherOrgAdmin") {
        // Another organization's admin may manage their own team, but these rows are not in it.
        expect(response.status).toBe(404);
        expect(await response.text()).toMatch(/no such (operator|open invitation) in your organization/);
      } else {
        expect(response.status).toBe(403);
        expect(await response.text()).toMatch(/Viewers can see|Only admins/);
      }
      expect(after).toEqual(before);
  });

  describe.each(teamMutations)("POST /console/team intent=$intent", ({ intent, fields }) => {
    it("error: refused for the admin with a missing or wrong CSRF token, no CSRF cookie, or another site's Origin; nothing changed", async () => {
      const admin = people.admin;
      const attempts = [
        { label: "missing token", body: { intent, ...fields() }, cookie: admin.cookie, origin: undefined as string | undefined },
        { label: "wrong token", body: { intent, csrf: csrfPair().csrf, ...fields() }, cookie: admin.cookie, origin: undefined },
        { label: "no CSRF cookie", body: { intent, csrf: admin.csrf, ...fields() }, cookie: `${sessionCookieName()}=${admin.token}`, origin: undefined },
        { label: "foreign Origin", body: { intent, csrf: admin.csrf, ...fields() }, cookie: admin.cookie, origin: "http://evil.example" },
      ];
      for (const attempt of attempts) {
        const before = await snapshot(app.db);
        const response = await postForm(app.server.url, "/console/team", attempt.body, { cookie: attempt.cookie, origin: attempt.origin });
        if (attempt.origin) {
          // Remix itself refuses an action whose Origin is not the Host (a bare 500) before our check can
          // answer 403: refused either way.
          expect([403, 500], attempt.label).toContain(response.status);
        } else {
          expect(response.status, attempt.label).toBe(403);
          expect(await response.text(), attempt.label).toContain("nothing was changed");
        }
        expect(await snapshot(app.db), attempt.label).toEqual(before);
      }
    });
  });

  it("another organization's admin invites into their own organization, never into this one", async () => {
    const stranger = people.otherOrgAdmin;
    const response = await postForm(app.server.url, "/console/team", { intent: "invite", csrf: stranger.csrf, email: "their.hire@example.test", role: "VIEWER" }, { cookie: stranger.cookie });
    expect(response.status).toBe(200);
    const invitation = await app.db.prisma.operatorInvitation.findFirstOrThrow({ where: { email: "their.hire@example.test" } });
    expect(invitation.organizationId).toBe(stranger.organizationId);
    expect(invitation.organizationId).not.toBe(people.admin.organizationId);
  });

  it("the same requests from the organization's admin do change what they name (the refusals above were the checks)", async () => {
    const admin = people.admin;
    const post = (fields: Record<string, string>) => postForm(app.server.url, "/console/team", { csrf: admin.csrf, ...fields }, { cookie: admin.cookie });
    expect((await post({ intent: "change-role", operatorId: target1.id, role: "OPERATOR" })).status).toBe(200);
    expect((await app.db.prisma.operator.findUniqueOrThrow({ where: { id: target1.id } })).role).toBe("OPERATOR");
    const invited = await post({ intent: "invite", email: "someone.new@example.test", role: "OPERATOR" });
    expect(invited.status).toBe(200);
    expect(await app.db.prisma.operatorInvitation.count({ where: { email: "someone.new@example.test" } })).toBe(1);
    expect((await post({ intent: "revoke-invitation", invitationId })).status).toBe(200);
    expect((await app.db.prisma.operatorInvitation.findUniqueOrThrow({ where: { id: invitationId } })).revokedAt).not.toBeNull();
    expect((await post({ intent: "revoke-operator-sessions", operatorId: target1.id })).status).toBe(200);
    expect(await app.db.prisma.operatorSession.count({ where: { operatorId: target1.id, revokedAt: null } })).toBe(0);
    expect((await post({ intent: "disable", operatorId: target1.id })).status).toBe(200);
    expect((await app.db.prisma.operator.findUniqueOrThrow({ where: { id: target1.id } })).disabledAt).not.toBeNull();
    // A field error comes from the schema, as a sentence.
    const bad = await post({ intent: "invite", email: "not an address", role: "OPERATOR" });
    expect(bad.status).toBe(400);
  });

  it("error: a viewer cannot end a colleague's session, nor an admin one of another organization; own sessions they can", async () => {
    const prisma = app.db.prisma;
    const colleague = await createSession(prisma, people.operator.id);
    const colleagueRow = await prisma.operatorSession.findFirstOrThrow({ where: { operatorId: people.operator.id, revokedAt: null }, orderBy: { createdAt: "desc" } });
    const before = await snapshot(app.db);
    const viewer = people.viewer;
    const refused = await postForm(app.server.url, "/console/team", { intent: "revoke-session", csrf: viewer.csrf, sessionId: colleagueRow.id }, { cookie: viewer.cookie });
    expect(refused.status).toBe(403);
    const stranger = people.otherOrgAdmin;
    const foreign = await postForm(app.server.url, "/console/team", { intent: "revoke-session", csrf: stranger.csrf, sessionId: colleagueRow.id }, { cookie: stranger.cookie });
    expect(foreign.status).toBe(404);
    expect(await snapshot(app.db)).toEqual(before);
    expect(colleague.token).toBeTruthy();
    // The viewer's own second session: theirs to end.
    const own = await createSession(prisma, viewer.id);
    const ownRow = await prisma.operatorSession.findFirstOrThrow({ where: { operatorId: viewer.id, revokedAt: null }, orderBy: { createdAt: "desc" } });
    const ended = await postForm(app.server.url, "/console/team", { intent: "revoke-session", csrf: viewer.csrf, sessionId: ownRow.id }, { cookie: viewer.cookie });
    expect(ended.status).toBe(200);
    expect(own.token).toBeTruthy();
    expect((await prisma.operatorSession.findUniqueOrThrow({ where: { id: ownRow.id } })).revokedAt).not.toBeNull();
  });

  it("log out everywhere: refused without the CSRF token; with it, every session of that operator ends and the cookie is cleared", async () => {
    const prisma = app.db.prisma;
    const org = await createTestOrganization(prisma);
    const me = await signedInOperator(prisma, { organizationId: org.id, role: "VIEWER" });
    await createSession(prisma, me.id);
    const before = await snapshot(app.db);
    const refused = await postForm(app.server.url, "/console/team", { intent: "logout-everywhere" }, { cookie: me.cookie });
    expect(refused.status).toBe(403);
    expect(await snapshot(app.db)).toEqual(before);
    const done = await postForm(app.server.url, "/console/team", { intent: "logout-everywhere", csrf: me.csrf }, { cookie: me.cookie });
    expect(done.status).toBe(302);
    expect(done.headers.get("location")).toBe("/login");
    expect(done.headers.get("set-cookie")).toMatch(new RegExp(`^${sessionCookieName()}=;.*Max-Age=0`));
    expect(await prisma.operatorSession.count({ where: { operatorId: me.id, revokedAt: null } })).toBe(0);
    // The old cookie no longer opens the console.
    const console = await fetch(`${app.server.url}/console`, { headers: { cookie: me.cookie }, redirect: "manual" });
    expect(console.status).toBe(302);
  });

  it("error: POST /logout without the CSRF token leaves the session live; with it the session ends", async () => {
    const prisma = app.db.prisma;
    const org = await createTestOrganization(prisma);
    const me = await signedInOperator(prisma, { organizationId: org.id, role: "VIEWER" });
    const refused = await postForm(app.server.url, "/logout", {}, { cookie: me.cookie });
    expect(refused.status).toBe(403);
    expect((await fetch(`${app.server.url}/console`, { headers: { cookie: me.cookie }, redirect: "manual" })).status).toBe(200);
    const done = await postForm(app.server.url, "/logout", { csrf: me.csrf }, { cookie: me.cookie });
    expect(done.status).toBe(302);
    expect((await fetch(`${app.server.url}/console`, { headers: { cookie: me.cookie }, redirect: "manual" })).status).toBe(302);
  });

  it("POST /login: refused without the CSRF token or from another site; signs in and rotates the cookie otherwise", async () => {
    const prisma = app.db.prisma;
    const org = await createTestOrganization(prisma);
    const me = await signedInOperator(prisma, { organizationId: org.id, role: "VIEWER" });
    const sessionsBefore = await prisma.operatorSession.count({ where: { operatorId: me.id } });
    const fields = { email: me.email, password: me.password };
    expect((await postForm(app.server.url, "/login", fields, { cookie: me.cookie })).status).toBe(403);
    expect([403, 500]).toContain((await postForm(app.server.url, "/login", { ...fields, csrf: me.csrf }, { cookie: me.cookie, origin: "http://evil.example" })).status);
    expect(await prisma.operatorSession.count({ where: { operatorId: me.id } })).toBe(sessionsBefore);
    const ok = await postForm(app.server.url, "/login", { ...fields, csrf: me.csrf, next: "/console/team" }, { cookie: me.cookie });
    expect(ok.status).toBe(302);
    expect(ok.headers.get("location")).toBe("/console/team");
    const setCookie = ok.headers.get("set-cookie") ?? "";
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Lax/);
    expect(setCookie).not.toMatch(/Secure/); // plain http here; under an https STABLEFLOW_PUBLIC_URL it is Secure
    const newToken = new RegExp(`${sessionCookieName()}=([A-Za-z0-9_-]{43})`).exec(setCookie)?.[1];
    expect(newToken).toBeDefined();
    expect(newToken).not.toBe(me.token);
    // The session the browser arrived with was revoked by the sign-in (rotation).
    expect((await fetch(`${app.server.url}/console`, { headers: { cookie: me.cookie }, redirect: "manual" })).status).toBe(302);
    // An open redirect is not: `next` stays on this site.
    const again = await postForm(app.server.url, "/login", { ...fields, csrf: me.csrf, next: "//evil.example/x" }, { cookie: csrfPair().cookie.replace(/=.*/, `=${me.csrf}`) });
    expect(again.headers.get("location")).toBe("/console");
  });

  it("POST /login: the same answer for a wrong password and an unknown e-mail; then a clear 429 with Retry-After", async () => {
    const prisma = app.db.prisma;
    const org = await createTestOrganization(prisma);
    const me = await signedInOperator(prisma, { organizationId: org.id, role: "VIEWER" });
    const { csrf, cookie } = csrfPair();
    const wrong = await postForm(app.server.url, "/login", { email: me.email, password: "wrong password", csrf }, { cookie });
    const unknown = await postForm(app.server.url, "/login", { email: "nobody.here@example.test", password: "wrong password", csrf }, { cookie });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    const message = (html: string) => /role="alert">([^<]*)</.exec(html)?.[1];
    const wrongText = message(await wrong.text());
    expect(wrongText).toContain("wrong");
    expect(message(await unknown.text())).toBe(wrongText);
    for (let i = 0; i < 4; i++) await postForm(app.server.url, "/login", { email: me.email, password: "wrong password", csrf }, { cookie });
    const limited = await postForm(app.server.url, "/login", { email: me.email, password: me.password, csrf }, { cookie });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(message(await limited.text())).toMatch(/Too many sign-in attempts.*Wait \d+ minutes/);
   }, 240_000);

  it("POST /login is limited per client address (a proxy on loopback names it in X-Forwarded-For), whichever e-mails it tries", async () => {
    const { csrf, cookie } = csrfPair();
    const from = (address: string, email: string) =>
      postForm(app.server.url, "/login", { email, password: "wrong password", csrf }, { cookie, headers: { "x-forwarded-for": `198.51.100.77, ${address}` } });
    for (let i = 0; i < 20; i++) expect((await from("203.0.113.9", `spray${i}@example.test`)).status).toBe(401);
    expect((await from("203.0.113.9", "one.more@example.test")).status).toBe(429);
    // Another client behind the same proxy is not locked out with it.
    expect((await from("203.0.113.10", "one.more@example.test")).status).toBe(401);
    expect(await app.db.prisma.loginAttempt.count({ where: { scope: "ADDRESS", key: "203.0.113.9" } })).toBe(20);
   }, 240_000);

  it("POST /setup/:token and /invite/:token: refused without the CSRF token, nothing created", async () => {
    const prisma = app.db.prisma;
    const before = await snapshot(app.db);
    const { cookie } = csrfPair();
    const fields = { organizationName: "X", name: "Mallory", email: "mallory@example.test", password: "a long enough password", confirm: "a long enough password" };
    // (operators exist here, so no setup token is issued: a made-up one is refused just the same)
    expect(await issueSetupTokenIfNoOperator(prisma)).toBeNull();
    expect((await postForm(app.server.url, `/setup/${"A".repeat(43)}`, fields, { cookie })).status).toBe(403);
    const invitation = await inviteOperator(prisma, { operatorId: people.admin.id, organizationId: people.admin.organizationId, role: "ADMIN" }, { email: "csrf.invitee@example.test", role: "VIEWER" });
    const mid = await snapshot(app.db);
    expect((await postForm(app.server.url, `/invite/${invitation.token}`, fields, { cookie })).status).toBe(403);
    expect(await snapshot(app.db)).toEqual(mid);
    expect(mid.operators).toEqual(before.operators);
    expect(invitationToken).toBeTruthy();
  });

  it("anonymous visitors are sent to /login from every console page and from the ledger", async () => {
    for (const path of ["/console", "/console/team", "/ledger"]) {
      const response = await fetch(`${app.server.url}${path}`, { redirect: "manual" });
      expect(response.status, path).toBe(302);
      expect(response.headers.get("location"), path).toBe(`/login?next=${encodeURIComponent(path)}`);
    }
  });

  it("no public page, nor any loader's data fetched anonymously, carries a customer's e-mail or name", async () => {
    const organization = await ensureDefaultOrganization(app.db.prisma);
    const paymentId = newDodoId("pay");
    const email = "private.customer.h5@example.test";
    const name = "Wilhelmina Privatperson";
    const delivery = signedDelivery(
      secret,
      paymentEvent({ paymentId, status: "succeeded", totalAmount: 4_200n, customerEmail: email, customerName: name, metadata: { organization: organization.slug } }),
    );
    const posted = await fetch(`${app.server.url}/api/webhooks/dodo`, { method: "POST", headers: delivery.headers, body: delivery.body });
    expect(posted.status).toBe(200);
    const payment = await app.db.prisma.payment.findUniqueOrThrow({ where: { dodoPaymentId: paymentId } });
    expect(payment.customerEmail).toBe(email);
    const pages = [
      "/",
      "/shop",
      `/checkout/success?payment_id=${paymentId}`,
      "/ledger",
      // Remix's single-fetch data URLs: the loaders' data, as client-side navigation fetches it.
      "/ledger.data",
      "/console.data",
      "/console/team.data",
      "/_root.data",
      "/login",
      "/healthz",
    ];
    for (const path of pages) {
      const response = await fetch(`${app.server.url}${path}`, { redirect: "manual" });
      const body = await response.text();
      expect(body, path).not.toContain(email);
      expect(body, path).not.toContain(name);
    }
    // The ledger does show it to a signed-in operator of that organization (so the check above can fail).
    const viewer = await signedInOperator(app.db.prisma, { organizationId: organization.id, role: "VIEWER" });
    const forOperator = await fetch(`${app.server.url}/ledger.data`, { headers: { cookie: viewer.cookie } });
    expect(await forOperator.text()).toContain(email);
    // And not to an operator of another organization.
    const outsider = await fetch(`${app.server.url}/ledger.data`, { headers: { cookie: people.otherOrgAdmin.cookie } });
    expect(outsider.status).toBe(200);
    expect(await outsider.text()).not.toContain(email);
  });
});
