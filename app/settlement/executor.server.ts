// The settlement executor: settles one split batch at a time under its lease, by the rules of
// docs/decisions/012-settlement-executor.md. For a batch it first resolves what the chain knows (an open
// attempt is driven to its end with the same bytes; a SplitRecord that exists is read back and compared),
// and only when nothing of it can still land does it make recipients ready, sign a new attempt, PERSIST
// it, and send it. A recipient that cannot receive is held out and the batch superseded. The run's state
// follows its batches.
import { PublicKey } from "@solana/web3.js";
import { holdAndSupersede, loadBatch, recordBatchEvent, finalizeRun, startRun, type BatchRecord, type HeldTransfer } from "~/models/settlement.server";
import { acquireLease, releaseLease, renewLease, type Lease } from "~/models/settlement-setup.server";
import { log } from "~/utils/log.server";
import { sql } from "~/utils/sql.server";
import { batchPhase, isTerminal, type OpenAttempt } from "./batch-state";
import { batchTreasury, crashPoint, ExecutorError, mintTokenProgram, type ExecutorContext } from "./executor-context.server";
import { driveAttempt, landedFacts } from "./executor-send.server";
import { prepareRecipients } from "./executor-setup.server";
import {
  failureReason,
  prepareSplit,
  readSplitRecord,
  splitRecordMismatch,
  splitRecordOf,
  splitRecordSignature,
  type SplitParts,
} from "./executor-split.server";
import { ensureLookupTables } from "./lookup-tables.server";
import type { TreasuryIdentity } from "./treasury.server";
import bs58 from "bs58";

/** New attempts one job signs before it leaves the batch to a later job (each needs the last to expire). */
const ATTEMPTS_PER_JOB = 3;

export type BatchResult = "settled" | "held" | "failed" | "busy" | "not-executing";

/** Runs `work` holding `key`'s lease (renewed meanwhile); "busy" when another executor holds it. */
async function withLease<T>(ctx: ExecutorContext, key: string, work: (lease: Lease) => Promise<T>): Promise<T | "busy"> {
  const lease = { key, holder: ctx.holder };
  if (!(await acquireLease(ctx.db, lease, ctx.leaseMs))) return "busy";
  const renewing = setInterval(() => void renewLease(ctx.db, lease, ctx.leaseMs).catch(() => undefined), Math.max(250, ctx.leaseMs / 3));
  try {
    return await work(lease);
  } finally {
    clearInterval(renewing);
    await releaseLease(ctx.db, lease).catch(() => undefined);
  }
}

/** Reads the SplitRecord of a landed attempt, compares it with the plan, and records CONFIRMED or MISMATCH with its costs. */
async function recordLanded(ctx: ExecutorContext, lease: Lease, batch: BatchRecord, identity: TreasuryIdentity, signature: string, slot: number): Promise<BatchResult> {
  const address = splitRecordOf(ctx, { batch, identity });
  let record = await readSplitRecord(ctx, address, slot);
  for (let tries = 0; !record && tries < 20; tries++) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    record = await readSplitRecord(ctx, address, slot);
  }
  if (!record) throw new ExecutorError("NOT_VISIBLE_YET", `transaction ${signature} landed but the SplitRecord ${address.toBase58()} is not visible yet`);
  const facts = await landedFacts(ctx, signature);
  const mismatch = splitRecordMismatch(record, batch, identity);
  const costs = [
    { runId: batch.runId, batchId: batch.id, kind: "SPLIT_FEE" as const, lamports: facts.fee, signature },
    ...(facts.rent > 0n ? [{ runId: batch.runId, batchId: batch.id, kind: "SPLIT_RECORD_RENT" as const, lamports: facts.rent, signature }] : []),
  ];
  if (mismatch) {
    log.error("settlement alert: a SplitRecord does not match its batch", { batchId: batch.id, runId: batch.runId, signature, mismatch });
    await recordBatchEvent(ctx.db, { batchId: batch.id, lease, event: { status: "MISMATCH", signature, blockhash: facts.blockhash, slot: BigInt(slot), error: mismatch }, costs });
    await ctx.db.query(sql`
      INSERT INTO audit_log (organization_id, actor_type, action, entity_type, entity_id, data)
      VALUES (${batch.organizationId}::uuid, 'SYSTEM', 'settlement.alert', 'split_batch', ${batch.id},
              jsonb_build_object('runId', ${batch.runId}::text, 'signature', ${signature}::text, 'mismatch', ${mismatch}::text))`);
    return "failed";
  }
  await recordBatchEvent(ctx.db, {
    batchId: batch.id,
    lease,
    event: { status: "CONFIRMED", signature, blockhash: facts.blockhash, slot: BigInt(record.slot), feeLamports: facts.fee, computeUnits: facts.computeUnits },
    costs,
  });
  return "settled";
}

async function hold(ctx: ExecutorContext, lease: Lease, batch: BatchRecord, held: readonly HeldTransfer[]): Promise<BatchResult> {
  const next = await holdAndSupersede(ctx.db, ctx.queue, { batch, lease, held, target: ctx.target });
  log.warn("settlement: recipients held out of a batch", { batchId: batch.id, runId: batch.runId, held: held.length, supersededBy: next });
  return "held";
}

/** An attempt that may still land: driven to its end with the same bytes. */
async function resolveOpen(ctx: ExecutorContext, lease: Lease, parts: Omit<SplitParts, "lookupTables" | "tokenProgram">, attempt: OpenAttempt): Promise<BatchResult | "expired"> {
  const { batch, identity } = parts;
  const address = splitRecordOf(ctx, parts);
  const outcome = await driveAttempt(
    ctx,
    { signature: attempt.signature, bytes: attempt.transaction, lastValidBlockHeight: Number(attempt.lastValidBlockHeight) },
    {
      resumed: attempt.sent,
      onSent: async () => {
        await recordBatchEvent(ctx.db, { batchId: batch.id, lease, event: { status: "SENT", signature: attempt.signature, blockhash: attempt.blockhash } });
        crashPoint("after-send");
      },
      effectExists: async (minContextSlot) => {
        const record = await readSplitRecord(ctx, address, minContextSlot);
        return record ? { slot: Number(record.slot) } : null;
      },
    },
  );
  if (outcome.kind === "LANDED") {
    crashPoint("after-confirm-before-record");
    return recordLanded(ctx, lease, batch, identity, attempt.signature, outcome.slot);
  }
  if (outcome.kind === "FAILED") {
    const facts = await landedFacts(ctx, attempt.signature).catch(() => null);
    const { reason, refusal } = failureReason(outcome.transactionError, facts?.logs ?? null);
    await recordBatchEvent(ctx.db, {
      batchId: batch.id,
      lease,
      event: { status: "FAILED", signature: attempt.signature, slot: facts ? BigInt(facts.slot) : null, error: reason, feeLamports: facts?.fee ?? null },
      costs: facts ? [{ runId: batch.runId, batchId: batch.id, kind: "SPLIT_FEE", lamports: facts.fee, signature: attempt.signature }] : [],
    });
    if (refusal) {
      // A failed transaction can never land again: the batch may be superseded without that recipient.
      const item = batch.items[refusal.position];
      if (item) return hold(ctx, lease, batch, [{ transferId: item.transferId, reason: `${refusal.reason}: refused on chain` }]);
    }
    return "failed";
  }
  await recordBatchEvent(ctx.db, {
    batchId: batch.id,
    lease,
    event: { status: "EXPIRED", signature: attempt.signature, error: `not landed by block height ${attempt.lastValidBlockHeight}; unknown to the node's history at slot ${outcome.observedSlot}` },
  });
  return "expired";
}

/** Settles one batch, holding its lease; see the module comment. */
export async function settleBatch(ctx: ExecutorContext, batchId: string): Promise<BatchResult> {
  const result = await withLease(ctx, `batch:${batchId}`, (lease) => settleLeasedBatch(ctx, lease, batchId));
  return result;
}

async function settleLeasedBatch(ctx: ExecutorContext, lease: Lease, batchId: string): Promise<BatchResult> {
  let batch = await loadBatch(ctx.db, batchId);
  if (!batch) throw new ExecutorError("NOT_VISIBLE_YET", `no batch ${batchId}`, false);
  if (batch.runStatus === "APPROVED") await startRun(ctx.db, batch.runId);
  else if (batch.runStatus !== "EXECUTING") return "not-executing";
  const identity = batchTreasury(ctx, batch);
  let phase = batchPhase(batch.events);
  if (isTerminal(phase)) return phase.kind === "CONFIRMED" ? "settled" : phase.kind === "SUPERSEDED" ? "held" : "failed";
  if (phase.kind === "OPEN") {
    const resolved = await resolveOpen(ctx, lease, { batch, identity }, phase.attempt);
    if (resolved !== "expired") return resolved;
    batch = (await loadBatch(ctx.db, batchId))!;
    phase = batchPhase(batch.events);
  }
  const address = splitRecordOf(ctx, { batch, identity });
  const tokenProgram = await mintTokenProgram(ctx, identity.mint);
  for (let attempt = 0; attempt < ATTEMPTS_PER_JOB; attempt++) {
    // Nothing of this batch can land now. If its SplitRecord exists anyway, it was paid: record that.
    if (await readSplitRecord(ctx, address)) {
      const origin = await splitRecordSignature(ctx, address);
      if (origin) return recordLanded(ctx, lease, batch, identity, origin.signature, origin.slot);
    }
    const held = await prepareRecipients(ctx, batch, identity, tokenProgram);
    if (held.length > 0) return hold(ctx, lease, batch, held);
    const lookupTables =
      batch.version === "V0"
        ? await ensureLookupTables(ctx, {
            identity,
            tokenProgram,
            addresses: batch.items.map((item) => new PublicKey(item.tokenAccount)),
            runId: batch.runId,
          })
        : [];
    const prepared = await prepareSplit(ctx, { batch, identity, tokenProgram, lookupTables });
    if (prepared.kind === "REFUSED") {
      const refused = prepared.refusals
        .map((r) => ({ item: batch!.items[r.position], reason: r.reason }))
        .filter((r): r is { item: NonNullable<typeof r.item>; reason: string } => r.item !== undefined)
        .map((r) => ({ transferId: r.item.transferId, reason: `${r.reason}: the program refuses token account ${r.item.tokenAccount}` }));
      return hold(ctx, lease, batch, refused);
    }
    if (prepared.kind === "REJECTED") {
      await recordBatchEvent(ctx.db, { batchId: batch.id, lease, event: { status: "FAILED", error: `not sent: ${prepared.error}` } });
      return "failed";
    }
    const bytes = prepared.tx.serialize();
    const signature = bs58.encode(prepared.tx.signatures[0]!);
    // The rule: the bytes, their signature and validity are in the database before they can reach the chain.
    await recordBatchEvent(ctx.db, {
      batchId: batch.id,
      lease,
      event: {
        status: "SIGNED",
        signature,
        blockhash: prepared.blockhash,
        lastValidBlockHeight: BigInt(prepared.lastValidBlockHeight),
        transaction: bytes,
        lookupTables: lookupTables.map((t) => t.key.toBase58()),
      },
    });
    crashPoint("after-persist-before-send");
    const resolved = await resolveOpen(ctx, lease, { batch, identity }, {
      signature,
      blockhash: prepared.blockhash,
      lastValidBlockHeight: BigInt(prepared.lastValidBlockHeight),
      transaction: bytes,
      sent: false,
    });
    if (resolved !== "expired") return resolved;
    batch = (await loadBatch(ctx.db, batchId))!;
  }
  throw new ExecutorError("ATTEMPTS_EXHAUSTED", `batch ${batchId}: ${ATTEMPTS_PER_JOB} attempts expired unconfirmed; a later job tries again`);
}

/** The job: settle the batch, then the run's state if every batch is done. */
export async function settleBatchJob(ctx: ExecutorContext, job: { batchId: string; runId: string }): Promise<void> {
  const result = await settleBatch(ctx, job.batchId);
  if (result !== "busy") {
    const outcome = await finalizeRun(ctx.db, job.runId);
    if (outcome.status !== "EXECUTING") log.info("payout run settled", { runId: job.runId, status: outcome.status });
    crashPoint("between-batches");
  }
}
