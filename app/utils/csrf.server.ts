// Cross-site request forgery protection for form posts that act (the simulator's pay/refund/dispute now, the
// operator console later): a double-submit token (a random value in an HttpOnly, SameSite=Strict cookie that
// the page's form repeats in a hidden field) plus the browser's own word on where the post came from (Origin,
// Sec-Fetch-Site). Under https the cookie is `__Host-` prefixed, so no sibling subdomain can plant one.
import { randomBytes, timingSafeEqual } from "node:crypto";
import type { Env } from "./env.server";
import { CSRF_FIELD } from "./csrf";
import { servedOverHttps } from "./public-url.server";

export { CSRF_FIELD };

const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

export type CsrfFailure = "missing_cookie" | "missing_field" | "mismatch" | "cross_origin";

export class CsrfError extends Error {
  readonly code = "CSRF_REFUSED";
  readonly status = 403;
  constructor(readonly reason: CsrfFailure) {
    super(`request refused: ${reason.replace("_", " ")} (reload the page and try again)`);
    this.name = "CsrfError";
  }
}

type CsrfEnv = Pick<Env, "STABLEFLOW_PUBLIC_URL">;

export function csrfCookieName(env: CsrfEnv): string {
  // `__Host-` requires Secure, Path=/ and no Domain: only an https site can set it, and only for itself.
  return servedOverHttps(env) ? "__Host-stableflow_csrf" : "stableflow_csrf";
}

function cookieValue(request: Request, name: string): string | undefined {
  const header = request.headers.get("cookie");
  if (!header) return undefined;
  for (const part of header.split(";")) {
    const index = part.indexOf("=");
    if (index === -1) continue;
    if (part.slice(0, index).trim() === name) {
      const value = part.slice(index + 1).trim();
      return TOKEN_PATTERN.test(value) ? value : undefined;
    }
  }
  return undefined;
}

/** The Set-Cookie value for `token`, with the flags this deployment needs. */
export function csrfCookie(env: CsrfEnv, token: string): string {
  const flags = ["Path=/", "HttpOnly", "SameSite=Strict"];
  if (servedOverHttps(env)) flags.push("Secure");
  return `${csrfCookieName(env)}=${token}; ${flags.join("; ")}`;
}

/**
 * The token a page puts in its forms (hidden field CSRF_FIELD), and the Set-Cookie header to send with the
 * page when the browser has no token cookie yet (null when it has one: the same token is reused).
 */
export function issueCsrfToken(request: Request, env: CsrfEnv): { token: string; setCookie: string | null } {
  const existing = cookieValue(request, csrfCookieName(env));
  if (existing) return { token: existing, setCookie: null };
  const token = randomBytes(32).toString("base64url");
  return { token, setCookie: csrfCookie(env, token) };
}

/**
 * Throws CsrfError unless the post carries the token of the browser's cookie and, where the browser says
 * where it came from, comes from `origin` (this site's public origin).
 */
export function verifyCsrf(request: Request, form: FormData, env: CsrfEnv, origin: string): void {
  const site = request.headers.get("sec-fetch-site");
  if (site && site !== "same-origin") throw new CsrfError("cross_origin");
  const from = request.headers.get("origin");
  if (from && from !== origin) throw new CsrfError("cross_origin");
  const cookie = cookieValue(request, csrfCookieName(env));
  if (!cookie) throw new CsrfError("missing_cookie");
  const field = form.get(CSRF_FIELD);
  if (typeof field !== "string" || !TOKEN_PATTERN.test(field)) throw new CsrfError("missing_field");
  if (!timingSafeEqual(Buffer.from(field), Buffer.from(cookie))) throw new CsrfError("mismatch");
}
