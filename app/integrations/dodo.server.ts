// The Dodo Payments SDK client for the configured mode, and the webhook secrets that go with it.
// No API key = simulator mode: checkout sessions come from the in-process simulator stand-in
// (simulator-api.server.ts), never from a test double, and webhooks are signed with a local secret.
import path from "node:path";
import DodoPayments from "dodopayments";
import type { CheckoutSessionCreateParams } from "dodopayments/resources/checkout-sessions";
import { webhookSecrets, type Env } from "~/utils/env.server";
import { readSecretFile, writeSecretFile } from "~/utils/secret-files.server";
import { createSimulatorCheckoutApi } from "./simulator-api.server";
import { DodoWebhookVerifier, generateWebhookSecret } from "./webhook-verification.server";

export type DodoMode = "simulator" | "test_mode" | "live_mode";

/** The part of Dodo's API the app calls: the SDK in test or live mode, the simulator's stand-in otherwise. */
export interface DodoCheckoutApi {
  checkoutSessions: {
    create(params: CheckoutSessionCreateParams): PromiseLike<{ session_id: string; checkout_url?: string | null }>;
  };
}

export interface DodoConnection {
  mode: DodoMode;
  client: DodoCheckoutApi;
}

/** Budget for one API call made while a customer waits on a page. */
const REQUEST_TIMEOUT_MS = 15_000;

export function dodoMode(env: Pick<Env, "DODO_PAYMENTS_API_KEY" | "DODO_PAYMENTS_ENVIRONMENT">): DodoMode {
  return env.DODO_PAYMENTS_API_KEY ? env.DODO_PAYMENTS_ENVIRONMENT : "simulator";
}

/**
 * The checkout simulator runs only without a Dodo API key, and in production only when
 * STABLEFLOW_ALLOW_SIMULATOR=true says so (configuration refuses the rest at boot; this is checked again
 * wherever the simulator acts, so no path reaches it otherwise).
 */
export function simulatorAllowed(env: Pick<Env, "DODO_PAYMENTS_API_KEY" | "DODO_PAYMENTS_ENVIRONMENT" | "STABLEFLOW_ENV" | "STABLEFLOW_ALLOW_SIMULATOR">): boolean {
  return dodoMode(env) === "simulator" && (env.STABLEFLOW_ENV !== "production" || env.STABLEFLOW_ALLOW_SIMULATOR);
}

/**
 * Builds the SDK client. `maxRetries: 0`: the SDK retries POSTs on 5xx without an idempotency key, and
 * a retried `POST /checkouts` whose first attempt did succeed would open a second hosted session; we
 * would rather tell the customer to try again than fan out sessions we never show.
 */
export function createDodoClient(options: { apiKey: string; environment: "test_mode" | "live_mode"; baseURL?: string }): DodoPayments {
  if (options.baseURL) {
    // `environment` and `baseURL` together are refused by the SDK.
    return new DodoPayments({ bearerToken: options.apiKey, baseURL: options.baseURL, maxRetries: 0, timeout: REQUEST_TIMEOUT_MS, webhookKey: null });
  }
  return new DodoPayments({
    bearerToken: options.apiKey,
    environment: options.environment,
    // Explicit null: otherwise the SDK would read DODO_PAYMENTS_BASE_URL itself and refuse the pair.
    baseURL: null,
    maxRetries: 0,
    timeout: REQUEST_TIMEOUT_MS,
    webhookKey: null,
  });
}

export async function getDodoConnection(env: Env): Promise<DodoConnection> {
  const mode = dodoMode(env);
  if (mode === "simulator") {
    if (!simulatorAllowed(env)) throw new Error("the checkout simulator is refused in production (set STABLEFLOW_ALLOW_SIMULATOR=true for a demo)");
    return { mode, client: createSimulatorCheckoutApi() };
  }
  return {
    mode,
    client: createDodoClient({
      apiKey: env.DODO_PAYMENTS_API_KEY!,
      environment: env.DODO_PAYMENTS_ENVIRONMENT,
      baseURL: env.DODO_PAYMENTS_BASE_URL,
    }),
  };
}

const SECRET_FILE = "dodo-simulator-webhook-secret";
const secretCache = new Map<string, Promise<string>>();

/**
 * The secret deliveries are signed with (the simulator's): the first of DODO_PAYMENTS_WEBHOOK_KEY when set;
 * otherwise one generated once into the data directory (0600 in a 0700 directory, refused if others could
 * read it), so the simulator's deliveries keep verifying across restarts.
 */
export function getWebhookSecret(env: Pick<Env, "DODO_PAYMENTS_WEBHOOK_KEY" | "STABLEFLOW_DATA_DIR">): Promise<string> {
  const configured = webhookSecrets(env);
  if (configured.length > 0) return Promise.resolve(configured[0]!);
  const file = path.resolve(env.STABLEFLOW_DATA_DIR, SECRET_FILE);
  let pending = secretCache.get(file);
  if (!pending) {
    pending = (async () => {
      const existing = await readSecretFile(file);
      if (existing) return existing;
      const secret = generateWebhookSecret();
      // Exclusive: two processes starting together must not overwrite each other's secret.
      if (await writeSecretFile(file, secret, { exclusive: true })) return secret;
      return (await readSecretFile(file))!;
    })();
    pending.catch(() => secretCache.delete(file));
    secretCache.set(file, pending);
  }
  return pending;
}

/** Every secret a delivery may be signed with: all of DODO_PAYMENTS_WEBHOOK_KEY during a rotation. */
async function verificationSecrets(env: Pick<Env, "DODO_PAYMENTS_WEBHOOK_KEY" | "STABLEFLOW_DATA_DIR">): Promise<string[]> {
  const configured = webhookSecrets(env);
  return configured.length > 0 ? configured : [await getWebhookSecret(env)];
}

const verifierCache = new Map<string, DodoWebhookVerifier>();

export async function getWebhookVerifier(env: Pick<Env, "DODO_PAYMENTS_WEBHOOK_KEY" | "STABLEFLOW_DATA_DIR">): Promise<DodoWebhookVerifier> {
  const secrets = await verificationSecrets(env);
  const key = secrets.join(" ");
  let verifier = verifierCache.get(key);
  if (!verifier) {
    verifier = new DodoWebhookVerifier(secrets);
    verifierCache.set(key, verifier);
  }
  return verifier;
}
