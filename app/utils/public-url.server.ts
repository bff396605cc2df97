// The origin this site is reached at, for every absolute URL we hand out (Dodo's return_url, the simulator's
// webhook target, links): STABLEFLOW_PUBLIC_URL when set (required in production), otherwise the address the
// connection actually arrived on (development). Never the request's Host or X-Forwarded-* headers: those are
// the client's to choose, and a payer sent back to a host of an attacker's choosing is a phishing page.
import type { Env } from "./env.server";

/** What scripts/app.mjs hands Remix for each request (see getLoadContext there). */
export interface StableflowLoadContext {
  /** The CSP nonce of this response: every inline script the document renders carries it. */
  cspNonce?: string;
  /** http://<local address>:<local port> of the socket the request came in on. */
  localOrigin?: string;
}

declare module "@remix-run/node" {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  interface AppLoadContext extends StableflowLoadContext {}
}

export function publicOrigin(env: Pick<Env, "STABLEFLOW_PUBLIC_URL" | "PORT">, context?: StableflowLoadContext | null): string {
  if (env.STABLEFLOW_PUBLIC_URL) return env.STABLEFLOW_PUBLIC_URL;
  if (context?.localOrigin) return context.localOrigin;
  // `remix vite:dev` passes no context: the configured port on this machine.
  return `http://localhost:${env.PORT}`;
}

/** True when the site is served over https (behind a TLS proxy): cookies get Secure, responses HSTS. */
export function servedOverHttps(env: Pick<Env, "STABLEFLOW_PUBLIC_URL">): boolean {
  return env.STABLEFLOW_PUBLIC_URL?.startsWith("https://") ?? false;
}
