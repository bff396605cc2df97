// The balance lookup's signed message: built and parsed exactly, accepted only signed by the named wallet,
// within its age, and never confused with the wallet-ownership proof.
import { ed25519 } from "@noble/curves/ed25519";
import { Keypair } from "@solana/web3.js";
import bs58 from "bs58";
import { describe, expect, it } from "vitest";
import { buildBalanceChallenge, checkBalanceChallenge, parseBalanceChallenge } from "./balance-challenge";
import { buildWalletChallenge, parseWalletAddress, WalletError } from "./wallet";

const keypair = Keypair.generate();
const wallet = parseWalletAddress(keypair.publicKey.toBase58());
const issuedAt = new Date("2031-05-01T12:00:00.000Z");
const nonce = "n0nce-abcdefghijklmnop";
const sign = (message: string, key = keypair) => bs58.encode(ed25519.sign(new TextEncoder().encode(message), key.secretKey.slice(0, 32)));

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return error instanceof WalletError ? error.code : "other";
  }
  return undefined;
}

describe("balance challenge", () => {
  const message = buildBalanceChallenge(wallet.address, nonce, issuedAt);

  it("round-trips through its parser, and a signature by the wallet within five minutes passes", () => {
    expect(parseBalanceChallenge(message)).toEqual({ wallet: wallet.address, nonce, issuedAt });
    const now = new Date(issuedAt.getTime() + 4 * 60_000);
    expect(checkBalanceChallenge({ wallet, message, signature: sign(message), now })).toMatchObject({ nonce });
  });

  it("refuses: another key's signature, an expired or future message, another wallet's message, an edited text", () => {
    const now = new Date(issuedAt.getTime() + 60_000);
    expect(code(() => checkBalanceChallenge({ wallet, message, signature: sign(message, Keypair.generate()), now }))).toBe("SIGNATURE_INVALID");
    expect(code(() => checkBalanceChallenge({ wallet, message, signature: sign(message), now: new Date(issuedAt.getTime() + 5 * 60_000 + 1) }))).toBe("CHALLENGE_EXPIRED");
    expect(code(() => checkBalanceChallenge({ wallet, message, signature: sign(message), now: new Date(issuedAt.getTime() - 60_000) }))).toBe("CHALLENGE_FIELD_INVALID");
    const other = parseWalletAddress(Keypair.generate().publicKey.toBase58());
    expect(code(() => checkBalanceChallenge({ wallet: other, message, signature: sign(message), now }))).toBe("CHALLENGE_FIELD_INVALID");
    const edited = message.replace("Signing moves no funds", "Signing moves all funds");
    expect(code(() => checkBalanceChallenge({ wallet, message: edited, signature: sign(edited), now }))).toBe("CHALLENGE_FIELD_INVALID");
    expect(code(() => checkBalanceChallenge({ wallet, message, signature: "not-base58!", now }))).toBe("SIGNATURE_MALFORMED");
  });

  it("never accepts the wallet-ownership proof's text, signed or not", () => {
    const ownership = buildWalletChallenge("recipient-1", nonce, new Date(issuedAt.getTime() + 60_000));
    expect(code(() => checkBalanceChallenge({ wallet, message: ownership, signature: sign(ownership), now: issuedAt }))).toBe("CHALLENGE_FIELD_INVALID");
  });
});
