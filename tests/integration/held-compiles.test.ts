// Held compiles come back (PGlite and PostgreSQL): a payment held for a fixable reason is compiled once the
// cause is fixed (a policy activated) or on an explicit release; a request that keeps failing stops after
// a bounded number of attempts with backoff, is visible as a dead letter, and can be retried.
import { Keypair } from "@solana/web3.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { handleDodoWebhook } from "~/integrations/dodo-webhook-handler.server";
import { DodoWebhookVerifier, generateWebhookSecret } from "~/integrations/webhook-verification.server";
import { ensureDefaultOrganization } from "~/models/organizations.server";
import { listDeadPayoutRunRequests, listHeldPayoutRunRequests, releaseHeldPayoutRunRequests, retryDeadPayoutRunRequests } from "~/models/payout-run-lifecycle.server";
import { drainPayoutRunRequests, PAYOUT_RUN_MAX_ATTEMPTS } from "~/models/payout-run-worker.server";
import { activatePolicyVersion, createPolicyVersion } from "~/models/policies.server";
import { createRecipient, setRecipientStatus } from "~/models/recipients.server";
import { databaseTargets, type TestDatabase } from "../setup/databases";
import { dodoEvent, dodoId, dodoPayment, signed } from "../mocks/dodo-payloads";

const MINT = "So11111111111111111111111111111111111111112";

describe.each(databaseTargets())("held compiles come back on $name", (target) => {
  let db: TestDatabase;
  let organizationId: string;
  const secret = generateWebhookSecret();
  const verifier = new DodoWebhookVerifier(secret);
  let seed = 0;

  beforeAll(async () => {
    db = await target.create();
    // Payments that name no checkout belong to the default organization, which has no policy yet.
    organizationId = (await ensureDefaultOrganization(db.prisma)).id;
  });
  afterAll(async () => {
    await db?.destroy();
  });

  async function pay(cents: bigint, currency: "USD" | "EUR" = "USD") {
    const paymentId = dodoId("pay");
    const delivery = signed(secret, dodoEvent("payment.succeeded", dodoPayment({ paymentId, totalAmount: cents, currency })));
    const response = await handleDodoWebhook(new Request("http://127.0.0.1/api/webhooks/dodo", { method: "POST", headers: delivery.headers, body: delivery.body }), { db, verifier });
    expect(response.status).toBe(200);
    return db.prisma.payment.findUniqueOrThrow({ where: { dodoPaymentId: paymentId } });
  }

  const requestOf = (paymentId: string) => db.prisma.payoutRunRequest.findUniqueOrThrow({ where: { paymentId } });
  const runCount = (paymentId: string) => db.prisma.payoutRun.count({ where: { paymentId, status: { not: "CANCELLED" } } });

  async function recipient() {
    const bytes = new Uint8Array(32).fill(++seed + 40);
    return createRecipient(db.prisma, { organizationId, name: `r${seed}`, walletAddress: Keypair.fromSeed(bytes).publicKey.toBase58(), mint: MINT });
  }

  it("no active policy: held with the reason; activating a policy compiles it", async () => {
    const payment = await pay(2_000n);
    expect(await drainPayoutRunRequests(db)).toMatchObject({ compiled: 0, held: 1 });
    expect(await requestOf(payment.id)).toMatchObject({ payoutRunId: null, holdReason: expect.stringMatching(/^NO_ACTIVE_POLICY/) });
    expect((await listHeldPayoutRunRequests(db, organizationId)).map((h) => h.paymentId)).toContain(payment.id);
    const artist = await recipient();
    const version = await createPolicyVersion(db.prisma, { organizationId, policyName: "Split", rules: [{ recipientId: artist.id, kind: "PERCENTAGE", basisPoints: 5000 }] });
    await activatePolicyVersion(db.prisma, { organizationId, versionId: version.id });
    expect(await requestOf(payment.id)).toMatchObject({ completedAt: null, holdReason: null });
    const activation = await db.prisma.auditLog.findFirstOrThrow({ where: { action: "policy.activated", entityId: version.id } });
    expect(activation.data).toMatchObject({ heldPaymentsAskedAgain: 1 });
    expect(await drainPayoutRunRequests(db)).toMatchObject({ compiled: 1, held: 0 });
    expect(await runCount(payment.id)).toBe(1);
  });

  it("a policy that no longer fits (a recipient removed): held; the corrected version's activation compiles it", async () => {
    const [keep, gone] = [await recipient(), await recipient()];
    const v1 = await createPolicyVersion(db.prisma, {
      organizationId,
      policyName: "Split",
      rules: [
        { recipientId: keep.id, kind: "PERCENTAGE", basisPoints: 3000 },
        { recipientId: gone.id, kind: "PERCENTAGE", basisPoints: 3000 },
      ],
    });
    await activatePolicyVersion(db.prisma, { organizationId, versionId: v1.id });
    await setRecipientStatus(db.prisma, { organizationId, recipientId: gone.id, status: "REMOVED" });
    const payment = await pay(3_000n);
    await drainPayoutRunRequests(db);
    expect((await requestOf(payment.id)).holdReason).toMatch(/^RULE_RECIPIENT_REMOVED/);
    const v2 = await createPolicyVersion(db.prisma, { organizationId, policyName: "Split", rules: [{ recipientId: keep.id, kind: "PERCENTAGE", basisPoints: 6000 }] });
    await activatePolicyVersion(db.prisma, { organizationId, versionId: v2.id });
    await drainPayoutRunRequests(db);
    const run = await db.prisma.payoutRun.findFirstOrThrow({ where: { paymentId: payment.id }, include: { transfers: true } });
    expect(run.policyVersionId).toBe(v2.id);
    expect(run.transfers.map((t) => t.amount)).toEqual([18_000_000n]);
  });

  it("an explicit release asks a held request again (here the cause, a EUR settlement, is still there: held again)", async () => {
    const payment = await pay(1_000n, "EUR");
    await drainPayoutRunRequests(db);
    expect((await requestOf(payment.id)).holdReason).toMatch(/^UNSUPPORTED_SETTLEMENT_CURRENCY/);
    // an activation does not fix a currency: left alone
    expect(await releaseHeldPayoutRunRequests(db, { organizationId, paymentId: payment.id, operator: "ops" })).toBe(1);
    expect(await requestOf(payment.id)).toMatchObject({ completedAt: null, holdReason: null });
    expect(await db.prisma.auditLog.count({ where: { action: "payout.released", entityId: payment.id } })).toBe(1);
    await drainPayoutRunRequests(db);
    expect((await requestOf(payment.id)).holdReason).toMatch(/^UNSUPPORTED_SETTLEMENT_CURRENCY/);
  });

  it(`error: a request that fails ${PAYOUT_RUN_MAX_ATTEMPTS} times becomes a dead letter: not retried, listed, retried on demand`, async () => {
    const payment = await pay(4_000n);
    const failing = async () => {
      throw new Error("the compiler is broken today");
    };
    let at = new Date();
    for (let attempt = 1; attempt <= PAYOUT_RUN_MAX_ATTEMPTS; attempt++) {
      const request = await requestOf(payment.id);
      // backoff: not claimable before available_at
      expect(request.deadAt).toBeNull();
      at = new Date(Math.max(at.getTime(), request.availableAt.getTime()) + 1);
      const result = await drainPayoutRunRequests(db, { now: at, compile: failing });
      expect(result.failed).toBe(1);
    }
    const dead = await requestOf(payment.id);
    expect(dead).toMatchObject({ attempts: PAYOUT_RUN_MAX_ATTEMPTS, completedAt: null });
    expect(dead.deadAt).not.toBeNull();
    expect(dead.lastError).toContain("the compiler is broken today");
    // long after: a dead letter is never claimed again by itself
    expect(await drainPayoutRunRequests(db, { now: new Date(Date.now() + 86_400_000) })).toMatchObject({ compiled: 0, failed: 0 });
    expect((await listDeadPayoutRunRequests(db)).map((d) => d.requestId)).toEqual([dead.id]);
    expect(await retryDeadPayoutRunRequests(db, { requestId: dead.id, operator: "ops" })).toBe(1);
    expect(await requestOf(payment.id)).toMatchObject({ deadAt: null, attempts: 0 });
    expect(await drainPayoutRunRequests(db, { now: new Date(Date.now() + 1000) })).toMatchObject({ compiled: 1 });
    expect(await listDeadPayoutRunRequests(db)).toEqual([]);
  });
});
