// The operator API's run actions over a settlement world (embedded chain, executors in this process): a read
// key simulates a run; above the threshold one key's approval is not enough and the same key twice is one,
// a second key completes it; the run settles on chain and reads back SETTLED with its confirmed batch and
// both keys named; executing or retrying a settled run is refused with the run's state. Every JSON answer is
// checked against the OpenAPI document.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiKey } from "~/models/api-keys.server";
import { useTestChain } from "../setup/chain";
import { databaseTargets } from "../setup/databases";
import { apiClient, type ApiClient } from "../setup/operator-api";
import { createSettlementWorld, serveSettlementWorld, type ServedSettlement, type SettlementWorld, type TestRecipient } from "../setup/settlement";

process.env.STABLEFLOW_API_RATE_LIMIT = "1000000";
delete process.env.STABLEFLOW_PUBLIC_URL;
const THRESHOLD = 5_000_000n;
const chain = useTestChain({ slotMs: 40 });

describe.each(databaseTargets())("operator API run actions with settlement on $name", (target) => {
  let world: SettlementWorld;
  let served: ServedSettlement;
  let recipients: TestRecipient[];
  let api: ApiClient;
  const keys = {} as Record<"read" | "write" | "write2", string>;

  beforeAll(async () => {
    world = await createSettlementWorld({ target, chain: chain.current, funding: 1_000_000_000n });
    served = await serveSettlementWorld(world, { policy: { twoOperatorsFrom: THRESHOLD } });
    for (const [name, scope] of [["read", "READ"], ["write", "WRITE"], ["write2", "WRITE"]] as const) {
      keys[name] = (await createApiKey(world.db.prisma, { organizationId: world.organizationId, name, scope, createdById: null, kind: "test" })).key;
    }
    recipients = await world.addRecipients(2, { withTokenAccounts: true });
    api = await apiClient(served.server.url);
  }, 240_000);
  afterAll(async () => {
    await served?.close();
    await world?.destroy();
  });

  it("simulate, two keys' approvals above the threshold, settlement, the settled run read back", async () => {
    const runId = await world.createRun([
      { recipient: recipients[0]!, amount: 4_000_000n },
      { recipient: recipients[1]!, amount: 2_500_000n },
    ]);
    const simulated = await api.call("POST", `/api/v1/payout-runs/${runId}/simulate`, { key: keys.read });
    expect(simulated.status).toBe(200);
    expect(simulated.json).toMatchObject({ runId, status: "READY", totalTransfers: "6500000", vaultShortBy: "0" });
    expect(simulated.json.batches).toHaveLength(1);
    expect(simulated.json.batches[0]).toMatchObject({ success: true, recipients: 2, total: "6500000" });

    const first = await api.call("POST", `/api/v1/payout-runs/${runId}/approve`, { key: keys.write, body: { comment: "CRM checked it" } });
    expect(first.status).toBe(200);
    expect(first.json.status).toBe("READY");
    expect(first.json.approvals).toEqual([expect.objectContaining({ decision: "APPROVE", by: "API_KEY", apiKeyPrefix: keys.write.slice(0, 16), comment: "CRM checked it" })]);
    const twice = await api.call("POST", `/api/v1/payout-runs/${runId}/approve`, { key: keys.write });
    expect(twice.status).toBe(409);
    expect(twice.json.error.code).toBe("APPROVAL_DUPLICATE");
    const second = await api.call("POST", `/api/v1/payout-runs/${runId}/approve`, { key: keys.write2 });
    expect(second.status).toBe(200);
    expect(second.json.status).toBe("APPROVED");
    expect(second.json.batches).toHaveLength(1);

    await served.startExecutors();
    await world.waitForRun(runId, ["SETTLED"], 180_000);
    const settled = await api.call("GET", `/api/v1/payout-runs/${runId}`, { key: keys.read });
    expect(settled.json).toMatchObject({ id: runId, status: "SETTLED", totalTransfers: "6500000" });
    expect(settled.json.batches).toEqual([expect.objectContaining({ status: "CONFIRMED", total: "6500000", signature: expect.any(String) })]);
    expect(settled.json.approvals.map((a: { apiKeyPrefix: string }) => a.apiKeyPrefix)).toEqual([keys.write.slice(0, 16), keys.write2.slice(0, 16)]);
    // The chain holds what the ledger says was paid.
    expect(await world.tokenBalances([recipients[0]!.tokenAccount, recipients[1]!.tokenAccount])).toEqual([4_000_000n, 2_500_000n]);
    const balances = await api.call("GET", "/api/v1/balances", { key: keys.read });
    const paid = Object.fromEntries(balances.json.data.map((b: { recipientId: string; paid: string }) => [b.recipientId, b.paid]));
    expect(paid[recipients[0]!.id]).toBe("4000000");
    expect(paid[recipients[1]!.id]).toBe("2500000");

    const execute = await api.call("POST", `/api/v1/payout-runs/${runId}/execute`, { key: keys.write });
    expect(execute.status).toBe(409);
    expect(execute.json.error.code).toBe("RUN_NOT_EXECUTABLE");
    const retry = await api.call("POST", `/api/v1/payout-runs/${runId}/retry`, { key: keys.write });
    expect(retry.status).toBe(409);
    expect(retry.json.error.code).toBe("RUN_NOT_RETRYABLE");
  }, 300_000);

  it("error: approving more than the vault holds is refused before anything is recorded", async () => {
    const tooBig = await world.createRun([{ recipient: recipients[0]!, amount: (await world.vaultBalance()) + 1n }]);
    const answer = await api.call("POST", `/api/v1/payout-runs/${tooBig}/approve`, { key: keys.write });
    expect(answer.status).toBe(409);
    expect(answer.json.error.code).toBe("INSUFFICIENT_VAULT_BALANCE");
    expect(await world.db.prisma.payoutApproval.count({ where: { runId: tooBig } })).toBe(0);
  });
});
