import { Keypair, PublicKey } from "@solana/web3.js";
import { describe, expect, it } from "vitest";
import { issuesByField } from "./input-errors";
import { RecipientCreateSchema, RecipientStatusSchema } from "./recipient-input";

const wallet = Keypair.generate().publicKey.toBase58();
// An off-curve address: a program-derived one.
const pda = PublicKey.findProgramAddressSync([Buffer.from("vault")], new PublicKey("11111111111111111111111111111111"))[0].toBase58();

describe("RecipientCreateSchema", () => {
  it("accepts a wallet (kind defaults to ed25519), a PDA owner marked as one, and an explicit token account; blank means none", () => {
    expect(RecipientCreateSchema.parse({ name: " Ada ", walletAddress: wallet, tokenAccount: "" })).toEqual({ name: "Ada", walletAddress: wallet, walletKind: "ED25519" });
    expect(RecipientCreateSchema.parse({ name: "Vault", walletAddress: pda, walletKind: "PDA_OWNER", tokenAccount: wallet })).toMatchObject({ walletKind: "PDA_OWNER", tokenAccount: wallet });
  });

  it("error: each problem sits beside its field, in words a person can act on", () => {
    const errors = (input: Record<string, unknown>) => issuesByField(RecipientCreateSchema.safeParse(input).error!);
    expect(errors({ name: "", walletAddress: "not-base58-0OIl" })).toEqual({
      name: "Enter the recipient's name.",
      walletAddress: "This is not a Solana address: use the base58 text your wallet shows.",
    });
    expect(errors({ name: "x".repeat(201), walletAddress: wallet }).name).toBe("Use at most 200 characters.");
    expect(errors({ name: "Vault", walletAddress: pda }).walletAddress).toMatch(/program-derived address .* choose “PDA owner”/);
    expect(errors({ name: "Ada", walletAddress: wallet, walletKind: "PDA_OWNER" }).walletAddress).toMatch(/ordinary wallet/);
    expect(errors({ name: "Ada", walletAddress: wallet, tokenAccount: "1111" }).tokenAccount).toMatch(/32 bytes/);
  });
});

describe("RecipientStatusSchema", () => {
  it("error: only active and paused are set by hand", () => {
    expect(RecipientStatusSchema.parse({ status: "PAUSED" })).toEqual({ status: "PAUSED" });
    expect(issuesByField(RecipientStatusSchema.safeParse({ status: "REMOVED" }).error!)).toEqual({ status: "Choose active or paused." });
  });
});
