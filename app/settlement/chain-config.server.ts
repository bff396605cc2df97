// Which chain the app talks to: the embedded JSON-RPC server (a supervised child on 127.0.0.1) or any
// Solana RPC endpoint from SOLANA_RPC_URL. Both are reached the same way, by URL; nothing below this
// module knows which one it is.
import { PublicKey } from "@solana/web3.js";
import type { Env } from "~/utils/env.server";
import { PROGRAM_ID } from "./program";

export type ChainMode = "embedded" | "rpc";
export type ClusterName = "mainnet-beta" | "devnet" | "testnet" | "localnet";

export interface ChainConfig {
  mode: ChainMode;
  /** The endpoint, credentials included: never log or show it, use `displayUrl`. */
  rpcUrl: string;
  /** The endpoint with anything that may be a credential blanked. */
  displayUrl: string;
  /** Set by SOLANA_CLUSTER, else known from the genesis hash once the node answered (see clusterOf). */
  cluster?: ClusterName;
  /** Where the payout program is deployed: the IDL's address unless STABLEFLOW_PROGRAM_ID says otherwise. */
  programId: PublicKey;
}

/** Genesis hashes of the public clusters: a node's answer names its cluster without being told. */
export const KNOWN_GENESIS_HASHES: Record<string, ClusterName> = {
  "5eykt4UsFv8P8NJdTREpY1vzqKqZKvdpKuc147dw2N9d": "mainnet-beta",
  EtWTRABZaYq6iMfeYKouRu166VU2xqa1wcaWoxPkrZBG: "devnet",
  "4uhcVJyU9pJkvQyS88uRDiswHXSCkY3zQawwpjk2NsNY": "testnet",
};

export function chainConfigFromEnv(
  env: Pick<Env, "SOLANA_RPC_URL" | "SOLANA_CLUSTER" | "STABLEFLOW_CHAIN_PORT" | "STABLEFLOW_PROGRAM_ID">,
): ChainConfig {
  const programId = env.STABLEFLOW_PROGRAM_ID ? new PublicKey(env.STABLEFLOW_PROGRAM_ID) : PROGRAM_ID;
  if (env.SOLANA_RPC_URL) {
    return { mode: "rpc", rpcUrl: env.SOLANA_RPC_URL, displayUrl: redactRpcUrl(env.SOLANA_RPC_URL), cluster: env.SOLANA_CLUSTER, programId };
  }
  const url = `http://127.0.0.1:${env.STABLEFLOW_CHAIN_PORT}`;
  return { mode: "embedded", rpcUrl: url, displayUrl: url, cluster: env.SOLANA_CLUSTER ?? "localnet", programId };
}

/** The cluster an endpoint serves: configured, else known by its genesis hash, else a local/custom one. */
export function clusterOf(config: ChainConfig, genesisHash: string | undefined): ClusterName {
  if (config.cluster) return config.cluster;
  return (genesisHash && KNOWN_GENESIS_HASHES[genesisHash]) || "localnet";
}

// Providers put keys in the user info, the query (`?api-key=`), or a path segment (`/v2/<key>`).
const KEY_LIKE_SEGMENT = /^[A-Za-z0-9_-]{16,}$/;

/** An RPC URL safe to show: user info, query values and key-like path segments blanked. */
export function redactRpcUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return "(unparseable URL)";
  }
  if (parsed.username) parsed.username = "***";
  if (parsed.password) parsed.password = "***";
  for (const key of [...parsed.searchParams.keys()]) parsed.searchParams.set(key, "***");
  parsed.pathname = parsed.pathname
    .split("/")
    .map((segment) => (KEY_LIKE_SEGMENT.test(segment) ? "***" : segment))
    .join("/");
  return parsed.toString().replaceAll("%2A%2A%2A", "***");
}

/** explorer.solana.com links, for the public clusters only (a local chain has the app's own pages). */
export function publicExplorerUrl(cluster: ClusterName, kind: "tx" | "address", id: string): string | undefined {
  if (cluster === "localnet") return undefined;
  const query = cluster === "mainnet-beta" ? "" : `?cluster=${cluster}`;
  return `https://explorer.solana.com/${kind}/${encodeURIComponent(id)}${query}`;
}
