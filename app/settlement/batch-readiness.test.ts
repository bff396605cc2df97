// Recipient readiness read off account bytes laid out by hand: the program's allowlist, seen from the
// executor before it sends (missing, not a token account, frozen, another mint, memo required, other
// extensions refused; CPI Guard and ImmutableOwner accepted).
import { ACCOUNT_SIZE, AccountLayout, AccountState } from "@solana/spl-token";
import { Keypair, PublicKey } from "@solana/web3.js";
import { describe, expect, it } from "vitest";
import { TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID } from "~/ledger/wallet";
import { recipientReadiness } from "./batch-readiness";

const mint = Keypair.generate().publicKey;

function tokenAccount(options: { mint?: PublicKey; state?: AccountState; extensions?: [number, number[]][] } = {}): Uint8Array {
  const base = Buffer.alloc(ACCOUNT_SIZE);
  AccountLayout.encode(
    {
      mint: options.mint ?? mint,
      owner: Keypair.generate().publicKey,
      amount: 0n,
      delegateOption: 0,
      delegate: PublicKey.default,
      state: options.state ?? AccountState.Initialized,
      isNativeOption: 0,
      isNative: 0n,
      delegatedAmount: 0n,
      closeAuthorityOption: 0,
      closeAuthority: PublicKey.default,
    },
    base,
  );
  if (!options.extensions) return base;
  const tlv = options.extensions.flatMap(([kind, value]) => [kind & 0xff, kind >> 8, value.length & 0xff, value.length >> 8, ...value]);
  return Buffer.concat([base, Buffer.from([2]), Buffer.from(tlv)]);
}

const account = (data: Uint8Array, owner = TOKEN_PROGRAM_ID) => ({ owner, lamports: 2_039_280n, data });

describe("recipientReadiness", () => {
  it("an initialized account of the mint receives; CPI Guard, ImmutableOwner and a MemoTransfer that is off are fine", () => {
    expect(recipientReadiness(account(tokenAccount()), mint, TOKEN_PROGRAM_ID)).toEqual({ ok: true });
    const extended = tokenAccount({ extensions: [[7, []], [11, [1]], [8, [0]]] });
    expect(recipientReadiness(account(extended, TOKEN_2022_PROGRAM_ID), mint, TOKEN_2022_PROGRAM_ID)).toEqual({ ok: true });
  });

  it("error: each reason the program would refuse", () => {
    const reason = (...args: Parameters<typeof recipientReadiness>) => {
      const r = recipientReadiness(...args);
      return r.ok ? "ok" : r.reason;
    };
    expect(reason(null, mint, TOKEN_PROGRAM_ID)).toBe("RecipientMissing");
    expect(reason({ owner: TOKEN_PROGRAM_ID, lamports: 0n, data: new Uint8Array() }, mint, TOKEN_PROGRAM_ID)).toBe("RecipientMissing");
    expect(reason(account(tokenAccount(), Keypair.generate().publicKey), mint, TOKEN_PROGRAM_ID)).toBe("RecipientNotTokenAccount");
    expect(reason(account(tokenAccount().subarray(0, 100)), mint, TOKEN_PROGRAM_ID)).toBe("RecipientNotTokenAccount");
    expect(reason(account(tokenAccount({ state: AccountState.Frozen })), mint, TOKEN_PROGRAM_ID)).toBe("RecipientFrozen");
    expect(reason(account(tokenAccount({ state: AccountState.Uninitialized })), mint, TOKEN_PROGRAM_ID)).toBe("RecipientNotTokenAccount");
    expect(reason(account(tokenAccount({ mint: Keypair.generate().publicKey })), mint, TOKEN_PROGRAM_ID)).toBe("RecipientWrongMint");
    expect(reason(account(tokenAccount({ extensions: [[8, [1]]] }), TOKEN_2022_PROGRAM_ID), mint, TOKEN_2022_PROGRAM_ID)).toBe("RecipientRequiresMemo");
    expect(reason(account(tokenAccount({ extensions: [[15, [1]]] }), TOKEN_2022_PROGRAM_ID), mint, TOKEN_2022_PROGRAM_ID)).toBe("RecipientExtensionUnsupported");
  });
});
