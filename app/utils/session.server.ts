// Who is asking: the operator behind a request's session cookie, with its organization. Every console
// loader calls requireOperator and every console action requireOperatorForm, which adds the checks a
// mutating request needs (body size, Origin and the CSRF token); both return the organization id that
// every query of the page must be scoped to.
import { redirect, type AppLoadContext } from "@remix-run/node";
import type { OperatorRole } from "~/generated/prisma/client";
import { findSessionOperator, SESSION_ABSOLUTE_MS, type SessionOperator } from "~/models/operator-sessions.server";
import { roleAtLeast, type Actor } from "~/models/operators.server";
import { CSRF_FIELD, CsrfError, issueCsrfToken, verifyCsrf } from "./csrf.server";
import { getPrisma } from "./db.server";
import { getEnv, type Env } from "./env.server";
import { publicOrigin, servedOverHttps } from "./public-url.server";

declare module "@remix-run/node" {
  interface AppLoadContext {
    /** The client's address as the server's socket saw it (scripts/app.mjs). */
    clientAddress?: string;
  }
}

export { CSRF_FIELD };

/** The largest form a console action reads (its fields are short): anything bigger is refused unread. */
const MAX_FORM_BYTES = 64 * 1024;

export interface OperatorAuth extends SessionOperator {
  /** What the models take: the operator, its role and the organization every query is scoped to. */
  actor: Actor;
}

const ROLE_WORDS: Record<OperatorRole, string> = { ADMIN: "an admin", OPERATOR: "an operator", VIEWER: "a viewer" };

export function sessionCookieName(env: Pick<Env, "STABLEFLOW_PUBLIC_URL"> = getEnv()): string {
  // `__Host-` needs Secure: only under https can the name promise that no other site planted it.
  return servedOverHttps(env) ? "__Host-stableflow_session" : "stableflow_session";
}

/** The session token of the request's cookie, if it carries a well-formed one. */
export function sessionToken(request: Request): string | undefined {
  const name = sessionCookieName();
  for (const part of (request.headers.get("cookie") ?? "").split(";")) {
    const index = part.indexOf("=");
    if (index !== -1 && part.slice(0, index).trim() === name) {
      const value = part.slice(index + 1).trim();
      return /^[A-Za-z0-9_-]{43}$/.test(value) ? value : undefined;
    }
  }
  return undefined;
}

function cookieFlags(): string {
  return ["Path=/", "HttpOnly", "SameSite=Lax", ...(servedOverHttps(getEnv()) ? ["Secure"] : [])].join("; ");
}

export function sessionCookie(token: string): string {
  return `${sessionCookieName()}=${token}; ${cookieFlags()}; Max-Age=${Math.floor(SESSION_ABSOLUTE_MS / 1000)}`;
}

export function clearedSessionCookie(): string {
  return `${sessionCookieName()}=; ${cookieFlags()}; Max-Age=0`;
}

function toAuth(session: SessionOperator): OperatorAuth {
  return { ...session, actor: { operatorId: session.operatorId, organizationId: session.organization.id, role: session.role } };
}

/** The signed-in operator, or null: for pages that look different when someone is signed in. */
export async function optionalOperator(request: Request): Promise<OperatorAuth | null> {
  const token = sessionToken(request);
  if (!token) return null;
  const session = await findSessionOperator(await getPrisma(), token);
  return session ? toAuth(session) : null;
}

function loginRedirect(request: Request): Response {
  const url = new URL(request.url);
  const next = `${url.pathname}${url.search}`;
  // A dead cookie is cleared so that the browser stops sending it.
  const headers = sessionToken(request) ? { "Set-Cookie": clearedSessionCookie() } : undefined;
  return redirect(`/login?next=${encodeURIComponent(next)}`, { headers });
}

export function forbidden(auth: OperatorAuth, required: OperatorRole): Response {
  const what = required === "ADMIN" ? "Only admins can do this." : "Viewers can see the console but not change anything.";
  return new Response(
    `You are signed in as ${ROLE_WORDS[auth.role]} of ${auth.organization.name}. ${what} Ask an admin of your organization to change your role if you need to.`,
    { status: 403, statusText: "Forbidden" },
  );
}

/**
 * For loaders: the signed-in operator with at least `role` (default: any), or a redirect to /login
 * (anonymous, expired, revoked) or a 403 (role too low). Scope every query to `auth.actor.organizationId`.
 */
export async function requireOperator(request: Request, options: { role?: OperatorRole } = {}): Promise<OperatorAuth> {
  if (request.method !== "GET" && request.method !== "HEAD") {
    // A mutating request must also prove where it came from: requireOperatorForm does.
    throw new Error("requireOperator is for loaders: actions call requireOperatorForm");
  }
  return authorize(request, options.role ?? "VIEWER");
}

async function authorize(request: Request, role: OperatorRole): Promise<OperatorAuth> {
  const auth = await optionalOperator(request);
  if (!auth) throw loginRedirect(request);
  if (!roleAtLeast(auth.role, role)) throw forbidden(auth, role);
  return auth;
}

/** A form read within MAX_FORM_BYTES, or a 413. */
export async function readSmallForm(request: Request): Promise<FormData> {
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > MAX_FORM_BYTES) throw new Response("This form is too large.", { status: 413 });
  const body = await request.text();
  if (Buffer.byteLength(body) > MAX_FORM_BYTES) throw new Response("This form is too large.", { status: 413 });
  const type = request.headers.get("content-type") ?? "";
  if (!type.startsWith("application/x-www-form-urlencoded")) {
    throw new Response("Send this form as application/x-www-form-urlencoded.", { status: 415 });
  }
  const form = new FormData();
  for (const [key, value] of new URLSearchParams(body)) form.append(key, value);
  return form;
}

export function csrfRefused(): Response {
  return new Response("This form is out of date or was sent from another site, so nothing was changed. Reload the page and try again.", {
    status: 403,
    statusText: "Forbidden",
  });
}

/** Throws a 403 unless the form carries this browser's CSRF token and comes from this site. */
export function requireSameSite(request: Request, form: FormData, context: AppLoadContext | undefined): void {
  const env = getEnv();
  try {
    verifyCsrf(request, form, env, publicOrigin(env, context));
  } catch (error) {
    if (error instanceof CsrfError) throw csrfRefused();
    throw error;
  }
}

/**
 * For actions: the form (read once, size-limited), checked to come from this site with this browser's CSRF
 * token, then the signed-in operator with at least `role`. Nothing is read or changed before all pass.
 */
export async function requireOperatorForm(
  request: Request,
  context: AppLoadContext | undefined,
  options: { role: OperatorRole },
): Promise<OperatorAuth & { form: FormData }> {
  const form = await readSmallForm(request);
  requireSameSite(request, form, context);
  const auth = await authorize(request, options.role);
  return { ...auth, form };
}

/** The CSRF token a page's forms carry, and the headers to send it with (the cookie, on first visit). */
export function pageCsrf(request: Request): { csrf: string; headers: Headers } {
  const issued = issueCsrfToken(request, getEnv());
  const headers = new Headers();
  if (issued.setCookie) headers.append("Set-Cookie", issued.setCookie);
  return { csrf: issued.token, headers };
}

/** Where a sign-in goes next: only a path of this site (never `//elsewhere` or a full URL). */
export function safeNext(next: FormDataEntryValue | string | null | undefined): string {
  if (typeof next !== "string" || !next.startsWith("/") || next.startsWith("//") || next.includes("\\")) return "/console";
  return next.length > 500 ? "/console" : next;
}

/** The client address for rate limiting, as the server's socket saw it (undefined when not told). */
export function clientAddress(context: AppLoadContext | undefined): string | undefined {
  const address = context?.clientAddress;
  return address ? address.replace(/^::ffff:/, "") : undefined;
}
