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

/** The origin of a URL (scheme://host[:port]) when it is nothing more; a path, query or credentials are refused. */
const publicOrigin = z
  .string()
  .trim()
  .refine(
    (value) => {
      try {
        const url = new URL(value);
        return (
          (url.protocol === "https:" || url.protocol === "http:") &&
          !url.username &&
          !url.password &&
          url.pathname === "/" &&
          !url.search &&
          !url.hash &&
          !/[?#]/.test(value)
        );
      } catch {
        return false;
      }
    },
    { error: "expected the site's origin, like https://pay.example.com (no path, query or credentials)" },
  )
  .transform((value) => new URL(value).origin);

const WEBHOOK_SECRET_PATTERN = /^(whsec_)?[A-Za-z0-9+/]{16,}={0,2}$/;

const EnvSchema = z.object({
  STABLEFLOW_ENV: z.enum(["development", "production", "test"]).default("development"),
  PORT: z.coerce.number({ error: "expected a port number" }).int().min(1).max(65535).default(3000),
  HOST: z.string().trim().min(1).default("127.0.0.1"),
  STABLEFLOW_DATA_DIR: z.string().trim().min(1).default(".stableflow"),
  DATABASE_URL: postgresUrl.optional(),
  // The owner role that runs migrations; DATABASE_URL is then a role with only the DML the app needs.
  DATABASE_MIGRATION_URL: postgresUrl.optional(),
  // Where customers reach this site: Dodo's return_url, the simulator's webhook target, absolute links, HSTS.
  STABLEFLOW_PUBLIC_URL: publicOrigin.optional(),
  DODO_PAYMENTS_API_KEY: z.string().trim().min(1).optional(),
  DODO_PAYMENTS_WEBHOOK_KEY: z.string().trim().min(1).optional(),
  DODO_PAYMENTS_ENVIRONMENT: z.enum(["test_mode", "live_mode"]).default("test_mode"),
  // Only for pointing the SDK at a local double of Dodo's API in development and tests.
  DODO_PAYMENTS_BASE_URL: z.url({ error: "expected an http(s) URL" }).optional(),
  SOLANA_RPC_URL: z.url({ error: "expected an http(s) URL" }).optional(),
  // Names the cluster for explorer links; unset: known from the node's genesis hash (localnet otherwise).
  SOLANA_CLUSTER: z.enum(["mainnet-beta", "devnet", "testnet", "localnet"], { error: "expected mainnet-beta, devnet, testnet or localnet" }).optional(),
  // A real cluster's treasury: the authority's Solana CLI keypair file and the stablecoin mint.
  STABLEFLOW_AUTHORITY_KEYPAIR: z.string().trim().min(1).optional(),
  STABLEFLOW_MINT: z
    .string()
    .trim()
    .regex(/^[1-9A-HJ-NP-Za-km-z]{32,44}$/, { error: "expected a base58 Solana address" })
    .optional(),
  // Where the payout program runs, when not at the IDL's address (a deploy of your own: npm run program).
  STABLEFLOW_PROGRAM_ID: z
    .string()
    .trim()
    .regex(/^[1-9A-HJ-NP-Za-km-z]{32,44}$/, { error: "expected a base58 Solana address" })
    .optional(),
  // The embedded chain (a local JSON-RPC server on LiteSVM, started when SOLANA_RPC_URL is unset):
  // its HTTP port (WebSocket subscriptions on the next one, as Solana's own validator does), its slot
  // time, and whether its stableflow_* test methods answer (default: only when STABLEFLOW_ENV=test).
  STABLEFLOW_CHAIN_PORT: z.coerce.number({ error: "expected a port number" }).int().min(0).max(65534).default(8899),
  STABLEFLOW_CHAIN_SLOT_MS: z.coerce.number({ error: "expected milliseconds" }).int().min(5).max(60_000).default(400),
  STABLEFLOW_CHAIN_TEST_MODE: booleanFlag.optional(),
  // Production refuses the simulator and the embedded chain unless this says otherwise.
  STABLEFLOW_ALLOW_SIMULATOR: booleanFlag.default(false),
  // Settlement (docs/decisions/012-settlement-executor.md): runs transferring at least this many token base
  // units need two different operators' approval (unset: one); executors (default 1 in the server process
  // on PGlite, 2 processes of their own on PostgreSQL; 0: none here); the most a split offers as priority
  // fee, in micro-lamports per compute unit; the first-run demo (recipients, a policy) on a fresh embedded start.
  STABLEFLOW_APPROVAL_THRESHOLD: z.coerce.bigint({ error: "expected whole token base units" }).positive().optional(),
  STABLEFLOW_EXECUTORS: z.coerce.number({ error: "expected a count" }).int().min(0).max(32).optional(),
  STABLEFLOW_MAX_PRIORITY_FEE: z.coerce.bigint({ error: "expected micro-lamports per compute unit" }).nonnegative().default(100_000n),
  STABLEFLOW_DEMO: booleanFlag.optional(),
  // Outbound webhooks (decision 014): private and loopback destinations (default: only in development), the
  // deadline of one attempt, and the backoff between attempts (the first retry's delay, growing fivefold per
  // attempt up to the cap; the defaults spread 9 attempts over about a day).
  STABLEFLOW_WEBHOOK_ALLOW_PRIVATE_URLS: booleanFlag.optional(),
  STABLEFLOW_WEBHOOK_TIMEOUT_MS: z.coerce.number({ error: "expected milliseconds" }).int().min(100).max(120_000).default(10_000),
  STABLEFLOW_WEBHOOK_RETRY_BASE_MS: z.coerce.number({ error: "expected milliseconds" }).int().min(1).max(3_600_000).default(5_000),
  STABLEFLOW_WEBHOOK_RETRY_MAX_MS: z.coerce.number({ error: "expected milliseconds" }).int().min(1).max(86_400_000).default(36_000_000),
  // The operator API (decision 013): requests per minute each API key may make (a burst of as many, refilled evenly).
  STABLEFLOW_API_RATE_LIMIT: z.coerce.number({ error: "expected requests per minute" }).int().min(1).max(1_000_000).default(600),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error", "silent"]).default("info"),
});

export type Env = z.infer<typeof EnvSchema>;

/** Names whose values must never appear in logs, errors or pages. */
// SOLANA_RPC_URL: providers put API keys in it.
export const SECRET_ENV_NAMES = [
  "DATABASE_URL",
  "DATABASE_MIGRATION_URL",
  "DODO_PAYMENTS_API_KEY",
  "DODO_PAYMENTS_WEBHOOK_KEY",
  "SOLANA_RPC_URL",
] as const;

/**
 * The Standard Webhooks secrets in DODO_PAYMENTS_WEBHOOK_KEY, comma or space separated: a delivery verifies
 * against any of them, so a new secret can be added before Dodo switches to it and the old one removed after.
 */
export function webhookSecrets(env: Pick<Env, "DODO_PAYMENTS_WEBHOOK_KEY">): string[] {
  return (env.DODO_PAYMENTS_WEBHOOK_KEY ?? "").split(/[\s,]+/).filter((part) => part.length > 0);
}

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
  if (env.STABLEFLOW_ENV === "production") {
    // STABLEFLOW_ALLOW_SIMULATOR (a demo) lifts the Dodo API key requirement only: every other one stays.
    if (!env.DODO_PAYMENTS_API_KEY && !env.STABLEFLOW_ALLOW_SIMULATOR) {
      problems.push({
        variable: "DODO_PAYMENTS_API_KEY",
        message: "required in production (the checkout simulator is refused unless STABLEFLOW_ALLOW_SIMULATOR=true)",
      });
    }
    if (!env.STABLEFLOW_PUBLIC_URL) {
      problems.push({
        variable: "STABLEFLOW_PUBLIC_URL",
        message: "required in production: the origin customers reach this site at (https://...), used for every absolute link",
      });
    } else if (new URL(env.STABLEFLOW_PUBLIC_URL).protocol !== "https:" && !isLoopbackOrigin(env.STABLEFLOW_PUBLIC_URL)) {
      problems.push({ variable: "STABLEFLOW_PUBLIC_URL", message: "must be https in production (terminate TLS at your proxy)" });
    }
    if (!env.DODO_PAYMENTS_WEBHOOK_KEY) {
      problems.push({ variable: "DODO_PAYMENTS_WEBHOOK_KEY", message: "required in production" });
    }
    if (env.DODO_PAYMENTS_BASE_URL) {
      // It would send the live API key to whatever it names: it exists for local doubles only.
      problems.push({ variable: "DODO_PAYMENTS_BASE_URL", message: "not allowed in production (it points the SDK at a local double)" });
    }
    if (!env.DATABASE_URL) {
      problems.push({ variable: "DATABASE_URL", message: "required in production (the embedded database is for development)" });
    }
  }
  const secrets = webhookSecrets(env);
  const malformed = secrets.findIndex((secret) => !WEBHOOK_SECRET_PATTERN.test(secret));
  if (malformed !== -1) {
    problems.push({
      variable: "DODO_PAYMENTS_WEBHOOK_KEY",
      message: `secret ${malformed + 1} of ${secrets.length} is not a Standard Webhooks secret (whsec_ followed by base64)`,
    });
  }
  if (env.DATABASE_MIGRATION_URL && !env.DATABASE_URL) {
    // Without DATABASE_URL the database is the embedded one, which has a single role: a migration URL means
    // nothing to it (it is inherited, e.g. by a tool run on the embedded database from a shell set up for
    // PostgreSQL). Production requires DATABASE_URL anyway.
    env.DATABASE_MIGRATION_URL = undefined;
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

function isLoopbackOrigin(origin: string): boolean {
  const host = new URL(origin).hostname;
  return host === "localhost" || host === "127.0.0.1" || host === "[::1]";
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
