// Configuration parsing: defaults, a clear message naming each bad variable, and no secret echoed.
import { describe, expect, it } from "vitest";
import { ConfigError, parseEnv, redactDatabaseUrl } from "./env.server";

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

  it("error: production refuses the simulator and the embedded database unless allowed", () => {
    const error = configError({ STABLEFLOW_ENV: "production" });
    expect(error.problems.map((p) => p.variable).sort()).toEqual(["DATABASE_URL", "DODO_PAYMENTS_API_KEY", "DODO_PAYMENTS_WEBHOOK_KEY"]);
    expect(parseEnv({ STABLEFLOW_ENV: "production", STABLEFLOW_ALLOW_SIMULATOR: "true" }).STABLEFLOW_ALLOW_SIMULATOR).toBe(true);
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
