// A recipient that cannot receive never blocks the others: frozen between approval and sending, it is
// held out (its amount back in its balance with the reason), the batch superseded by one without it, the
// others paid; thawed, a later run pays it, once. A token account that is missing and not an associated
// token account the executor could create is held the same way.
import { createFreezeAccountInstruction, createThawAccountInstruction } from "@solana/spl-token";
import { Keypair } from "@solana/web3.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TOKEN_PROGRAM_ID } from "~/ledger/wallet";
import { setPolicyAutoApproveBelow } from "~/models/approvals.server";
import { compileSweepRun } from "~/models/payout-runs.server";
import { activatePolicyVersion, createPolicyVersion } from "~/models/policies.server";
import { runBatchPhases } from "~/models/settlement.server";
import type { RunningExecutors } from "~/settlement/executor-runtime.server";
import { sql } from "~/utils/sql.server";
import { useTestChain } from "../setup/chain";
import { databaseTargets } from "../setup/databases";
import { createSettlementWorld, startTestExecutors, type SettlementWorld, type TestRecipient } from "../setup/settlement";

const chain = useTestChain({ slotMs: 40 });

describe.each(databaseTargets())("recipients that cannot receive on $name", (target) => {
  let world: SettlementWorld;
  let executors: RunningExecutors | undefined;

  beforeAll(async () => {
    world = await createSettlementWorld({ target, chain: chain.current });
  }, 180_000);
  afterAll(async () => {
    await executors?.stop();
    await world?.destroy();
  });

  it("frozen between approval and sending: the others are paid, its amount goes back to its balance, a later run pays it once thawed", async () => {
    const recipients = await world.addRecipients(5, { withTokenAccounts: true });
    const amounts = [1_100_000n, 2_200_000n, 3_300_000n, 4_400_000n, 5_500_000n];
    const runId = await world.createRun(recipients.map((recipient, i) => ({ recipient, amount: amounts[i]! })));
    const accounts = recipients.map((r) => r.tokenAccount);
    const before = await world.tokenBalances(accounts);
    // Approved while no executor runs; then the mint's freeze authority freezes recipient 2.
    executors = await startTestExecutors(world, { count: 0 });
    await world.approve(runId, executors.queue);
    await world.client.sendInstructions([createFreezeAccountInstruction(accounts[2]!, world.mint, world.authority.publicKey, [], TOKEN_PROGRAM_ID)], world.authority);
    await executors.stop();
    executors = await startTestExecutors(world);

    expect(await world.waitForRun(runId, ["SETTLED", "PARTIAL", "FAILED"])).toBe("SETTLED");
    const after = await world.tokenBalances(accounts);
    recipients.forEach((_, i) => expect(after[i]! - before[i]!, `recipient ${i}`).toBe(i === 2 ? 0n : amounts[i]!));

    const [hold] = await world.db.query<{ reason: string; amount: string; kind: string; recipient_id: string; memo: string }>(sql`
      SELECT h.reason, e.amount::text, e.kind::text, e.recipient_id, e.memo FROM transfer_holds h
      JOIN recipient_balance_entries e ON e.id = h.balance_entry_id JOIN payout_transfers t ON t.id = h.transfer_id
      WHERE t.run_id = ${runId}::uuid`);
    expect(hold).toMatchObject({ kind: "ACCRUAL", amount: amounts[2]!.toString(), recipient_id: recipients[2]!.id });
    expect(hold!.reason).toMatch(/^RecipientFrozen/);
    const batches = await runBatchPhases(world.db, runId);
    expect(batches.map((b) => b.phase.kind)).toEqual(["SUPERSEDED", "CONFIRMED"]);
    const [superseding] = await world.db.query<{ supersedes: boolean; n: number }>(sql`
      SELECT supersedes_id = ${batches[0]!.id}::uuid AS supersedes, recipient_count AS n FROM split_batches WHERE id = ${batches[1]!.id}::uuid`);
    expect(superseding).toEqual({ supersedes: true, n: 4 });
    const report = await world.report([runId]);
    expect(report.drift, JSON.stringify(report.runs, null, 1)).toBe(0);
    expect(report.runs[0]).toMatchObject({ held: amounts[2]!.toString(), unsettled: "0" });

    // Thawed; the organization's policy pays accrued balances in a sweep, which the system approves.
    await world.client.sendInstructions([createThawAccountInstruction(accounts[2]!, world.mint, world.authority.publicKey, [], TOKEN_PROGRAM_ID)], world.authority);
    const version = await createPolicyVersion(world.db.prisma, {
      organizationId: world.organizationId,
      policyName: "holds",
      rules: recipients.map((r) => ({ recipientId: r.id, kind: "PERCENTAGE" as const, basisPoints: 100 })),
    });
    await setPolicyAutoApproveBelow(world.db, { policyVersionId: version.id, below: 1_000_000_000n });
    await activatePolicyVersion(world.db.prisma, { organizationId: world.organizationId, versionId: version.id });
    const sweep = await compileSweepRun(world.db, { organizationId: world.organizationId });
    expect(sweep?.payoutRunId).toBeTruthy();
    await executors.reconcile();
    expect(await world.waitForRun(sweep!.payoutRunId!, ["SETTLED", "PARTIAL", "FAILED"])).toBe("SETTLED");
    const paid = await world.tokenBalances(accounts);
    recipients.forEach((_, i) => expect(paid[i]! - before[i]!, `recipient ${i} in all`).toBe(amounts[i]!));
    const [approval] = await world.db.query<{ by_system: boolean; operator_id: string | null }>(sql`
      SELECT by_system, operator_id FROM payout_approvals WHERE run_id = ${sweep!.payoutRunId!}::uuid`);
    expect(approval).toEqual({ by_system: true, operator_id: null });
    const [{ balance }] = await world.db.query<{ balance: string }>(sql`
      SELECT coalesce(sum(CASE kind WHEN 'ACCRUAL' THEN amount WHEN 'ACCRUAL_PAID' THEN -amount ELSE 0 END), 0)::text AS balance
      FROM recipient_balance_entries WHERE recipient_id = ${recipients[2]!.id}::uuid`);
    expect(balance).toBe("0");
    await activePolicyOff(world);
  }, 300_000);

  it("a missing token account that is not the wallet's associated one is held with RecipientMissing", async () => {
    const [good] = await world.addRecipients(1, { withTokenAccounts: true });
    const stray: TestRecipient = { ...(await world.addRecipients(1))[0]!, tokenAccount: Keypair.generate().publicKey };
    const runId = await world.createRun([
      { recipient: good!, amount: 7n },
      { recipient: stray, amount: 9n },
    ]);
    const [before] = await world.tokenBalances([good!.tokenAccount]);
    await world.approve(runId, executors!.queue);
    expect(await world.waitForRun(runId, ["SETTLED", "PARTIAL", "FAILED"])).toBe("SETTLED");
    const [after] = await world.tokenBalances([good!.tokenAccount]);
    expect(after! - before!).toBe(7n);
    const holds = await world.db.query<{ reason: string }>(sql`
      SELECT h.reason FROM transfer_holds h JOIN payout_transfers t ON t.id = h.transfer_id WHERE t.run_id = ${runId}::uuid`);
    expect(holds.map((h) => h.reason.split(":")[0])).toEqual(["RecipientMissing"]);
    expect((await world.report([runId])).drift).toBe(0);
  }, 180_000);
});

/** The policy made for the sweep is retired again so later cases start without one. */
async function activePolicyOff(world: SettlementWorld): Promise<void> {
  await world.db.query(sql`UPDATE payout_policy_versions SET status = 'RETIRED' WHERE organization_id = ${world.organizationId}::uuid AND status = 'ACTIVE'`);
}
