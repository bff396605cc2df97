// The logger never writes a secret's value, wherever it appears in a line.
import { afterEach, describe, expect, it, vi } from "vitest";
import { describeError, log, redact } from "./log.server";

const saved = { ...process.env };
afterEach(() => {
  process.env = { ...saved };
  vi.restoreAllMocks();
});

describe("log redaction", () => {
  it("blanks the values of secret variables and the database password", () => {
    process.env.DODO_PAYMENTS_WEBHOOK_KEY = "whsec_c2VjcmV0LWtleQ==";
    process.env.DATABASE_URL = "postgresql://app:pa55word-xyz@db:5432/x";
    const text = redact("key=whsec_c2VjcmV0LWtleQ== url=postgresql://app:pa55word-xyz@db:5432/x pw=pa55word-xyz");
    expect(text).not.toContain("whsec_c2VjcmV0LWtleQ==");
    expect(text).not.toContain("pa55word-xyz");
    expect(text).toContain("[redacted]");
  });

  it("blanks each of several webhook secrets on its own, and the migration role's password", () => {
    process.env.DODO_PAYMENTS_WEBHOOK_KEY = "whsec_b2xkLXNlY3JldA==, whsec_bmV3LXNlY3JldA==";
    process.env.DATABASE_MIGRATION_URL = "postgresql://owner:0wner-pass-9@db:5432/x";
    const text = redact("old=whsec_b2xkLXNlY3JldA== new=whsec_bmV3LXNlY3JldA== pw=0wner-pass-9");
    expect(text).not.toContain("whsec_b2xkLXNlY3JldA==");
    expect(text).not.toContain("whsec_bmV3LXNlY3JldA==");
    expect(text).not.toContain("0wner-pass-9");
  });

  it("a log line with a secret in a field is written redacted", () => {
    process.env.DODO_PAYMENTS_API_KEY = "sk_live_0123456789";
    process.env.LOG_LEVEL = "info";
    const writes: string[] = [];
    vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
      writes.push(String(chunk));
      return true;
    });
    log.info("calling dodo", { header: "Bearer sk_live_0123456789", amount: 12n });
    expect(writes).toHaveLength(1);
    expect(writes[0]).not.toContain("sk_live_0123456789");
    expect(JSON.parse(writes[0])).toMatchObject({ level: "info", msg: "calling dodo", amount: "12" });
  });
});

describe("describeError: what failed, as one line, whatever was thrown", () => {
  it("names an Error with its class and cause, a Response and a route ErrorResponse by status, other values as JSON", () => {
    expect(describeError(new RangeError("too far", { cause: new Error("disk full") }))).toBe("RangeError: too far (cause: disk full)");
    expect(describeError(new Error("plain"))).toBe("plain");
    expect(describeError(new Response("gone", { status: 410, statusText: "Gone" }))).toBe("HTTP 410 Gone");
    expect(describeError({ status: 404, statusText: "Not Found", internal: true, data: 'Error: No route matches URL "/x"' })).toBe(
      'HTTP 404 Not Found: Error: No route matches URL "/x"',
    );
    expect(describeError({ code: "E_X", amount: 5n })).toBe('{"code":"E_X","amount":"5"}');
    expect(describeError("text")).toBe("text");
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    expect(describeError(circular)).toBe("Object with keys self");
  });

  it("an Error in a log field is written with its class, never as {} or [object Object]", () => {
    process.env.LOG_LEVEL = "info";
    const writes: string[] = [];
    vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
      writes.push(String(chunk));
      return true;
    });
    log.error("it broke", { error: new TypeError("x is undefined") });
    expect(JSON.parse(writes[0]!)).toMatchObject({ level: "error", msg: "it broke", error: "TypeError: x is undefined" });
  });
});
