// Configuration: every environment variable StableFlow reads, parsed once at boot with zod.
// A bad value stops the process with a message naming the variable; secret values are never echoed.
import { z } from "zod";

const booleanFlag = z
  .enum(["true", "false", "1", "0"], { error: "expected true or false" })
  .transform((value) => value === "true" || value === "1");

const postgresUrl = z
  .string()
  .trim()
  .refine((value) => /^postgres(ql)?:\/\/[^\s]+$/.test(value), {
    error: "expected a postgres:// or postgresql:// connection URL",
  });

const EnvSchema = z.object({
  STABLEFLOW_ENV: z.enum(["development", "production", "test"]).default("development"),
  PORT: z.coerce.number({ error: "expected a port number" }).int().min(1).max(65535).default(3000),
  HOST: z.string().trim().min(1).default("127.0.0.1"),
  STABLEFLOW_DATA_DIR: z.string().trim().min(1).default(".stableflow"),
  DATABASE_URL: postgresUrl.optional(),
  DODO_PAYMENTS_API_KEY: z.string().trim().min(1).optional(),
  DODO_PAYMENTS_WEBHOOK_KEY: z.string().trim().min(1).optional(),
  DODO_PAYMENTS_ENVIRONMENT: z.enum(["test_mode", "live_mode"]).default("test_mode"),
  // Only for pointing the SDK at a local double of Dodo's API in development and tests.
  DODO_PAYMENTS_BASE_URL: z.url({ error: "expected an http(s) URL" }).optional(),
  SOLANA_RPC_URL: z.url({ error: "expected an http(s) URL" }).optional(),
  // Production refuses the simulator and the embedded chain unless this says otherwise.
  STABLEFLOW_ALLOW_SIMULATOR: booleanFlag.default(false),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error", "silent"]).default("info"),
});

export type Env = z.infer<typeof EnvSchema>;

/** Names whose values must never appear in logs, errors or pages. */
export const SECRET_ENV_NAMES = ["DATABASE_URL", "DODO_PAYMENTS_API_KEY", "DODO_PAYMENTS_WEBHOOK_KEY"] as const;

export class ConfigError extends Error {
  readonly code = "CONFIG_INVALID";
  constructor(readonly problems: { variable: string; message: string }[]) {
    super(
      "Invalid configuration:\n" +
        problems.map((p) => `  ${p.variable}: ${p.message}`).join("\n"),
    );
    this.name = "ConfigError";
  }
}

/** Parses the environment; throws ConfigError naming every bad variable (never its value). */
export function parseEnv(source: Record<string, string | undefined> = process.env): Env {
  // An empty variable means "not set": `FOO= npm start` must not become a config error.
  const cleaned = Object.fromEntries(
    Object.entries(source).filter(([, value]) => value !== undefined && value !== ""),
  );
  const result = EnvSchema.safeParse(cleaned);
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map((issue) => ({
        variable: String(issue.path[0] ?? "(environment)"),
        message: issue.message,
      })),
    );
  }
  const env = result.data;
  const problems: { variable: string; message: string }[] = [];
  if (env.STABLEFLOW_ENV === "production" && !env.STABLEFLOW_ALLOW_SIMULATOR) {
    if (!env.DODO_PAYMENTS_API_KEY) {
      problems.push({
        variable: "DODO_PAYMENTS_API_KEY",
        message: "required in production (the checkout simulator is refused unless STABLEFLOW_ALLOW_SIMULATOR=true)",
      });
    }
    if (!env.DODO_PAYMENTS_WEBHOOK_KEY) {
      problems.push({ variable: "DODO_PAYMENTS_WEBHOOK_KEY", message: "required in production" });
    }
    if (!env.DATABASE_URL) {
      problems.push({ variable: "DATABASE_URL", message: "required in production (the embedded database is for development)" });
    }
  }
  if (env.DODO_PAYMENTS_API_KEY && !env.DODO_PAYMENTS_WEBHOOK_KEY) {
    problems.push({
      variable: "DODO_PAYMENTS_WEBHOOK_KEY",
      message: "required when DODO_PAYMENTS_API_KEY is set (real Dodo webhooks are signed with it)",
    });
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return env;
}

let cached: Env | undefined;

/** The process's configuration, parsed on first use. */
export function getEnv(): Env {
  cached ??= parseEnv();
  return cached;
}

/** Tests change the environment between cases. */
export function resetEnvForTests(): void {
  cached = undefined;
}

/** A connection URL with its password removed, safe to print. */
export function redactDatabaseUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return "(unparseable URL)";
  }
}
