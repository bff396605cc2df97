// The message a recipient's wallet signs to see what StableFlow holds back for it (accruals below a threshold,
// clawbacks owed). Pure: the text, its parser, and the check of a signature over it. The message says what
// signing does and does not do, names the wallet and when it was issued; it is a different text from the
// wallet-ownership proof (wallet.ts), so a signature over one is never accepted as the other.
import { verifyWalletSignature, WalletError, type WalletAddress } from "./wallet";

export const BALANCE_CHALLENGE_TITLE = "StableFlow balance lookup";
/** How long a signed lookup stays acceptable after it was issued. */
export const BALANCE_CHALLENGE_MAX_AGE_MS = 5 * 60_000;

const NONCE = /^[A-Za-z0-9_-]{16,64}$/;

export function buildBalanceChallenge(wallet: string, nonce: string, issuedAt: Date): string {
  if (!NONCE.test(nonce)) throw new WalletError("CHALLENGE_FIELD_INVALID", "nonce must be 16-64 characters of [A-Za-z0-9_-]");
  return [
    BALANCE_CHALLENGE_TITLE,
    "",
    "Sign this message to see the balances StableFlow holds back for this wallet.",
    "Signing moves no funds, authorises no transaction and accepts nothing.",
    "",
    `Wallet: ${wallet}`,
    `Nonce: ${nonce}`,
    `Issued: ${issuedAt.toISOString()}`,
  ].join("\n");
}

export interface BalanceChallenge {
  wallet: string;
  nonce: string;
  issuedAt: Date;
}

/** The fields of a challenge text, only when it is exactly a text buildBalanceChallenge makes. */
export function parseBalanceChallenge(message: string): BalanceChallenge {
  const wallet = /\nWallet: ([1-9A-HJ-NP-Za-km-z]{32,44})\n/.exec(message)?.[1];
  const nonce = /\nNonce: ([A-Za-z0-9_-]{16,64})\n/.exec(message)?.[1];
  const issued = /\nIssued: (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)$/.exec(message)?.[1];
  const issuedAt = issued ? new Date(issued) : undefined;
  if (!wallet || !nonce || !issuedAt || Number.isNaN(issuedAt.getTime()) || buildBalanceChallenge(wallet, nonce, issuedAt) !== message) {
    throw new WalletError("CHALLENGE_FIELD_INVALID", "that is not a StableFlow balance lookup message");
  }
  return { wallet, nonce, issuedAt };
}

/**
 * Checks a signed lookup: the message is ours, for `wallet`, issued no more than the maximum age before `now`
 * (and not after it), and signed by the wallet. Throws CHALLENGE_FIELD_INVALID, CHALLENGE_EXPIRED,
 * SIGNATURE_MALFORMED or SIGNATURE_INVALID. Single use is the caller's (it remembers nonces).
 */
export function checkBalanceChallenge(args: {
  wallet: WalletAddress;
  message: string;
  signature: string | Uint8Array;
  now: Date;
  maxAgeMs?: number;
}): BalanceChallenge {
  const challenge = parseBalanceChallenge(args.message);
  if (challenge.wallet !== args.wallet.address) throw new WalletError("CHALLENGE_FIELD_INVALID", "the message names another wallet");
  const age = args.now.getTime() - challenge.issuedAt.getTime();
  if (age < -30_000) throw new WalletError("CHALLENGE_FIELD_INVALID", "the message was issued in the future");
  if (age > (args.maxAgeMs ?? BALANCE_CHALLENGE_MAX_AGE_MS)) throw new WalletError("CHALLENGE_EXPIRED", "the message has expired; sign a new one");
  if (!verifyWalletSignature(args.wallet, args.message, args.signature)) {
    throw new WalletError("SIGNATURE_INVALID", "the signature is not this wallet's over this message");
  }
  return challenge;
}
