// Webhook -> payout run through the REAL seam and compiler (no mock): a succeeded payment compiles exactly
// one READY run in the webhook's transaction, under concurrent redelivery too (PGlite, and PostgreSQL).
import { Keypair } from "@solana/web3.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { handleDodoWebhook } from "~/integrations/dodo-webhook-handler.server";
import { DodoWebhookVerifier, generateWebhookSecret } from "~/integrations/webhook-verification.server";
import { activatePolicyVersion, createPolicyVersion } from "~/models/policies.server";
import { createRecipient } from "~/models/recipients.server";
import { databaseTargets, type TestDatabase } from "../setup/databases";
import { newDodoId, paymentEvent, signedDelivery } from "../mocks/dodo";

const MINT = "So11111111111111111111111111111111111111112";

describe.each(databaseTargets())("webhook to payout run on $name", (target) => {
  let db: TestDatabase;
  let organizationId: string;
  const secret = generateWebhookSecret();
  const verifier = new DodoWebhookVerifier(secret);

  function deliver(d: { headers: Record<string, string>; body: string }) {
    return handleDodoWebhook(new Request("http://127.0.0.1/api/webhooks/dodo", { method: "POST", headers: d.headers, body: d.body }), {
      prisma: db.prisma,
      verifier,
    });
  }

  beforeAll(async () => {
    db = await target.create();
    const organization = await db.prisma.organization.create({ data: { slug: "label", name: "Label" } });
    organizationId = organization.id;
    const [artist, producer] = await Promise.all(
      ["artist", "producer"].map((name, i) =>
        createRecipient(db.prisma, {
          organizationId,
          name,
          walletAddress: Keypair.fromSeed(new Uint8Array(32).fill(i + 1)).publicKey.toBase58(),
          mint: MINT,
        }),
      ),
    );
    const version = await createPolicyVersion(db.prisma, {
      organizationId,
      policyName: "Split",
      rules: [
        { recipientId: artist!.id, kind: "PERCENTAGE", basisPoints: 7000 },
        { recipientId: producer!.id, kind: "PERCENTAGE", basisPoints: 2000 },
      ],
    });
    await activatePolicyVersion(db.prisma, { organizationId, versionId: version.id });
  });
  afterAll(async () => {
    await db?.destroy();
  });

  it("100 concurrent deliveries of one payment.succeeded: one payment, one READY run, transfers conserving the amount", async () => {
    const paymentId = newDodoId("pay");
    const d = signedDelivery(
      secret,
      paymentEvent({ paymentId, status: "succeeded", totalAmount: 10_000n, settlementAmount: 9_999n, metadata: { stableflow_org: organizationId } }),
    );
    const responses = await Promise.all(Array.from({ length: 100 }, () => deliver(d)));
    expect(responses.map((r) => r.status)).toEqual(Array(100).fill(200));
    const payment = await db.prisma.payment.findUniqueOrThrow({ where: { dodoPaymentId: paymentId } });
    expect(payment.organizationId).toBe(organizationId);
    const runs = await db.prisma.payoutRun.findMany({ where: { paymentId: payment.id }, include: { transfers: true } });
    expect(runs).toHaveLength(1);
    const run = runs[0]!;
    expect(run.status).toBe("READY");
    // 9,999 settlement cents in a 6-decimal token: 10,000 base units per cent.
    expect(run.distributable).toBe(9_999n * 10_000n);
    const paid = run.transfers.reduce((sum, t) => sum + t.amount, 0n);
    expect(paid + run.treasuryRemainder).toBe(run.distributable);
    expect(run.transfers.map((t) => t.amount).sort((a, b) => (a < b ? -1 : 1))).toEqual([19_998_000n, 69_993_000n]);
    expect(await db.prisma.auditLog.count({ where: { entityType: "payment", entityId: payment.id } })).toBe(1);
  });

  it("20 concurrent distinct payments: 20 runs, none lost to the per-organization compile lock", async () => {
    const ids = Array.from({ length: 20 }, () => newDodoId("pay"));
    const responses = await Promise.all(
      ids.map((paymentId, i) =>
        deliver(signedDelivery(secret, paymentEvent({ paymentId, status: "succeeded", totalAmount: BigInt(100 + i), metadata: { stableflow_org: organizationId } }))),
      ),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(20).fill(200));
    expect(await db.prisma.payoutRun.count({ where: { payment: { dodoPaymentId: { in: ids } } } })).toBe(20);
  });

  it("a failed payment compiles nothing", async () => {
    const paymentId = newDodoId("pay");
    const response = await deliver(signedDelivery(secret, paymentEvent({ paymentId, status: "failed", totalAmount: 500n, metadata: { stableflow_org: organizationId } })));
    expect(response.status).toBe(200);
    expect(await db.prisma.payoutRun.count({ where: { payment: { dodoPaymentId: paymentId } } })).toBe(0);
  });
});
