// The security headers of every response the server sends (pages, assets, resource routes, the webhook),
// set by scripts/app.mjs before anything else answers. Pages carry no inline script without this
// response's nonce (Remix's own scripts get it through entry.server.tsx and root.tsx).
import type { ServerResponse } from "node:http";
import { randomBytes } from "node:crypto";
import { getEnv, type Env } from "./env.server";
import { servedOverHttps } from "./public-url.server";

/** One year, the preload list's minimum; only ever sent when the site is configured as https. */
const HSTS_MAX_AGE_SECONDS = 31_536_000;

/**
 * Dodo's hosted checkout: the shop's Buy form posts to us and we redirect to Dodo, and browsers hold a form's
 * redirects to `form-action` too.
 */
const DODO_CHECKOUT_SOURCES = ["https://dodopayments.com", "https://*.dodopayments.com"];

export function contentSecurityPolicy(env: Pick<Env, "STABLEFLOW_PUBLIC_URL">, nonce: string): string {
  const directives = [
    "default-src 'self'",
    `script-src 'self' 'nonce-${nonce}'`,
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    `form-action 'self' ${DODO_CHECKOUT_SOURCES.join(" ")}`,
    "frame-ancestors 'none'",
  ];
  if (servedOverHttps(env)) directives.push("upgrade-insecure-requests");
  return directives.join("; ");
}

/** The headers for one response; `nonce` is the one its document's scripts carry. */
export function securityHeaders(env: Pick<Env, "STABLEFLOW_PUBLIC_URL">, nonce: string): Record<string, string> {
  const headers: Record<string, string> = {
    "Content-Security-Policy": contentSecurityPolicy(env, nonce),
    "X-Content-Type-Options": "nosniff",
    // Our URLs carry checkout and payment ids: other sites learn nothing of them.
    "Referrer-Policy": "same-origin",
    // frame-ancestors 'none' for browsers that predate it.
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
  };
  if (servedOverHttps(env)) headers["Strict-Transport-Security"] = `max-age=${HSTS_MAX_AGE_SECONDS}; includeSubDomains`;
  return headers;
}

/** Sets the security headers on a Node response before anyone writes to it; returns the response's CSP nonce. */
export function applySecurityHeaders(response: ServerResponse): string {
  const nonce = randomBytes(16).toString("base64");
  for (const [name, value] of Object.entries(securityHeaders(getEnv(), nonce))) response.setHeader(name, value);
  return nonce;
}
