// The process's view of its chain: which endpoint, which treasury, and whether both answer. On the
// embedded chain it also brings the treasury up on first start (keys from the data directory, demo mint,
// funded vault), in the background with retries: the chain process may still be starting. On a real
// cluster the treasury comes from STABLEFLOW_MINT and STABLEFLOW_AUTHORITY_KEYPAIR and is created by
// `npm run treasury -- init`; nothing is created behind the operator's back.
import { PublicKey, type Keypair } from "@solana/web3.js";
import { ensureDefaultOrganization } from "~/models/organizations.server";
import { getDatabase } from "~/utils/db.server";
import type { Env } from "~/utils/env.server";
import { log } from "~/utils/log.server";
import { chainConfigFromEnv, type ChainConfig, type ClusterName } from "./chain-config.server";
import { getChainClient, type ChainClient } from "./chain.server";
import { loadOrCreateEmbeddedKeys, readKeypairFile } from "./keys.server";
import { RpcError } from "./rpc-errors";
import { bootstrapEmbeddedTreasury, DEMO_TOKEN, readTreasury, TreasuryError, treasuryIdentity, type TreasuryIdentity } from "./treasury.server";

export interface ChainSigners {
  /** Signs splits and treasury commands. Never logged, never sent anywhere. */
  authority: Keypair;
  /** Pays fees and rent (the authority itself on a real cluster). */
  feePayer: Keypair;
}

interface Runtime {
  config: ChainConfig;
  client: ChainClient;
  treasury?: TreasuryIdentity;
  signers?: ChainSigners;
  /** The embedded treasury's set-up, or why there is no treasury. */
  bootstrap: { state: "not_configured" | "starting" | "ready" | "failed"; error?: string };
  demo: boolean;
  /** Settles when the embedded set-up is done or has given up (at once when there is none). */
  bootstrapped: Promise<void>;
  stop(): void;
}

let runtime: Runtime | undefined;

/**
 * Resolves the chain and the organization's treasury for this process. Key files are read here, so a
 * tampered one stops the start with its sentence (KeyFileError); the chain itself is awaited in the
 * background. Safe to call again: the first call's runtime is kept.
 */
export async function startChainRuntime(env: Env, organizationId: string, options: { bootstrap?: boolean } = {}): Promise<Runtime> {
  if (runtime) return runtime;
  const config = chainConfigFromEnv(env);
  const client = getChainClient(config);
  let stopped = false;
  const current: Runtime = {
    config,
    client,
    bootstrap: { state: "not_configured" },
    demo: false,
    bootstrapped: Promise.resolve(),
    stop: () => void (stopped = true),
  };
  if (config.mode === "embedded") {
    const keys = await loadOrCreateEmbeddedKeys(env.STABLEFLOW_DATA_DIR);
    current.signers = { authority: keys["treasury-authority"], feePayer: keys["fee-payer"] };
    current.treasury = treasuryIdentity({
      programId: config.programId,
      mint: keys["demo-mint"].publicKey,
      seedAuthority: keys["treasury-authority"].publicKey,
      organizationId,
    });
    current.demo = true;
    if (options.bootstrap !== false) {
      current.bootstrap = { state: "starting" };
      current.bootstrapped = (async () => {
        for (let attempt = 1, delay = 250; !stopped; attempt++, delay = Math.min(delay * 2, 5_000)) {
          try {
            const { state, steps } = await bootstrapEmbeddedTreasury(client, { keys, organizationId });
            current.bootstrap = { state: "ready" };
            log.info("embedded treasury ready", {
              treasury: state.identity.treasury.toBase58(),
              vault: state.identity.vault.toBase58(),
              mint: state.identity.mint.toBase58(),
              vaultBalance: state.vaultBalance,
              steps,
            });
            return;
          } catch (error) {
            const permanent = error instanceof TreasuryError || (error instanceof RpcError && !error.transient);
            current.bootstrap = { state: permanent ? "failed" : "starting", error: error instanceof Error ? error.message : String(error) };
            if (permanent) {
              log.error("embedded treasury set-up failed", { error: current.bootstrap.error });
              return;
            }
            if (attempt % 10 === 0) log.warn("embedded chain not answering yet", { attempt, error: current.bootstrap.error });
            // unref: a process that is otherwise done (a CLI, a test) does not wait for the chain.
            await new Promise((resolve) => setTimeout(resolve, delay).unref());
          }
        }
      })();
    }
  } else if (env.STABLEFLOW_AUTHORITY_KEYPAIR && env.STABLEFLOW_MINT) {
    const authority = await readKeypairFile(env.STABLEFLOW_AUTHORITY_KEYPAIR);
    current.signers = { authority, feePayer: authority };
    current.treasury = treasuryIdentity({
      programId: config.programId,
      mint: new PublicKey(env.STABLEFLOW_MINT),
      seedAuthority: authority.publicKey,
      organizationId,
    });
    current.bootstrap = { state: "ready" };
  }
  runtime = current;
  return current;
}

export function getChainRuntime(): Runtime | undefined {
  return runtime;
}

let starting: Promise<Runtime> | undefined;

/**
 * The runtime, started on first use by a process that did not boot through `boot()` (an app served by
 * a test, a CLI): the treasury of the deployment's default organization.
 */
export function ensureChainRuntime(env: Env): Promise<Runtime> {
  if (runtime) return Promise.resolve(runtime);
  starting ??= (async () => {
    const organization = await ensureDefaultOrganization((await getDatabase()).prisma);
    return startChainRuntime(env, organization.id);
  })().finally(() => {
    starting = undefined;
  });
  return starting;
}

export function stopChainRuntime(): void {
  runtime?.stop();
  runtime = undefined;
}

export interface ChainHealth {
  mode: "embedded" | "rpc";
  status: "ready" | "starting" | "unavailable" | "not_configured" | "failed";
  rpcUrl: string;
  cluster?: ClusterName;
  genesisHash?: string;
  slot?: number;
  programId: string;
  treasury?: {
    address: string;
    vault: string;
    mint: string;
    /** Base units of the mint, as a decimal string. */
    vaultBalance?: string;
    decimals?: number;
    symbol?: string;
    label?: string;
  };
  error?: string;
}

/** What /healthz says about the chain: answers within a few seconds whatever the chain does. */
export async function chainHealth(env: Env): Promise<ChainHealth> {
  let current = runtime;
  let startError: string | undefined;
  if (!current) {
    try {
      current = await ensureChainRuntime(env);
    } catch (error) {
      startError = error instanceof Error ? error.message : String(error);
    }
  }
  const config = current?.config ?? chainConfigFromEnv(env);
  const client = current?.client ?? getChainClient(config);
  const base: ChainHealth = { mode: config.mode, status: "ready", rpcUrl: config.displayUrl, programId: config.programId.toBase58() };
  if (startError) return { ...base, status: "failed", error: startError };
  try {
    const identity = await client.identity({ attempts: 1 });
    Object.assign(base, { genesisHash: identity.genesisHash, cluster: identity.cluster, slot: identity.slot });
  } catch (error) {
    return { ...base, status: "unavailable", error: error instanceof Error ? error.message : String(error) };
  }
  const treasury = current?.treasury;
  if (!treasury || !current?.signers) {
    return { ...base, status: "not_configured", error: "no treasury configured (set STABLEFLOW_MINT and STABLEFLOW_AUTHORITY_KEYPAIR)" };
  }
  base.treasury = { address: treasury.treasury.toBase58(), vault: treasury.vault.toBase58(), mint: treasury.mint.toBase58() };
  if (current.demo) Object.assign(base.treasury, { symbol: DEMO_TOKEN.symbol, label: DEMO_TOKEN.label });
  if (current.bootstrap.state === "starting" || current.bootstrap.state === "failed") {
    return { ...base, status: current.bootstrap.state, error: current.bootstrap.error };
  }
  try {
    const state = await readTreasury(client, treasury, current.signers.authority.publicKey);
    if (!state) return { ...base, status: "not_configured", error: "the treasury is not initialized: run `npm run treasury -- init`" };
    Object.assign(base.treasury, { vaultBalance: state.vaultBalance.toString(), decimals: state.mint.decimals });
    return base;
  } catch (error) {
    const status = error instanceof TreasuryError ? "failed" : "unavailable";
    return { ...base, status, error: error instanceof Error ? error.message : String(error) };
  }
}
