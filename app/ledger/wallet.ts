// Recipient wallets on Solana: address validation (on-curve, or an explicitly accepted PDA owner), the
// associated token account derivation, and the signed one-time challenge that proves wallet ownership.
// Pure: no RPC, no database. Single use and expiry bookkeeping of challenges belong to the model layer.
import { ed25519 } from "@noble/curves/ed25519";
import { PublicKey } from "@solana/web3.js";
import bs58 from "bs58";
import { LedgerError } from "./money";

export type WalletErrorCode =
  | "WALLET_NOT_BASE58"
  | "WALLET_WRONG_LENGTH"
  | "WALLET_OFF_CURVE"
  | "WALLET_NOT_PDA"
  | "TOKEN_PROGRAM_UNSUPPORTED"
  | "CHALLENGE_FIELD_INVALID"
  | "CHALLENGE_EXPIRED"
  | "SIGNATURE_MALFORMED"
  | "SIGNATURE_INVALID";

export class WalletError extends LedgerError {
  readonly code: WalletErrorCode;
  constructor(code: WalletErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

/** Matches the schema's `WalletKind`: an ordinary ed25519 wallet, or an off-curve owner (a PDA) accepted on purpose. */
export type WalletKind = "ED25519" | "PDA_OWNER";

export const TOKEN_PROGRAM_ID = new PublicKey("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA");
export const TOKEN_2022_PROGRAM_ID = new PublicKey("TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb");
export const ASSOCIATED_TOKEN_PROGRAM_ID = new PublicKey("ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL");

export interface WalletAddress {
  /** Canonical base58 text. */
  address: string;
  publicKey: PublicKey;
  kind: WalletKind;
}

function decodeAddress(text: string, what: string): PublicKey {
  const trimmed = text.trim();
  let bytes: Uint8Array;
  try {
    bytes = bs58.decode(trimmed);
  } catch {
    throw new WalletError("WALLET_NOT_BASE58", `${what} is not base58 text`);
  }
  if (bytes.length !== 32) {
    throw new WalletError("WALLET_WRONG_LENGTH", `${what} decodes to ${bytes.length} bytes; a Solana address has 32`);
  }
  // Re-encoding must give the same text, so one account never has two spellings in our tables.
  if (bs58.encode(bytes) !== trimmed) throw new WalletError("WALLET_NOT_BASE58", `${what} is not in canonical base58`);
  return new PublicKey(bytes);
}

/**
 * Validate a recipient's wallet address. An ED25519 wallet must be a point on the curve (it can sign,
 * so it can prove ownership and own an associated token account). An off-curve address is accepted
 * only when the operator marks it PDA_OWNER, and then an on-curve one is refused as mislabelled.
 */
export function parseWalletAddress(text: string, kind: WalletKind = "ED25519"): WalletAddress {
  const publicKey = decodeAddress(text, "wallet address");
  const onCurve = PublicKey.isOnCurve(publicKey.toBytes());
  if (kind === "ED25519" && !onCurve) {
    throw new WalletError(
      "WALLET_OFF_CURVE",
      "wallet address is not on the ed25519 curve (a PDA); mark it as a PDA owner if that is intended",
    );
  }
  if (kind === "PDA_OWNER" && onCurve) {
    throw new WalletError("WALLET_NOT_PDA", "address is an ordinary on-curve wallet, not a PDA; use the ED25519 kind");
  }
  return { address: publicKey.toBase58(), publicKey, kind };
}

/** Parse any 32-byte account address (mints, programs, token accounts); no curve rule applies. */
export function parseAccountAddress(text: string, what = "account address"): PublicKey {
  return decodeAddress(text, what);
}

/**
 * The associated token account of (wallet, mint) under the classic Token or Token-2022 program:
 * the PDA of [owner, token program, mint] under the Associated Token Account program. Pure.
 */
export function deriveAssociatedTokenAccount(wallet: WalletAddress, mint: PublicKey, tokenProgram: PublicKey = TOKEN_PROGRAM_ID): PublicKey {
  if (!tokenProgram.equals(TOKEN_PROGRAM_ID) && !tokenProgram.equals(TOKEN_2022_PROGRAM_ID)) {
    throw new WalletError("TOKEN_PROGRAM_UNSUPPORTED", `token program ${tokenProgram.toBase58()} is neither SPL Token nor Token-2022`);
  }
  const [address] = PublicKey.findProgramAddressSync(
    [wallet.publicKey.toBuffer(), tokenProgram.toBuffer(), mint.toBuffer()],
    ASSOCIATED_TOKEN_PROGRAM_ID,
  );
  return address;
}

// Fields of the challenge are single tokens: no line break or space can smuggle a second "Recipient:" line in.
const CHALLENGE_RECIPIENT = /^[A-Za-z0-9_-]{1,128}$/;
const CHALLENGE_NONCE = /^[A-Za-z0-9_-]{16,128}$/;

/**
 * The exact text a recipient's wallet signs to prove ownership. Stored with the challenge, and the
 * signature is checked against the stored text, so a later wording change never breaks open challenges.
 */
export function buildWalletChallenge(recipientId: string, nonce: string, expiresAt: Date): string {
  if (!CHALLENGE_RECIPIENT.test(recipientId)) {
    throw new WalletError("CHALLENGE_FIELD_INVALID", "recipient id must be 1-128 characters of [A-Za-z0-9_-]");
  }
  if (!CHALLENGE_NONCE.test(nonce)) {
    throw new WalletError("CHALLENGE_FIELD_INVALID", "nonce must be 16-128 characters of [A-Za-z0-9_-] (base64url or hex)");
  }
  if (!(expiresAt instanceof Date) || Number.isNaN(expiresAt.getTime())) {
    throw new WalletError("CHALLENGE_FIELD_INVALID", "expiresAt must be a valid date");
  }
  return [
    "StableFlow wallet ownership proof",
    "",
    "Sign this message to prove that you control this wallet and accept payouts to it.",
    "Signing moves no funds and authorises no transaction.",
    "",
    `Recipient: ${recipientId}`,
    `Nonce: ${nonce}`,
    `Expires: ${expiresAt.toISOString()}`,
  ].join("\n");
}

function signatureBytes(signature: Uint8Array | string): Uint8Array {
  let bytes: Uint8Array;
  if (typeof signature === "string") {
    try {
      bytes = bs58.decode(signature.trim());
    } catch {
      throw new WalletError("SIGNATURE_MALFORMED", "signature is not base58 text");
    }
  } else {
    bytes = signature;
  }
  if (bytes.length !== 64) throw new WalletError("SIGNATURE_MALFORMED", `signature has ${bytes.length} bytes; ed25519 has 64`);
  return bytes;
}

/**
 * Whether `signature` (64 bytes, or base58 as wallets' signMessage results are usually sent) is the
 * wallet's ed25519 signature over the UTF-8 bytes of `message`. Strict RFC 8032 verification (no
 * ZIP-215 leniency), so one message has one valid signature encoding per key. A PDA cannot sign.
 */
export function verifyWalletSignature(wallet: WalletAddress, message: string, signature: Uint8Array | string): boolean {
  const bytes = signatureBytes(signature);
  if (wallet.kind !== "ED25519") return false;
  try {
    return ed25519.verify(bytes, new TextEncoder().encode(message), wallet.publicKey.toBytes(), { zip215: false });
  } catch {
    return false;
  }
}

/**
 * Check a proof of wallet ownership against a stored challenge: not expired at `now`, and signed by
 * the wallet. Throws CHALLENGE_EXPIRED, SIGNATURE_MALFORMED or SIGNATURE_INVALID. The caller marks the
 * challenge used in the same transaction that records the verification (one use only).
 */
export function verifyWalletChallenge(args: {
  wallet: WalletAddress;
  message: string;
  expiresAt: Date;
  signature: Uint8Array | string;
  now: Date;
}): void {
  if (args.now.getTime() >= args.expiresAt.getTime()) {
    throw new WalletError("CHALLENGE_EXPIRED", "the wallet challenge has expired; request a new one");
  }
  if (!verifyWalletSignature(args.wallet, args.message, args.signature)) {
    throw new WalletError("SIGNATURE_INVALID", "the signature does not match this wallet and challenge");
  }
}
