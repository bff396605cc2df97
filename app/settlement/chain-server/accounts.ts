// Account reads and writes against LiteSVM in the server's own terms (base58 addresses, bigint
// lamports), and their journal form.
import { Account, type LiteSvm } from "litesvm/dist/internal.js";
import { encodeBase58, encodeBase64, NATIVE_LOADER, publicKeyBytes, SYSTEM_PROGRAM, SYSVAR_OWNER } from "./codec";
import type { StoredAccount } from "./store";

export interface AccountView {
  lamports: bigint;
  owner: string;
  executable: boolean;
  data: Uint8Array;
}

const BPF_LOADER_2 = "BPFLoader2111111111111111111111111111111111";

/** Address bytes, memoised: the same few keys are converted on every request. */
const keyCache = new Map<string, Uint8Array>();
export function keyBytes(address: string): Uint8Array {
  let bytes = keyCache.get(address);
  if (!bytes) {
    bytes = publicKeyBytes(address);
    if (keyCache.size > 100_000) keyCache.clear();
    keyCache.set(address, bytes);
  }
  return bytes;
}

export function readAccount(svm: LiteSvm, address: string): AccountView | null {
  const account = svm.getAccount(keyBytes(address));
  if (!account) return null;
  const lamports = account.lamports();
  if (lamports === 0n) return null;
  return { lamports, owner: encodeBase58(account.owner()), executable: account.executable(), data: account.data() };
}

export function writeAccount(svm: LiteSvm, address: string, account: AccountView): void {
  svm.setAccount(keyBytes(address), new Account(account.lamports, account.data, keyBytes(account.owner), account.executable, 0n));
}

/** Whether a written account belongs in the journal (sysvars and built-in programs are the runtime's). */
export function isJournaled(account: AccountView | null): boolean {
  if (!account) return true;
  if (account.owner === SYSVAR_OWNER || account.owner === NATIVE_LOADER) return false;
  return !(account.executable && account.owner === BPF_LOADER_2);
}

export function toStored(address: string, account: AccountView | null): StoredAccount {
  if (!account) return [address, "0", SYSTEM_PROGRAM, false, ""];
  return [address, account.lamports.toString(), account.owner, account.executable, encodeBase64(account.data)];
}

export function fromStored(stored: StoredAccount): AccountView | null {
  const [, lamports, owner, executable, data] = stored;
  if (lamports === "0") return null;
  return { lamports: BigInt(lamports), owner, executable, data: new Uint8Array(Buffer.from(data, "base64")) };
}

/**
 * Restores accounts into a fresh LiteSVM: data accounts first, program accounts last (LiteSVM loads a
 * program when its account is set, which needs its programdata account already there).
 */
export function restoreAccounts(svm: LiteSvm, accounts: Iterable<StoredAccount>, onError: (address: string, error: Error) => void): number {
  const programs: [string, AccountView][] = [];
  let count = 0;
  for (const stored of accounts) {
    const account = fromStored(stored);
    if (!account) continue;
    if (account.executable) programs.push([stored[0], account]);
    else writeAccount(svm, stored[0], account);
    count += 1;
  }
  for (const [address, account] of programs) {
    try {
      writeAccount(svm, address, account);
    } catch (error) {
      // A program whose code the runtime now refuses (or whose programdata is gone) must not stop the chain.
      onError(address, error as Error);
    }
  }
  return count;
}
