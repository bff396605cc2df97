// Operator access on the database, on PGlite and on a real PostgreSQL: password hashing, sign-in rate
// limiting without account enumeration, sessions that rotate, expire (idle and absolute) and revoke, the
// single-use setup link and invitations, and roles confined to one organization.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PrismaClient } from "~/generated/prisma/client";
import { createSession, findSessionOperator, revokeAllSessions, SESSION_ABSOLUTE_MS, SESSION_IDLE_MS } from "~/models/operator-sessions.server";
import {
  acceptInvitation,
  changeRole,
  completeSetup,
  disableOperator,
  hashToken,
  inviteOperator,
  issueSetupTokenIfNoOperator,
  OperatorError,
  setupTokenUsable,
  signIn,
  type Actor,
} from "~/models/operators.server";
import { hashPassword, needsRehash, verifyPassword } from "~/utils/passwords.server";
import { databaseTargets, type TestDatabase } from "../setup/databases";
import { createTestOperator, createTestOrganization, TEST_HASH_PARAMS } from "../setup/operators";

const FAST = { hashParams: TEST_HASH_PARAMS };

describe("passwords", () => {
  it("verifies the password it hashed and no other, with the parameters stored beside a random salt", async () => {
    const hash = await hashPassword("correct horse battery", TEST_HASH_PARAMS);
    expect(hash).toMatch(/^scrypt\$N=1024,r=8,p=1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
    expect(await verifyPassword("correct horse battery", hash)).toBe(true);
    expect(await verifyPassword("correct horse batterY", hash)).toBe(false);
    // Same password, new salt: a different hash.
    expect(await hashPassword("correct horse battery", TEST_HASH_PARAMS)).not.toBe(hash);
  });

  it("the default cost is memory-hard (N = 2^15, r = 8: 32 MiB) and weaker hashes are marked for rehash", async () => {
    const hash = await hashPassword("correct horse battery");
    expect(hash.startsWith("scrypt$N=32768,r=8,p=1$")).toBe(true);
    expect(needsRehash(hash)).toBe(false);
    expect(needsRehash(await hashPassword("x".repeat(12), TEST_HASH_PARAMS))).toBe(true);
  });

  it("error: a malformed or tampered hash verifies nothing (and an absurd cost is refused, not computed)", async () => {
    const hash = await hashPassword("correct horse battery", TEST_HASH_PARAMS);
    expect(await verifyPassword("correct horse battery", hash.replace("N=1024", "N=1000"))).toBe(false);
    expect(await verifyPassword("correct horse battery", hash.replace("N=1024", `N=${2 ** 30}`))).toBe(false);
    expect(await verifyPassword("correct horse battery", "plain text")).toBe(false);
  });
});

describe.each(databaseTargets())("operator access on $name", (target) => {
  let db: TestDatabase;
  let prisma: PrismaClient;
  beforeAll(async () => {
    db = await target.create();
    prisma = db.prisma;
  });
  afterAll(async () => {
    await db?.destroy();
  });

  describe("sign-in", () => {
    it("a right password signs in; a wrong one, an unknown e-mail and a disabled operator get the same answer", async () => {
      const org = await createTestOrganization(prisma);
      const op = await createTestOperator(prisma, { organizationId: org.id, email: "Alice@Example.test" });
      expect(op.email).toBe("alice@example.test");
      // The e-mail is matched whatever its case.
      expect(await signIn(prisma, { email: "ALICE@example.test", password: op.password }, FAST)).toEqual({ ok: true, operatorId: op.id });
      const wrong = await signIn(prisma, { email: op.email, password: "not the password" }, FAST);
      const unknown = await signIn(prisma, { email: "nobody@example.test", password: "not the password" }, FAST);
      const admin: Actor = { operatorId: op.id, organizationId: org.id, role: "ADMIN" };
      const other = await createTestOperator(prisma, { organizationId: org.id });
      await prisma.operator.update({ where: { id: op.id }, data: { role: "ADMIN" } });
      await disableOperator(prisma, admin, other.id);
      const disabled = await signIn(prisma, { email: other.email, password: other.password }, FAST);
      expect(wrong).toEqual({ ok: false, code: "INVALID_CREDENTIALS" });
      expect(unknown).toEqual(wrong);
      expect(disabled).toEqual(wrong);
    });

    it("a hash made with a weaker cost is upgraded at sign-in", async () => {
      const org = await createTestOrganization(prisma);
      const op = await createTestOperator(prisma, { organizationId: org.id });
      const before = (await prisma.operator.findUniqueOrThrow({ where: { id: op.id } })).passwordHash;
      expect(before).toContain("N=1024");
      expect((await signIn(prisma, { email: op.email, password: op.password })).ok).toBe(true);
      const after = (await prisma.operator.findUniqueOrThrow({ where: { id: op.id } })).passwordHash;
      expect(after).toContain("N=32768");
      expect(await verifyPassword(op.password, after)).toBe(true);
    });

    it("error: the sixth failure of an account within the window is refused before any password check, known account or not", async () => {
      const org = await createTestOrganization(prisma);
      const op = await createTestOperator(prisma, { organizationId: org.id });
      const limits = { perAccount: 5, perAddress: 100, windowMs: 15 * 60_000 };
      for (const email of [op.email, "ghost@example.test"]) {
        for (let i = 0; i < 5; i++) {
          expect(await signIn(prisma, { email, password: "wrong" }, { limits, ...FAST })).toEqual({ ok: false, code: "INVALID_CREDENTIALS" });
        }
        const sixth = await signIn(prisma, { email, password: email === op.email ? op.password : "wrong" }, { limits, ...FAST });
        expect(sixth.ok).toBe(false);
        expect(sixth).toMatchObject({ code: "RATE_LIMITED" });
        if (!sixth.ok && sixth.code === "RATE_LIMITED") {
          expect(sixth.retryAfterSeconds).toBeGreaterThan(0);
          expect(sixth.retryAfterSeconds).toBeLessThanOrEqual(15 * 60);
        }
      }
      // Another account from another address is not affected.
      const bystander = await createTestOperator(prisma, { organizationId: org.id });
      expect((await signIn(prisma, { email: bystander.email, password: bystander.password }, { limits, ...FAST })).ok).toBe(true);
    });

    it("the lock ends when the failures leave the window, and a success starts the account's count again", async () => {
      const org = await createTestOrganization(prisma);
      const op = await createTestOperator(prisma, { organizationId: org.id });
      const limits = { perAccount: 3, perAddress: 100, windowMs: 60_000 };
      // Three failures a minute and a half ago: outside the window.
      for (let i = 0; i < 3; i++) {
        await prisma.loginAttempt.create({ data: { scope: "ACCOUNT", key: op.email, succeeded: false, createdAt: new Date(Date.now() - 90_000) } });
      }
      expect((await signIn(prisma, { email: op.email, password: op.password }, { limits, ...FAST })).ok).toBe(true);
      // Two failures, a success, two failures: the success reset the count, so the third try is still allowed.
      await signIn(prisma, { email: op.email, password: "wrong" }, { limits, ...FAST });
      await signIn(prisma, { email: op.email, password: "wrong" }, { limits, ...FAST });
      expect((await signIn(prisma, { email: op.email, password: op.password }, { limits, ...FAST })).ok).toBe(true);
      await signIn(prisma, { email: op.email, password: "wrong" }, { limits, ...FAST });
      await signIn(prisma, { email: op.email, password: "wrong" }, { limits, ...FAST });
      expect((await signIn(prisma, { email: op.email, password: op.password }, { limits, ...FAST })).ok).toBe(true);
    });

    it("error: one address failing across many accounts is locked, whichever account it tries next", async () => {
      const org = await createTestOrganization(prisma);
      const op = await createTestOperator(prisma, { organizationId: org.id });
      const limits = { perAccount: 100, perAddress: 4, windowMs: 15 * 60_000 };
      const address = "203.0.113.7";
      for (let i = 0; i < 4; i++) {
        await signIn(prisma, { email: `spray${i}@example.test`, password: "wrong" }, { limits, address, ...FAST });
      }
      expect(await signIn(prisma, { email: op.email, password: op.password }, { limits, address, ...FAST })).toMatchObject({ ok: false, code: "RATE_LIMITED" });
      // The same account from another address still works.
      expect((await signIn(prisma, { email: op.email, password: op.password }, { limits, address: "198.51.100.1", ...FAST })).ok).toBe(true);
    });

    it("error: a burst of concurrent wrong passwords lets no more than the limit through to a password check", async () => {
      const org = await createTestOrganization(prisma);
      const op = await createTestOperator(prisma, { organizationId: org.id });
      const limits = { perAccount: 3, perAddress: 100, windowMs: 15 * 60_000 };
      const results = await Promise.all(Array.from({ length: 8 }, () => signIn(prisma, { email: op.email, password: "wrong" }, { limits, ...FAST })));
      const checked = results.filter((r) => !r.ok && r.code === "INVALID_CREDENTIALS").length;
      expect(checked).toBeLessThanOrEqual(3);
      expect(results.filter((r) => !r.ok && r.code === "RATE_LIMITED").length).toBe(8 - checked);
    });
  });

  describe("sessions", () => {
    it("stores only the token's sha256, and the token finds the operator with its organization", async () => {
      const org = await createTestOrganization(prisma, "Sessions org");
      const op = await createTestOperator(prisma, { organizationId: org.id, role: "VIEWER" });
      const { token } = await createSession(prisma, op.id);
      const row = await prisma.operatorSession.findFirstOrThrow({ where: { operatorId: op.id } });
      expect(row.tokenHash).toBe(hashToken(token));
      expect(row.tokenHash).not.toContain(token);
      const found = await findSessionOperator(prisma, token);
      expect(found).toMatchObject({ operatorId: op.id, role: "VIEWER", organization: { id: org.id, name: "Sessions org" } });
      expect(await findSessionOperator(prisma, token.slice(0, -1) + (token.endsWith("A") ? "B" : "A"))).toBeNull();
    });

    it("rotates at sign-in: the token the browser arrived with is revoked when the new one is made", async () => {
      const org = await createTestOrganization(prisma);
      const op = await createTestOperator(prisma, { organizationId: org.id });
      const first = await createSession(prisma, op.id);
      const second = await createSession(prisma, op.id, { replacingToken: first.token });
      expect(second.token).not.toBe(first.token);
      expect(await findSessionOperator(prisma, first.token)).toBeNull();
      expect(await findSessionOperator(prisma, second.token)).not.toBeNull();
    });

    it("expires after the idle timeout, at the absolute expiry, and when the operator is disabled", async () => {
      const org = await createTestOrganization(prisma);
      const admin = await createTestOperator(prisma, { organizationId: org.id, role: "ADMIN" });
      const op = await createTestOperator(prisma, { organizationId: org.id });
      const now = new Date();
      const idle = await createSession(prisma, op.id, { now });
      expect(await findSessionOperator(prisma, idle.token, new Date(now.getTime() + SESSION_IDLE_MS - 1_000))).not.toBeNull();
      // That use moved last_seen_at: idle is counted from it.
      const touched = await prisma.operatorSession.findUniqueOrThrow({ where: { tokenHash: hashToken(idle.token) } });
      expect(touched.lastSeenAt.getTime()).toBe(now.getTime() + SESSION_IDLE_MS - 1_000);
      expect(await findSessionOperator(prisma, idle.token, new Date(touched.lastSeenAt.getTime() + SESSION_IDLE_MS))).toBeNull();

      const absolute = await createSession(prisma, op.id, { now });
      // Used every hour, so never idle, yet over at the absolute expiry.
      let at = now.getTime();
      while (at + 60 * 60_000 < now.getTime() + SESSION_ABSOLUTE_MS) {
        at += 60 * 60_000;
        expect(await findSessionOperator(prisma, absolute.token, new Date(at))).not.toBeNull();
      }
      expect(await findSessionOperator(prisma, absolute.token, new Date(now.getTime() + SESSION_ABSOLUTE_MS))).toBeNull();

      const live = await createSession(prisma, op.id);
      await disableOperator(prisma, { operatorId: admin.id, organizationId: org.id, role: "ADMIN" }, op.id);
      expect(await findSessionOperator(prisma, live.token)).toBeNull();
      const row = await prisma.operatorSession.findUniqueOrThrow({ where: { tokenHash: hashToken(live.token) } });
      expect(row.revokedAt).not.toBeNull();
    });

    it("log out everywhere revokes every live session of that operator and no one else's", async () => {
      const org = await createTestOrganization(prisma);
      const op = await createTestOperator(prisma, { organizationId: org.id });
      const colleague = await createTestOperator(prisma, { organizationId: org.id });
      const mine = await Promise.all([createSession(prisma, op.id), createSession(prisma, op.id), createSession(prisma, op.id)]);
      const theirs = await createSession(prisma, colleague.id);
      expect(await revokeAllSessions(prisma, op.id)).toBe(3);
      for (const session of mine) expect(await findSessionOperator(prisma, session.token)).toBeNull();
      expect(await findSessionOperator(prisma, theirs.token)).not.toBeNull();
    });
  });

  describe("the first admin and invitations", () => {
    it("a setup link is issued only while no operator exists, works once, and is refused once anyone exists", async () => {
      const fresh = await target.create();
      try {
        const p = fresh.prisma;
        const token = await issueSetupTokenIfNoOperator(p);
        expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
        // Only the hash is stored.
        expect(await p.setupToken.count({ where: { tokenHash: token! } })).toBe(0);
        expect(await p.setupToken.count({ where: { tokenHash: hashToken(token!) } })).toBe(1);
        // A second link withdraws the first.
        const second = await issueSetupTokenIfNoOperator(p);
        expect(await setupTokenUsable(p, token!)).toBe(false);
        expect(await setupTokenUsable(p, second!)).toBe(true);
        const input = { organizationName: "Acme", name: "Ada", email: "ada@acme.test", password: "a long enough password", confirm: "a long enough password" };
        // Two submissions at once: exactly one admin.
        const results = await Promise.allSettled([completeSetup(p, second!, input, FAST), completeSetup(p, second!, { ...input, email: "eve@acme.test" }, FAST)]);
        expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
        const rejected = results.find((r) => r.status === "rejected") as PromiseRejectedResult;
        expect(rejected.reason).toBeInstanceOf(OperatorError);
        expect(await p.operator.count()).toBe(1);
        expect((await p.operator.findFirstOrThrow()).role).toBe("ADMIN");
        expect((await p.organization.findFirstOrThrow({ where: { slug: "default" } })).name).toBe("Acme");
        expect(await setupTokenUsable(p, second!)).toBe(false);
        expect(await issueSetupTokenIfNoOperator(p)).toBeNull();
      } finally {
        await fresh.destroy();
      }
    });

    it("error: an expired setup link creates nobody", async () => {
      const fresh = await target.create();
      try {
        const token = await issueSetupTokenIfNoOperator(fresh.prisma, new Date(Date.now() - 2 * 60 * 60_000));
        const input = { organizationName: "Acme", name: "Ada", email: "ada@acme.test", password: "a long enough password", confirm: "a long enough password" };
        await expect(completeSetup(fresh.prisma, token!, input, FAST)).rejects.toMatchObject({ code: "TOKEN_INVALID" });
        expect(await fresh.prisma.operator.count()).toBe(0);
      } finally {
        await fresh.destroy();
      }
    });

    it("an invitation joins its organization with its role, once; an admin changes roles only in their organization", async () => {
      const org = await createTestOrganization(prisma);
      const otherOrg = await createTestOrganization(prisma);
      const admin = await createTestOperator(prisma, { organizationId: org.id, role: "ADMIN" });
      const stranger = await createTestOperator(prisma, { organizationId: otherOrg.id, role: "VIEWER" });
      const actor: Actor = { operatorId: admin.id, organizationId: org.id, role: "ADMIN" };
      const { token } = await inviteOperator(prisma, actor, { email: "newbie@example.test", role: "VIEWER" });
      const joined = await acceptInvitation(prisma, token, { name: "Newbie", password: "a long enough password", confirm: "a long enough password" }, FAST);
      expect(joined).toMatchObject({ organizationId: org.id, role: "VIEWER", email: "newbie@example.test" });
      await expect(acceptInvitation(prisma, token, { name: "Again", password: "a long enough password", confirm: "a long enough password" }, FAST)).rejects.toMatchObject({
        code: "TOKEN_INVALID",
      });
      await changeRole(prisma, actor, { operatorId: joined.id, role: "OPERATOR" });
      expect((await prisma.operator.findUniqueOrThrow({ where: { id: joined.id } })).role).toBe("OPERATOR");
      // Another organization's operator is out of reach, and unchanged.
      await expect(changeRole(prisma, actor, { operatorId: stranger.id, role: "ADMIN" })).rejects.toMatchObject({ code: "NOT_IN_ORGANIZATION" });
      expect((await prisma.operator.findUniqueOrThrow({ where: { id: stranger.id } })).role).toBe("VIEWER");
      // The last admin cannot be demoted.
      await expect(changeRole(prisma, actor, { operatorId: admin.id, role: "VIEWER" })).rejects.toMatchObject({ code: "LAST_ADMIN" });
      const audit = await prisma.auditLog.findMany({ where: { organizationId: org.id }, orderBy: { id: "asc" } });
      expect(audit.map((a) => a.action)).toEqual(["operator.invited", "operator.joined", "operator.role_changed"]);
    });

    it("error: an expired invitation and an address that already has an account are refused", async () => {
      const org = await createTestOrganization(prisma);
      const admin = await createTestOperator(prisma, { organizationId: org.id, role: "ADMIN" });
      const actor: Actor = { operatorId: admin.id, organizationId: org.id, role: "ADMIN" };
      await expect(inviteOperator(prisma, actor, { email: admin.email, role: "VIEWER" })).rejects.toMatchObject({ code: "EMAIL_TAKEN" });
      const { token } = await inviteOperator(prisma, actor, { email: "late@example.test", role: "VIEWER" }, new Date(Date.now() - 73 * 60 * 60_000));
      await expect(acceptInvitation(prisma, token, { name: "Late", password: "a long enough password", confirm: "a long enough password" }, FAST)).rejects.toMatchObject({
        code: "TOKEN_INVALID",
      });
      expect(await prisma.operator.count({ where: { email: "late@example.test" } })).toBe(0);
    });
  });
});
