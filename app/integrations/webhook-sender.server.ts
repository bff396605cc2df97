// Sending one outbound webhook attempt: the destination checked against private and loopback addresses
// (SSRF) when the deployment does not allow them, the body signed as a Standard Webhook with the endpoint's
// secret (`standardwebhooks`: webhook-id, webhook-timestamp, webhook-signature), a deadline for the whole
// attempt, redirects not followed. Only the status code is kept of the answer.
import dns from "node:dns";
import http from "node:http";
import https from "node:https";
import net from "node:net";
import { Webhook } from "standardwebhooks";

export class WebhookDestinationError extends Error {
  readonly code = "WEBHOOK_DESTINATION_REFUSED";
  constructor(message: string) {
    super(message);
    this.name = "WebhookDestinationError";
  }
}

// Where a request from our servers must not go unless the deployment says so: this host, its network,
// link-local (cloud metadata at 169.254.169.254), carrier-grade NAT, multicast and reserved ranges.
const PRIVATE_RANGES = new net.BlockList();
for (const [network, prefix] of [
  ["0.0.0.0", 8], ["10.0.0.0", 8], ["100.64.0.0", 10], ["127.0.0.0", 8], ["169.254.0.0", 16], ["172.16.0.0", 12],
  ["192.0.0.0", 24], ["192.0.2.0", 24], ["192.168.0.0", 16], ["198.18.0.0", 15], ["198.51.100.0", 24], ["203.0.113.0", 24],
  ["224.0.0.0", 4], ["240.0.0.0", 4],
] as const) PRIVATE_RANGES.addSubnet(network, prefix, "ipv4");
for (const [network, prefix] of [
  ["::", 128], ["::1", 128], ["64:ff9b:1::", 48], ["100::", 64], ["2001:db8::", 32], ["fc00::", 7], ["fe80::", 10], ["ff00::", 8],
] as const) PRIVATE_RANGES.addSubnet(network, prefix, "ipv6");

/** True for an address we refuse to send to without the setting (IPv4-mapped IPv6 judged as its IPv4). */
export function isPrivateAddress(address: string): boolean {
  const family = net.isIP(address);
  if (family === 0) return true;
  if (family === 6) {
    const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
    if (mapped) return PRIVATE_RANGES.check(mapped[1]!, "ipv4");
    // As URL parsing writes them: ::ffff:7f00:1 is 127.0.0.1.
    const hex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(address);
    if (hex) {
      const [high, low] = [parseInt(hex[1]!, 16), parseInt(hex[2]!, 16)];
      return PRIVATE_RANGES.check(`${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`, "ipv4");
    }
    return PRIVATE_RANGES.check(address, "ipv6");
  }
  return PRIVATE_RANGES.check(address, "ipv4");
}

function hostOf(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, "$1");
}

function refusedAddress(host: string, address: string): WebhookDestinationError {
  return new WebhookDestinationError(
    host === address
      ? `${address} is a private, loopback or reserved address; StableFlow sends webhooks only to public addresses`
      : `${host} resolves to ${address}, a private, loopback or reserved address; StableFlow sends webhooks only to public addresses`,
  );
}

export interface DestinationPolicy {
  /** STABLEFLOW_WEBHOOK_ALLOW_PRIVATE_URLS: private and loopback destinations allowed (development, tests). */
  allowPrivate: boolean;
}

/**
 * Refuses a destination that is not http(s), or (without allowPrivate) whose host is, or resolves to, a
 * private address. At registration, for a clear sentence; every attempt checks the address it connects to
 * again (a name may resolve elsewhere later).
 */
export async function checkDestination(rawUrl: string, policy: DestinationPolicy): Promise<void> {
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    throw new WebhookDestinationError("the URL cannot be parsed");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw new WebhookDestinationError("only http:// and https:// URLs can receive webhooks");
  if (policy.allowPrivate) return;
  const host = hostOf(url);
  if (net.isIP(host)) {
    if (isPrivateAddress(host)) throw refusedAddress(host, host);
    return;
  }
  let addresses: dns.LookupAddress[];
  try {
    addresses = await dns.promises.lookup(host, { all: true });
  } catch {
    throw new WebhookDestinationError(`${host} does not resolve to an address`);
  }
  const bad = addresses.find((a) => isPrivateAddress(a.address));
  if (bad) throw refusedAddress(host, bad.address);
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | dns.LookupAddress[], family?: number) => void;

/** dns.lookup for http.request that refuses private answers: the check is on the address actually connected to. */
function guardedLookup(policy: DestinationPolicy) {
  return (hostname: string, options: dns.LookupOptions, callback: LookupCallback) => {
    dns.lookup(hostname, { ...options }, (error, address, family) => {
      if (error) return callback(error, address as string, family);
      if (!policy.allowPrivate) {
        const answers = Array.isArray(address) ? address : [{ address: address as string, family: family ?? 4 }];
        const bad = answers.find((a) => isPrivateAddress(a.address));
        if (bad) return callback(refusedAddress(hostname, bad.address) as NodeJS.ErrnoException, address as string, family);
      }
      callback(null, address as string, family);
    });
  };
}

export interface OutboundAttempt {
  url: string;
  /** Stable across every attempt of one event to one endpoint: the receiver's idempotency key. */
  webhookId: string;
  /** The exact JSON text signed and sent. */
  body: string;
  secret: string;
  timeoutMs: number;
  policy: DestinationPolicy;
}

export interface AttemptOutcome {
  delivered: boolean;
  statusCode: number | null;
  /** Why it did not count as delivered: a sentence without the secret or the body. */
  error: string | null;
  startedAt: Date;
  durationMs: number;
}

const MAX_ERROR = 500;

function describeError(error: unknown, timeoutMs: number): string {
  if (error instanceof WebhookDestinationError) return `refused: ${error.message}`;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === "ETIMEDOUT_ATTEMPT") return `no answer within ${timeoutMs} ms`;
  if (code === "ECONNREFUSED") return "connection refused";
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") return "the host does not resolve";
  if (code === "ECONNRESET") return "the connection was reset";
  const message = error instanceof Error ? error.message : String(error);
  return (code ? `${code}: ${message}` : message).slice(0, MAX_ERROR);
}

/** One attempt: signed now (webhook-timestamp is the attempt's time), answered 2xx within the deadline or not delivered. */
export async function sendSignedWebhook(attempt: OutboundAttempt): Promise<AttemptOutcome> {
  const startedAt = new Date();
  const done = (statusCode: number | null, error: string | null): AttemptOutcome => ({
    delivered: error === null && statusCode !== null && statusCode >= 200 && statusCode < 300,
    statusCode,
    error,
    startedAt,
    durationMs: Date.now() - startedAt.getTime(),
  });
  let url: URL;
  try {
    url = new URL(attempt.url);
    if (url.protocol !== "https:" && url.protocol !== "http:") throw new WebhookDestinationError("only http:// and https:// URLs can receive webhooks");
    const host = hostOf(url);
    // An address written in the URL is connected to without a lookup: checked here.
    if (!attempt.policy.allowPrivate && net.isIP(host) && isPrivateAddress(host)) throw refusedAddress(host, host);
  } catch (error) {
    return done(null, describeError(error, attempt.timeoutMs));
  }
  const signature = new Webhook(attempt.secret).sign(attempt.webhookId, startedAt, attempt.body);
  const headers = {
    "content-type": "application/json",
    "content-length": String(Buffer.byteLength(attempt.body)),
    "user-agent": "StableFlow-Webhooks/1",
    "webhook-id": attempt.webhookId,
    "webhook-timestamp": String(Math.floor(startedAt.getTime() / 1000)),
    "webhook-signature": signature,
  };
  const transport = url.protocol === "https:" ? https : http;
  return new Promise<AttemptOutcome>((resolve) => {
    let settled = false;
    const finish = (statusCode: number | null, error: string | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      resolve(done(statusCode, error));
    };
    const request = transport.request(url, { method: "POST", headers, agent: false, lookup: guardedLookup(attempt.policy) as never }, (response) => {
      const status = response.statusCode ?? null;
      // The answer's body is not kept: drained (and cut off after 64 KiB) so the connection closes.
      let seen = 0;
      response.on("data", (chunk: Buffer) => {
        seen += chunk.length;
        if (seen > 64 * 1024) response.destroy();
      });
      response.on("end", () => finish(status, status !== null && status >= 200 && status < 300 ? null : `HTTP ${status}`));
      response.on("close", () => finish(status, status !== null && status >= 200 && status < 300 ? null : `HTTP ${status}`));
      response.on("error", () => finish(status, status !== null && status >= 200 && status < 300 ? null : `HTTP ${status}`));
    });
    const deadline = setTimeout(() => {
      const error = Object.assign(new Error("deadline"), { code: "ETIMEDOUT_ATTEMPT" });
      finish(null, describeError(error, attempt.timeoutMs));
      request.destroy(error);
    }, attempt.timeoutMs);
    deadline.unref();
    request.on("error", (error) => finish(null, describeError(error, attempt.timeoutMs)));
    request.end(attempt.body);
  });
}

/** A new Standard Webhooks secret: whsec_ and 32 random bytes in base64 (shown once to the admin). */
export function newEndpointSecret(): string {
  return `whsec_${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64")}`;
}
