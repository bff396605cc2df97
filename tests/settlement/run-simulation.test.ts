// The preview of a payout run before approval (app/settlement/run-simulation.server.ts): every batch as the
// approval would plan it, simulated through the executor's own transaction with its compute units and
// fees, recipients whose token account is created first and those that would be held out (and why), the
// vault's shortfall; and nothing written or sent by it. Then the same run approved and settled: what the
// preview said matches what the executor did.
import { createFreezeAccountInstruction } from "@solana/spl-token";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TOKEN_PROGRAM_ID } from "~/ledger/wallet";
import type { RunningExecutors } from "~/settlement/executor-runtime.server";
import { RunSimulationError, simulatePayoutRun, type SimulationDeps } from "~/settlement/run-simulation.server";
import { sql } from "~/utils/sql.server";
import { useTestChain } from "../setup/chain";
import { databaseTargets } from "../setup/databases";
import { createSettlementWorld, startTestExecutors, type SettlementWorld } from "../setup/settlement";

const chain = useTestChain({ slotMs: 40 });

describe.each(databaseTargets())("payout run simulation on $name", (target) => {
  let world: SettlementWorld;
  let executors: RunningExecutors | undefined;
  const deps = (): SimulationDeps => ({ db: world.db, client: world.client, signers: world.signers, target: world.target, maxPriorityFee: 100_000n });

  async function written(runId: string) {
    const [row] = await world.db.query<{ batches: number; events: number; setup: number; costs: number }>(sql`
      SELECT (SELECT count(*) FROM split_batches WHERE run_id = ${runId}::uuid)::int AS batches,
             (SELECT count(*) FROM split_batch_events e JOIN split_batches b ON b.id = e.batch_id WHERE b.run_id = ${runId}::uuid)::int AS events,
             (SELECT count(*) FROM settlement_setup_transactions)::int AS setup,
             (SELECT count(*) FROM payout_run_costs WHERE run_id = ${runId}::uuid)::int AS costs`);
    return row!;
  }

  beforeAll(async () => {
    world = await createSettlementWorld({ target, chain: chain.current, funding: 1_000_000_000n });
  }, 180_000);
  afterAll(async () => {
    await executors?.stop();
    await world?.destroy();
  });

  it("simulates each batch: units and fees, token accounts created first, a frozen recipient held out with its reason; writes nothing", async () => {
    const ready = await world.addRecipients(3, { withTokenAccounts: true });
    const [missing] = await world.addRecipients(1);
    await world.client.sendInstructions([createFreezeAccountInstruction(ready[2]!.tokenAccount, world.mint, world.authority.publicKey, [], TOKEN_PROGRAM_ID)], world.authority);
    const runId = await world.createRun([
      { recipient: ready[0]!, amount: 1_000_000n },
      { recipient: ready[1]!, amount: 2_000_000n },
      { recipient: ready[2]!, amount: 3_000_000n },
      { recipient: missing!, amount: 4_000_000n },
    ]);
    const before = await written(runId);
    const vaultBefore = await world.vaultBalance();

    const simulation = await simulatePayoutRun(deps(), { runId, organizationId: world.organizationId });

    expect(simulation).toMatchObject({ runId, status: "READY", totalTransfers: 10_000_000n, vaultShortBy: 0n, ok: false });
    expect(simulation.vault).toEqual({ address: world.identity.vault.toBase58(), balance: vaultBefore });
    expect(simulation.batches).toHaveLength(1);
    const [batch] = simulation.batches;
    expect(batch).toMatchObject({ index: 0, version: "LEGACY", recipients: 4, total: 10_000_000n, planHash: null, success: true, error: null });
    expect(batch!.computeUnits).toBeGreaterThan(0);
    expect(batch!.computeUnitLimit).toBeGreaterThan(batch!.computeUnits!);
    // One signature (the authority pays its own fees here) at 5,000 lamports, no priority fee on the embedded chain.
    expect(batch!.feeLamports).toBe(5_000n);
    expect(batch!.splitRecordRentLamports).toBeGreaterThan(0n);
    expect(batch!.heldOut.map((h) => [h.tokenAccount, h.amount, h.reason.split(":")[0]])).toEqual([[ready[2]!.tokenAccount.toBase58(), 3_000_000n, "RecipientFrozen"]]);
    expect(batch!.tokenAccountsCreated.map((h) => h.tokenAccount)).toEqual([missing!.tokenAccount.toBase58()]);
    // The missing account's creation is simulated ahead of the split (its units counted), priced as one set-up transaction.
    expect(batch!.note).toMatch(/^compute units include creating 1 token account/);
    expect(simulation.setup.tokenAccounts).toBe(1);
    expect(simulation.setup.tokenAccountRentLamports).toBeGreaterThan(0n);
    expect(simulation.setup.tokenAccountFeeLamports).toBe(5_000n);
    expect(simulation.estimatedLamports).toBe(
      batch!.feeLamports! + batch!.splitRecordRentLamports + simulation.setup.tokenAccountRentLamports + simulation.setup.tokenAccountFeeLamports,
    );

    // Read only: no plan, no event, no set-up transaction, no cost; the vault and the missing account untouched.
    expect(await written(runId)).toEqual(before);
    expect(await world.vaultBalance()).toBe(vaultBefore);
    expect(await world.client.account(missing!.tokenAccount)).toBeNull();
  });

  it("a run larger than the vault: the shortfall is said; a run of another organization is not found", async () => {
    const [r] = await world.addRecipients(1, { withTokenAccounts: true });
    const vault = await world.vaultBalance();
    const runId = await world.createRun([{ recipient: r!, amount: vault + 5n }]);
    const simulation = await simulatePayoutRun(deps(), { runId, organizationId: world.organizationId });
    expect(simulation.vaultShortBy).toBe(5n);
    expect(simulation.ok).toBe(false);
    // The program refuses the split itself: the simulation says why.
    expect(simulation.batches[0]!.success).toBe(false);
    expect(simulation.batches[0]!.error).toMatch(/Insufficient|balance/i);
    const other = await world.db.prisma.organization.create({ data: { slug: `o-${Date.now()}`, name: "Other" } });
    await expect(simulatePayoutRun(deps(), { runId, organizationId: other.id })).rejects.toBeInstanceOf(RunSimulationError);
  });

  it("a v0 batch whose token accounts are in no lookup table yet is simulated in legacy-sized pieces, then exactly once the tables exist", async () => {
    const recipients = await world.addRecipients(world.target.capacity.legacy + 3, { withTokenAccounts: true });
    const runId = await world.createRun(recipients.map((recipient, i) => ({ recipient, amount: BigInt(1_000 + i) })));
    const first = await simulatePayoutRun(deps(), { runId, organizationId: world.organizationId });
    expect(first.batches.map((b) => [b.version, b.recipients, b.success])).toEqual([["V0", recipients.length, true]]);
    expect(first.batches[0]!.note).toMatch(/not in a lookup table yet .* 2 legacy-sized piece/);
    expect(first.setup.lookupTableAddresses).toBe(recipients.length);
    expect(first.batches[0]!.feeLamports).toBe(10_000n);

    executors = await startTestExecutors(world);
    await world.approve(runId, executors.queue);
    expect(await world.waitForRun(runId, ["SETTLED", "PARTIAL", "FAILED"])).toBe("SETTLED");
    // A second run to the same recipients: their addresses are in the treasury's table now.
    const again = await world.createRun(recipients.map((recipient) => ({ recipient, amount: 7n })));
    const second = await simulatePayoutRun(deps(), { runId: again, organizationId: world.organizationId });
    expect(second.batches[0]).toMatchObject({ version: "V0", success: true, note: null, feeLamports: 5_000n });
    expect(second.setup.lookupTableAddresses).toBe(0);
    // What the executor paid for the first run's split matches the preview's fee per transaction.
    const [paid] = await world.db.query<{ fee: string }>(sql`
      SELECT e.fee_lamports::text AS fee FROM split_batch_events e JOIN split_batches b ON b.id = e.batch_id
      WHERE b.run_id = ${runId}::uuid AND e.status = 'CONFIRMED'`);
    expect(BigInt(paid!.fee)).toBe(second.batches[0]!.feeLamports);
  }, 240_000);
});
