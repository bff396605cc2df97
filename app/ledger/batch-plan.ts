// Cutting a payout run's transfers into split batches (one execute_split each), fixed at approval. Pure:
// no chain, no database. The capacities come from app/settlement/batch-capacity.ts, which measures them
// by serializing the real transaction; this module only decides who goes where.
import { LedgerError, U64_MAX } from "./money";

export interface PlannableTransfer {
  transferId: string;
  /** The recipient's token account (base58). */
  tokenAccount: string;
  /** Token base units, > 0. */
  amount: bigint;
}

export interface BatchCapacity {
  /** Most recipients a legacy transaction carries (the packet binds). */
  legacy: number;
  /** Most recipients a v0 transaction with lookup tables carries (the program's MAX_RECIPIENTS binds). */
  v0: number;
}

export type BatchTransactionVersion = "LEGACY" | "V0";

export interface PlannedBatch {
  index: number;
  version: BatchTransactionVersion;
  /** In instruction order. */
  transfers: PlannableTransfer[];
  total: bigint;
}

export class BatchPlanError extends LedgerError {
  readonly code: "BATCH_PLAN_INVALID";
  constructor(message: string) {
    super(message);
    this.code = "BATCH_PLAN_INVALID";
  }
}

const byCodeUnits = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The transaction shape a batch of `size` recipients needs. */
export function batchVersion(size: number, capacity: BatchCapacity): BatchTransactionVersion {
  return size <= capacity.legacy ? "LEGACY" : "V0";
}

function checkCapacity(capacity: BatchCapacity): void {
  const { legacy, v0 } = capacity;
  if (!Number.isInteger(legacy) || !Number.isInteger(v0) || legacy < 1 || v0 < legacy) {
    throw new BatchPlanError(`capacity must be whole numbers with 1 <= legacy <= v0, got legacy ${legacy}, v0 ${v0}`);
  }
}

/**
 * The batches of a run. Order is deterministic whatever order the transfers come in: by token account,
 * then transfer id (code units, no collation). As few batches as the v0 capacity allows (and as a token
 * account appearing several times needs: the program refuses a repeated recipient), sizes as even as
 * possible; transfers are dealt round-robin over the batches in that order, so repeats of one token
 * account land in different batches. A batch that fits the legacy capacity is sent as a legacy
 * transaction (no lookup table needed), a larger one as v0.
 */
export function planBatches(transfers: readonly PlannableTransfer[], capacity: BatchCapacity, firstIndex = 0): PlannedBatch[] {
  checkCapacity(capacity);
  if (transfers.length === 0) return [];
  const seen = new Set<string>();
  const repeats = new Map<string, number>();
  for (const transfer of transfers) {
    if (seen.has(transfer.transferId)) throw new BatchPlanError(`transfer ${transfer.transferId} appears twice`);
    seen.add(transfer.transferId);
    if (transfer.amount <= 0n || transfer.amount > U64_MAX) {
      throw new BatchPlanError(`transfer ${transfer.transferId} has amount ${transfer.amount}: a split pays 1..=u64::MAX base units`);
    }
    repeats.set(transfer.tokenAccount, (repeats.get(transfer.tokenAccount) ?? 0) + 1);
  }
  const mostRepeated = Math.max(...repeats.values());
  const count = Math.max(Math.ceil(transfers.length / capacity.v0), mostRepeated);
  if (firstIndex + count - 1 > 0xffff) throw new BatchPlanError(`${count} batches from index ${firstIndex} exceed the u16 batch index`);
  const ordered = [...transfers].sort((a, b) => byCodeUnits(a.tokenAccount, b.tokenAccount) || byCodeUnits(a.transferId, b.transferId));
  const dealt: PlannableTransfer[][] = Array.from({ length: count }, () => []);
  ordered.forEach((transfer, i) => dealt[i % count]!.push(transfer));
  return dealt.map((batch, i) => {
    const total = batch.reduce((sum, t) => sum + t.amount, 0n);
    if (total > U64_MAX) throw new BatchPlanError(`batch ${firstIndex + i} totals ${total}, more than a u64`);
    return { index: firstIndex + i, version: batchVersion(batch.length, capacity), transfers: batch, total };
  });
}

/**
 * The batch that replaces `batch` once the transfers in `held` are held out: same order, the next free
 * index. Null when nothing is left to pay (every recipient was held).
 */
export function supersedingBatch(
  batch: Pick<PlannedBatch, "transfers">,
  held: ReadonlySet<string>,
  nextIndex: number,
  capacity: BatchCapacity,
): PlannedBatch | null {
  const transfers = batch.transfers.filter((t) => !held.has(t.transferId));
  if (transfers.length === batch.transfers.length) throw new BatchPlanError("a superseding batch must leave someone out");
  if (transfers.length === 0) return null;
  if (nextIndex > 0xffff) throw new BatchPlanError(`batch index ${nextIndex} exceeds a u16`);
  const total = transfers.reduce((sum, t) => sum + t.amount, 0n);
  return { index: nextIndex, version: batchVersion(transfers.length, capacity), transfers, total };
}
