// A recipient's proof of a payout, and its verification against any Solana RPC endpoint with nothing but
// @solana/web3.js and the program's IDL (through app/settlement/program.ts): no StableFlow database, no
// StableFlow server. Each check says pass or fail and why, so a recipient can see exactly what holds:
//   cluster      the endpoint's genesis hash is the proof's (a devnet proof is not checked on a local chain);
//   record       the SplitRecord at the PDA of (treasury, run, batch) exists, belongs to the program, and
//                decodes to the proof's run, batch, recipient count, total and plan hash;
//   plan hash    sha256 over the published transfer list, with the program's domain separation, equals the
//                hash the program recomputed and stored;
//   transaction  the transaction ran execute_split for this batch in the proof's slot and raised this token
//                account's balance (of the proof's mint and decimals, when it names them) by exactly the amount.
import { Connection, PublicKey } from "@solana/web3.js";
import { z } from "zod";
import { decodeSplitRecord, splitPlanHash, splitRecordAddress } from "./program";
import { splitExecutedEvents } from "./program-logs";

const Base58Address = z.string().regex(/^[1-9A-HJ-NP-Za-km-z]{32,44}$/, "a base58 address");
const Hex = (bytes: number) => z.string().regex(new RegExp(`^[0-9a-f]{${bytes * 2}}$`), `${bytes} bytes in lower-case hex`);
const Amount = z.string().regex(/^(0|[1-9]\d{0,19})$/, "minor units as a decimal string");

export const PayoutProofSchema = z.object({
  kind: z.literal("stableflow.payout-proof"),
  version: z.literal(1),
  programId: Base58Address,
  cluster: z.object({ genesisHash: Base58Address, name: z.string().optional() }),
  treasury: Base58Address,
  mint: Base58Address.optional(),
  decimals: z.number().int().min(0).max(18).optional(),
  splitRecord: Base58Address,
  runId: Hex(16),
  batchIndex: z.number().int().min(0).max(65535),
  /** The batch's transfers in instruction order: what the plan hash commits to. */
  transfers: z.array(z.object({ tokenAccount: Base58Address, amount: Amount })).min(1).max(64),
  /** Which entry of `transfers` this proof is about. */
  position: z.number().int().min(0),
  signature: z.string().regex(/^[1-9A-HJ-NP-Za-km-z]{64,88}$/, "a base58 signature"),
  slot: z.number().int().nonnegative(),
});

export type PayoutProof = z.infer<typeof PayoutProofSchema>;

export type CheckName = "cluster" | "record" | "plan_hash" | "transaction";

export interface CheckResult {
  check: CheckName;
  ok: boolean;
  /** One sentence: what was found. */
  detail: string;
}

export interface VerificationResult {
  ok: boolean;
  checks: CheckResult[];
}

export class ProofFormatError extends Error {
  readonly code = "PROOF_INVALID";
  constructor(message: string) {
    super(message);
    this.name = "ProofFormatError";
  }
}

/** Parses a proof document; the message names the first bad field. */
export function parsePayoutProof(input: unknown): PayoutProof {
  const result = PayoutProofSchema.safeParse(input);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new ProofFormatError(`not a payout proof: ${issue?.path.join(".") || "(document)"}: ${issue?.message}`);
  }
  if (result.data.position >= result.data.transfers.length) {
    throw new ProofFormatError(`not a payout proof: position ${result.data.position} is outside the ${result.data.transfers.length} transfers`);
  }
  return result.data;
}

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");

export interface PayoutProofInput {
  programId: PublicKey;
  cluster: { genesisHash: string; name?: string };
  treasury: PublicKey;
  mint?: PublicKey;
  decimals?: number;
  /** The run's 16 on-chain bytes. */
  runId: Uint8Array;
  batchIndex: number;
  /** The batch's transfers in instruction order. */
  transfers: readonly { tokenAccount: string; amount: bigint }[];
  position: number;
  signature: string;
  slot: bigint | number;
}

/**
 * The proof document of one payout: what a recipient downloads and `npm run verify` reads. The SplitRecord
 * address is derived here (never taken from storage), and the result passes through the same parser a
 * downloaded file does.
 */
export function buildPayoutProof(input: PayoutProofInput): PayoutProof {
  return parsePayoutProof({
    kind: "stableflow.payout-proof",
    version: 1,
    programId: input.programId.toBase58(),
    cluster: input.cluster.name === undefined ? { genesisHash: input.cluster.genesisHash } : { ...input.cluster },
    treasury: input.treasury.toBase58(),
    ...(input.mint ? { mint: input.mint.toBase58() } : {}),
    ...(input.decimals === undefined ? {} : { decimals: input.decimals }),
    splitRecord: splitRecordAddress({ treasury: input.treasury, runId: input.runId, batchIndex: input.batchIndex, programId: input.programId }).toBase58(),
    runId: hex(input.runId),
    batchIndex: input.batchIndex,
    transfers: input.transfers.map((t) => ({ tokenAccount: t.tokenAccount, amount: t.amount.toString() })),
    position: input.position,
    signature: input.signature,
    slot: Number(input.slot),
  });
}

function transfersOf(proof: PayoutProof) {
  return proof.transfers.map((t) => ({ tokenAccount: new PublicKey(t.tokenAccount), amount: BigInt(t.amount) }));
}

/** The plan hash the proof's transfer list commits to (the program's layout and domain). */
export function proofPlanHash(proof: PayoutProof): Uint8Array {
  return splitPlanHash({
    programId: new PublicKey(proof.programId),
    treasury: new PublicKey(proof.treasury),
    runId: Buffer.from(proof.runId, "hex"),
    batchIndex: proof.batchIndex,
    transfers: transfersOf(proof),
  });
}

/**
 * Checks `proof` against the chain behind `connection`. Every check runs even when an earlier one fails
 * (a recipient wants every reason at once); the result is ok only when all pass.
 */
export async function verifyPayoutProof(connection: Connection, proof: PayoutProof): Promise<VerificationResult> {
  const checks: CheckResult[] = [];
  const programId = new PublicKey(proof.programId);
  const treasury = new PublicKey(proof.treasury);
  const runId = Buffer.from(proof.runId, "hex");
  const transfers = transfersOf(proof);
  const mine = transfers[proof.position];
  const total = transfers.reduce((sum, t) => sum + t.amount, 0n);

  const genesisHash = await connection.getGenesisHash();
  checks.push(
    genesisHash === proof.cluster.genesisHash
      ? { check: "cluster", ok: true, detail: `the endpoint serves the proof's cluster (genesis ${genesisHash})` }
      : { check: "cluster", ok: false, detail: `the endpoint serves genesis ${genesisHash}, the proof is for ${proof.cluster.genesisHash}: wrong cluster` },
  );

  const expectedAddress = splitRecordAddress({ treasury, runId, batchIndex: proof.batchIndex, programId });
  let onChainHash: Uint8Array | undefined;
  if (!expectedAddress.equals(new PublicKey(proof.splitRecord))) {
    checks.push({
      check: "record",
      ok: false,
      detail: `${proof.splitRecord} is not the SplitRecord of this treasury, run and batch (that is ${expectedAddress.toBase58()})`,
    });
  } else {
    const account = await connection.getAccountInfo(expectedAddress, "confirmed");
    if (!account) checks.push({ check: "record", ok: false, detail: `no SplitRecord exists at ${expectedAddress.toBase58()}` });
    else if (!account.owner.equals(programId)) {
      checks.push({ check: "record", ok: false, detail: `${expectedAddress.toBase58()} belongs to ${account.owner.toBase58()}, not to the payout program` });
    } else {
      try {
        const record = decodeSplitRecord(account.data);
        onChainHash = record.planHash;
        const mismatches = [
          !record.treasury.equals(treasury) && "treasury",
          hex(record.runId) !== proof.runId && "run",
          record.batchIndex !== proof.batchIndex && "batch",
          record.recipientCount !== transfers.length && `recipient count (${record.recipientCount} on chain, ${transfers.length} in the proof)`,
          record.total !== total && `total (${record.total} on chain, ${total} in the proof)`,
        ].filter(Boolean);
        checks.push(
          mismatches.length === 0
            ? { check: "record", ok: true, detail: `SplitRecord ${expectedAddress.toBase58()}: run ${proof.runId}, batch ${proof.batchIndex}, ${record.recipientCount} recipients, total ${record.total}` }
            : { check: "record", ok: false, detail: `the SplitRecord disagrees with the proof on ${mismatches.join(", ")}` },
        );
      } catch {
        checks.push({ check: "record", ok: false, detail: `${expectedAddress.toBase58()} is not a SplitRecord` });
      }
    }
  }

  const recomputed = proofPlanHash(proof);
  if (!onChainHash) {
    checks.push({ check: "plan_hash", ok: false, detail: "no on-chain plan hash to compare with (see the record check)" });
  } else if (hex(onChainHash) === hex(recomputed)) {
    checks.push({ check: "plan_hash", ok: true, detail: `the transfer list hashes to the on-chain plan hash ${hex(onChainHash)}` });
  } else {
    checks.push({
      check: "plan_hash",
      ok: false,
      detail: `the transfer list hashes to ${hex(recomputed)}, the chain recorded ${hex(onChainHash)}: the list was altered (an amount, the order, or an entry)`,
    });
  }

  checks.push(await transactionCheck(connection, proof, programId, mine));
  return { ok: checks.every((c) => c.ok), checks };
}

async function transactionCheck(
  connection: Connection,
  proof: PayoutProof,
  programId: PublicKey,
  mine: { tokenAccount: PublicKey; amount: bigint },
): Promise<CheckResult> {
  const tx = await connection.getTransaction(proof.signature, { commitment: "confirmed", maxSupportedTransactionVersion: 0 });
  if (!tx || !tx.meta) return { check: "transaction", ok: false, detail: `the cluster knows no transaction ${proof.signature}` };
  if (tx.meta.err) return { check: "transaction", ok: false, detail: `transaction ${proof.signature} failed on chain` };
  const executed = splitExecutedEvents(tx.meta.logMessages ?? [], programId).find(
    (e) => e.treasury.toBase58() === proof.treasury && hex(e.runId) === proof.runId && e.batchIndex === proof.batchIndex,
  );
  if (!executed) {
    return { check: "transaction", ok: false, detail: `transaction ${proof.signature} did not execute batch ${proof.batchIndex} of run ${proof.runId}` };
  }
  const keys = tx.transaction.message.getAccountKeys({ accountKeysFromLookups: tx.meta.loadedAddresses ?? undefined });
  let index = -1;
  for (let i = 0; i < keys.length; i++) if (keys.get(i)!.equals(mine.tokenAccount)) index = i;
  const pre = tx.meta.preTokenBalances?.find((b) => b.accountIndex === index);
  const post = tx.meta.postTokenBalances?.find((b) => b.accountIndex === index);
  if (index < 0 || !post) {
    return { check: "transaction", ok: false, detail: `transaction ${proof.signature} did not pay ${mine.tokenAccount.toBase58()}` };
  }
  if (proof.mint !== undefined && post.mint !== proof.mint) {
    return { check: "transaction", ok: false, detail: `${mine.tokenAccount.toBase58()} holds ${post.mint}, not the proof's token ${proof.mint}` };
  }
  if (proof.decimals !== undefined && post.uiTokenAmount.decimals !== proof.decimals) {
    return { check: "transaction", ok: false, detail: `the token has ${post.uiTokenAmount.decimals} decimals on chain, the proof says ${proof.decimals}` };
  }
  const rose = BigInt(post.uiTokenAmount.amount) - BigInt(pre?.uiTokenAmount.amount ?? "0");
  if (rose !== mine.amount) {
    return { check: "transaction", ok: false, detail: `${mine.tokenAccount.toBase58()} rose by ${rose} in that transaction, not by ${mine.amount}` };
  }
  if (tx.slot !== proof.slot) {
    return { check: "transaction", ok: false, detail: `transaction ${proof.signature} landed in slot ${tx.slot}, the proof says slot ${proof.slot}` };
  }
  return { check: "transaction", ok: true, detail: `${mine.tokenAccount.toBase58()} rose by exactly ${mine.amount} in slot ${tx.slot}` };
}
