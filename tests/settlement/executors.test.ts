// Two executor processes (scripts/executor.mjs) on one approved run: each batch is signed and sent by
// exactly one of them, both take a share, everyone is paid once; and an executor killed while it holds a
// batch's lease leaves it to the other once the lease runs out. On PostgreSQL when DATABASE_URL is set,
// else on PGlite on disk shared through its socket (one executor process at a time there).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sql } from "~/utils/sql.server";
import { useTestChain } from "../setup/chain";
import { realPostgresUrl } from "../setup/databases";
import {
  createSettlementWorld,
  openTestQueue,
  processDatabaseTargets,
  spawnExecutor,
  type ExecutorProcess,
  type SettlementWorld,
} from "../setup/settlement";
import type { SettlementQueue } from "~/settlement/executor-queue.server";

const chain = useTestChain({ slotMs: 40 });

describe.each(processDatabaseTargets())("executor processes on $name", (target) => {
  let world: SettlementWorld;
  let queue: SettlementQueue;
  const processes: ExecutorProcess[] = [];

  beforeAll(async () => {
    world = await createSettlementWorld({ target, chain: chain.current });
    queue = await openTestQueue(world);
  }, 180_000);
  afterAll(async () => {
    for (const p of processes) await p.kill("SIGTERM");
    await queue?.stop();
    await world?.destroy();
  });

  it.skipIf(!realPostgresUrl())("two executors on one run: every batch signed and sent by exactly one of them, both working", async () => {
    const a = spawnExecutor(world);
    const b = spawnExecutor(world);
    processes.push(a, b);
    const holders = [await a.holder, await b.holder];
    const recipients = await world.addRecipients(400, { withTokenAccounts: false });
    const runId = await world.createRun(recipients.map((recipient, i) => ({ recipient, amount: 10n + BigInt(i) })));
    const before = await world.tokenBalances(recipients.map((r) => r.tokenAccount));
    await world.approve(runId, queue);
    // Duplicate jobs for every batch too: an executor finding a batch leased or settled leaves it alone.
    const batchIds = await world.db.query<{ id: string }>(sql`SELECT id FROM split_batches WHERE run_id = ${runId}::uuid`);
    for (const { id } of batchIds) await queue.boss.send("settlement-batch", { batchId: id, runId });
    expect(await world.waitForRun(runId, ["SETTLED", "PARTIAL", "FAILED"], 600_000)).toBe("SETTLED");

    const signed = await world.db.query<{ batch_id: string; holders: string[]; attempts: number }>(sql`
      SELECT e.batch_id, array_agg(DISTINCT e.holder) AS holders, count(*)::int AS attempts
      FROM split_batch_events e JOIN split_batches b ON b.id = e.batch_id
      WHERE b.run_id = ${runId}::uuid AND e.status IN ('SIGNED', 'SENT', 'CONFIRMED')
      GROUP BY e.batch_id`);
    expect(signed).toHaveLength(batchIds.length);
    for (const row of signed) {
      expect(row.holders, `batch ${row.batch_id}`).toHaveLength(1);
      expect(holders).toContain(row.holders[0]);
    }
    const sharing = new Set(signed.map((row) => row.holders[0]));
    expect(sharing.size, "both executors settled batches").toBe(2);
    const after = await world.tokenBalances(recipients.map((r) => r.tokenAccount));
    recipients.forEach((_, i) => expect(after[i]! - before[i]!).toBe(10n + BigInt(i)));
    expect((await world.report([runId])).drift).toBe(0);
  }, 900_000);

  it("an executor killed holding a batch's lease: the batch waits for the lease to run out, then another settles it once", async () => {
    for (const p of processes.splice(0)) await p.kill("SIGTERM");
    const recipients = await world.addRecipients(4, { withTokenAccounts: true });
    const runId = await world.createRun(recipients.map((recipient) => ({ recipient, amount: 77n })));
    const before = await world.tokenBalances(recipients.map((r) => r.tokenAccount));
    const doomed = spawnExecutor(world, { crashPoint: "after-send" });
    await world.approve(runId, queue);
    expect(await doomed.exited).toBe("SIGKILL");
    const [lease] = await world.db.query<{ live: boolean }>(sql`
      SELECT expires_at > now() AS live FROM settlement_leases WHERE key LIKE 'batch:%' ORDER BY acquired_at DESC LIMIT 1`);
    expect(lease?.live).toBe(true);
    const next = spawnExecutor(world);
    processes.push(next);
    expect(await world.waitForRun(runId, ["SETTLED", "PARTIAL", "FAILED"], 300_000)).toBe("SETTLED");
    const after = await world.tokenBalances(recipients.map((r) => r.tokenAccount));
    after.forEach((balance, i) => expect(balance - before[i]!).toBe(77n));
    const holders = await world.db.query<{ status: string; holder: string }>(sql`
      SELECT e.status::text AS status, e.holder FROM split_batch_events e JOIN split_batches b ON b.id = e.batch_id
      WHERE b.run_id = ${runId}::uuid ORDER BY e.seq`);
    // The first executor signed and sent; the second resumed the same attempt (no new signature).
    expect(holders.map((h) => h.status)).toEqual(["SIGNED", "SENT", "CONFIRMED"]);
    expect(holders[2]!.holder).toBe(await next.holder);
    expect(holders[0]!.holder).not.toBe(holders[2]!.holder);
  }, 600_000);
});
