// API keys as approvers (issue #15): above the threshold a run needs two different principals, where an
// operator and a key, or two keys, are two, and one key twice is one; a read key, a revoked key or another
// organization's key may not decide; audit rows name the key by its prefix. On PGlite and PostgreSQL; no chain.
import { randomUUID } from "node:crypto";
import { Keypair } from "@solana/web3.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiKey, revokeApiKey, type CreatedApiKey } from "~/models/api-keys.server";
import { ApprovalError, approvePayoutRun, cancelPayoutRun, rejectPayoutRun, type ApprovalActor, type ApprovalPolicy } from "~/models/approvals.server";
import type { SettlementTarget } from "~/models/settlement.server";
import { openSettlementQueue, type SettlementQueue } from "~/settlement/executor-queue.server";
import { settlementTarget } from "~/settlement/executor-runtime.server";
import { PROGRAM_ID } from "~/settlement/program";
import { sql } from "~/utils/sql.server";
import { databaseTargets, type TestDatabase } from "../setup/databases";
import { createTestOperator, createTestOrganization } from "../setup/operators";

const POLICY: ApprovalPolicy = { twoOperatorsFrom: 1_000_000n };

describe.each(databaseTargets())("API keys approving payout runs on $name", (dbTarget) => {
  let db: TestDatabase;
  let queue: SettlementQueue;
  let target: SettlementTarget;
  let organizationId: string;
  let operatorId: string;
  let policyVersionId: string;
  const keys = {} as Record<"write" | "write2" | "read" | "revoked" | "foreign", CreatedApiKey>;
  const asKey = (key: CreatedApiKey): ApprovalActor => ({ type: "API_KEY", apiKeyId: key.id, prefix: key.prefix });

  beforeAll(async () => {
    db = await dbTarget.create();
    queue = await openSettlementQueue(db, { connectionString: db.url, ownerConnectionString: db.migrationUrl });
    const authority = Keypair.generate();
    target = settlementTarget({ programId: PROGRAM_ID, mint: Keypair.generate().publicKey, seedAuthority: authority.publicKey }, { authority, feePayer: authority });
    organizationId = (await createTestOrganization(db.prisma, "Keys approve")).id;
    const other = (await createTestOrganization(db.prisma, "Elsewhere")).id;
    operatorId = (await createTestOperator(db.prisma, { organizationId, role: "OPERATOR" })).id;
    const make = (scope: "READ" | "WRITE", org = organizationId) => createApiKey(db.prisma, { organizationId: org, name: scope, scope, createdById: null, kind: "test" });
    keys.write = await make("WRITE");
    keys.write2 = await make("WRITE");
    keys.read = await make("READ");
    keys.revoked = await make("WRITE");
    keys.foreign = await make("WRITE", other);
    await revokeApiKey(db.prisma, { id: keys.revoked.id, revokedById: null });
    const policy = await db.prisma.payoutPolicy.create({ data: { organizationId, name: "P" } });
    policyVersionId = (await db.prisma.payoutPolicyVersion.create({ data: { policyId: policy.id, organizationId, version: 1, status: "ACTIVE" } })).id;
  }, 180_000);
  afterAll(async () => {
    await queue?.stop();
    await db?.destroy();
  });

  async function readyRun(amount: bigint) {
    const recipient = await db.prisma.recipient.create({
      data: { organizationId, name: `r-${randomUUID().slice(0, 6)}`, walletAddress: Keypair.generate().publicKey.toBase58(), tokenAccount: Keypair.generate().publicKey.toBase58() },
    });
    const [run] = await db.query<{ id: string }>(sql`
      INSERT INTO payout_runs (organization_id, kind, status, policy_version_id, token_decimals, distributable, total_transfers, treasury_remainder)
      VALUES (${organizationId}::uuid, 'SWEEP', 'READY', ${policyVersionId}::uuid, 6, ${amount}::bigint, ${amount}::bigint, 0) RETURNING id`);
    await db.query(sql`INSERT INTO payout_transfers (run_id, recipient_id, token_account, amount) VALUES (${run!.id}::uuid, ${recipient.id}::uuid, ${recipient.tokenAccount}, ${amount}::bigint)`);
    return run!.id;
  }
  const approve = (runId: string, actor: ApprovalActor) => approvePayoutRun(db, queue, target, { runId, actor, policy: POLICY });
  const code = (promise: Promise<unknown>) => promise.then(() => "ok", (error: unknown) => (error instanceof ApprovalError ? error.code : String(error)));

  it("above the threshold: a key then an operator approve it; the same key twice is one approval", async () => {
    const runId = await readyRun(2_000_000n);
    expect(await approve(runId, asKey(keys.write))).toMatchObject({ status: "READY", approvals: 1, required: 2 });
    expect(await code(approve(runId, asKey(keys.write)))).toBe("APPROVAL_DUPLICATE");
    expect(await approve(runId, { type: "OPERATOR", operatorId })).toMatchObject({ status: "APPROVED", approvals: 2 });
    const rows = await db.prisma.payoutApproval.findMany({ where: { runId }, orderBy: { createdAt: "asc" } });
    expect(rows.map((r) => [r.apiKeyId, r.operatorId])).toEqual([
      [keys.write.id, null],
      [null, operatorId],
    ]);
    const audit = await db.prisma.auditLog.findMany({ where: { entityId: runId, action: "payout_run.approval" }, orderBy: { id: "asc" } });
    expect(audit.map((a) => [a.actorType, a.actorId])).toEqual([
      ["API_KEY", keys.write.prefix],
      ["OPERATOR", operatorId],
    ]);
  });

  it("two different keys are two principals", async () => {
    const runId = await readyRun(3_000_000n);
    expect((await approve(runId, asKey(keys.write))).status).toBe("READY");
    expect((await approve(runId, asKey(keys.write2))).status).toBe("APPROVED");
    expect(await db.prisma.splitBatch.count({ where: { runId } })).toBe(1);
  });

  it("error: a read key, a revoked key and another organization's key may not approve, reject or cancel; nothing is recorded", async () => {
    const runId = await readyRun(2_000_000n);
    for (const key of [keys.read, keys.revoked, keys.foreign]) {
      expect(await code(approve(runId, asKey(key)))).toBe("OPERATOR_NOT_ALLOWED");
      expect(await code(rejectPayoutRun(db, { runId, actor: asKey(key), comment: "no" }))).toBe("OPERATOR_NOT_ALLOWED");
      expect(await code(cancelPayoutRun(db, { runId, actor: asKey(key), reason: "no" }))).toBe("OPERATOR_NOT_ALLOWED");
    }
    expect(await db.prisma.payoutApproval.count({ where: { runId } })).toBe(0);
    expect(await db.prisma.auditLog.count({ where: { entityId: runId } })).toBe(0);
    expect((await db.prisma.payoutRun.findUniqueOrThrow({ where: { id: runId } })).status).toBe("READY");
  });

  it("a key's rejection stands against approval until the run is cancelled, each audited with the key", async () => {
    const runId = await readyRun(500_000n);
    await rejectPayoutRun(db, { runId, actor: asKey(keys.write2), comment: "wrong recipient" });
    expect(await code(approve(runId, { type: "OPERATOR", operatorId }))).toBe("RUN_REJECTED");
    await cancelPayoutRun(db, { runId, actor: asKey(keys.write2), reason: "rejected" });
    const audit = await db.prisma.auditLog.findMany({ where: { entityId: runId }, orderBy: { id: "asc" } });
    expect(audit.map((a) => [a.action, a.actorType, a.actorId])).toEqual([
      ["payout_run.rejected", "API_KEY", keys.write2.prefix],
      ["payout_run.cancelled", "API_KEY", keys.write2.prefix],
    ]);
  });
});
