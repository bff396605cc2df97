// The treasury as the console shows it: one organization's treasury read from the chain (address, vault,
// mint and decimals, balance, the program's totals), or a sentence saying why it cannot be read; and its
// history of deposits, withdrawals and splits, from the program's events in the transactions that touched
// the treasury account. Reads give up after one short attempt: a page must answer while the chain is down.
import { getAssociatedTokenAddressSync } from "@solana/spl-token";
import type { PublicKey } from "@solana/web3.js";
import type { Env } from "~/utils/env.server";
import { ensureChainRuntime } from "./chain-runtime.server";
import { ChainClient } from "./chain.server";
import { RpcError } from "./rpc-errors";
import { treasuryMovements, type TreasuryMovement } from "./treasury-events";
import { DEMO_TOKEN, readTreasury, TreasuryError, treasuryIdentity, type TreasuryIdentity } from "./treasury.server";

export interface TreasuryAddresses {
  treasury: string;
  vault: string;
  mint: string;
}

export type TreasuryReading =
  | (TreasuryAddresses & {
      status: "ok";
      authority: string;
      /** The authority's token account that `npm run treasury -- fund` deposits from. */
      fundingAccount: string;
      decimals: number;
      /** Base units, as the chain holds them. */
      vaultBalance: bigint;
      totalSettled: bigint;
      splitsExecuted: bigint;
      paused: boolean;
      /** The embedded chain's demo stablecoin: its symbol and the label that says it is worth nothing. */
      token: { symbol?: string; label?: string };
      rpcUrl: string;
    })
  | (TreasuryAddresses & { status: "not_initialized"; sentence: string; rpcUrl: string })
  | { status: "not_configured" | "unavailable" | "refused"; sentence: string; addresses?: TreasuryAddresses; rpcUrl?: string };

const readers = new Map<string, ChainClient>();

/** A client for page reads: one attempt, a few seconds, then the page says the chain did not answer. */
function pageClient(base: ChainClient): ChainClient {
  let client = readers.get(base.config.rpcUrl);
  if (!client) {
    client = new ChainClient(base.config, { timeoutMs: 4_000, retry: { attempts: 1 } });
    readers.set(base.config.rpcUrl, client);
  }
  return client;
}

export interface OrganizationTreasury {
  client: ChainClient;
  identity: TreasuryIdentity;
  authority: PublicKey;
  demo: boolean;
  rpcUrl: string;
}

/** This deployment's treasury for `organizationId` (same mint and founding authority, the organization's seed), or why there is none. */
export async function organizationTreasury(env: Env, organizationId: string): Promise<OrganizationTreasury | { status: "not_configured" | "unavailable"; sentence: string }> {
  let runtime;
  try {
    runtime = await ensureChainRuntime(env);
  } catch (error) {
    return { status: "unavailable", sentence: `The chain client could not start: ${error instanceof Error ? error.message : String(error)}` };
  }
  if (!runtime.treasury || !runtime.signers) {
    return {
      status: "not_configured",
      sentence: "No treasury is configured for this deployment: set STABLEFLOW_MINT and STABLEFLOW_AUTHORITY_KEYPAIR (with SOLANA_RPC_URL), then run `npm run treasury -- init`.",
    };
  }
  const identity = treasuryIdentity({ programId: runtime.treasury.programId, mint: runtime.treasury.mint, seedAuthority: runtime.treasury.seedAuthority, organizationId });
  return { client: pageClient(runtime.client), identity, authority: runtime.signers.authority.publicKey, demo: runtime.demo, rpcUrl: runtime.config.displayUrl };
}

const addressesOf = (identity: TreasuryIdentity): TreasuryAddresses => ({
  treasury: identity.treasury.toBase58(),
  vault: identity.vault.toBase58(),
  mint: identity.mint.toBase58(),
});

/** The organization's treasury read from the chain now, or a sentence (never a silent zero). */
export async function readOrganizationTreasury(env: Env, organizationId: string, organizationSlug: string): Promise<TreasuryReading> {
  const found = await organizationTreasury(env, organizationId);
  if ("status" in found) return found;
  const addresses = addressesOf(found.identity);
  try {
    const state = await readTreasury(found.client, found.identity, found.authority);
    if (!state) {
      return {
        status: "not_initialized",
        ...addresses,
        rpcUrl: found.rpcUrl,
        sentence: `This organization has no treasury on the chain yet: run \`npm run treasury -- init --org ${organizationSlug}\`, then fund it.`,
      };
    }
    return {
      status: "ok",
      ...addresses,
      rpcUrl: found.rpcUrl,
      authority: state.account.authority.toBase58(),
      fundingAccount: getAssociatedTokenAddressSync(found.identity.mint, state.account.authority, true, state.mint.tokenProgram).toBase58(),
      decimals: state.mint.decimals,
      vaultBalance: state.vaultBalance,
      totalSettled: state.account.totalSettled,
      splitsExecuted: state.account.splitsExecuted,
      paused: state.account.paused,
      token: found.demo ? { symbol: DEMO_TOKEN.symbol, label: DEMO_TOKEN.label } : {},
    };
  } catch (error) {
    if (error instanceof TreasuryError) return { status: "refused", addresses, rpcUrl: found.rpcUrl, sentence: `The treasury cannot be used: ${error.message}` };
    if (error instanceof RpcError) {
      return { status: "unavailable", addresses, rpcUrl: found.rpcUrl, sentence: `The chain at ${found.rpcUrl} could not be read (${error.message}), so the vault balance is unknown right now.` };
    }
    throw error;
  }
}

// --------------------------------------------------------------------------------------------- history

export interface TreasuryHistoryEntry extends TreasuryMovement {
  signature: string;
  slot: number;
  /** Unix seconds, when the node knows it. */
  blockTime: number | null;
}

export interface TreasuryHistoryPage {
  entries: TreasuryHistoryEntry[];
  /** Pass as `before` for the next (older) page, or null when the history ends here. */
  olderBefore: string | null;
  /** Transactions on this page that failed on chain (they moved nothing; not listed). */
  failed: number;
}

/**
 * One page of the treasury's history, newest first: `limit` transactions that touched the treasury
 * account (getSignaturesForAddress) read one by one (getTransaction) for the program's events.
 */
export async function treasuryHistory(client: ChainClient, identity: Pick<TreasuryIdentity, "treasury" | "programId">, options: { before?: string; limit?: number } = {}): Promise<TreasuryHistoryPage> {
  const limit = options.limit ?? 25;
  const page = await client.read("getSignaturesForAddress", (c) => c.getSignaturesForAddress(identity.treasury, { limit, before: options.before }, "confirmed"));
  const entries: TreasuryHistoryEntry[] = [];
  let failed = 0;
  for (const entry of page) {
    if (entry.err) {
      failed++;
      continue;
    }
    const tx = await client.read("getTransaction", (c) => c.getTransaction(entry.signature, { commitment: "confirmed", maxSupportedTransactionVersion: 0 }));
    for (const movement of treasuryMovements(tx?.meta?.logMessages ?? [], identity.treasury, identity.programId)) {
      entries.push({ ...movement, signature: entry.signature, slot: entry.slot, blockTime: entry.blockTime ?? tx?.blockTime ?? null });
    }
  }
  return { entries, olderBefore: page.length === limit ? page[page.length - 1]!.signature : null, failed };
}
