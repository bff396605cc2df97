// The Dodo Payments SDK client for the configured mode, and the webhook secret that goes with it.
// No API key = simulator mode: the SDK talks to the local Dodo double (tests/mocks/dodo.ts) over real HTTP.
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import DodoPayments from "dodopayments";
import { startDodoDouble } from "../../tests/mocks/dodo";
import type { Env } from "~/utils/env.server";
import { DodoWebhookVerifier, generateWebhookSecret } from "./webhook-verification.server";

export type DodoMode = "simulator" | "test_mode" | "live_mode";

export interface DodoConnection {
  mode: DodoMode;
  client: DodoPayments;
}

/** Budget for one API call made while a customer waits on a page. */
const REQUEST_TIMEOUT_MS = 15_000;

export function dodoMode(env: Pick<Env, "DODO_PAYMENTS_API_KEY" | "DODO_PAYMENTS_ENVIRONMENT">): DodoMode {
  return env.DODO_PAYMENTS_API_KEY ? env.DODO_PAYMENTS_ENVIRONMENT : "simulator";
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

const SIMULATOR_KEY = Symbol.for("stableflow.dodo.simulator");
type SimulatorHolder = { [SIMULATOR_KEY]?: Promise<{ baseURL: string; close(): Promise<void> }> };

/** The in-process Dodo double that backs simulator mode; one per process, started on first use. */
async function simulatorDouble(): Promise<{ baseURL: string; close(): Promise<void> }> {
  const holder = globalThis as SimulatorHolder;
  holder[SIMULATOR_KEY] ??= startDodoDouble();
  return holder[SIMULATOR_KEY]!;
}

export async function stopSimulatorDouble(): Promise<void> {
  const holder = globalThis as SimulatorHolder;
  const running = holder[SIMULATOR_KEY];
  delete holder[SIMULATOR_KEY];
  if (running) await (await running).close();
}

export async function getDodoConnection(env: Env): Promise<DodoConnection> {
  const mode = dodoMode(env);
  if (mode === "simulator") {
    const double = await simulatorDouble();
    return { mode, client: createDodoClient({ apiKey: "simulator", environment: "test_mode", baseURL: double.baseURL }) };
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
 * The Standard Webhooks secret: DODO_PAYMENTS_WEBHOOK_KEY when set; otherwise (simulator) one generated
 * once and kept in the data directory, so the simulator's deliveries keep verifying across restarts.
 */
export function getWebhookSecret(env: Pick<Env, "DODO_PAYMENTS_WEBHOOK_KEY" | "STABLEFLOW_DATA_DIR">): Promise<string> {
  if (env.DODO_PAYMENTS_WEBHOOK_KEY) return Promise.resolve(env.DODO_PAYMENTS_WEBHOOK_KEY);
  const file = path.resolve(env.STABLEFLOW_DATA_DIR, SECRET_FILE);
  let pending = secretCache.get(file);
  if (!pending) {
    pending = (async () => {
      try {
        const existing = (await readFile(file, "utf8")).trim();
        if (existing) return existing;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      }
      await mkdir(path.dirname(file), { recursive: true });
      const secret = generateWebhookSecret();
      try {
        // "wx": two processes starting together must not overwrite each other's secret.
        await writeFile(file, secret + "\n", { mode: 0o600, flag: "wx" });
        return secret;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
        return (await readFile(file, "utf8")).trim();
      }
    })();
    pending.then(() => chmod(file, 0o600).catch(() => undefined)).catch(() => undefined);
    pending.catch(() => secretCache.delete(file));
    secretCache.set(file, pending);
  }
  return pending;
}

const verifierCache = new Map<string, DodoWebhookVerifier>();

export async function getWebhookVerifier(env: Pick<Env, "DODO_PAYMENTS_WEBHOOK_KEY" | "STABLEFLOW_DATA_DIR">): Promise<DodoWebhookVerifier> {
  const secret = await getWebhookSecret(env);
  let verifier = verifierCache.get(secret);
  if (!verifier) {
    verifier = new DodoWebhookVerifier(secret);
    verifierCache.set(secret, verifier);
  }
  return verifier;
}
