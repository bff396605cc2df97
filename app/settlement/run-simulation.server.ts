// A payout run simulated before anyone approves it (the console's preview, the operator API's too): its
// batches as the approval would plan them (or as planned, once approved), every recipient's token account
// checked as the executor checks it, and each batch's execute_split simulated through the executor's own
// code (simulateSplit: the transaction it would sign), with compute units, fees, rent, and who would be held
// out and why. Reads only: nothing is created, signed or sent, and nothing is written.
import { ComputeBudgetProgram, PublicKey, Transaction } from "@solana/web3.js";
import { TOKEN_2022_PROGRAM_ID } from "@solana/spl-token";
import { loadBatch, planRunBatches, type BatchItem, type BatchRecord } from "~/models/settlement.server";
import type { Database } from "~/utils/db.server";
import { sql } from "~/utils/sql.server";
import { batchPhase, isTerminal } from "./batch-state";
import { batchTreasury, latestBlockhash, mintTokenProgram, priorityFee, type SplitChain } from "./executor-context.server";
import { readAccounts, recipientSetup, tokenAccountInstructions, TOKEN_ACCOUNTS_PER_TRANSACTION } from "./executor-setup.server";
import { RpcError } from "./rpc-errors";
import { simulateSplit, type SplitParts } from "./executor-split.server";
import { existingLookupTables } from "./lookup-tables.server";
import { coder } from "./program";
import { tokenBalance } from "./treasury.server";

export type SimulationDeps = SplitChain & { db: Database };

export class RunSimulationError extends Error {
  constructor(
    readonly code: "RUN_NOT_FOUND" | "RUN_NOT_PAYABLE",
    message: string,
  ) {
    super(message);
    this.name = "RunSimulationError";
  }
}

export interface SimulatedRecipient {
  transferId: string;
  recipientId: string;
  recipientName: string;
  tokenAccount: string;
  amount: bigint;
  /** Why it is held out, or what is done for it first. */
  reason: string;
}

export interface BatchSimulation {
  index: number;
  version: "LEGACY" | "V0";
  recipients: number;
  total: bigint;
  /** The written plan's hash (null before approval: the plan is written then). */
  planHash: string | null;
  /** The simulation of what would be sent now succeeded (no program error; held-out recipients are listed apart). */
  success: boolean;
  /** Compute units the simulation consumed, and the limit the executor would set from them. */
  computeUnits: number | null;
  computeUnitLimit: number | null;
  /** Micro-lamports per compute unit offered (the executor's priority fee). */
  priorityMicroLamports: bigint | null;
  /** Lamports the transaction's fee would be (base fee per signature plus the priority fee). */
  feeLamports: bigint | null;
  /** Rent of the SplitRecord the batch creates (paid by the fee payer). */
  splitRecordRentLamports: bigint;
  error: string | null;
  /** How the figures were obtained when they are not one exact transaction (lookup table entries still to add). */
  note: string | null;
  heldOut: SimulatedRecipient[];
  tokenAccountsCreated: SimulatedRecipient[];
}

export interface RunSimulation {
  runId: string;
  status: string;
  tokenDecimals: number;
  totalTransfers: bigint;
  vault: { address: string; balance: bigint | null };
  /** How much the vault lacks for this run (0 when it holds enough). */
  vaultShortBy: bigint;
  batches: BatchSimulation[];
  /** Associated token accounts the executor creates first, their rent, and lookup table entries it adds. */
  setup: { tokenAccounts: number; tokenAccountRentLamports: bigint; tokenAccountFeeLamports: bigint; lookupTableAddresses: number };
  /** Fees (splits and token-account creations), SplitRecord rent and token-account rent, in lamports (lookup tables not counted: they are reused across runs). */
  estimatedLamports: bigint;
  /** Every batch succeeds as simulated, nobody would be held out, and the vault holds enough. */
  ok: boolean;
  simulatedAt: string;
}

interface RunRow {
  id: string;
  organization_id: string;
  status: string;
  kind: string;
  token_decimals: number;
  total_transfers: string;
}

interface ItemRow {
  transfer_id: string;
  recipient_id: string;
  recipient_name: string;
  token_account: string;
  amount: string;
  wallet_address: string;
  wallet_kind: "ED25519" | "PDA_OWNER";
}

const TOKEN_ACCOUNT_SIZE = { classic: 165, token2022: 170 } as const;

/** The batches a simulation covers: the live open ones of a written plan, or the plan the approval would write. */
async function batchesToSimulate(deps: SimulationDeps, run: RunRow, treasury: string): Promise<{ batches: BatchRecord[]; names: Map<string, string>; written: boolean }> {
  const items = await deps.db.query<ItemRow>(sql`
    SELECT t.id AS transfer_id, t.recipient_id, rc.name AS recipient_name, t.token_account, t.amount::text AS amount, rc.wallet_address,
           rc.wallet_kind::text AS wallet_kind
    FROM payout_transfers t JOIN recipients rc ON rc.id = t.recipient_id
    WHERE t.run_id = ${run.id}::uuid`);
  const names = new Map(items.map((i) => [i.transfer_id, i.recipient_name]));
  const written = await deps.db.query<{ id: string }>(sql`SELECT id FROM split_batches WHERE run_id = ${run.id}::uuid ORDER BY batch_index`);
  if (written.length > 0) {
    const records = (await Promise.all(written.map((b) => loadBatch(deps.db, b.id)))).filter((b): b is BatchRecord => b !== null);
    return { batches: records.filter((b) => !isTerminal(batchPhase(b.events))), names, written: true };
  }
  const byId = new Map(items.map((i) => [i.transfer_id, i]));
  const planned = await planRunBatches(deps.db, run.id, deps.target.capacity);
  const batches = planned.map((batch): BatchRecord => ({
    id: `planned-${batch.index}`,
    runId: run.id,
    organizationId: run.organization_id,
    paymentId: null,
    tokenDecimals: run.token_decimals,
    runStatus: run.status,
    batchIndex: batch.index,
    recipientCount: batch.transfers.length,
    total: batch.total,
    planHash: "",
    treasury,
    version: batch.version,
    supersedesId: null,
    events: [],
    items: batch.transfers.map((t, position): BatchItem => {
      const row = byId.get(t.transferId)!;
      return { position, transferId: t.transferId, recipientId: row.recipient_id, tokenAccount: t.tokenAccount, amount: t.amount, walletAddress: row.wallet_address, walletKind: row.wallet_kind };
    }),
  }));
  return { batches, names, written: false };
}

/** The fee of a simulated transaction as the cluster computes it (getFeeForMessage), or the base-fee formula when the node does not say. */
async function feeOf(deps: SimulationDeps, simulated: { tx: import("@solana/web3.js").VersionedTransaction; units: number; microLamports: bigint }): Promise<bigint> {
  const fee = await deps.client.read("getFeeForMessage", (c) => c.getFeeForMessage(simulated.tx.message, "confirmed")).catch(() => null);
  if (fee?.value !== null && fee?.value !== undefined) return BigInt(fee.value);
  const signatures = BigInt(simulated.tx.message.header.numRequiredSignatures);
  return signatures * 5_000n + (BigInt(simulated.units) * simulated.microLamports + 999_999n) / 1_000_000n;
}

async function simulateBatch(
  deps: SimulationDeps,
  batch: BatchRecord,
  context: { identity: ReturnType<typeof batchTreasury>; tokenProgram: PublicKey; names: Map<string, string>; splitRecordRent: bigint; written: boolean },
): Promise<BatchSimulation & { lookupMissing: number }> {
  const { identity, tokenProgram } = context;
  const infos = await readAccounts(deps, batch.items.map((item) => new PublicKey(item.tokenAccount)));
  const setup = recipientSetup(batch, infos, identity, tokenProgram);
  const creatable = new Set(setup.creatable.map((c) => c.index));
  const describe = (index: number, reason: string): SimulatedRecipient => {
    const item = batch.items[index]!;
    return { transferId: item.transferId, recipientId: item.recipientId, recipientName: context.names.get(item.transferId) ?? "", tokenAccount: item.tokenAccount, amount: item.amount, reason };
  };
  const heldOut = setup.notReady.filter((n) => !creatable.has(n.index)).map((n) => describe(n.index, n.transfer.reason));
  const tokenAccountsCreated = setup.creatable.map((c) => describe(c.index, "its associated token account is created first (CreateIdempotent, rent paid by the fee payer)"));
  // What would be sent: everyone but the held (the superseding batch leaves them out). Those whose token
  // account is created first are simulated with their CreateIdempotent ahead of the split, in the same
  // simulated transaction (the executor sends those creations in transactions of their own first).
  const held = new Set(setup.notReady.filter((n) => !creatable.has(n.index)).map((n) => n.index));
  const sendable = batch.items.filter((_, i) => !held.has(i));
  const owners = new Map(setup.creatable.map((c) => [batch.items[c.index]!.transferId, c.owner]));
  const result: BatchSimulation & { lookupMissing: number } = {
    index: batch.batchIndex,
    version: batch.version,
    recipients: batch.recipientCount,
    total: batch.total,
    planHash: context.written ? batch.planHash : null,
    success: false,
    computeUnits: null,
    computeUnitLimit: null,
    priorityMicroLamports: null,
    feeLamports: null,
    splitRecordRentLamports: context.splitRecordRent,
    error: null,
    note: tokenAccountsCreated.length > 0 ? `compute units include creating ${tokenAccountsCreated.length} token account(s), which the executor does first in transactions of their own` : null,
    heldOut,
    tokenAccountsCreated,
    lookupMissing: 0,
  };
  if (sendable.length === 0) {
    result.error = "every recipient of this batch would be held out";
    return result;
  }
  // A v0 batch is simulated over the treasury's lookup tables; addresses no table holds yet are added at
  // execution, so until then the figures come from legacy-sized pieces of the same transfers.
  let pieces: BatchItem[][] = [sendable];
  let lookupTables: SplitParts["lookupTables"] = [];
  let version = batch.version;
  if (batch.version === "V0") {
    const known = await existingLookupTables(deps, { treasury: batch.treasury, addresses: sendable.map((i) => new PublicKey(i.tokenAccount)) });
    lookupTables = known.tables;
    result.lookupMissing = known.missing.length;
    if (known.missing.length > 0) {
      version = "LEGACY";
      lookupTables = [];
      pieces = [];
      for (let i = 0; i < sendable.length; i += deps.target.capacity.legacy) pieces.push(sendable.slice(i, i + deps.target.capacity.legacy));
      result.note = [result.note, `${known.missing.length} token account(s) are not in a lookup table yet (added at execution): figures from ${pieces.length} legacy-sized piece(s)`]
        .filter(Boolean)
        .join("; ");
    }
  }
  let units = 0;
  let limit = 0;
  let fee = 0n;
  for (const piece of pieces) {
    const prelude = tokenAccountInstructions(
      deps.signers.feePayer.publicKey,
      piece.filter((item) => owners.has(item.transferId)).map((item) => ({ account: new PublicKey(item.tokenAccount), owner: owners.get(item.transferId)! })),
      identity.mint,
      tokenProgram,
    );
    const simulated = await simulateSplit(deps, {
      batch: { ...batch, version, items: piece.map((item, position) => ({ ...item, position })) },
      identity,
      tokenProgram,
      lookupTables,
      prelude,
    }).catch((error: unknown) => {
      // The creations may not fit one packet beside a full split: the figures then wait for the executor.
      if (error instanceof RpcError && /too large/.test(error.message)) return null;
      throw error;
    });
    if (!simulated) {
      result.error = null;
      result.success = true;
      result.note = `too many token accounts to create to simulate them beside the split in one transaction: the executor creates them, then simulates the split before signing it`;
      result.computeUnits = null;
      return result;
    }
    if (simulated.kind === "REFUSED") {
      for (const refusal of simulated.refusals) {
        const item = piece[refusal.position];
        if (item) result.heldOut.push(describe(batch.items.indexOf(item), `${refusal.reason}: the program refuses token account ${item.tokenAccount}`));
      }
      result.error = "the program would refuse some recipients: they are held out and the batch is sent without them";
      return result;
    }
    if (simulated.kind === "REJECTED") {
      result.error = simulated.error;
      return result;
    }
    units += simulated.unitsConsumed;
    limit += simulated.units;
    fee += await feeOf(deps, simulated);
    result.priorityMicroLamports = simulated.microLamports;
  }
  Object.assign(result, { success: true, computeUnits: units, computeUnitLimit: limit, feeLamports: fee });
  return result;
}

/**
 * What creating `count` token accounts costs in fees: the executor's set-up transactions (TOKEN_ACCOUNTS_PER_TRANSACTION
 * accounts each, signed by the fee payer, priced like every set-up transaction), as the cluster prices one.
 */
async function tokenAccountFees(deps: SimulationDeps, count: number): Promise<bigint> {
  if (count === 0) return 0n;
  const feePayer = deps.signers.feePayer.publicKey;
  const { blockhash, lastValidBlockHeight } = await latestBlockhash(deps);
  const microLamports = await priorityFee(deps, [feePayer]);
  const message = new Transaction({ feePayer, blockhash, lastValidBlockHeight })
    .add(ComputeBudgetProgram.setComputeUnitPrice({ microLamports }), ComputeBudgetProgram.setComputeUnitLimit({ units: 40_000 * TOKEN_ACCOUNTS_PER_TRANSACTION }))
    .compileMessage();
  const fee = await deps.client.read("getFeeForMessage", (c) => c.getFeeForMessage(message, "confirmed"));
  if (fee.value === null) throw new RpcError("RPC_BLOCKHASH_NOT_FOUND", "the node did not price a set-up transaction", { transient: true });
  return BigInt(fee.value) * BigInt(Math.ceil(count / TOKEN_ACCOUNTS_PER_TRANSACTION));
}

/** Simulates a run of `organizationId` (another organization's run is not found). See the module comment. */
export async function simulatePayoutRun(deps: SimulationDeps, args: { runId: string; organizationId: string }): Promise<RunSimulation> {
  const [run] = await deps.db.query<RunRow>(sql`
    SELECT id, organization_id, status::text AS status, kind::text AS kind, token_decimals, total_transfers::text AS total_transfers
    FROM payout_runs WHERE id = ${args.runId}::uuid AND organization_id = ${args.organizationId}::uuid`);
  if (!run) throw new RunSimulationError("RUN_NOT_FOUND", "There is no such payout run in your organization.");
  if (run.kind === "ACCRUAL") throw new RunSimulationError("RUN_NOT_PAYABLE", "An accrual run transfers nothing, so there is nothing to simulate.");
  const identity = deps.target.treasuryFor(run.organization_id);
  const tokenProgram = await mintTokenProgram(deps, identity.mint);
  const { batches, names, written } = await batchesToSimulate(deps, run, identity.treasury.toBase58());
  const rent = (size: number) => deps.client.read("getMinimumBalanceForRentExemption", (c) => c.getMinimumBalanceForRentExemption(size)).then(BigInt);
  const splitRecordRent = await rent(coder.accounts.size("SplitRecord"));
  const simulations = [];
  for (const batch of batches) {
    batchTreasury(deps, batch); // a batch planned for another treasury than this deployment's is refused, as the executor refuses it
    simulations.push(await simulateBatch(deps, batch, { identity, tokenProgram, names, splitRecordRent, written }));
  }
  const tokenAccounts = simulations.reduce((n, b) => n + b.tokenAccountsCreated.length, 0);
  const tokenAccountRent = tokenAccounts === 0 ? 0n : (await rent(tokenProgram.equals(TOKEN_2022_PROGRAM_ID) ? TOKEN_ACCOUNT_SIZE.token2022 : TOKEN_ACCOUNT_SIZE.classic)) * BigInt(tokenAccounts);
  const tokenAccountFee = await tokenAccountFees(deps, tokenAccounts);
  const balance = await tokenBalance(deps.client, identity.vault);
  // What is still to pay: the open batches' totals once planned, the whole run before.
  const owed = batches.reduce((sum, b) => sum + b.total, 0n);
  const vaultShortBy = balance === null ? owed : balance >= owed ? 0n : owed - balance;
  const estimatedLamports = simulations.reduce((sum, b) => sum + (b.feeLamports ?? 0n) + b.splitRecordRentLamports, tokenAccountRent + tokenAccountFee);
  return {
    runId: run.id,
    status: run.status,
    tokenDecimals: run.token_decimals,
    totalTransfers: BigInt(run.total_transfers),
    vault: { address: identity.vault.toBase58(), balance },
    vaultShortBy,
    batches: simulations.map(({ lookupMissing: _, ...b }) => b),
    setup: { tokenAccounts, tokenAccountRentLamports: tokenAccountRent, tokenAccountFeeLamports: tokenAccountFee, lookupTableAddresses: simulations.reduce((n, b) => n + b.lookupMissing, 0) },
    estimatedLamports,
    ok: vaultShortBy === 0n && simulations.every((b) => b.success && b.heldOut.length === 0),
    simulatedAt: new Date().toISOString(),
  };
}
