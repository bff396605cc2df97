// Deliveries never hold settlement: with a receiver that does not answer, an approved run settles on the
// embedded chain while its payout_run.approved delivery is still waiting for the receiver; released, the
// receiver gets payout_run.approved, recipient.held (a frozen recipient was held out) and payout_run.settled,
// each verified with Webhook.verify. Asserted on states, never on timings.
import { createFreezeAccountInstruction } from "@solana/spl-token";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TOKEN_PROGRAM_ID } from "~/ledger/wallet";
import { createEndpoint } from "~/models/outbound-webhooks.server";
import { startWebhookDispatcher, type WebhookDispatcher } from "~/models/webhook-dispatcher.server";
import type { RunningExecutors } from "~/settlement/executor-runtime.server";
import { useTestChain } from "../setup/chain";
import { databaseTargets } from "../setup/databases";
import { createSettlementWorld, startTestExecutors, type SettlementWorld } from "../setup/settlement";
import { startWebhookReceiver, waitUntil as waitFor, type WebhookReceiver } from "../setup/webhook-receiver";

const chain = useTestChain({ slotMs: 40 });

describe.each(databaseTargets())("outbound webhooks beside settlement on $name", (target) => {
  let world: SettlementWorld;
  let executors: RunningExecutors;
  let receiver: WebhookReceiver;
  let dispatcher: WebhookDispatcher;
  let endpointId: string;

  beforeAll(async () => {
    world = await createSettlementWorld({ target, chain: chain.current });
    executors = await startTestExecutors(world);
    receiver = await startWebhookReceiver();
    const actor = { operatorId: world.operatorIds[0]!, organizationId: world.organizationId, role: "ADMIN" as const };
    const created = await createEndpoint(
      world.db.prisma,
      actor,
      { url: receiver.url, eventTypes: ["payout_run.approved", "payout_run.settled", "recipient.held"] },
      { allowPrivate: true },
    );
    receiver.secret = created.secret;
    endpointId = created.id;
    // An attempt may wait two minutes for this receiver: the run must settle long before that.
    dispatcher = startWebhookDispatcher(world.db, { policy: { allowPrivate: true }, timeoutMs: 120_000, retryBaseMs: 10, retryMaxMs: 100 }, { pollMs: 20 });
  }, 180_000);
  afterAll(async () => {
    receiver?.release(200);
    await dispatcher?.stop();
    await receiver?.close();
    await executors?.stop();
    await world?.destroy();
  });

  it("a receiver that does not answer does not delay settlement; released, it gets every event once, verified", async () => {
    receiver.answer = () => "hang";
    const recipients = await world.addRecipients(3, { withTokenAccounts: true });
    await world.client.sendInstructions([createFreezeAccountInstruction(recipients[1]!.tokenAccount, world.mint, world.authority.publicKey, [], TOKEN_PROGRAM_ID)], world.authority);
    const runId = await world.createRun(recipients.map((recipient, i) => ({ recipient, amount: 1_000_000n * BigInt(i + 1) })));

    expect((await world.approve(runId, executors.queue)).status).toBe("APPROVED");
    await waitFor("the receiver holding payout_run.approved", () => receiver.hanging() >= 1);
    expect(await world.waitForRun(runId, ["SETTLED", "PARTIAL", "FAILED"])).toBe("SETTLED");

    // Settled while the approval's delivery was still open at the receiver.
    const approved = receiver.received.find((r) => r.payload?.type === "payout_run.approved")!;
    expect(approved.answered).toBeNull();
    const waiting = await world.db.prisma.webhookDelivery.findMany({ where: { endpointId, event: { eventType: "payout_run.approved" } } });
    expect(waiting.map((d) => d.status)).toEqual(["PENDING"]);

    receiver.answer = () => 200;
    receiver.release(200);
    await waitFor("every delivery delivered", async () => {
      const rows = await world.db.prisma.webhookDelivery.findMany({ where: { endpointId } });
      return rows.length === 3 && rows.every((d) => d.status === "DELIVERED");
    });
    const delivered = receiver.received.filter((r) => r.answered === 200);
    expect(delivered.map((r) => r.payload!.type).sort()).toEqual(["payout_run.approved", "payout_run.settled", "recipient.held"]);
    expect(delivered.every((r) => r.verifyError === null)).toBe(true);
    expect(new Set(delivered.map((r) => r.webhookId)).size).toBe(3);
    const held = delivered.find((r) => r.payload!.type === "recipient.held")!.payload!.data;
    expect(held).toMatchObject({ recipient_id: recipients[1]!.id, payout_run_id: runId, amount: "2000000", token_decimals: 6 });
    const settled = delivered.find((r) => r.payload!.type === "payout_run.settled")!.payload!.data;
    expect(settled).toMatchObject({ id: runId, status: "settled", total_transfers: "6000000" });
  });
});
