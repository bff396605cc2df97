// Every transaction the chain executed, as getTransaction, getSignatureStatuses and
// getSignaturesForAddress answer them. Rebuilt from the journal at start; LiteSVM's own history is
// in memory only and would not survive a restart.
import type { CompiledInstructionJson } from "./codec";
import type { TransactionErrorJson } from "./errors";

export interface TokenBalanceJson {
  accountIndex: number;
  mint: string;
  owner: string;
  programId: string;
  uiTokenAmount: { amount: string; decimals: number; uiAmount: number; uiAmountString: string };
}

/** One executed transaction; lamports as decimal strings (JSON has no u64). */
export interface StoredTransaction {
  signature: string;
  slot: number;
  blockTime: number;
  /** The signed transaction, base64, exactly as received. */
  raw: string;
  version: "legacy" | 0;
  err: TransactionErrorJson | null;
  fee: string;
  preBalances: string[];
  postBalances: string[];
  preTokenBalances: TokenBalanceJson[];
  postTokenBalances: TokenBalanceJson[];
  logs: string[];
  innerInstructions: { index: number; instructions: CompiledInstructionJson[] }[];
  loadedAddresses: { writable: string[]; readonly: string[] };
  computeUnitsConsumed: number;
  returnData: { programId: string; data: [string, "base64"] } | null;
  /** Static keys, then loaded writable, then loaded readonly: the indexes instructions use. */
  accountKeys: string[];
  /** Micro-lamports per compute unit the transaction offered (getRecentPrioritizationFees). */
  computeUnitPrice: string;
}

export interface SignatureQuery {
  limit: number;
  before?: string;
  until?: string;
  /** Newest slot the caller's commitment admits. */
  maxSlot: number;
}

export class TransactionHistory {
  private readonly bySignature = new Map<string, StoredTransaction>();
  private readonly byAddress = new Map<string, StoredTransaction[]>();
  /** In execution order (slots ascending). */
  private readonly ordered: StoredTransaction[] = [];

  get size(): number {
    return this.ordered.length;
  }

  add(tx: StoredTransaction): void {
    if (this.bySignature.has(tx.signature)) return;
    this.bySignature.set(tx.signature, tx);
    this.ordered.push(tx);
    for (const key of new Set(tx.accountKeys)) {
      let list = this.byAddress.get(key);
      if (!list) this.byAddress.set(key, (list = []));
      list.push(tx);
    }
  }

  get(signature: string): StoredTransaction | undefined {
    return this.bySignature.get(signature);
  }

  /** Newest first, as getSignaturesForAddress pages them. */
  forAddress(address: string, query: SignatureQuery): StoredTransaction[] {
    const list = this.byAddress.get(address) ?? [];
    const found: StoredTransaction[] = [];
    let started = query.before === undefined;
    for (let i = list.length - 1; i >= 0 && found.length < query.limit; i -= 1) {
      const tx = list[i]!;
      if (!started) {
        if (tx.signature === query.before) started = true;
        continue;
      }
      if (tx.signature === query.until) break;
      if (tx.slot > query.maxSlot) continue;
      found.push(tx);
    }
    return found;
  }

  /** Transactions of the last `slots` slots up to `maxSlot`, newest last. */
  recent(fromSlot: number): StoredTransaction[] {
    const found: StoredTransaction[] = [];
    for (let i = this.ordered.length - 1; i >= 0; i -= 1) {
      const tx = this.ordered[i]!;
      if (tx.slot < fromSlot) break;
      found.push(tx);
    }
    return found.reverse();
  }
}
