// Approved runs of every size around the capacities settle on the embedded chain, every recipient paid
// exactly its ledger amount once, the vault down by exactly the sum, the ledger and the chain equal.
// Runs of 1 and 18/19 recipients are legacy transactions; 20 to 50 one v0 transaction over a lookup
// table; 51, 200 and 1,000 several (1,000: 20 split transactions). SETTLE_SIZES (comma-separated)
// replaces the list, e.g. "1,19" while working on the executor.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCosts } from "~/models/settlement-setup.server";
import { runBatchPhases } from "~/models/settlement.server";
import { sql } from "~/utils/sql.server";
import { useTestChain } from "../setup/chain";
import { databaseTargets } from "../setup/databases";
import { createSettlementWorld, startTestExecutors, type SettlementWorld } from "../setup/settlement";
import type { RunningExecutors } from "~/settlement/executor-runtime.server";

const SIZES = (process.env.SETTLE_SIZES ?? "1,19,20,50,51,200,1000").split(",").map((s) => Number(s.trim())).filter((n) => n > 0);

const chain = useTestChain({ slotMs: 40 });

describe.each(databaseTargets())("settling approved runs on $name", (target) => {
  let world: SettlementWorld;
  let executors: RunningExecutors;

  beforeAll(async () => {
    world = await createSettlementWorld({ target, chain: chain.current });
    executors = await startTestExecutors(world);
  }, 180_000);
  afterAll(async () => {
    await executors?.stop();
    await world?.destroy();
  });

  it.each(SIZES)("a run of %i recipients: each paid its amount once, the vault down by the sum", async (n) => {
    // Half of the recipients have their token accounts already; the executor creates the others.
    const withAccounts = await world.addRecipients(Math.floor(n / 2), { withTokenAccounts: true });
    const without = await world.addRecipients(n - withAccounts.length);
    const recipients = [...withAccounts, ...without];
    const transfers = recipients.map((recipient, i) => ({ recipient, amount: 1_000_000n + BigInt(i) * 7n + BigInt(n) }));
    const runId = await world.createRun(transfers);
    const accounts = recipients.map((r) => r.tokenAccount);
    const before = await world.tokenBalances(accounts);
    const vaultBefore = await world.vaultBalance();

    const approval = await world.approve(runId, executors.queue);
    expect(approval.status).toBe("APPROVED");
    expect(await world.waitForRun(runId, ["SETTLED", "PARTIAL", "FAILED"], 600_000)).toBe("SETTLED");

    const after = await world.tokenBalances(accounts);
    transfers.forEach((t, i) => expect(after[i]! - before[i]!, `recipient ${i}`).toBe(t.amount));
    const sum = transfers.reduce((s, t) => s + t.amount, 0n);
    expect(vaultBefore - (await world.vaultBalance())).toBe(sum);

    const batches = await runBatchPhases(world.db, runId);
    expect(batches.every((b) => b.phase.kind === "CONFIRMED")).toBe(true);
    expect(batches.length).toBe(Math.ceil(n / world.target.capacity.v0));
    const versions = await world.db.query<{ v: string; n: number }>(sql`
      SELECT transaction_version::text AS v, recipient_count AS n FROM split_batches WHERE run_id = ${runId}::uuid`);
    for (const row of versions) expect(row.v).toBe(row.n <= world.target.capacity.legacy ? "LEGACY" : "V0");
    // Every confirmed batch carries its fee and compute units; the run's cost adds fees and rent up.
    const confirmed = await world.db.query<{ fee: string; cu: string }>(sql`
      SELECT e.fee_lamports::text AS fee, e.compute_units::text AS cu FROM split_batch_events e JOIN split_batches b ON b.id = e.batch_id
      WHERE b.run_id = ${runId}::uuid AND e.status = 'CONFIRMED'`);
    expect(confirmed.length).toBe(batches.length);
    for (const row of confirmed) {
      expect(BigInt(row.fee)).toBeGreaterThan(0n);
      expect(BigInt(row.cu)).toBeGreaterThan(0n);
    }
    const costs = await runCosts(world.db, runId);
    expect(costs.byKind.SPLIT_FEE).toBe(confirmed.reduce((s, r) => s + BigInt(r.fee), 0n));
    if (without.length > 0) expect(costs.byKind.TOKEN_ACCOUNT_RENT ?? 0n).toBeGreaterThan(0n);

    const report = await world.report([runId]);
    expect(report.drift, JSON.stringify(report, null, 1)).toBe(0);
    expect(report.runs[0]!.settled).toBe(sum.toString());
  }, 900_000);

  it("recipients already in a lookup table cost no new set-up transaction the second time", async () => {
    const recipients = await world.addRecipients(30, { withTokenAccounts: true });
    const first = await world.createRun(recipients.map((recipient) => ({ recipient, amount: 5n })));
    await world.approve(first, executors.queue);
    expect(await world.waitForRun(first, ["SETTLED", "PARTIAL", "FAILED"])).toBe("SETTLED");
    const setupAfterFirst = await world.db.query<{ n: number }>(sql`SELECT count(*)::int AS n FROM settlement_setup_transactions`);
    const second = await world.createRun(recipients.map((recipient) => ({ recipient, amount: 6n })));
    await world.approve(second, executors.queue);
    expect(await world.waitForRun(second, ["SETTLED", "PARTIAL", "FAILED"])).toBe("SETTLED");
    const setupAfterSecond = await world.db.query<{ n: number }>(sql`SELECT count(*)::int AS n FROM settlement_setup_transactions`);
    expect(setupAfterSecond[0]!.n).toBe(setupAfterFirst[0]!.n);
    const tables = await world.db.query<{ n: number }>(sql`SELECT count(*)::int AS n FROM address_lookup_tables WHERE abandoned_at IS NULL`);
    expect(tables[0]!.n).toBeGreaterThanOrEqual(1);
  }, 300_000);
});
