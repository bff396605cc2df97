// SPL Token and Token-2022 layouts, read only as far as the RPC needs: token balances in transaction
// metas, getTokenAccountBalance, and the `jsonParsed` encoding of mints and token accounts.
import { encodeBase58 } from "./codec";

export const TOKEN_PROGRAM = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA";
export const TOKEN_2022_PROGRAM = "TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb";

const ACCOUNT_LEN = 165;
const MINT_LEN = 82;
// Token-2022 writes the account type after the base account length when extensions follow.
const ACCOUNT_TYPE_OFFSET = 165;
const ACCOUNT_TYPE_MINT = 1;
const ACCOUNT_TYPE_ACCOUNT = 2;
export const TOKEN_STATE_OFFSET = 108;
export const TOKEN_STATE_FROZEN = 2;

export function isTokenProgram(owner: string): boolean {
  return owner === TOKEN_PROGRAM || owner === TOKEN_2022_PROGRAM;
}

export interface TokenAccountView {
  mint: string;
  owner: string;
  amount: bigint;
  state: "uninitialized" | "initialized" | "frozen";
  isNative: boolean;
  delegate: string | null;
  delegatedAmount: bigint;
  closeAuthority: string | null;
}

export interface MintView {
  mintAuthority: string | null;
  supply: bigint;
  decimals: number;
  isInitialized: boolean;
  freezeAuthority: string | null;
}

export function isTokenAccountData(owner: string, data: Uint8Array): boolean {
  if (!isTokenProgram(owner)) return false;
  if (data.length === ACCOUNT_LEN) return true;
  return owner === TOKEN_2022_PROGRAM && data.length > ACCOUNT_LEN && data[ACCOUNT_TYPE_OFFSET] === ACCOUNT_TYPE_ACCOUNT;
}

export function isMintData(owner: string, data: Uint8Array): boolean {
  if (!isTokenProgram(owner)) return false;
  if (data.length === MINT_LEN) return true;
  return owner === TOKEN_2022_PROGRAM && data.length > ACCOUNT_LEN && data[ACCOUNT_TYPE_OFFSET] === ACCOUNT_TYPE_MINT;
}

const view = (data: Uint8Array) => new DataView(data.buffer, data.byteOffset, data.byteLength);
const optionKey = (data: Uint8Array, offset: number) =>
  view(data).getUint32(offset, true) === 1 ? encodeBase58(data.subarray(offset + 4, offset + 36)) : null;

export function readTokenAccount(data: Uint8Array): TokenAccountView {
  const dv = view(data);
  const stateByte = data[TOKEN_STATE_OFFSET];
  return {
    mint: encodeBase58(data.subarray(0, 32)),
    owner: encodeBase58(data.subarray(32, 64)),
    amount: dv.getBigUint64(64, true),
    delegate: optionKey(data, 72),
    state: stateByte === TOKEN_STATE_FROZEN ? "frozen" : stateByte === 1 ? "initialized" : "uninitialized",
    isNative: dv.getUint32(109, true) === 1,
    delegatedAmount: dv.getBigUint64(121, true),
    closeAuthority: optionKey(data, 129),
  };
}

export function readMint(data: Uint8Array): MintView {
  return {
    mintAuthority: optionKey(data, 0),
    supply: view(data).getBigUint64(36, true),
    decimals: data[44]!,
    isInitialized: data[45] === 1,
    freezeAuthority: optionKey(data, 46),
  };
}

/** The RPC's UiTokenAmount: integer string exact; `uiAmount` is the protocol's float, display only. */
export function uiTokenAmount(amount: bigint, decimals: number) {
  const scale = 10n ** BigInt(decimals);
  const whole = amount / scale;
  const fraction = (amount % scale).toString().padStart(decimals, "0").replace(/0+$/, "");
  const uiAmountString = fraction ? `${whole}.${fraction}` : `${whole}`;
  return { amount: amount.toString(), decimals, uiAmount: Number(uiAmountString), uiAmountString };
}

/** The `jsonParsed` data of a token-program account, or undefined for other accounts. */
export function parsedTokenData(owner: string, data: Uint8Array, decimalsOf: (mint: string) => number | undefined) {
  const program = owner === TOKEN_2022_PROGRAM ? "spl-token-2022" : "spl-token";
  if (isTokenAccountData(owner, data)) {
    const account = readTokenAccount(data);
    const decimals = decimalsOf(account.mint) ?? 0;
    const info: Record<string, unknown> = {
      isNative: account.isNative,
      mint: account.mint,
      owner: account.owner,
      state: account.state,
      tokenAmount: uiTokenAmount(account.amount, decimals),
    };
    if (account.delegate) {
      info.delegate = account.delegate;
      info.delegatedAmount = uiTokenAmount(account.delegatedAmount, decimals);
    }
    if (account.closeAuthority) info.closeAuthority = account.closeAuthority;
    return { program, parsed: { type: "account", info }, space: data.length };
  }
  if (isMintData(owner, data)) {
    const mint = readMint(data);
    return {
      program,
      parsed: {
        type: "mint",
        info: {
          decimals: mint.decimals,
          freezeAuthority: mint.freezeAuthority,
          isInitialized: mint.isInitialized,
          mintAuthority: mint.mintAuthority,
          supply: mint.supply.toString(),
        },
      },
      space: data.length,
    };
  }
  return undefined;
}
