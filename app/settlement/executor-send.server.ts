// Driving one signed transaction to its end, for splits and set-up transactions alike: send the bytes
// (maxRetries 0, no preflight: the executor simulated them already), resend the same bytes every ~2 s,
// and watch getSignatureStatuses with an own loop until the transaction landed, failed on chain, or is
// definitively expired: the block height is past its last valid block height AND the node's whole history
// (searchTransactionHistory) does not know it AND, for a split, its SplitRecord does not exist at a slot
// at least as new as the one the expiry was seen at. Only that last outcome lets the caller sign again.
import type { VersionedTransactionResponse } from "@solana/web3.js";
import { z } from "zod";
import { rpcError, RpcError } from "./rpc-errors";
import { sleep, type ExecutorContext } from "./executor-context.server";

export type AttemptOutcome =
  | { kind: "LANDED"; slot: number }
  | { kind: "FAILED"; transactionError: unknown }
  | { kind: "EXPIRED"; observedSlot: number };

export interface DriveOptions {
  /** True when the bytes may have left already (a resumed attempt): no first-send bookkeeping. */
  resumed?: boolean;
  /** Runs once after the first send went out (the SENT event, a crash point). */
  onSent?: () => Promise<void>;
  /**
   * Whether the transaction's effect already exists on chain at `minContextSlot` (a split's SplitRecord):
   * consulted before declaring an expiry, so a node that lost a landed transaction's status never makes
   * the caller sign the batch again.
   */
  effectExists?: (minContextSlot: number) => Promise<{ slot: number } | null>;
}

async function send(ctx: ExecutorContext, bytes: Uint8Array): Promise<boolean> {
  try {
    await ctx.client.read("sendTransaction", (c) => c.sendRawTransaction(bytes, { skipPreflight: true, maxRetries: 0 }), { attempts: 2 });
    return true;
  } catch (error) {
    // Not sent this time (node away, refused). The status loop decides what happened; a resend follows.
    if (error instanceof RpcError) return false;
    throw error;
  }
}

/**
 * Drives `signature` (whose bytes are `bytes`, valid through `lastValidBlockHeight`) to an outcome.
 * Throws a transient RPC_TIMEOUT after ctx.attemptDeadlineMs without one: the attempt stays open (its
 * bytes are persisted) and the next job resumes it; nothing is ever signed anew on a timeout.
 */
export async function driveAttempt(
  ctx: ExecutorContext,
  attempt: { signature: string; bytes: Uint8Array; lastValidBlockHeight: number },
  options: DriveOptions = {},
): Promise<AttemptOutcome> {
  const deadline = Date.now() + ctx.attemptDeadlineMs;
  let announced = options.resumed === true;
  let lastSend = 0;
  const sendNow = async () => {
    if (!(await send(ctx, attempt.bytes))) return;
    lastSend = Date.now();
    if (!announced) {
      announced = true;
      await options.onSent?.();
    }
  };
  await sendNow();
  for (;;) {
    // The recent status cache first; the whole history only once the blockhash is past validity.
    const status = await ctx.client.signatureStatus(attempt.signature, false);
    if (status?.err) return { kind: "FAILED", transactionError: status.err };
    if (status && (status.confirmationStatus === "confirmed" || status.confirmationStatus === "finalized")) {
      return { kind: "LANDED", slot: status.slot };
    }
    if (!status) {
      const [height, slot] = await Promise.all([
        ctx.client.read("getBlockHeight", (c) => c.getBlockHeight("confirmed")),
        ctx.client.read("getSlot", (c) => c.getSlot("confirmed")),
      ]);
      if (height > attempt.lastValidBlockHeight) {
        // Past validity: it can no longer land. Ask the whole history once more, then the effect itself.
        const again = await ctx.client.signatureStatus(attempt.signature, true);
        if (!again) {
          const effect = await options.effectExists?.(slot);
          if (effect) return { kind: "LANDED", slot: effect.slot };
          return { kind: "EXPIRED", observedSlot: slot };
        }
        continue;
      }
      if (Date.now() - lastSend >= ctx.resendMs) await sendNow();
    }
    if (Date.now() > deadline) {
      throw rpcError("RPC_TIMEOUT", `transaction ${attempt.signature} neither confirmed nor expired within ${ctx.attemptDeadlineMs} ms; it stays open`);
    }
    await sleep(ctx.pollMs);
  }
}

export interface LandedFacts {
  slot: number;
  fee: bigint;
  computeUnits: bigint | null;
  /** Lamports the fee payer (account 0) spent beyond the fee: rent of accounts the transaction created. */
  rent: bigint;
  logs: string[];
  err: unknown;
  /** The blockhash it was signed over. */
  blockhash: string;
}

const MetaSchema = z.object({
  fee: z.number().int().nonnegative(),
  preBalances: z.array(z.number()),
  postBalances: z.array(z.number()),
  computeUnitsConsumed: z.number().int().nonnegative().optional(),
  logMessages: z.array(z.string()).nullable().optional(),
  err: z.unknown().optional(),
});

/** The landed transaction's fee, compute units and rent, read back (retried while the node has not indexed it). */
export async function landedFacts(ctx: ExecutorContext, signature: string): Promise<LandedFacts> {
  for (let attempt = 0; ; attempt++) {
    const tx: VersionedTransactionResponse | null = await ctx.client.read("getTransaction", (c) =>
      c.getTransaction(signature, { commitment: "confirmed", maxSupportedTransactionVersion: 0 }),
    );
    if (tx?.meta) {
      const meta = MetaSchema.parse(tx.meta);
      const spent = BigInt(meta.preBalances[0] ?? 0) - BigInt(meta.postBalances[0] ?? 0);
      const fee = BigInt(meta.fee);
      return {
        slot: tx.slot,
        fee,
        computeUnits: meta.computeUnitsConsumed === undefined ? null : BigInt(meta.computeUnitsConsumed),
        rent: spent > fee ? spent - fee : 0n,
        logs: meta.logMessages ?? [],
        err: meta.err ?? null,
        blockhash: tx.transaction.message.recentBlockhash,
      };
    }
    if (attempt >= 20) throw rpcError("RPC_UNAVAILABLE", `the node has no record of transaction ${signature} yet`, { transient: true });
    await sleep(250);
  }
}
