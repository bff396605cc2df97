// Operators for tests: an account of any role in any organization, a live session cookie for it, and the
// CSRF cookie and token a console form needs, so that a test of any page can act as a signed-in operator
// over real HTTP (the cookies are what a browser would send).
import { randomBytes } from "node:crypto";
import type { OperatorRole, PrismaClient } from "~/generated/prisma/client";
import { createSession } from "~/models/operator-sessions.server";
import { createOperator } from "~/models/operators.server";
import { csrfCookieName } from "~/utils/csrf.server";
import { getEnv } from "~/utils/env.server";
import type { ScryptParams } from "~/utils/passwords.server";
import { sessionCookieName } from "~/utils/session.server";

/** Cheap scrypt for fixtures (the cost is stored with the hash; sign-in upgrades it to the real one). */
export const TEST_HASH_PARAMS: ScryptParams = { N: 1024, r: 8, p: 1 };

export interface TestOperator {
  id: string;
  organizationId: string;
  email: string;
  password: string;
  role: OperatorRole;
}

export interface SignedInOperator extends TestOperator {
  /** The session token (what the cookie carries). */
  token: string;
  /** A Cookie header with the session and a CSRF cookie. */
  cookie: string;
  /** The CSRF token that matches the cookie, for the form's `csrf` field. */
  csrf: string;
}

/** An organization of its own (slug unique per call). */
export async function createTestOrganization(prisma: PrismaClient, name = "Test organization") {
  const slug = `org-${randomBytes(5).toString("hex")}`;
  return prisma.organization.create({ data: { slug, name } });
}

export async function createTestOperator(
  prisma: PrismaClient,
  options: { organizationId: string; role?: OperatorRole; email?: string; password?: string; name?: string },
): Promise<TestOperator> {
  const email = options.email ?? `op-${randomBytes(5).toString("hex")}@example.test`;
  const password = options.password ?? `pw-${randomBytes(12).toString("base64url")}`;
  const role = options.role ?? "OPERATOR";
  const operator = await createOperator(
    prisma,
    { organizationId: options.organizationId, email, name: options.name ?? `Test ${role.toLowerCase()}`, role, password },
    TEST_HASH_PARAMS,
  );
  return { id: operator.id, organizationId: operator.organizationId, email: operator.email, password, role };
}

/** A CSRF token and the Cookie pair that carries it. */
export function csrfPair(): { csrf: string; cookie: string } {
  const csrf = randomBytes(32).toString("base64url");
  return { csrf, cookie: `${csrfCookieName(getEnv())}=${csrf}` };
}

/** An operator with a live session, as a browser that signed in would hold it. */
export async function signedInOperator(
  prisma: PrismaClient,
  options: { organizationId: string; role?: OperatorRole; email?: string; password?: string; name?: string },
): Promise<SignedInOperator> {
  const operator = await createTestOperator(prisma, options);
  const { token } = await createSession(prisma, operator.id);
  const { csrf, cookie } = csrfPair();
  return { ...operator, token, csrf, cookie: `${sessionCookieName()}=${token}; ${cookie}` };
}

/** POSTs a urlencoded form the way a browser on the site does (same-origin, with the operator's cookies). */
export async function postForm(
  baseUrl: string,
  path: string,
  fields: Record<string, string>,
  options: { cookie?: string; origin?: string | null; headers?: Record<string, string> } = {},
): Promise<Response> {
  const headers: Record<string, string> = { "content-type": "application/x-www-form-urlencoded", ...options.headers };
  if (options.cookie) headers.cookie = options.cookie;
  if (options.origin !== null) headers.origin = options.origin ?? baseUrl;
  return fetch(`${baseUrl}${path}`, { method: "POST", headers, body: new URLSearchParams(fields), redirect: "manual" });
}
