// Configuration parsing: defaults, a clear message naming each bad variable, and no secret echoed.
import { describe, expect, it } from "vitest";
import { ConfigError, SECRET_ENV_NAMES, parseEnv, redactDatabaseUrl, webhookSecrets } from "./env.server";

/** Everything production needs, to vary one variable at a time. */
const PRODUCTION = {
  STABLEFLOW_ENV: "production",
  DATABASE_URL: "postgresql://app:pw@db.example:5432/ledger",
  DODO_PAYMENTS_API_KEY: "sk_live_abcdefghijkl",
  DODO_PAYMENTS_WEBHOOK_KEY: "whsec_" + "Z".repeat(43) + "=",
  STABLEFLOW_PUBLIC_URL: "https://pay.example.com",
};

function configError(source: Record<string, string>): ConfigError {
  try {
    parseEnv(source);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error("expected a ConfigError");
}

describe("parseEnv", () => {
  it("embedded defaults need no variable at all", () => {
    const env = parseEnv({});
    expect(env).toMatchObject({ PORT: 3000, STABLEFLOW_DATA_DIR: ".stableflow", STABLEFLOW_ENV: "development", DODO_PAYMENTS_ENVIRONMENT: "test_mode" });
    expect(env.DATABASE_URL).toBeUndefined();
  });

  it("an empty variable counts as unset", () => {
    expect(parseEnv({ PORT: "", DATABASE_URL: "" }).PORT).toBe(3000);
  });

  it("error: a bad PORT names the variable", () => {
    const error = configError({ PORT: "eighty" });
    expect(error.problems.map((p) => p.variable)).toEqual(["PORT"]);
    expect(error.message).toMatch(/^Invalid configuration:\n  PORT: /);
    expect(configError({ PORT: "70000" }).problems[0].variable).toBe("PORT");
  });

  it("error: a malformed DATABASE_URL is named but its value never echoed", () => {
    const error = configError({ DATABASE_URL: "mysql://root:hunter2secret@db/x" });
    expect(error.problems[0].variable).toBe("DATABASE_URL");
    expect(error.message).not.toContain("hunter2secret");
  });

  it("error: every bad variable is reported at once", () => {
    const error = configError({ PORT: "-1", DODO_PAYMENTS_ENVIRONMENT: "prod", LOG_LEVEL: "loud" });
    expect(error.problems.map((p) => p.variable).sort()).toEqual(["DODO_PAYMENTS_ENVIRONMENT", "LOG_LEVEL", "PORT"]);
  });

  it("error: production refuses the simulator, the embedded database and a missing public URL", () => {
    const error = configError({ STABLEFLOW_ENV: "production" });
    expect(error.problems.map((p) => p.variable).sort()).toEqual([
      "DATABASE_URL",
      "DODO_PAYMENTS_API_KEY",
      "DODO_PAYMENTS_WEBHOOK_KEY",
      "STABLEFLOW_PUBLIC_URL",
    ]);
  });

  it("error: STABLEFLOW_ALLOW_SIMULATOR lifts only the Dodo API key requirement in production", () => {
    // Allowing the simulator (a demo) keeps a real database, a webhook key and a public URL required.
    const error = configError({ STABLEFLOW_ENV: "production", STABLEFLOW_ALLOW_SIMULATOR: "true" });
    expect(error.problems.map((p) => p.variable).sort()).toEqual(["DATABASE_URL", "DODO_PAYMENTS_WEBHOOK_KEY", "STABLEFLOW_PUBLIC_URL"]);
    const demo = parseEnv({ ...PRODUCTION, DODO_PAYMENTS_API_KEY: "", STABLEFLOW_ALLOW_SIMULATOR: "true" });
    expect(demo.STABLEFLOW_ALLOW_SIMULATOR).toBe(true);
    expect(demo.DODO_PAYMENTS_API_KEY).toBeUndefined();
  });

  it("production starts with a real database, Dodo keys and an https public URL", () => {
    expect(parseEnv(PRODUCTION).STABLEFLOW_PUBLIC_URL).toBe("https://pay.example.com");
  });

  it("error: production refuses DODO_PAYMENTS_BASE_URL (the live key would go to a double)", () => {
    const error = configError({ ...PRODUCTION, DODO_PAYMENTS_BASE_URL: "http://127.0.0.1:9999" });
    expect(error.problems.map((p) => p.variable)).toEqual(["DODO_PAYMENTS_BASE_URL"]);
  });

  it("STABLEFLOW_PUBLIC_URL is kept as an origin: a trailing slash is dropped", () => {
    expect(parseEnv({ STABLEFLOW_PUBLIC_URL: "https://pay.example.com/" }).STABLEFLOW_PUBLIC_URL).toBe("https://pay.example.com");
    expect(parseEnv({ STABLEFLOW_PUBLIC_URL: "http://127.0.0.1:8080" }).STABLEFLOW_PUBLIC_URL).toBe("http://127.0.0.1:8080");
  });

  it("error: STABLEFLOW_PUBLIC_URL must be a bare http(s) origin, https in production", () => {
    for (const bad of ["pay.example.com", "ftp://pay.example.com", "https://pay.example.com/shop", "https://pay.example.com?x=1", "https://user:pw@pay.example.com"]) {
      expect(configError({ STABLEFLOW_PUBLIC_URL: bad }).problems.map((p) => p.variable)).toEqual(["STABLEFLOW_PUBLIC_URL"]);
    }
    const plain = configError({ ...PRODUCTION, STABLEFLOW_PUBLIC_URL: "http://pay.example.com" });
    expect(plain.problems.map((p) => p.variable)).toEqual(["STABLEFLOW_PUBLIC_URL"]);
    expect(plain.message).toContain("https");
  });

  it("DODO_PAYMENTS_WEBHOOK_KEY holds several secrets, comma or space separated (rotation)", () => {
    const [a, b, c] = ["whsec_" + "A".repeat(43) + "=", "whsec_" + "B".repeat(43) + "=", "C".repeat(44)];
    expect(webhookSecrets(parseEnv({ DODO_PAYMENTS_WEBHOOK_KEY: `${a},${b}` }))).toEqual([a, b]);
    expect(webhookSecrets(parseEnv({ DODO_PAYMENTS_WEBHOOK_KEY: `${a} ${b}  ${c}` }))).toEqual([a, b, c]);
    expect(webhookSecrets(parseEnv({ DODO_PAYMENTS_WEBHOOK_KEY: ` ${a} , ${b} ` }))).toEqual([a, b]);
    expect(webhookSecrets(parseEnv({}))).toEqual([]);
  });

  it("error: a webhook secret that is not one is named by position, never echoed", () => {
    const good = "whsec_" + "A".repeat(43) + "=";
    const error = configError({ DODO_PAYMENTS_WEBHOOK_KEY: `${good}, not*a*secret!!` });
    expect(error.problems.map((p) => p.variable)).toEqual(["DODO_PAYMENTS_WEBHOOK_KEY"]);
    expect(error.message).toContain("secret 2 of 2");
    expect(error.message).not.toContain("not*a*secret");
    expect(error.message).not.toContain(good);
  });

  it("DATABASE_MIGRATION_URL: a second role that migrates, only beside DATABASE_URL, never echoed", () => {
    const env = parseEnv({ DATABASE_URL: "postgresql://app:pw@db/x", DATABASE_MIGRATION_URL: "postgresql://owner:pw@db/x" });
    expect(env.DATABASE_MIGRATION_URL).toBe("postgresql://owner:pw@db/x");
    // Without DATABASE_URL the embedded database (one role) is used and the migration URL means nothing.
    expect(parseEnv({ DATABASE_MIGRATION_URL: "postgresql://owner:pw@db/x" }).DATABASE_MIGRATION_URL).toBeUndefined();
    expect(configError({ ...PRODUCTION, DATABASE_URL: "", DATABASE_MIGRATION_URL: "postgresql://owner:pw@db/x" }).problems.map((p) => p.variable)).toEqual([
      "DATABASE_URL",
    ]);
    const bad = configError({ DATABASE_URL: "postgresql://app:pw@db/x", DATABASE_MIGRATION_URL: "mysql://owner:Hunter2Owner@db/x" });
    expect(bad.problems.map((p) => p.variable)).toEqual(["DATABASE_MIGRATION_URL"]);
    expect(bad.message).not.toContain("Hunter2Owner");
    expect(SECRET_ENV_NAMES).toContain("DATABASE_MIGRATION_URL");
  });

  it("error: a Dodo API key without its webhook key is refused", () => {
    const error = configError({ DODO_PAYMENTS_API_KEY: "sk_test_abcdefghijkl" });
    expect(error.problems[0].variable).toBe("DODO_PAYMENTS_WEBHOOK_KEY");
    expect(error.message).not.toContain("sk_test_abcdefghijkl");
  });

  it("redacts the password of a connection URL", () => {
    expect(redactDatabaseUrl("postgresql://app:s3cr3t-pass@db.example:5432/ledger")).toBe("postgresql://app:***@db.example:5432/ledger");
    expect(redactDatabaseUrl("postgresql://db.example/ledger")).toBe("postgresql://db.example/ledger");
  });
});
