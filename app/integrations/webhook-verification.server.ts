// Standard Webhooks verification (and signing, for the simulator and tests) of Dodo deliveries.
// Every way a delivery can fail verification becomes one typed WebhookSignatureError (HTTP 401).
import { randomBytes } from "node:crypto";
import { Webhook, WebhookVerificationError } from "standardwebhooks";

/** Standard Webhooks' tolerance; the library enforces the same, we check it ourselves so the rule is ours. */
export const WEBHOOK_TOLERANCE_SECONDS = 5 * 60;
/** More signatures than this in one header is not rotation, it is an attempt to make us hash a lot. */
const MAX_SIGNATURES = 8;
const MAX_HEADER_LENGTH = 4096;
const WEBHOOK_ID_PATTERN = /^[A-Za-z0-9_.:\-]{1,200}$/;
const TIMESTAMP_PATTERN = /^[0-9]{1,12}$/;
const SIGNATURE_PATTERN = /^v1,[A-Za-z0-9+/]{43}=$/;

export type WebhookSignatureFailure =
  | "missing_header"
  | "malformed_header"
  | "timestamp_too_old"
  | "timestamp_too_new"
  | "no_matching_signature";

export class WebhookSignatureError extends Error {
  readonly code = "WEBHOOK_SIGNATURE_INVALID";
  readonly status = 401;
  constructor(readonly reason: WebhookSignatureFailure) {
    // The message is safe to log: it names the failure class, never a header value or the secret.
    super(`webhook signature rejected: ${reason}`);
    this.name = "WebhookSignatureError";
  }
}

export interface VerifiedWebhookHeaders {
  webhookId: string;
  /** Seconds since the epoch, as sent in `webhook-timestamp`. */
  timestampSeconds: number;
}

export type HeaderSource = Headers | Record<string, string | string[] | undefined>;

/** Standard Webhooks wants a plain object; Fetch `Headers` is not one. Lower-cases names, joins repeats. */
export function plainHeaders(headers: HeaderSource): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof (headers as Headers).forEach === "function" && typeof (headers as Headers).get === "function") {
    (headers as Headers).forEach((value, key) => {
      out[key.toLowerCase()] = value;
    });
    return out;
  }
  for (const [key, value] of Object.entries(headers as Record<string, string | string[] | undefined>)) {
    if (value === undefined) continue;
    out[key.toLowerCase()] = Array.isArray(value) ? value.join(", ") : value;
  }
  return out;
}

export interface WebhookVerifierOptions {
  /** Clock in ms; injectable for tests of the tolerance window. */
  now?: () => number;
}

/**
 * Verifies `webhook-id`, `webhook-timestamp`, `webhook-signature` against one or more secrets
 * (several during a rotation on our side; the header itself may carry several `v1,` signatures
 * during a rotation on Dodo's side). Returns the id and timestamp; never parses the body.
 */
export class DodoWebhookVerifier {
  private readonly webhooks: Webhook[];
  private readonly now: () => number;

  constructor(secrets: string | readonly string[], options: WebhookVerifierOptions = {}) {
    const list = typeof secrets === "string" ? [secrets] : [...secrets];
    if (list.length === 0) throw new TypeError("at least one webhook secret is required");
    // Constructing validates the base64 secret; a bad secret is a configuration error, raised at boot.
    this.webhooks = list.map((secret) => new Webhook(secret));
    this.now = options.now ?? Date.now;
  }

  verify(rawBody: string, headers: HeaderSource): VerifiedWebhookHeaders {
    const plain = plainHeaders(headers);
    const webhookId = plain["webhook-id"];
    const timestamp = plain["webhook-timestamp"];
    const signature = plain["webhook-signature"];
    if (!webhookId || !timestamp || !signature) throw new WebhookSignatureError("missing_header");
    if (
      webhookId.length > MAX_HEADER_LENGTH ||
      timestamp.length > MAX_HEADER_LENGTH ||
      signature.length > MAX_HEADER_LENGTH ||
      !WEBHOOK_ID_PATTERN.test(webhookId) ||
      !TIMESTAMP_PATTERN.test(timestamp)
    ) {
      throw new WebhookSignatureError("malformed_header");
    }
    const candidates = signature.split(" ").filter((part) => part.length > 0);
    if (candidates.length === 0 || candidates.length > MAX_SIGNATURES) throw new WebhookSignatureError("malformed_header");
    // Versions other than v1 are skipped (the spec allows future schemes), but at least one v1 must be well formed.
    if (!candidates.some((c) => SIGNATURE_PATTERN.test(c))) throw new WebhookSignatureError("malformed_header");

    const timestampSeconds = Number(timestamp);
    const nowSeconds = Math.floor(this.now() / 1000);
    if (nowSeconds - timestampSeconds > WEBHOOK_TOLERANCE_SECONDS) throw new WebhookSignatureError("timestamp_too_old");
    if (timestampSeconds - nowSeconds > WEBHOOK_TOLERANCE_SECONDS) throw new WebhookSignatureError("timestamp_too_new");

    const forLibrary = { "webhook-id": webhookId, "webhook-timestamp": timestamp, "webhook-signature": candidates.join(" ") };
    for (const webhook of this.webhooks) {
      try {
        // jsonParse: false — the body is parsed later by our schema, so malformed JSON is a 400, not a 401.
        webhook.verify(rawBody, forLibrary, { jsonParse: false });
        return { webhookId, timestampSeconds };
      } catch (error) {
        if (error instanceof WebhookVerificationError) {
          if (/too old/i.test(error.message)) throw new WebhookSignatureError("timestamp_too_old");
          if (/too new/i.test(error.message)) throw new WebhookSignatureError("timestamp_too_new");
          continue;
        }
        // Anything else from the library (e.g. a TypeError on odd input) is still a rejected signature.
        continue;
      }
    }
    throw new WebhookSignatureError("no_matching_signature");
  }
}

/** Signs a delivery exactly as Dodo (Svix, Standard Webhooks) does; used by the simulator and tests. */
export function signWebhook(input: {
  secret: string;
  webhookId: string;
  timestampSeconds: number;
  body: string;
}): Record<"webhook-id" | "webhook-timestamp" | "webhook-signature", string> {
  const signature = new Webhook(input.secret).sign(input.webhookId, new Date(input.timestampSeconds * 1000), input.body);
  return {
    "webhook-id": input.webhookId,
    "webhook-timestamp": String(input.timestampSeconds),
    "webhook-signature": signature,
  };
}

/** A fresh Standard Webhooks secret (`whsec_` + base64 of 32 random bytes). */
export function generateWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString("base64")}`;
}

/** Rejections since boot, by reason: the only trace an unverified delivery leaves. */
export const webhookRejectionCounter: Record<WebhookSignatureFailure | "total", number> = {
  total: 0,
  missing_header: 0,
  malformed_header: 0,
  timestamp_too_old: 0,
  timestamp_too_new: 0,
  no_matching_signature: 0,
};

export function countWebhookRejection(reason: WebhookSignatureFailure): void {
  webhookRejectionCounter.total += 1;
  webhookRejectionCounter[reason] += 1;
}
