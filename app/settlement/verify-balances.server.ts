// The wallet-signed part of /verify: a recipient signs a lookup message with their wallet and sees what the
// organizations paying it hold back (accrued balances below a threshold or held for a schedule, clawbacks
// owed) and why. No session, no cookie: the signature over a fresh message is the whole authority. A signed
// message is accepted for five minutes after it was issued and once per process (nonces remembered until
// they expire); a copy replayed to another process within those minutes shows the same holder the same
// figures, which is all it could.
import { randomBytes } from "node:crypto";
import { data, type AppLoadContext } from "@remix-run/node";
import { BALANCE_CHALLENGE_MAX_AGE_MS, buildBalanceChallenge, checkBalanceChallenge } from "~/ledger/balance-challenge";
import { parseWalletAddress, WalletError, type WalletAddress } from "~/ledger/wallet";
import { findHeldBalances } from "~/models/payout-verification.server";
import { getDatabase } from "~/utils/db.server";
import { describeWait } from "~/utils/rate-limit.server";
import { clientAddress, readSmallForm } from "~/utils/session.server";
import { verifyLimiter } from "./verify-limiter.server";

const usedNonces = new Map<string, number>();
const MAX_REMEMBERED_NONCES = 100_000;

/** Records `nonce` as used until `expiresAtMs`; false when it already was. */
function useNonce(nonce: string, expiresAtMs: number, nowMs: number): boolean {
  for (const [key, expiry] of usedNonces) {
    if (expiry > nowMs && usedNonces.size < MAX_REMEMBERED_NONCES) break;
    usedNonces.delete(key);
  }
  if (usedNonces.has(nonce)) return false;
  usedNonces.set(nonce, expiresAtMs);
  return true;
}

function limit(context: AppLoadContext | undefined, cost = 1): void {
  const decision = verifyLimiter.take(clientAddress(context) ?? "unknown", cost);
  if (!decision.allowed) {
    throw data(
      { kind: "rate_limited" as const, message: `Too many lookups from your address. Wait ${describeWait(decision.retryAfterSeconds)} and try again.` },
      { status: 429, headers: { "Retry-After": String(decision.retryAfterSeconds) } },
    );
  }
}

function signingWallet(address: string | undefined): WalletAddress {
  try {
    return parseWalletAddress((address ?? "").trim());
  } catch (error) {
    if (error instanceof WalletError) {
      throw data(
        { kind: "invalid_address" as const, message: `${error.message}. Held-back balances are shown to a wallet that can sign (not to a token account).`, input: (address ?? "").slice(0, 64) },
        { status: 400 },
      );
    }
    throw error;
  }
}

function freshChallenge(wallet: WalletAddress, now: Date): string {
  return buildBalanceChallenge(wallet.address, randomBytes(18).toString("base64url"), now);
}

/** GET: a fresh message for the wallet to sign. */
export function loadBalanceChallenge(args: { address: string | undefined; context: AppLoadContext | undefined; now?: Date }) {
  limit(args.context);
  const wallet = signingWallet(args.address);
  return data({ address: wallet.address, message: freshChallenge(wallet, args.now ?? new Date()) }, { headers: { "Cache-Control": "no-store" } });
}

const STATUS_BY_CODE: Partial<Record<string, number>> = { SIGNATURE_INVALID: 401, CHALLENGE_EXPIRED: 400, SIGNATURE_MALFORMED: 400, CHALLENGE_FIELD_INVALID: 400 };

/** POST: the signed message; answers the held-back balances, or why not (with a fresh message to sign). */
export async function submitBalanceLookup(args: { address: string | undefined; request: Request; context: AppLoadContext | undefined; now?: Date }) {
  limit(args.context, 2);
  const wallet = signingWallet(args.address);
  const now = args.now ?? new Date();
  const form = await readSmallForm(args.request);
  const message = String(form.get("message") ?? "").replace(/\r\n/g, "\n");
  const signature = String(form.get("signature") ?? "").trim();
  const refuse = (status: number, error: string) =>
    data({ ok: false as const, error, message: freshChallenge(wallet, now) }, { status, headers: { "Cache-Control": "no-store" } });
  if (!signature) return refuse(400, "Paste the signature your wallet made of the message (base58), or sign with your wallet.");
  let nonce: string;
  let issuedAt: Date;
  try {
    ({ nonce, issuedAt } = checkBalanceChallenge({ wallet, message, signature, now }));
  } catch (error) {
    if (error instanceof WalletError) return refuse(STATUS_BY_CODE[error.code] ?? 400, `Not accepted: ${error.message}.`);
    throw error;
  }
  if (!useNonce(nonce, issuedAt.getTime() + BALANCE_CHALLENGE_MAX_AGE_MS, now.getTime())) {
    return refuse(400, "Not accepted: this signed message was already used; sign the new one.");
  }
  const held = await findHeldBalances(await getDatabase(), wallet.address);
  return data(
    {
      ok: true as const,
      organizations: held.map((h) => ({
        organizationName: h.organizationName,
        decimals: h.decimals,
        balance: h.balance.toString(),
        clawbackOwed: h.clawbackOwed.toString(),
        entries: h.entries.map((e) => ({ ...e, amount: e.amount.toString(), at: e.at.toISOString() })),
      })),
    },
    { headers: { "Cache-Control": "no-store" } },
  );
}
