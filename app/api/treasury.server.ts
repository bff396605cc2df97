// The organization's treasury as the API reports it: its address (derived from the deployment's mint and
// authority and the organization), vault balance and mint, read from the chain this process runs with.
import type { z } from "zod";
import { getChainRuntime } from "~/settlement/chain-runtime.server";
import { DEMO_TOKEN, readTreasury, treasuryIdentity } from "~/settlement/treasury.server";
import type { TreasuryStatus } from "./resources";

const CHAIN_BUDGET_MS = 4_000;

export async function treasuryStatus(organizationId: string): Promise<z.input<typeof TreasuryStatus>> {
  const runtime = getChainRuntime();
  const empty = { cluster: null, programId: null, treasury: null, vault: null, mint: null, symbol: null, decimals: null, vaultBalance: null };
  if (!runtime?.treasury || !runtime.signers) {
    return { ...empty, status: "unavailable", error: "no treasury is configured in this deployment (set STABLEFLOW_MINT and STABLEFLOW_AUTHORITY_KEYPAIR, or use the embedded chain)" };
  }
  const base = runtime.treasury;
  const identity = treasuryIdentity({ programId: base.programId, mint: base.mint, seedAuthority: base.seedAuthority, organizationId });
  const known = {
    ...empty,
    programId: identity.programId.toBase58(),
    treasury: identity.treasury.toBase58(),
    vault: identity.vault.toBase58(),
    mint: identity.mint.toBase58(),
    symbol: runtime.demo ? DEMO_TOKEN.symbol : null,
  };
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the chain did not answer within ${CHAIN_BUDGET_MS} ms`)), CHAIN_BUDGET_MS);
  });
  try {
    const [identityOfChain, state] = await Promise.race([
      Promise.all([runtime.client.identity({ attempts: 1 }), readTreasury(runtime.client, identity, runtime.signers.authority.publicKey)]),
      late,
    ]);
    if (!state) return { ...known, cluster: identityOfChain.cluster, status: "unavailable", error: "the treasury is not initialized: run `npm run treasury -- init`" };
    return { ...known, cluster: identityOfChain.cluster, status: "ready", decimals: state.mint.decimals, vaultBalance: state.vaultBalance.toString(), error: null };
  } catch (error) {
    return { ...known, status: "unavailable", error: error instanceof Error ? error.message : String(error) };
  } finally {
    clearTimeout(timer);
  }
}
