// What every part of the executor works with: the database, the queue, the chain client and signers,
// the settlement target (program, capacities, treasuries), this executor's lease holder name, and the
// few chain reads they share (the mint's token program, a fresh blockhash, the priority fee). Also the
// crash points the crash matrix kills the executor at (tests only).
import { PublicKey } from "@solana/web3.js";
import { z } from "zod";
import type { SettlementTarget } from "~/models/settlement.server";
import type { Database } from "~/utils/db.server";
import type { ChainSigners } from "./chain-runtime.server";
import type { ChainClient } from "./chain.server";
import type { SettlementQueue } from "./executor-queue.server";
import type { TreasuryIdentity } from "./treasury.server";

export interface ExecutorContext {
  db: Database;
  queue: SettlementQueue;
  client: ChainClient;
  signers: ChainSigners;
  target: SettlementTarget;
  /** This executor's name on its leases and events (host, pid, a random part). */
  holder: string;
  /** Lease time-to-live; renewed every third of it while the work goes on. */
  leaseMs: number;
  /** STABLEFLOW_MAX_PRIORITY_FEE: the most micro-lamports per compute unit a split offers. */
  maxPriorityFee: bigint;
  /** Resend the same bytes this often until confirmed or expired (default 2 s). */
  resendMs: number;
  /** Status poll interval (default 250 ms). */
  pollMs: number;
  /** One job gives up waiting on an attempt after this long (it stays open; the next job resumes it). */
  attemptDeadlineMs: number;
}

/** Where the crash matrix kills an executor (tests/settlement/crash-matrix.test.ts). */
export type CrashPoint =
  | "after-persist-before-send"
  | "after-send"
  | "after-confirm-before-record"
  | "between-batches"
  | "lookup-table-create"
  | "lookup-table-extend"
  | "token-accounts";

const CrashEnv = z.object({
  STABLEFLOW_ENV: z.literal("test"),
  STABLEFLOW_CRASH_POINT: z.string().min(1),
  STABLEFLOW_CRASH_AFTER: z.coerce.number().int().min(1).default(1),
});

const hits = new Map<string, number>();
let crashSetting: z.infer<typeof CrashEnv> | null | undefined;

/**
 * In a test executor told STABLEFLOW_CRASH_POINT=<point> (and STABLEFLOW_CRASH_AFTER=<n>), the n-th
 * time it reaches that point it dies at once by SIGKILL, as a power cut would: nothing after runs, no
 * handler, no flush. Anywhere else a no-op (STABLEFLOW_ENV must be "test").
 */
export function crashPoint(point: CrashPoint): void {
  if (crashSetting === undefined) {
    const parsed = CrashEnv.safeParse(process.env);
    crashSetting = parsed.success ? parsed.data : null;
  }
  if (!crashSetting || crashSetting.STABLEFLOW_CRASH_POINT !== point) return;
  const n = (hits.get(point) ?? 0) + 1;
  hits.set(point, n);
  if (n === crashSetting.STABLEFLOW_CRASH_AFTER) {
    process.stderr.write(`executor: crash point ${point} (#${n}): SIGKILL\n`);
    process.kill(process.pid, "SIGKILL");
  }
}

/** What simulating or building a split needs of an executor: no database, no queue, no lease (the console's preview has only these). */
export type SplitChain = Pick<ExecutorContext, "client" | "signers" | "target" | "maxPriorityFee">;

export class ExecutorError extends Error {
  constructor(
    readonly code: "TREASURY_MISMATCH" | "MINT_MISSING" | "ATTEMPTS_EXHAUSTED" | "LOOKUP_TABLE_BUSY" | "NOT_VISIBLE_YET",
    message: string,
    /** Worth trying again later (the job is retried; nothing was lost). */
    readonly transient = true,
  ) {
    super(message);
    this.name = "ExecutorError";
  }
}

const tokenPrograms = new Map<string, PublicKey>();

/** The token program that owns the treasury's mint (read once per mint). */
export async function mintTokenProgram(ctx: Pick<ExecutorContext, "client">, mint: PublicKey): Promise<PublicKey> {
  const known = tokenPrograms.get(mint.toBase58());
  if (known) return known;
  const account = await ctx.client.account(mint);
  if (!account) throw new ExecutorError("MINT_MISSING", `the treasury's mint ${mint.toBase58()} does not exist on this cluster`);
  tokenPrograms.set(mint.toBase58(), account.owner);
  return account.owner;
}

/** The treasury a batch was planned for, as this executor knows it; refuses a batch of another treasury. */
export function batchTreasury(ctx: Pick<ExecutorContext, "target">, batch: { organizationId: string; treasury: string }): TreasuryIdentity {
  const identity = ctx.target.treasuryFor(batch.organizationId);
  if (identity.treasury.toBase58() !== batch.treasury) {
    throw new ExecutorError(
      "TREASURY_MISMATCH",
      `the batch was planned for treasury ${batch.treasury}, but this executor signs for ${identity.treasury.toBase58()}`,
      false,
    );
  }
  return identity;
}

export async function latestBlockhash(ctx: Pick<ExecutorContext, "client">): Promise<{ blockhash: string; lastValidBlockHeight: number }> {
  return ctx.client.read("getLatestBlockhash", (c) => c.getLatestBlockhash("confirmed"));
}

/**
 * The priority fee to offer, in micro-lamports per compute unit: the 75th percentile of what recently
 * landed transactions locking these accounts paid (getRecentPrioritizationFees), capped by
 * STABLEFLOW_MAX_PRIORITY_FEE. The embedded chain answers zeros, so it pays nothing, by the same path.
 */
export async function priorityFee(ctx: Pick<ExecutorContext, "client" | "maxPriorityFee">, writable: readonly PublicKey[]): Promise<bigint> {
  const fees = await ctx.client.read("getRecentPrioritizationFees", (c) =>
    c.getRecentPrioritizationFees({ lockedWritableAccounts: [...writable] }),
  );
  const values = z
    .array(z.object({ prioritizationFee: z.number().int().nonnegative() }))
    .parse(fees)
    .map((f) => BigInt(f.prioritizationFee))
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (values.length === 0) return 0n;
  const p75 = values[Math.min(values.length - 1, Math.floor(values.length * 0.75))]!;
  return p75 < ctx.maxPriorityFee ? p75 : ctx.maxPriorityFee;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
