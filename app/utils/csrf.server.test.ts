// The CSRF primitive: a double-submit token whose cookie is HttpOnly and SameSite=Strict, `__Host-` and
// Secure behind https; a post passes only with the cookie's token and from this site's origin.
import { describe, expect, it } from "vitest";
import { CSRF_FIELD, CsrfError, csrfCookieName, issueCsrfToken, verifyCsrf } from "./csrf.server";

const HTTP = { STABLEFLOW_PUBLIC_URL: undefined };
const HTTPS = { STABLEFLOW_PUBLIC_URL: "https://pay.example.com" };

function post(headers: Record<string, string>): Request {
  return new Request("https://pay.example.com/simulator", { method: "POST", headers });
}

function formWith(token?: string): FormData {
  const form = new FormData();
  if (token !== undefined) form.set(CSRF_FIELD, token);
  return form;
}

function failure(fn: () => void): string {
  try {
    fn();
  } catch (error) {
    if (error instanceof CsrfError) return error.reason;
    throw error;
  }
  return "passed";
}

describe("csrf", () => {
  it("behind https the cookie is __Host- prefixed, Secure, HttpOnly, SameSite=Strict, Path=/", () => {
    const { token, setCookie } = issueCsrfToken(new Request("https://pay.example.com/"), HTTPS);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(setCookie).toBe(`__Host-stableflow_csrf=${token}; Path=/; HttpOnly; SameSite=Strict; Secure`);
    expect(csrfCookieName(HTTP)).toBe("stableflow_csrf");
  });

  it("a browser that has the cookie keeps its token (no new Set-Cookie); a malformed cookie is replaced", () => {
    const token = "b".repeat(43);
    expect(issueCsrfToken(new Request("http://x/", { headers: { cookie: `a=1; stableflow_csrf=${token}` } }), HTTP)).toEqual({ token, setCookie: null });
    const replaced = issueCsrfToken(new Request("http://x/", { headers: { cookie: "stableflow_csrf=short" } }), HTTP);
    expect(replaced.token).not.toBe("short");
    expect(replaced.setCookie).not.toBeNull();
  });

  it("passes with the cookie's token from the same origin; every other combination is refused", () => {
    const token = "c".repeat(43);
    const cookie = `__Host-stableflow_csrf=${token}`;
    const origin = "https://pay.example.com";
    expect(failure(() => verifyCsrf(post({ cookie, origin, "sec-fetch-site": "same-origin" }), formWith(token), HTTPS, origin))).toBe("passed");
    expect(failure(() => verifyCsrf(post({ cookie }), formWith(token), HTTPS, origin))).toBe("passed");
    expect(failure(() => verifyCsrf(post({}), formWith(token), HTTPS, origin))).toBe("missing_cookie");
    // An http-era cookie name does not count behind https: only the __Host- one can be trusted there.
    expect(failure(() => verifyCsrf(post({ cookie: `stableflow_csrf=${token}` }), formWith(token), HTTPS, origin))).toBe("missing_cookie");
    expect(failure(() => verifyCsrf(post({ cookie }), formWith(), HTTPS, origin))).toBe("missing_field");
    expect(failure(() => verifyCsrf(post({ cookie }), formWith("d".repeat(43)), HTTPS, origin))).toBe("mismatch");
    expect(failure(() => verifyCsrf(post({ cookie, origin: "https://evil.example" }), formWith(token), HTTPS, origin))).toBe("cross_origin");
    expect(failure(() => verifyCsrf(post({ cookie, origin: "null" }), formWith(token), HTTPS, origin))).toBe("cross_origin");
    expect(failure(() => verifyCsrf(post({ cookie, "sec-fetch-site": "same-site" }), formWith(token), HTTPS, origin))).toBe("cross_origin");
  });
});
