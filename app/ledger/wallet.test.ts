// Tests of wallet address validation, ATA derivation and the signed ownership challenge, with real keys.
import { ed25519 } from "@noble/curves/ed25519";
import { getAssociatedTokenAddressSync } from "@solana/spl-token";
import { Keypair, PublicKey } from "@solana/web3.js";
import bs58 from "bs58";
import { describe, expect, it } from "vitest";
import {
  buildWalletChallenge,
  deriveAssociatedTokenAccount,
  parseAccountAddress,
  parseWalletAddress,
  TOKEN_2022_PROGRAM_ID,
  TOKEN_PROGRAM_ID,
  verifyWalletChallenge,
  verifyWalletSignature,
  WalletError,
} from "./wallet";

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    if (error instanceof WalletError) return error.code;
    throw error;
  }
  return undefined;
}

const seed = new Uint8Array(32).map((_, i) => (i * 37 + 11) & 0xff);
const keypair = Keypair.fromSeed(seed);
const walletText = keypair.publicKey.toBase58();
const mint = new PublicKey("So11111111111111111111111111111111111111112");
// A PDA (off the curve): the associated token account of the wallet above.
const pdaText = getAssociatedTokenAddressSync(mint, keypair.publicKey).toBase58();

describe("parseWalletAddress", () => {
  it("accepts an on-curve wallet and returns its canonical text", () => {
    const wallet = parseWalletAddress(`  ${walletText}\n`);
    expect(wallet.address).toBe(walletText);
    expect(wallet.kind).toBe("ED25519");
    expect(wallet.publicKey.equals(keypair.publicKey)).toBe(true);
  });

  it("error: an off-curve address unless marked as a PDA owner", () => {
    expect(PublicKey.isOnCurve(new PublicKey(pdaText).toBytes())).toBe(false);
    expect(codeOf(() => parseWalletAddress(pdaText))).toBe("WALLET_OFF_CURVE");
    expect(parseWalletAddress(pdaText, "PDA_OWNER").address).toBe(pdaText);
  });

  it("error: an on-curve wallet mislabelled as a PDA owner", () => {
    expect(codeOf(() => parseWalletAddress(walletText, "PDA_OWNER"))).toBe("WALLET_NOT_PDA");
  });

  it("error: text that is not base58", () => {
    for (const text of ["0OIl0OIl0OIl0OIl0OIl0OIl0OIl0OIl", "", "not an address!", `${walletText}0`]) {
      expect(codeOf(() => parseWalletAddress(text)), text).toMatch(/WALLET_NOT_BASE58|WALLET_WRONG_LENGTH/);
    }
    expect(codeOf(() => parseWalletAddress("0OIl"))).toBe("WALLET_NOT_BASE58");
  });

  it("error: base58 of the wrong length", () => {
    expect(codeOf(() => parseWalletAddress(bs58.encode(new Uint8Array(31).fill(7))))).toBe("WALLET_WRONG_LENGTH");
    expect(codeOf(() => parseWalletAddress(bs58.encode(new Uint8Array(33).fill(7))))).toBe("WALLET_WRONG_LENGTH");
  });

  it("parseAccountAddress takes any 32-byte address, on or off the curve", () => {
    expect(parseAccountAddress(pdaText).toBase58()).toBe(pdaText);
    expect(codeOf(() => parseAccountAddress("abc", "mint"))).toBe("WALLET_WRONG_LENGTH");
  });
});

describe("deriveAssociatedTokenAccount", () => {
  it("matches the SPL library for classic Token and Token-2022", () => {
    const wallet = parseWalletAddress(walletText);
    expect(deriveAssociatedTokenAccount(wallet, mint).equals(getAssociatedTokenAddressSync(mint, keypair.publicKey))).toBe(true);
    const token2022 = deriveAssociatedTokenAccount(wallet, mint, TOKEN_2022_PROGRAM_ID);
    expect(token2022.equals(getAssociatedTokenAddressSync(mint, keypair.publicKey, false, TOKEN_2022_PROGRAM_ID))).toBe(true);
    expect(token2022.equals(deriveAssociatedTokenAccount(wallet, mint, TOKEN_PROGRAM_ID))).toBe(false);
  });

  it("derives for an off-curve PDA owner", () => {
    const owner = parseWalletAddress(pdaText, "PDA_OWNER");
    const expected = getAssociatedTokenAddressSync(mint, new PublicKey(pdaText), true);
    expect(deriveAssociatedTokenAccount(owner, mint).equals(expected)).toBe(true);
  });

  it("error: a program that is not a token program", () => {
    expect(codeOf(() => deriveAssociatedTokenAccount(parseWalletAddress(walletText), mint, mint))).toBe("TOKEN_PROGRAM_UNSUPPORTED");
  });
});

describe("wallet challenge", () => {
  const expiresAt = new Date("2026-11-25T12:00:00.000Z");
  const nonce = "f3a9c1d2e4b5a6978877665544332211";

  it("builds the exact message text", () => {
    expect(buildWalletChallenge("rcp_123", nonce, expiresAt)).toBe(
      [
        "StableFlow wallet ownership proof",
        "",
        "Sign this message to prove that you control this wallet and accept payouts to it.",
        "Signing moves no funds and authorises no transaction.",
        "",
        "Recipient: rcp_123",
        `Nonce: ${nonce}`,
        "Expires: 2026-11-25T12:00:00.000Z",
      ].join("\n"),
    );
  });

  it("error: fields that could inject lines or are too weak", () => {
    expect(codeOf(() => buildWalletChallenge("rcp\nRecipient: other", nonce, expiresAt))).toBe("CHALLENGE_FIELD_INVALID");
    expect(codeOf(() => buildWalletChallenge("rcp_1", "short", expiresAt))).toBe("CHALLENGE_FIELD_INVALID");
    expect(codeOf(() => buildWalletChallenge("rcp_1", `${nonce} x`, expiresAt))).toBe("CHALLENGE_FIELD_INVALID");
    expect(codeOf(() => buildWalletChallenge("rcp_1", nonce, new Date("nope")))).toBe("CHALLENGE_FIELD_INVALID");
  });

  it("verifies a real wallet's signature over the challenge, raw or base58", () => {
    // The keypair from web3.js and the key from noble agree, so the test signs as a wallet would.
    expect(bs58.encode(ed25519.getPublicKey(seed))).toBe(walletText);
    const wallet = parseWalletAddress(walletText);
    const message = buildWalletChallenge("rcp_123", nonce, expiresAt);
    const signature = ed25519.sign(new TextEncoder().encode(message), seed);
    expect(verifyWalletSignature(wallet, message, signature)).toBe(true);
    expect(verifyWalletSignature(wallet, message, bs58.encode(signature))).toBe(true);
  });

  it("refuses a signature over another message, by another key, or for a PDA", () => {
    const wallet = parseWalletAddress(walletText);
    const message = buildWalletChallenge("rcp_123", nonce, expiresAt);
    const signature = ed25519.sign(new TextEncoder().encode(message), seed);
    expect(verifyWalletSignature(wallet, message.replace("rcp_123", "rcp_124"), signature)).toBe(false);
    const otherSeed = new Uint8Array(32).fill(9);
    expect(verifyWalletSignature(wallet, message, ed25519.sign(new TextEncoder().encode(message), otherSeed))).toBe(false);
    const flipped = signature.slice();
    flipped[10]! ^= 1;
    expect(verifyWalletSignature(wallet, message, flipped)).toBe(false);
    expect(verifyWalletSignature(parseWalletAddress(pdaText, "PDA_OWNER"), message, signature)).toBe(false);
  });

  it("error: a malformed signature", () => {
    const wallet = parseWalletAddress(walletText);
    expect(codeOf(() => verifyWalletSignature(wallet, "m", new Uint8Array(63)))).toBe("SIGNATURE_MALFORMED");
    expect(codeOf(() => verifyWalletSignature(wallet, "m", "0OIl"))).toBe("SIGNATURE_MALFORMED");
  });

  it("verifyWalletChallenge: expired, invalid, and accepted", () => {
    const wallet = parseWalletAddress(walletText);
    const message = buildWalletChallenge("rcp_123", nonce, expiresAt);
    const signature = ed25519.sign(new TextEncoder().encode(message), seed);
    const before = new Date(expiresAt.getTime() - 1);
    expect(() => verifyWalletChallenge({ wallet, message, expiresAt, signature, now: before })).not.toThrow();
    expect(codeOf(() => verifyWalletChallenge({ wallet, message, expiresAt, signature, now: expiresAt }))).toBe("CHALLENGE_EXPIRED");
    const wrong = ed25519.sign(new TextEncoder().encode(`${message}!`), seed);
    expect(codeOf(() => verifyWalletChallenge({ wallet, message, expiresAt, signature: wrong, now: before }))).toBe("SIGNATURE_INVALID");
  });
});
