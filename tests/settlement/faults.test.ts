// Settlement through a faulty node: the executors reach the embedded chain through a loopback JSON-RPC
// proxy that drops sends, never confirms, rate-limits and fails with Retry-After, lags behind, reports a
// block height past validity while the transaction landed, or lets the chain change between simulation
// and landing so the transaction fails on chain. Each ends in the right state with a clear reason,
// retryable, and every recipient paid exactly once. (The database is PGlite: the faults are the chain's.)
import { createFreezeAccountInstruction } from "@solana/spl-token";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { TOKEN_PROGRAM_ID } from "~/ledger/wallet";
import { retryPayoutRun } from "~/models/settlement.server";
import type { RunningExecutors } from "~/settlement/executor-runtime.server";
import { setPausedInstruction } from "~/settlement/program";
import { sql } from "~/utils/sql.server";
import { useTestChain } from "../setup/chain";
import { pgliteTarget } from "../setup/databases";
import { startRpcProxy, wireSignature, type RpcProxy } from "../setup/rpc-proxy";
import { createSettlementWorld, startTestExecutors, type SettlementWorld } from "../setup/settlement";

const chain = useTestChain({ slotMs: 40 });

describe("settlement through a faulty node", () => {
  let world: SettlementWorld;
  let proxy: RpcProxy;
  let executors: RunningExecutors;

  beforeAll(async () => {
    world = await createSettlementWorld({ target: pgliteTarget, chain: chain.current });
    proxy = await startRpcProxy(chain.current.url);
    executors = await startTestExecutors(world, { rpcUrl: proxy.url });
  }, 180_000);
  afterAll(async () => {
    await executors?.stop();
    await proxy?.close();
    await world?.destroy();
  });
  beforeEach(() => {
    proxy.setRule(undefined);
    proxy.counts.clear();
  });

  /** A legacy run of three recipients whose token accounts exist: every sendTransaction is the split's. */
  async function run(amounts: bigint[] = [3_000_001n, 3_000_002n, 3_000_003n]) {
    const recipients = await world.addRecipients(amounts.length, { withTokenAccounts: true });
    const runId = await world.createRun(recipients.map((recipient, i) => ({ recipient, amount: amounts[i]! })));
    const accounts = recipients.map((r) => r.tokenAccount);
    const before = await world.tokenBalances(accounts);
    return {
      runId,
      accounts,
      recipients,
      async paidExactly(expected: bigint[] = amounts) {
        const after = await world.tokenBalances(accounts);
        expected.forEach((amount, i) => expect(after[i]! - before[i]!, `recipient ${i}`).toBe(amount));
      },
    };
  }

  async function statuses(runId: string): Promise<string[]> {
    const rows = await world.db.query<{ status: string }>(sql`
      SELECT e.status::text AS status FROM split_batch_events e JOIN split_batches b ON b.id = e.batch_id
      WHERE b.run_id = ${runId}::uuid ORDER BY e.seq`);
    return rows.map((r) => r.status);
  }

  const settle = async (runId: string) => {
    await world.approve(runId, executors.queue);
    return world.waitForRun(runId, ["SETTLED", "PARTIAL", "FAILED"], 180_000);
  };

  it("dropped sends: the same bytes are sent again until one gets through", async () => {
    const r = await run();
    proxy.setRule((call) => (call.method === "sendTransaction" && call.n < 3 ? { kind: "drop" } : undefined));
    expect(await settle(r.runId)).toBe("SETTLED");
    expect(proxy.counts.get("sendTransaction:drop")).toBe(3);
    expect((await statuses(r.runId)).filter((s) => s === "SIGNED")).toHaveLength(1);
    await r.paidExactly();
  }, 240_000);

  it("every send of an attempt dropped: it expires, is recorded EXPIRED, and a new attempt pays once", async () => {
    const r = await run();
    let first: string | undefined;
    proxy.setRule((call) => {
      if (call.method !== "sendTransaction") return undefined;
      const signature = wireSignature(String(call.params[0]));
      first ??= signature;
      return signature === first ? { kind: "drop" } : undefined;
    });
    expect(await settle(r.runId)).toBe("SETTLED");
    const events = await statuses(r.runId);
    expect(events.filter((s) => s === "SIGNED")).toHaveLength(2);
    expect(events).toContain("EXPIRED");
    expect(events.at(-1)).toBe("CONFIRMED");
    await r.paidExactly();
  }, 240_000);

  it("confirmations that never come: after the blockhash expires, the SplitRecord shows it landed", async () => {
    const r = await run();
    proxy.setRule((call) =>
      call.method === "getSignatureStatuses" ? { kind: "rewrite", rewrite: (result) => ({ ...(result as object), value: (call.params[0] as unknown[]).map(() => null) }) } : undefined,
    );
    expect(await settle(r.runId)).toBe("SETTLED");
    const events = await statuses(r.runId);
    expect(events).not.toContain("EXPIRED");
    expect(events.filter((s) => s === "SIGNED")).toHaveLength(1);
    await r.paidExactly();
  }, 240_000);

  it("429 and 503 with Retry-After: retried after the time the node asks for, settled", async () => {
    const r = await run();
    proxy.setRule((call) => (call.n < 4 ? { kind: "http", status: call.n % 2 === 0 ? 429 : 503, retryAfter: "1" } : undefined));
    expect(await settle(r.runId)).toBe("SETTLED");
    const refused = [...proxy.counts].filter(([key]) => key.endsWith(":http")).reduce((n, [, count]) => n + count, 0);
    expect(refused).toBeGreaterThanOrEqual(8);
    await r.paidExactly();
  }, 240_000);

  it("a node that is behind (old block height, 'node is behind' errors): nothing expires early, settled once", async () => {
    const r = await run();
    proxy.setRule((call) => {
      if ((call.method === "getLatestBlockhash" || call.method === "getSlot") && call.n < 3) return { kind: "error", code: -32005, message: "Node is behind by 420 slots" };
      if (call.method === "getBlockHeight" && call.n < 40) return { kind: "rewrite", rewrite: (height) => Math.max(0, Number(height) - 300) };
      // ...and has not seen the transaction yet for a while, so the executor does look at its height.
      if (call.method === "getSignatureStatuses" && call.n < 20) return { kind: "rewrite", rewrite: (result) => ({ ...(result as object), value: [null] }) };
      return undefined;
    });
    expect(await settle(r.runId)).toBe("SETTLED");
    expect(proxy.counts.get("getBlockHeight:rewrite")).toBeGreaterThan(0);
    expect(await statuses(r.runId)).not.toContain("EXPIRED");
    await r.paidExactly();
  }, 240_000);

  it("'block height exceeded' while the transaction landed: recorded CONFIRMED, never signed again", async () => {
    const r = await run();
    let sent = false;
    proxy.setRule((call) => {
      if (call.method === "sendTransaction") {
        sent = true;
        return undefined;
      }
      if (!sent) return undefined;
      if (call.method === "getBlockHeight") return { kind: "result", result: 4_000_000_000 };
      if (call.method === "getSignatureStatuses") return { kind: "rewrite", rewrite: (result) => ({ ...(result as object), value: [null] }) };
      return undefined;
    });
    expect(await settle(r.runId)).toBe("SETTLED");
    const events = await statuses(r.runId);
    expect(events).not.toContain("EXPIRED");
    expect(events.filter((s) => s === "SIGNED")).toHaveLength(1);
    await r.paidExactly();
  }, 240_000);

  it("a transaction failing on chain (treasury paused after simulation): FAILED with the program's reason, then a retry pays once", async () => {
    const r = await run();
    const pause = (paused: boolean) =>
      world.client.sendInstructions([setPausedInstruction({ authority: world.authority.publicKey, treasury: world.identity.treasury, paused })], world.authority);
    proxy.setRule((call) => (call.method === "sendTransaction" && call.n === 0 ? { kind: "before", before: async () => void (await pause(true)) } : undefined));
    expect(await settle(r.runId)).toBe("FAILED");
    const [failure] = await world.db.query<{ reason: string }>(sql`
      SELECT data->>'reason' AS reason FROM audit_log WHERE entity_id = ${r.runId} AND action = 'payout_run.failed'`);
    expect(failure!.reason).toMatch(/TreasuryPaused/);
    await r.paidExactly([0n, 0n, 0n]);
    expect((await world.report([r.runId])).drift).toBe(0);

    proxy.setRule(undefined);
    await pause(false);
    await retryPayoutRun(world.db, executors.queue, { runId: r.runId, actor: { type: "OPERATOR", operatorId: world.operatorIds[0]! } });
    expect(await world.waitForRun(r.runId, ["SETTLED", "PARTIAL", "FAILED"], 180_000)).toBe("SETTLED");
    const events = await statuses(r.runId);
    expect(events).toEqual(["SIGNED", "SENT", "FAILED", "RETRY", "SIGNED", "SENT", "CONFIRMED"]);
    await r.paidExactly();
    expect((await world.report([r.runId])).drift).toBe(0);
  }, 300_000);

  it("a recipient frozen after simulation: the split fails on chain naming it; it is held, the others paid by a superseding batch", async () => {
    const r = await run();
    proxy.setRule((call) =>
      call.method === "sendTransaction" && call.n === 0
        ? {
            kind: "before",
            before: async () =>
              void (await world.client.sendInstructions(
                [createFreezeAccountInstruction(r.accounts[1]!, world.mint, world.authority.publicKey, [], TOKEN_PROGRAM_ID)],
                world.authority,
              )),
          }
        : undefined,
    );
    expect(await settle(r.runId)).toBe("SETTLED");
    await r.paidExactly([3_000_001n, 0n, 3_000_003n]);
    const [hold] = await world.db.query<{ reason: string }>(sql`
      SELECT h.reason FROM transfer_holds h JOIN payout_transfers t ON t.id = h.transfer_id WHERE t.run_id = ${r.runId}::uuid`);
    expect(hold!.reason).toMatch(/^RecipientFrozen/);
    const report = await world.report([r.runId]);
    expect(report.drift, JSON.stringify(report.runs, null, 1)).toBe(0);
    expect(report.runs[0]!.batches.map((b) => b.phase)).toEqual(["SUPERSEDED", "CONFIRMED"]);
  }, 240_000);
});
