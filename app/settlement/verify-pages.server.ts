// Loaders of the public verification page and its proof downloads: rate limit the client, parse the
// address, read the address's settled payouts, build each payout's proof and check it live against the
// chain with the same verifier `npm run verify` runs (payout-proof.ts). Nothing here trusts the database
// for what the chain can say: the page shows what the chain answered, check by check.
import { data, type AppLoadContext } from "@remix-run/node";
import { PublicKey } from "@solana/web3.js";
import { z } from "zod";
import { WalletError, parseAccountAddress } from "~/ledger/wallet";
import { findSettledPayout, findSettledPayouts, runIdBytes, type SettledPayout } from "~/models/payout-verification.server";
import { getPrisma } from "~/utils/db.server";
import { getEnv } from "~/utils/env.server";
import { describeError, log } from "~/utils/log.server";
import { describeWait } from "~/utils/rate-limit.server";
import { clientAddress } from "~/utils/session.server";
import { chainConfigFromEnv, KNOWN_GENESIS_HASHES, type ClusterName } from "./chain-config.server";
import { ensureChainRuntime, getChainRuntime } from "./chain-runtime.server";
import { getChainClient, type ChainClient } from "./chain.server";
import { buildPayoutProof, ProofFormatError, verifyPayoutProof, type CheckResult, type PayoutProof } from "./payout-proof";
import { treasuryIdentity } from "./treasury.server";
import { verifyLimiter } from "./verify-limiter.server";

/** Payouts checked live per page: each costs a few RPC calls. */
export const VERIFY_PAGE_SIZE = 10;
const CHECK_CONCURRENCY = 4;

export type AddressParse = { ok: true; address: string } | { ok: false; message: string };

/** A wallet or token account address as typed: canonical base58 of 32 bytes, or a sentence saying why not. */
export function parseVerifyAddress(input: string | null | undefined): AddressParse {
  const text = (input ?? "").trim();
  if (!text) return { ok: false, message: "Enter a wallet address or a token account address." };
  if (text.length > 64) return { ok: false, message: "That is too long for a Solana address (32 bytes in base58, 32 to 44 characters)." };
  try {
    return { ok: true, address: parseAccountAddress(text, "The address").toBase58() };
  } catch (error) {
    if (error instanceof WalletError) return { ok: false, message: `${error.message}: a Solana address is 32 bytes in base58 (32 to 44 characters).` };
    throw error;
  }
}

function limit(context: AppLoadContext | undefined): void {
  const decision = verifyLimiter.take(clientAddress(context) ?? "unknown");
  if (!decision.allowed) {
    throw data(
      { kind: "rate_limited" as const, message: `Too many lookups from your address. Wait ${describeWait(decision.retryAfterSeconds)} and try again.` },
      { status: 429, headers: { "Retry-After": String(decision.retryAfterSeconds) } },
    );
  }
}

interface ChainContext {
  client: ChainClient;
  programId: PublicKey;
  cluster: ClusterName;
  /** The genesis hash proofs name: the configured public cluster's, else what the endpoint serves. */
  genesisHash: string;
  /** The deployment's treasury key material, to name the mint of treasuries it derives. */
  treasuryKeys?: { mint: PublicKey; seedAuthority: PublicKey };
}

const PUBLIC_GENESIS: Partial<Record<ClusterName, string>> = Object.fromEntries(
  Object.entries(KNOWN_GENESIS_HASHES).map(([hash, name]) => [name, hash]),
);

class ChainUnavailable extends Error {}

async function chainContext(): Promise<ChainContext> {
  const env = getEnv();
  const config = chainConfigFromEnv(env);
  const client = getChainClient(config);
  let identity;
  try {
    identity = await client.identity({ attempts: 2 });
  } catch (error) {
    log.warn("verify: chain did not answer", { error: describeError(error) });
    throw new ChainUnavailable(`The chain at ${config.displayUrl} did not answer. Try again in a moment.`);
  }
  // A proof for devnet names devnet's genesis whatever endpoint serves it: a misconfigured endpoint then
  // fails the cluster check instead of vouching for itself.
  const genesisHash = (config.cluster && PUBLIC_GENESIS[config.cluster]) || identity.genesisHash;
  let runtime = getChainRuntime();
  if (!runtime) {
    try {
      runtime = await ensureChainRuntime(env);
    } catch (error) {
      log.warn("verify: no chain runtime (proofs name no mint)", { error: describeError(error) });
    }
  }
  const treasury = runtime?.treasury;
  return {
    client,
    programId: config.programId,
    cluster: identity.cluster,
    genesisHash,
    treasuryKeys: treasury && { mint: treasury.mint, seedAuthority: treasury.seedAuthority },
  };
}

export class UnprovablePayoutError extends Error {
  readonly code = "PAYOUT_UNPROVABLE";
}

/** The proof document of a settled payout on the chain of `chain`. */
export function proofOfPayout(payout: SettledPayout, chain: Omit<ChainContext, "client">): PayoutProof {
  if (!payout.treasury) throw new UnprovablePayoutError("the batch does not record which treasury paid it");
  const treasury = new PublicKey(payout.treasury);
  // The mint is named only when it is certain: the deployment's treasury of this organization is the batch's.
  const derived = chain.treasuryKeys && treasuryIdentity({ programId: chain.programId, organizationId: payout.organizationId, ...chain.treasuryKeys });
  return buildPayoutProof({
    programId: chain.programId,
    cluster: { genesisHash: chain.genesisHash, name: chain.cluster },
    treasury,
    mint: derived?.treasury.equals(treasury) ? derived.mint : undefined,
    decimals: payout.decimals,
    runId: runIdBytes(payout.runId),
    batchIndex: payout.batchIndex,
    transfers: payout.transfers,
    position: payout.position,
    signature: payout.signature,
    slot: payout.slot,
  });
}

export type PayoutVerification =
  | { state: "verified" | "failed"; checks: CheckResult[] }
  | { state: "unchecked"; reason: string };

async function verifyOne(payout: SettledPayout, chain: ChainContext) {
  let proof: PayoutProof;
  try {
    proof = proofOfPayout(payout, chain);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return { proof: undefined, verification: { state: "unchecked" as const, reason: `Cannot be proven: ${reason}.` } };
  }
  try {
    const result = await verifyPayoutProof(chain.client.connection, proof);
    return { proof, verification: { state: result.ok ? ("verified" as const) : ("failed" as const), checks: result.checks } };
  } catch (error) {
    log.warn("verify: a check did not complete", { batchId: payout.batchId, error: describeError(error) });
    return { proof, verification: { state: "unchecked" as const, reason: "The chain did not answer every check. Reload the page to try again." } };
  }
}

async function mapPool<T, R>(items: readonly T[], width: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await fn(items[i]);
      }
    }),
  );
  return results;
}

const PageParam = z.coerce.number().int().min(1).max(100_000).catch(1);

/** GET /verify/:address: the page's data (amounts as decimal strings), or a thrown response. */
export async function loadVerifyPage(args: { address: string | undefined; page: string | null; context: AppLoadContext | undefined }) {
  limit(args.context);
  const parsed = parseVerifyAddress(args.address);
  if (!parsed.ok) throw data({ kind: "invalid_address" as const, message: parsed.message, input: (args.address ?? "").slice(0, 64) }, { status: 400 });
  const page = PageParam.parse(args.page ?? 1);
  const prisma = await getPrisma();
  const found = await findSettledPayouts(prisma, parsed.address, { skip: (page - 1) * VERIFY_PAGE_SIZE, take: VERIFY_PAGE_SIZE });

  let chain: ChainContext | undefined;
  let chainError: string | undefined;
  if (found.payouts.length > 0) {
    try {
      chain = await chainContext();
    } catch (error) {
      if (!(error instanceof ChainUnavailable)) throw error;
      chainError = error.message;
    }
  }
  const checked = chain
    ? await mapPool(found.payouts, CHECK_CONCURRENCY, (payout) => verifyOne(payout, chain!))
    : found.payouts.map(() => ({ proof: undefined, verification: { state: "unchecked" as const, reason: chainError ?? "" } }));

  return data(
    {
      kind: "payouts" as const,
      address: parsed.address,
      // An on-curve address is a wallet that can sign: its holder may look up held-back balances.
      canSign: PublicKey.isOnCurve(new PublicKey(parsed.address).toBytes()),
      cluster: chain?.cluster ?? chainConfigFromEnv(getEnv()).cluster ?? "localnet",
      chainError,
      total: found.total,
      page,
      pageSize: VERIFY_PAGE_SIZE,
      payouts: found.payouts.map((payout, i) => ({
        batchId: payout.batchId,
        organizationName: payout.organizationName,
        runId: payout.runId,
        batchIndex: payout.batchIndex,
        treasury: payout.treasury,
        splitRecord: checked[i].proof?.splitRecord,
        tokenAccount: payout.tokenAccount,
        amount: payout.amount.toString(),
        decimals: payout.decimals,
        position: payout.position,
        signature: payout.signature,
        slot: payout.slot.toString(),
        confirmedAt: payout.confirmedAt.toISOString(),
        transfers: payout.transfers.map((t) => ({ tokenAccount: t.tokenAccount, amount: t.amount.toString() })),
        verification: checked[i].verification as PayoutVerification,
      })),
    },
    // Live answers: never cached, by the browser or anyone between.
    { status: chainError ? 503 : 200, headers: { "Cache-Control": "no-store" } },
  );
}

const BatchId = z.string().uuid();

/** GET /verify/:address/proof/:batchId: the proof document as a download. */
export async function loadProofDownload(args: { address: string | undefined; batchId: string | undefined; context: AppLoadContext | undefined }): Promise<Response> {
  limit(args.context);
  const parsed = parseVerifyAddress(args.address);
  if (!parsed.ok) throw new Response(parsed.message, { status: 400, headers: { "Content-Type": "text/plain; charset=utf-8" } });
  const batchId = BatchId.safeParse(args.batchId);
  if (!batchId.success) throw new Response("No such payout.", { status: 404, headers: { "Content-Type": "text/plain; charset=utf-8" } });
  const payout = await findSettledPayout(await getPrisma(), parsed.address, batchId.data);
  if (!payout) throw new Response("That batch paid nothing to this address.", { status: 404, headers: { "Content-Type": "text/plain; charset=utf-8" } });
  let chain: ChainContext;
  try {
    chain = await chainContext();
  } catch (error) {
    if (error instanceof ChainUnavailable) throw new Response(error.message, { status: 503, headers: { "Content-Type": "text/plain; charset=utf-8" } });
    throw error;
  }
  let proof: PayoutProof;
  try {
    proof = proofOfPayout(payout, chain);
  } catch (error) {
    if (error instanceof UnprovablePayoutError || error instanceof ProofFormatError) throw new Response(`This payout cannot be proven: ${error.message}.`, { status: 409, headers: { "Content-Type": "text/plain; charset=utf-8" } });
    throw error;
  }
  const name = `stableflow-proof-${proof.runId.slice(0, 8)}-${proof.batchIndex}-${payout.tokenAccount.slice(0, 8)}.json`;
  return new Response(`${JSON.stringify(proof, null, 2)}\n`, {
    headers: {
      "Content-Type": "application/json; charset=utf-8",
      "Content-Disposition": `attachment; filename="${name}"`,
      "Cache-Control": "no-store",
    },
  });
}
