// How many recipients one split transaction carries, measured rather than typed in: the real
// execute_split transaction (batch-transaction.ts) is built and serialized for a growing recipient
// count until it no longer fits the 1232-byte packet or the 64 account locks. Legacy transactions are
// bound by the packet; v0 ones with lookup tables by the program's MAX_RECIPIENTS. Cached per shape.
import { AddressLookupTableAccount, PublicKey } from "@solana/web3.js";
import { sha256 } from "@noble/hashes/sha2";
import bs58 from "bs58";
import type { BatchCapacity } from "~/ledger/batch-plan";
import { TOKEN_PROGRAM_ID } from "~/ledger/wallet";
import { fitsPacket, fixedLookupAddresses, splitTransaction, type SplitTransactionArgs } from "./batch-transaction";
import { MAX_RECIPIENTS, PROGRAM_ID } from "./program";

export interface CapacityShape {
  /** A fee payer other than the authority signs too (64 bytes of signature and 32 of key more). */
  distinctFeePayer: boolean;
  /** With the compute-budget instructions the executor always sends (false: bench:program's shape). */
  computeBudget?: boolean;
}

const U64_MAX = (1n << 64n) - 1n;

/** A distinct, deterministic address per label (any 32 bytes are an address a transaction may name). */
function address(label: string): PublicKey {
  return new PublicKey(sha256(new TextEncoder().encode(`stableflow:capacity:${label}`)));
}

function sample(n: number, shape: CapacityShape, version: "LEGACY" | "V0"): SplitTransactionArgs {
  const authority = address("authority");
  const args: SplitTransactionArgs = {
    programId: PROGRAM_ID,
    treasury: address("treasury"),
    vault: address("vault"),
    mint: address("mint"),
    tokenProgram: TOKEN_PROGRAM_ID,
    feePayer: shape.distinctFeePayer ? address("fee-payer") : authority,
    authority,
    runId: new Uint8Array(16).fill(7),
    batchIndex: 65_535,
    // borsh u64s have a fixed width; the largest values say so.
    transfers: Array.from({ length: n }, (_, i) => ({ tokenAccount: address(`recipient-${i}`), amount: U64_MAX })),
    version,
    recentBlockhash: bs58.encode(sha256(new TextEncoder().encode("stableflow:capacity:blockhash"))),
    computeUnitLimit: 1_400_000,
    microLamports: U64_MAX,
    computeBudget: shape.computeBudget,
  };
  if (version === "V0") {
    // One table holding everything a table may hold: the most favourable case the executor aims for.
    args.lookupTables = [
      new AddressLookupTableAccount({
        key: address("lookup-table"),
        state: {
          deactivationSlot: U64_MAX,
          lastExtendedSlot: 0,
          lastExtendedSlotStartIndex: 0,
          authority,
          addresses: [...fixedLookupAddresses(args), ...args.transfers.map((t) => t.tokenAccount)],
        },
      }),
    ];
  }
  return args;
}

const cache = new Map<string, number>();

function measure(shape: CapacityShape, version: "LEGACY" | "V0"): number {
  const key = `${version}:${shape.distinctFeePayer}:${shape.computeBudget !== false}`;
  const known = cache.get(key);
  if (known !== undefined) return known;
  let n = 0;
  while (n < MAX_RECIPIENTS && fitsPacket(splitTransaction(sample(n + 1, shape, version)))) n++;
  if (n === 0) throw new Error(`no ${version} execute_split with one recipient fits a packet`);
  cache.set(key, n);
  return n;
}

/** Most recipients in a legacy split transaction of this shape (never more than MAX_RECIPIENTS). */
export function measureLegacyCapacity(shape: CapacityShape): number {
  return measure(shape, "LEGACY");
}

/** Most recipients in a v0 split transaction over a lookup table: at most the program's MAX_RECIPIENTS. */
export function measureV0Capacity(shape: CapacityShape): number {
  return measure(shape, "V0");
}

/** What the planner cuts by, for the executor's transactions (always with compute-budget instructions). */
export function settlementCapacity(distinctFeePayer: boolean): BatchCapacity {
  const shape = { distinctFeePayer, computeBudget: true };
  return { legacy: measureLegacyCapacity(shape), v0: measureV0Capacity(shape) };
}
