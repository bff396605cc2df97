// Whether recipients' token accounts can receive the treasury's token, read off the chain for the
// console: exists, holds the payout mint, not frozen, no extension the program refuses. The verdict is
// the executor's own (recipientReadiness, the program's allowlist); this only fetches the accounts, in
// one getMultipleAccounts per 100, without the executor's patient retries (a page must answer).
import { PublicKey } from "@solana/web3.js";
import type { Env } from "~/utils/env.server";
import { log } from "~/utils/log.server";
import { recipientReadiness, type RecipientRefusalReason } from "./batch-readiness";
import { ensureChainRuntime } from "./chain-runtime.server";

export type TokenAccountReadiness =
  | { ready: true; exists: true }
  | { ready: false; exists: boolean; reason: RecipientRefusalReason; sentence: string };

export type ReadinessReport =
  | { available: true; mint: string; accounts: Map<string, TokenAccountReadiness> }
  | { available: false; sentence: string };

const SENTENCES: Record<RecipientRefusalReason, string> = {
  RecipientMissing: "The token account does not exist yet; the executor creates it before the first transfer if it is the wallet's associated account.",
  RecipientNotTokenAccount: "The address is not a token account of the payout mint's token program.",
  RecipientFrozen: "The token account is frozen: it cannot receive until its mint's freeze authority thaws it.",
  RecipientWrongMint: "The token account holds another mint than the payout token.",
  RecipientRequiresMemo: "The token account requires a memo on incoming transfers, which payouts do not carry.",
  RecipientExtensionUnsupported: "The token account has an extension the payout program refuses.",
};

/** The readiness of each of `tokenAccounts` (base58) for the deployment's payout mint. Never throws for the chain. */
export async function readTokenAccountReadiness(env: Env, tokenAccounts: readonly string[]): Promise<ReadinessReport> {
  let runtime;
  try {
    runtime = await ensureChainRuntime(env);
  } catch (error) {
    log.warn("recipients: no chain runtime", { error: error instanceof Error ? error.message : String(error) });
    return { available: false, sentence: "The chain is unavailable: the app could not set up its chain client, so token accounts were not checked." };
  }
  const mint = runtime.treasury?.mint;
  if (!mint) {
    return { available: false, sentence: "No payout token is configured (set STABLEFLOW_MINT and STABLEFLOW_AUTHORITY_KEYPAIR), so token accounts were not checked." };
  }
  const unique = [...new Set(tokenAccounts)];
  try {
    const mintAccount = await runtime.client.account(mint, { commitment: "confirmed", retry: { attempts: 1 } });
    if (!mintAccount) return { available: false, sentence: `The payout mint ${mint.toBase58()} does not exist on this chain yet, so token accounts were not checked.` };
    const tokenProgram = mintAccount.owner;
    const accounts = new Map<string, TokenAccountReadiness>();
    const infos = await runtime.client.accounts(unique.map((a) => new PublicKey(a)), { commitment: "confirmed", retry: { attempts: 1 } });
    unique.forEach((address, j) => {
      const verdict = recipientReadiness(infos[j] ?? null, mint, tokenProgram);
      accounts.set(
        address,
        verdict.ok ? { ready: true, exists: true } : { ready: false, exists: verdict.reason !== "RecipientMissing", reason: verdict.reason, sentence: SENTENCES[verdict.reason] },
      );
    });
    return { available: true, mint: mint.toBase58(), accounts };
  } catch (error) {
    log.warn("recipients: chain did not answer", { error: error instanceof Error ? error.message : String(error) });
    return { available: false, sentence: `The chain is unavailable (${runtime.config.displayUrl} did not answer), so token accounts were not checked. Reload in a moment.` };
  }
}

/** The payout mint of this deployment (for deriving associated token accounts), or null when none is configured. */
export async function payoutMint(env: Env): Promise<PublicKey | null> {
  try {
    return (await ensureChainRuntime(env)).treasury?.mint ?? null;
  } catch {
    return null;
  }
}
