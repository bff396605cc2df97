// `npm run webhooks`: the script itself, as an operator runs it, on the embedded database in a data
// directory: while another process (here: this test, standing in for the server) holds it, through that
// process's socket, saying so; when nobody does, on its own. A FAILED delivery replays and becomes a payment.
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { recordFailedDelivery } from "~/models/webhook-failures.server";
import { migrateDatabase, openDatabase, type Database } from "~/utils/db.server";
import { dodoEvent, dodoId, dodoPayment, signed } from "../mocks/dodo-payloads";

function runCli(args: string[], dataDir: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env, STABLEFLOW_DATA_DIR: dataDir, STABLEFLOW_ENV: "test", LOG_LEVEL: "error" };
    delete env.DATABASE_URL;
    const child = spawn(process.execPath, ["--import", "tsx", "scripts/webhooks.ts", ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.once("error", reject);
    child.once("exit", (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** Keeps a delivery FAILED as an older deploy would have (its body is one this deploy can apply). */
async function keptFailed(db: Database, paymentId: string) {
  const delivery = signed("whsec_unused", dodoEvent("payment.succeeded", dodoPayment({ paymentId, totalAmount: 1_234n })));
  const stored = await recordFailedDelivery(db, {
    webhookId: delivery.webhookId,
    timestampSeconds: Math.floor(Date.now() / 1000),
    rawBody: delivery.body,
    headers: delivery.headers,
    eventType: "payment.succeeded",
    error: "payment.succeeded data is invalid: status: unknown payment status (an older deploy)",
  });
  expect(stored).toBe("stored");
  return delivery.webhookId;
}

describe("npm run webhooks on the embedded database", () => {
  let dataDir: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), "stableflow-webhooks-cli-"));
  });
  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it("while another process holds the database: says so in one sentence, replays through its socket", async () => {
    const db = await openDatabase({ dataDir });
    try {
      await migrateDatabase(db);
      const paymentId = dodoId("pay");
      const webhookId = await keptFailed(db, paymentId);
      const listed = await runCli(["failed"], dataDir);
      expect(listed.stdout).toContain(webhookId);
      expect(listed.stdout).toContain("1 FAILED delivery");
      const replayed = await runCli(["replay", "--failed"], dataDir);
      expect(replayed.stderr.trim()).toMatch(/^stableflow webhooks: process \d+ \(the server\) holds the embedded database, so this works through its socket\.$/);
      expect(replayed.stdout).toContain(`${webhookId}: processed`);
      expect(replayed.stdout).toContain("1 of 1 applied");
      expect(replayed.code).toBe(0);
      expect(await db.prisma.webhookEvent.findUniqueOrThrow({ where: { webhookId } })).toMatchObject({ status: "PROCESSED", error: null });
      expect(await db.prisma.payment.findUniqueOrThrow({ where: { dodoPaymentId: paymentId } })).toMatchObject({ status: "SUCCEEDED", totalAmountMinor: 1_234n });
    } finally {
      await db.close();
    }
  }, 180_000);

  it("when nobody holds it: opens it itself; a replay of a processed or unknown id says why and exits 1", async () => {
    const webhookId = await (async () => {
      const db = await openDatabase({ dataDir });
      try {
        return await keptFailed(db, dodoId("pay"));
      } finally {
        await db.close();
      }
    })();
    const replayed = await runCli(["replay", webhookId], dataDir);
    expect(replayed.stderr).toBe("");
    expect(replayed.stdout).toContain(`${webhookId}: processed`);
    expect(replayed.code).toBe(0);
    const again = await runCli(["replay", webhookId], dataDir);
    expect(again.stdout).toContain(`${webhookId}: not replayed: it is PROCESSED, not FAILED`);
    expect(again.code).toBe(1);
    const unknown = await runCli(["replay", "msg_nobody"], dataDir);
    expect(unknown.stdout).toContain("msg_nobody: no delivery with this webhook-id");
    expect(unknown.code).toBe(1);
    const usage = await runCli(["replay"], dataDir);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain("replay takes a webhook-id or --failed");
    const dead = await runCli(["dead-letters"], dataDir);
    expect(dead.stdout).toContain("0 dead letters");
  }, 180_000);
});
