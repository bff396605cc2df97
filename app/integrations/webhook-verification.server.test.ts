// Signature matrix for the Standard Webhooks verifier: every failure is a WebhookSignatureError with a reason.
import { describe, expect, it } from "vitest";
import {
  DodoWebhookVerifier,
  WebhookSignatureError,
  generateWebhookSecret,
  signWebhook,
  type WebhookSignatureFailure,
} from "./webhook-verification.server";

const secret = generateWebhookSecret();
const otherSecret = generateWebhookSecret();
const body = JSON.stringify({ business_id: "bus_1", type: "payment.succeeded", timestamp: "2026-11-25T10:00:00Z", data: {} });
const nowSeconds = () => Math.floor(Date.now() / 1000);

function rejection(fn: () => unknown): WebhookSignatureFailure {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(WebhookSignatureError);
    expect((error as WebhookSignatureError).status).toBe(401);
    expect((error as Error).message).not.toContain(secret);
    return (error as WebhookSignatureError).reason;
  }
  throw new Error("expected a WebhookSignatureError");
}

describe("DodoWebhookVerifier", () => {
  const verifier = new DodoWebhookVerifier(secret);

  it("accepts a delivery signed with the secret", () => {
    const headers = signWebhook({ secret, webhookId: "msg_1", timestampSeconds: nowSeconds(), body });
    expect(verifier.verify(body, headers)).toEqual({ webhookId: "msg_1", timestampSeconds: Number(headers["webhook-timestamp"]) });
  });

  it("accepts Fetch Headers as well as a plain object", () => {
    const headers = signWebhook({ secret, webhookId: "msg_1", timestampSeconds: nowSeconds(), body });
    expect(verifier.verify(body, new Headers(headers)).webhookId).toBe("msg_1");
  });

  it("error: signed with another secret", () => {
    const headers = signWebhook({ secret: otherSecret, webhookId: "msg_1", timestampSeconds: nowSeconds(), body });
    expect(rejection(() => verifier.verify(body, headers))).toBe("no_matching_signature");
  });

  it("error: body changed by one byte", () => {
    const headers = signWebhook({ secret, webhookId: "msg_1", timestampSeconds: nowSeconds(), body });
    const tampered = body.replace("bus_1", "bus_2");
    expect(tampered.length).toBe(body.length);
    expect(rejection(() => verifier.verify(tampered, headers))).toBe("no_matching_signature");
  });

  it("error: webhook-id swapped after signing", () => {
    const headers = signWebhook({ secret, webhookId: "msg_1", timestampSeconds: nowSeconds(), body });
    expect(rejection(() => verifier.verify(body, { ...headers, "webhook-id": "msg_2" }))).toBe("no_matching_signature");
  });

  it("error: timestamp 5 min 1 s old", () => {
    const headers = signWebhook({ secret, webhookId: "msg_1", timestampSeconds: nowSeconds() - 301, body });
    expect(rejection(() => verifier.verify(body, headers))).toBe("timestamp_too_old");
  });

  it("error: timestamp 6 min in the future", () => {
    const headers = signWebhook({ secret, webhookId: "msg_1", timestampSeconds: nowSeconds() + 360, body });
    expect(rejection(() => verifier.verify(body, headers))).toBe("timestamp_too_new");
  });

  it("error: our own window check refuses 301 s either side, independent of the library (injected clock)", () => {
    const t = 1_800_000_000;
    const fixed = new DodoWebhookVerifier(secret, { now: () => t * 1000 });
    const old = signWebhook({ secret, webhookId: "m", timestampSeconds: t - 301, body });
    expect(rejection(() => fixed.verify(body, old))).toBe("timestamp_too_old");
    const future = signWebhook({ secret, webhookId: "m", timestampSeconds: t + 301, body });
    expect(rejection(() => fixed.verify(body, future))).toBe("timestamp_too_new");
  });

  it("accepts a delivery 4 min 50 s old and one 4 min 50 s ahead", () => {
    for (const offset of [-290, 290]) {
      const headers = signWebhook({ secret, webhookId: "msg_1", timestampSeconds: nowSeconds() + offset, body });
      expect(verifier.verify(body, headers).webhookId).toBe("msg_1");
    }
  });

  for (const header of ["webhook-id", "webhook-timestamp", "webhook-signature"] as const) {
    it(`error: missing ${header}`, () => {
      const headers: Record<string, string> = signWebhook({ secret, webhookId: "msg_1", timestampSeconds: nowSeconds(), body });
      delete headers[header];
      expect(rejection(() => verifier.verify(body, headers))).toBe("missing_header");
    });
  }

  it("accepts two signatures of which one is valid (rotation on Dodo's side)", () => {
    const ts = nowSeconds();
    const good = signWebhook({ secret, webhookId: "msg_1", timestampSeconds: ts, body })["webhook-signature"];
    const bad = signWebhook({ secret: otherSecret, webhookId: "msg_1", timestampSeconds: ts, body })["webhook-signature"];
    const headers = { "webhook-id": "msg_1", "webhook-timestamp": String(ts), "webhook-signature": `${bad} ${good}` };
    expect(verifier.verify(body, headers).webhookId).toBe("msg_1");
  });

  it("accepts a delivery signed with the previous secret when both are configured (rotation on ours)", () => {
    const rotating = new DodoWebhookVerifier([otherSecret, secret]);
    const headers = signWebhook({ secret, webhookId: "msg_1", timestampSeconds: nowSeconds(), body });
    expect(rotating.verify(body, headers).webhookId).toBe("msg_1");
  });

  it("error: two signatures, neither valid", () => {
    const ts = nowSeconds();
    const bad = signWebhook({ secret: otherSecret, webhookId: "msg_1", timestampSeconds: ts, body })["webhook-signature"];
    const headers = { "webhook-id": "msg_1", "webhook-timestamp": String(ts), "webhook-signature": `${bad} ${bad}` };
    expect(rejection(() => verifier.verify(body, headers))).toBe("no_matching_signature");
  });

  for (const garbage of ["garbage", "v1,", "v1,!!!!", "v2,abc", ",,,", "v1 ,x", "v1,".padEnd(5000, "A")]) {
    it(`error: garbage signature format ${JSON.stringify(garbage.slice(0, 12))}`, () => {
      const headers = { "webhook-id": "msg_1", "webhook-timestamp": String(nowSeconds()), "webhook-signature": garbage };
      expect(rejection(() => verifier.verify(body, headers))).toBe("malformed_header");
    });
  }

  for (const timestamp of ["12abc", "-5", "1e9", " 1", "NaN"]) {
    it(`error: malformed timestamp ${JSON.stringify(timestamp)}`, () => {
      const headers = signWebhook({ secret, webhookId: "msg_1", timestampSeconds: nowSeconds(), body });
      expect(rejection(() => verifier.verify(body, { ...headers, "webhook-timestamp": timestamp }))).toBe("malformed_header");
    });
  }
});
