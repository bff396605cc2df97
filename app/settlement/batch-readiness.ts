// Whether a recipient's token account can receive a split's transfer, read off its account as the chain
// holds it: the same allowlist the program applies before any transfer (programs/stableflow_payouts/src/
// state/token.rs, decision 007), so a batch is planned without a recipient the program would refuse
// instead of failing on chain. Pure: the executor fetches the accounts.
import { PublicKey } from "@solana/web3.js";

/** The reasons, named as the program's errors are (the IDL's Recipient* errors). */
export type RecipientRefusalReason =
  | "RecipientMissing"
  | "RecipientNotTokenAccount"
  | "RecipientFrozen"
  | "RecipientWrongMint"
  | "RecipientRequiresMemo"
  | "RecipientExtensionUnsupported";

export type Readiness = { ok: true } | { ok: false; reason: RecipientRefusalReason };

export interface ChainAccount {
  owner: PublicKey;
  lamports: bigint;
  data: Uint8Array;
}

const TOKEN_ACCOUNT_LEN = 165;
const MULTISIG_LEN = 355;
const ACCOUNT_TYPE_ACCOUNT = 2;
const STATE_OFFSET = 108;
const STATE_INITIALIZED = 1;
const STATE_FROZEN = 2;
// Token-2022 account extension types (spl-token-2022 ExtensionType).
const IMMUTABLE_OWNER = 7;
const MEMO_TRANSFER = 8;
const CPI_GUARD = 11;

function extensionsAccepted(tlv: Uint8Array): Readiness {
  let at = 0;
  while (tlv.length - at >= 4) {
    const kind = tlv[at]! | (tlv[at + 1]! << 8);
    if (kind === 0) return { ok: true };
    const length = tlv[at + 2]! | (tlv[at + 3]! << 8);
    if (at + 4 + length > tlv.length) return { ok: false, reason: "RecipientNotTokenAccount" };
    const value = tlv.subarray(at + 4, at + 4 + length);
    if (kind === IMMUTABLE_OWNER) {
      // only stops the owner changing
    } else if (kind === MEMO_TRANSFER && length === 1) {
      if (value[0] !== 0) return { ok: false, reason: "RecipientRequiresMemo" };
    } else if (kind === CPI_GUARD && length === 1) {
      // restricts what the owner does through a CPI, not transfers in
    } else {
      return { ok: false, reason: "RecipientExtensionUnsupported" };
    }
    at += 4 + length;
  }
  return { ok: true };
}

/** Can `account` (null: it does not exist) receive a TransferChecked of `mint` under `tokenProgram`? */
export function recipientReadiness(account: ChainAccount | null, mint: PublicKey, tokenProgram: PublicKey): Readiness {
  if (!account || account.lamports === 0n) return { ok: false, reason: "RecipientMissing" };
  if (!account.owner.equals(tokenProgram)) return { ok: false, reason: "RecipientNotTokenAccount" };
  const data = account.data;
  const len = data.length;
  if (len < TOKEN_ACCOUNT_LEN || len === MULTISIG_LEN || (len > TOKEN_ACCOUNT_LEN && data[TOKEN_ACCOUNT_LEN] !== ACCOUNT_TYPE_ACCOUNT)) {
    return { ok: false, reason: "RecipientNotTokenAccount" };
  }
  if (data[STATE_OFFSET] === STATE_FROZEN) return { ok: false, reason: "RecipientFrozen" };
  if (data[STATE_OFFSET] !== STATE_INITIALIZED) return { ok: false, reason: "RecipientNotTokenAccount" };
  if (!new PublicKey(data.subarray(0, 32)).equals(mint)) return { ok: false, reason: "RecipientWrongMint" };
  if (len > TOKEN_ACCOUNT_LEN + 1) return extensionsAccepted(data.subarray(TOKEN_ACCOUNT_LEN + 1));
  return { ok: true };
}
