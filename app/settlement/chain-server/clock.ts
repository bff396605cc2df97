// The cluster clock: slots advance on a timer, each slot is a block with its own blockhash, a
// blockhash is valid for 150 blocks after its own, and commitment levels read older blocks. Slot and
// block height never go backwards across restarts: the clock writes a reservation before it runs
// past the last one, and a restart resumes after the newest reservation.
import { createHash } from "node:crypto";
import { encodeBase58 } from "./codec";

/** Blocks a blockhash stays usable after its own block (Agave's MAX_PROCESSING_AGE). */
export const MAX_PROCESSING_AGE = 150;
/** Slots behind the tip a block counts as finalized (about what a real cluster's root lags). */
export const FINALIZATION_DEPTH = 32;
/** How far the clock may run past its last durable reservation (bounds the jump at a restart). */
export const RESERVE_AHEAD = 16;
const KEPT_BLOCKS = 600;

export type Commitment = "processed" | "confirmed" | "finalized";

export interface Block {
  slot: number;
  blockHeight: number;
  blockhash: string;
  /** Unix seconds at which the block was produced (0 for blocks rebuilt at a restart). */
  time: number;
}

export interface ClockPoint {
  slot: number;
  blockHeight: number;
}

export interface ClockOptions {
  genesisHash: string;
  slotMs: number;
  /** Clock records from the journal, oldest first; empty for a new chain. */
  history: ClockPoint[];
  /** Makes a reservation durable (journals it); called before the clock passes the last one. */
  reserve(point: ClockPoint): void;
  /** Called after each advance with the new blocks, oldest first. */
  onBlocks(blocks: Block[]): void;
}

export function blockhashOf(genesisHash: string, slot: number): string {
  return encodeBase58(createHash("sha256").update(`${genesisHash}:${slot}`).digest());
}

export class ClusterClock {
  private readonly blocks: Block[] = [];
  private readonly byHash = new Map<string, Block>();
  private reserved: ClockPoint;
  private timer: NodeJS.Timeout | undefined;
  private base = 0;
  paused = false;

  constructor(private readonly options: ClockOptions) {
    const newest = options.history.at(-1);
    if (!newest) {
      this.reserved = { slot: -1, blockHeight: -1 };
      this.push({ slot: 0, blockHeight: 0, blockhash: blockhashOf(options.genesisHash, 0), time: nowSeconds() });
      this.ensureReserved(0);
      return;
    }
    // Rebuild the blocks of the last MAX_PROCESSING_AGE heights (their hashes are derived, not stored),
    // each with the slot offset of the run it belonged to: the first reservation at or above it.
    this.reserved = newest;
    const from = Math.max(0, newest.blockHeight - KEPT_BLOCKS + 1);
    let r = 0;
    for (let height = from; height <= newest.blockHeight; height += 1) {
      while (options.history[r]!.blockHeight < height) r += 1;
      const point = options.history[r]!;
      const slot = point.slot - (point.blockHeight - height);
      this.push({ slot, blockHeight: height, blockhash: blockhashOf(options.genesisHash, slot), time: 0 });
    }
    // Resume after everything any earlier run may have shown: a skipped stretch, as after a restart.
    const first = { slot: newest.slot + 1, blockHeight: newest.blockHeight + 1 };
    this.ensureReserved(first.slot);
    this.push({ ...first, blockhash: blockhashOf(options.genesisHash, first.slot), time: nowSeconds() });
  }

  get tip(): Block {
    return this.blocks[this.blocks.length - 1]!;
  }

  get slot(): number {
    return this.tip.slot;
  }

  get blockHeight(): number {
    return this.tip.blockHeight;
  }

  /** The newest block a reader at `commitment` sees. */
  blockAt(commitment: Commitment = "finalized"): Block {
    const depth = commitment === "processed" ? 0 : commitment === "confirmed" ? 1 : FINALIZATION_DEPTH;
    return this.blocks[Math.max(0, this.blocks.length - 1 - depth)]!;
  }

  /** A recent block by slot (the last few hundred are kept). */
  blockAtSlot(slot: number): Block | undefined {
    const index = this.blocks.length - 1 - (this.slot - slot);
    const block = this.blocks[index];
    return block?.slot === slot ? block : this.blocks.find((b) => b.slot === slot);
  }

  /** The block of a recent blockhash, if it is one. */
  blockOf(blockhash: string): Block | undefined {
    return this.byHash.get(blockhash);
  }

  isBlockhashValid(blockhash: string): boolean {
    const block = this.byHash.get(blockhash);
    return block !== undefined && this.blockHeight <= block.blockHeight + MAX_PROCESSING_AGE;
  }

  start(): void {
    this.base = Date.now();
    this.timer = setInterval(() => this.tick(), Math.max(1, Math.floor(this.options.slotMs / 2)));
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  setPaused(paused: boolean): void {
    this.paused = paused;
    this.base = Date.now();
  }

  /** Produces `count` blocks now (the timer's work, and the test-only warp). */
  advance(count: number): Block[] {
    const produced: Block[] = [];
    // One reservation for the whole stretch: a warp of thousands of slots costs one fsync, not hundreds.
    if (count > 0) this.ensureReserved(this.slot + count);
    for (let i = 0; i < count; i += 1) {
      const slot = this.slot + 1;
      const block = { slot, blockHeight: this.blockHeight + 1, blockhash: blockhashOf(this.options.genesisHash, slot), time: nowSeconds() };
      this.push(block);
      produced.push(block);
    }
    if (produced.length > 0) this.options.onBlocks(produced);
    return produced;
  }

  private tick(): void {
    const now = Date.now();
    if (this.paused) {
      this.base = now;
      return;
    }
    const due = Math.floor((now - this.base) / this.options.slotMs);
    if (due <= 0) return;
    this.base += due * this.options.slotMs;
    // A process stalled for minutes catches up in one step, not block by block forever.
    this.advance(Math.min(due, 1_000));
  }

  private ensureReserved(slot: number): void {
    if (slot <= this.reserved.slot) return;
    const offset = slot - (this.blocks.length > 0 ? this.slot - this.blockHeight : 0);
    const point = { slot: slot + RESERVE_AHEAD, blockHeight: offset + RESERVE_AHEAD };
    this.options.reserve(point);
    this.reserved = point;
  }

  private push(block: Block): void {
    this.blocks.push(block);
    this.byHash.set(block.blockhash, block);
    if (this.blocks.length > KEPT_BLOCKS) {
      const old = this.blocks.shift()!;
      this.byHash.delete(old.blockhash);
    }
  }
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
