// Approving payout runs: one operator below STABLEFLOW_APPROVAL_THRESHOLD, two different ones from it
// on, the system only for a run its policy auto-approves; the approval that completes a run writes its
// batch plan once (plan hashes as the program computes them) and enqueues one job per batch in the same
// transaction. On PGlite and PostgreSQL; no chain needed.
import { randomUUID } from "node:crypto";
import { Keypair, PublicKey } from "@solana/web3.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ApprovalError,
  approvePayoutRun,
  autoApproveRuns,
  cancelPayoutRun,
  rejectPayoutRun,
  setPolicyAutoApproveBelow,
  type ApprovalPolicy,
} from "~/models/approvals.server";
import { uuidBytes, type SettlementTarget } from "~/models/settlement.server";
import { openSettlementQueue, type SettlementQueue } from "~/settlement/executor-queue.server";
import { settlementTarget } from "~/settlement/executor-runtime.server";
import { PROGRAM_ID, splitPlanHash } from "~/settlement/program";
import { sql } from "~/utils/sql.server";
import { databaseTargets, type TestDatabase } from "../setup/databases";

const POLICY: ApprovalPolicy = { twoOperatorsFrom: 1_000_000n };

describe.each(databaseTargets())("approving payout runs on $name", (dbTarget) => {
  let db: TestDatabase;
  let queue: SettlementQueue;
  let target: SettlementTarget;
  let organizationId: string;
  const operators: Record<"admin" | "operator" | "viewer" | "disabled" | "stranger", string> = {} as never;
  let policyVersionId: string;

  beforeAll(async () => {
    db = await dbTarget.create();
    queue = await openSettlementQueue(db, { connectionString: db.url, ownerConnectionString: db.migrationUrl });
    const authority = Keypair.generate();
    target = settlementTarget({ programId: PROGRAM_ID, mint: Keypair.generate().publicKey, seedAuthority: authority.publicKey }, { authority, feePayer: authority });
    organizationId = (await db.prisma.organization.create({ data: { slug: `o-${randomUUID().slice(0, 8)}`, name: "O" } })).id;
    const other = await db.prisma.organization.create({ data: { slug: `x-${randomUUID().slice(0, 8)}`, name: "X" } });
    const make = async (key: keyof typeof operators, role: "ADMIN" | "OPERATOR" | "VIEWER", org = organizationId, disabled = false) => {
      const row = await db.prisma.operator.create({
        data: { organizationId: org, email: `${key}-${randomUUID().slice(0, 6)}@x.test`, name: key, role, passwordHash: "scrypt$x", disabledAt: disabled ? new Date() : null },
      });
      operators[key] = row.id;
    };
    await make("admin", "ADMIN");
    await make("operator", "OPERATOR");
    await make("viewer", "VIEWER");
    await make("disabled", "OPERATOR", organizationId, true);
    await make("stranger", "ADMIN", other.id);
    const policy = await db.prisma.payoutPolicy.create({ data: { organizationId, name: "P" } });
    policyVersionId = (await db.prisma.payoutPolicyVersion.create({ data: { policyId: policy.id, organizationId, version: 1, status: "ACTIVE" } })).id;
  }, 180_000);
  afterAll(async () => {
    await queue?.stop();
    await db?.destroy();
  });

  /** A READY run of `n` transfers of `amount` each, to recipients of their own. */
  async function readyRun(n: number, amount: bigint) {
    const recipients = Array.from({ length: n }, () => ({ id: randomUUID(), wallet: Keypair.generate().publicKey.toBase58(), account: Keypair.generate().publicKey.toBase58() }));
    await db.prisma.recipient.createMany({
      data: recipients.map((r, i) => ({ id: r.id, organizationId, name: `r${i}`, walletAddress: r.wallet, tokenAccount: r.account })),
    });
    const total = amount * BigInt(n);
    const [run] = await db.query<{ id: string }>(sql`
      INSERT INTO payout_runs (organization_id, kind, status, policy_version_id, token_decimals, distributable, total_transfers, treasury_remainder)
      VALUES (${organizationId}::uuid, 'SWEEP', 'READY', ${policyVersionId}::uuid, 6, ${total}::bigint, ${total}::bigint, 0)
      RETURNING id`);
    for (const r of recipients) {
      await db.query(sql`INSERT INTO payout_transfers (run_id, recipient_id, token_account, amount) VALUES (${run!.id}::uuid, ${r.id}::uuid, ${r.account}, ${amount}::bigint)`);
    }
    return run!.id;
  }

  const approveAs = (runId: string, who: keyof typeof operators) =>
    approvePayoutRun(db, queue, target, { runId, actor: { type: "OPERATOR", operatorId: operators[who] }, policy: POLICY });
  const code = (promise: Promise<unknown>) => promise.then(() => "resolved", (error) => (error instanceof ApprovalError ? error.code : String(error)));
  const jobs = async (runId: string) =>
    (await db.query<{ n: number }>(sql`SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'settlement-batch' AND data->>'runId' = ${runId}`))[0]!.n;

  it("one operator approves a run below the threshold: APPROVED, its plan written with the program's plan hashes, one job per batch", async () => {
    const runId = await readyRun(60, 10n);
    const result = await approveAs(runId, "operator");
    expect(result).toMatchObject({ status: "APPROVED", approvals: 1, required: 1, batches: 2 });
    const batches = await db.query<{ id: string; batch_index: number; plan_hash: string; treasury: string; recipient_count: number; total: string; transaction_version: string }>(sql`
      SELECT id, batch_index, plan_hash, treasury, recipient_count, total::text, transaction_version::text FROM split_batches WHERE run_id = ${runId}::uuid ORDER BY batch_index`);
    expect(batches.map((b) => [b.recipient_count, b.total, b.transaction_version])).toEqual([[30, "300", "V0"], [30, "300", "V0"]]);
    for (const batch of batches) {
      const items = await db.query<{ token_account: string; amount: string }>(sql`
        SELECT t.token_account, t.amount::text FROM split_batch_items i JOIN payout_transfers t ON t.id = i.transfer_id
        WHERE i.batch_id = ${batch.id}::uuid ORDER BY i.position`);
      const hash = splitPlanHash({
        programId: PROGRAM_ID,
        treasury: new PublicKey(batch.treasury),
        runId: uuidBytes(runId),
        batchIndex: batch.batch_index,
        transfers: items.map((i) => ({ tokenAccount: new PublicKey(i.token_account), amount: BigInt(i.amount) })),
      });
      expect(batch.plan_hash).toBe(Buffer.from(hash).toString("hex"));
      expect(batch.treasury).toBe(target.treasuryFor(organizationId).treasury.toBase58());
    }
    expect(await jobs(runId)).toBe(2);
    expect(await db.prisma.payoutRun.findUniqueOrThrow({ where: { id: runId } })).toMatchObject({ status: "APPROVED" });
  });

  it("from the threshold on, two different operators: the first leaves it READY, the same one again is refused, a second approves", async () => {
    const runId = await readyRun(2, 500_000n);
    expect(await approveAs(runId, "admin")).toMatchObject({ status: "READY", approvals: 1, required: 2, batches: 0 });
    expect(await jobs(runId)).toBe(0);
    expect(await code(approveAs(runId, "admin"))).toBe("APPROVAL_DUPLICATE");
    expect(await approveAs(runId, "operator")).toMatchObject({ status: "APPROVED", approvals: 2, required: 2, batches: 1 });
    expect(await code(approveAs(runId, "viewer"))).toBe("RUN_NOT_READY");
  });

  it("two operators approving at the same moment: one plan, one set of jobs", async () => {
    const runId = await readyRun(3, 400_000n);
    await approveAs(runId, "admin");
    const second = await db.prisma.operator.create({ data: { organizationId, email: `o2-${randomUUID().slice(0, 6)}@x.test`, name: "o2", role: "OPERATOR", passwordHash: "x" } });
    const results = await Promise.allSettled([
      approveAs(runId, "operator"),
      approvePayoutRun(db, queue, target, { runId, actor: { type: "OPERATOR", operatorId: second.id }, policy: POLICY }),
    ]);
    expect(results.filter((r) => r.status === "fulfilled" && r.value.status === "APPROVED")).toHaveLength(1);
    const [{ n }] = await db.query<{ n: number }>(sql`SELECT count(*)::int AS n FROM split_batches WHERE run_id = ${runId}::uuid`);
    expect(n).toBe(1);
    expect(await jobs(runId)).toBe(1);
  });

  it("error: a viewer, a disabled operator, an operator of another organization, an unknown run, a run not READY, a held run", async () => {
    const runId = await readyRun(1, 5n);
    expect(await code(approveAs(runId, "viewer"))).toBe("OPERATOR_NOT_ALLOWED");
    expect(await code(approveAs(runId, "disabled"))).toBe("OPERATOR_NOT_ALLOWED");
    expect(await code(approveAs(runId, "stranger"))).toBe("OPERATOR_NOT_ALLOWED");
    expect(await code(approvePayoutRun(db, queue, target, { runId: randomUUID(), actor: { type: "OPERATOR", operatorId: operators.admin } }))).toBe("RUN_NOT_FOUND");
    await approveAs(runId, "admin");
    expect(await code(approveAs(runId, "operator"))).toBe("RUN_NOT_READY");
    const held = await readyRun(1, 5n);
    await db.query(sql`UPDATE payout_runs SET hold_reason = 'DISPUTE_OPEN' WHERE id = ${held}::uuid`);
    expect(await code(approveAs(held, "admin"))).toBe("RUN_HELD");
    expect(await db.prisma.payoutApproval.count({ where: { runId, decision: "APPROVE" } })).toBe(1);
  });

  it("error: the system may not approve a run whose policy does not auto-approve; a used version's limit cannot change", async () => {
    const small = await readyRun(2, 100n);
    expect(await code(approvePayoutRun(db, queue, target, { runId: small, actor: { type: "SYSTEM" }, policy: POLICY }))).toBe("AUTO_APPROVE_NOT_ALLOWED");
    expect(await autoApproveRuns(db, queue, target, { runIds: [small], policy: POLICY })).toBe(0);
    // The version was used by runs already: its terms, the auto-approval limit included, are fixed.
    await expect(setPolicyAutoApproveBelow(db, { policyVersionId, below: 10_000n })).rejects.toThrow(/cannot change/);
    expect((await db.prisma.payoutRun.findUniqueOrThrow({ where: { id: small } })).status).toBe("READY");
  });

  it("a READY run of an auto-approving version is approved by the system (approval row without operator, SYSTEM audit)", async () => {
    const policy = await db.prisma.payoutPolicy.create({ data: { organizationId, name: `auto2-${randomUUID().slice(0, 4)}` } });
    const version = await db.prisma.payoutPolicyVersion.create({ data: { policyId: policy.id, organizationId, version: 1 } });
    await setPolicyAutoApproveBelow(db, { policyVersionId: version.id, below: 10_000_000n });
    const previous = policyVersionId;
    policyVersionId = version.id;
    try {
      const below = await readyRun(2, 100n);
      const atLimit = await readyRun(1, 10_000_000n);
      const aboveThreshold = await readyRun(2, 600_000n);
      expect(await autoApproveRuns(db, queue, target, { runIds: [below, atLimit, aboveThreshold], policy: POLICY })).toBe(1);
      expect((await db.prisma.payoutRun.findUniqueOrThrow({ where: { id: below } })).status).toBe("APPROVED");
      expect((await db.prisma.payoutRun.findUniqueOrThrow({ where: { id: atLimit } })).status).toBe("READY");
      expect((await db.prisma.payoutRun.findUniqueOrThrow({ where: { id: aboveThreshold } })).status).toBe("READY");
      expect(await db.prisma.payoutApproval.findMany({ where: { runId: below }, select: { operatorId: true, bySystem: true } })).toEqual([{ operatorId: null, bySystem: true }]);
      const audits = await db.prisma.auditLog.findMany({ where: { entityId: below }, orderBy: { id: "asc" }, select: { action: true, actorType: true } });
      expect(audits).toEqual([
        { action: "payout_run.approval", actorType: "SYSTEM" },
        { action: "payout_run.approved", actorType: "SYSTEM" },
      ]);
      expect(await code(approvePayoutRun(db, queue, target, { runId: atLimit, actor: { type: "SYSTEM" }, policy: POLICY }))).toBe("AUTO_APPROVE_NOT_ALLOWED");
      // The database holds it too: a second system approval of a run is refused.
      await expect(db.query(sql`INSERT INTO payout_approvals (run_id, by_system, decision) VALUES (${below}::uuid, true, 'APPROVE')`)).rejects.toThrow();
      await expect(db.query(sql`INSERT INTO payout_approvals (run_id, by_system, decision) VALUES (${atLimit}::uuid, false, 'APPROVE')`)).rejects.toThrow();
    } finally {
      policyVersionId = previous;
    }
  });

  it("a rejection stands against approval until an operator cancels the run; an APPROVED run cannot be cancelled", async () => {
    const runId = await readyRun(1, 5n);
    const as = (key: keyof typeof operators) => ({ type: "OPERATOR" as const, operatorId: operators[key] });
    expect(await code(rejectPayoutRun(db, { runId, actor: as("viewer"), comment: "no" }))).toBe("OPERATOR_NOT_ALLOWED");
    expect(await code(rejectPayoutRun(db, { runId, actor: as("stranger"), comment: "no" }))).toBe("OPERATOR_NOT_ALLOWED");
    await rejectPayoutRun(db, { runId, actor: as("operator"), comment: "wrong recipient" });
    expect(await db.prisma.payoutRun.findUniqueOrThrow({ where: { id: runId } })).toMatchObject({ status: "READY", cancelReason: null });
    expect(await code(approveAs(runId, "admin"))).toBe("RUN_REJECTED");
    expect(await code(rejectPayoutRun(db, { runId, actor: as("operator"), comment: "again" }))).toBe("APPROVAL_DUPLICATE");
    expect(await code(cancelPayoutRun(db, { runId, actor: as("viewer"), reason: "x" }))).toBe("OPERATOR_NOT_ALLOWED");
    await cancelPayoutRun(db, { runId, actor: as("admin"), reason: "wrong recipient" });
    expect(await db.prisma.payoutRun.findUniqueOrThrow({ where: { id: runId } })).toMatchObject({ status: "CANCELLED", cancelReason: "wrong recipient" });
    const audit = await db.prisma.auditLog.findMany({ where: { entityId: runId }, orderBy: { id: "asc" } });
    expect(audit.map((a) => [a.action, a.actorId, (a.data as { comment?: string; reason?: string }).comment ?? (a.data as { reason?: string }).reason])).toEqual([
      ["payout_run.rejected", operators.operator, "wrong recipient"],
      ["payout_run.cancelled", operators.admin, "wrong recipient"],
    ]);
    expect(await code(approveAs(runId, "admin"))).toBe("RUN_NOT_READY");
    expect(await code(cancelPayoutRun(db, { runId, actor: as("admin"), reason: "twice" }))).toBe("RUN_NOT_CANCELLABLE");

    const approved = await readyRun(1, 5n);
    await approveAs(approved, "admin");
    expect(await code(cancelPayoutRun(db, { runId: approved, actor: as("admin"), reason: "late" }))).toBe("RUN_NOT_CANCELLABLE");
    expect((await db.prisma.payoutRun.findUniqueOrThrow({ where: { id: approved } })).status).toBe("APPROVED");
  });
});
