// webhook_events, the raw evidence of what Dodo sent, is insert-only apart from its processing status
// (status, error, processed_at): enforced by the database for every role, on PGlite and on PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withDatabaseErrors, ConstraintViolationError } from "~/utils/db-errors.server";
import { openDatabase } from "~/utils/db.server";
import { databaseTargets, type TestDatabase } from "../setup/databases";

/** "ok" when the statement went through; the typed code of a refusal; PERMISSION_DENIED for a privilege refusal. */
async function refusal(promise: Promise<unknown>): Promise<string> {
  const error = await withDatabaseErrors(() => promise).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (error === undefined) return "ok";
  if (error instanceof ConstraintViolationError) return error.code;
  const message = error instanceof Error ? error.message : String(error);
  return /permission denied/.test(message) ? "PERMISSION_DENIED" : `refused otherwise (${message})`;
}

describe.each(databaseTargets())("webhook_events on $name", (target) => {
  let db: TestDatabase;
  let eventId: string;
  beforeAll(async () => {
    db = await target.create();
    const organization = await db.prisma.organization.create({ data: { slug: "evidence", name: "Evidence" } });
    const event = await db.prisma.webhookEvent.create({
      data: { organizationId: organization.id, webhookId: "msg_evidence", eventType: "payment.succeeded", webhookTimestamp: new Date(), rawBody: '{"x":1}', headers: { "webhook-id": "msg_evidence" } },
    });
    eventId = event.id;
  });
  afterAll(async () => {
    await db?.destroy();
  });

  it("its processing status may move: status, error and processed_at", async () => {
    const updated = await db.prisma.webhookEvent.update({
      where: { id: eventId },
      data: { status: "FAILED", error: "handler crashed", processedAt: new Date() },
    });
    expect(updated.status).toBe("FAILED");
    const again = await db.prisma.webhookEvent.update({ where: { id: eventId }, data: { status: "PROCESSED", error: null } });
    expect(again.status).toBe("PROCESSED");
  });

  it("a FAILED delivery may be classified again by its replay (event type, organization), its evidence may not", async () => {
    const failed = await db.prisma.webhookEvent.create({
      data: { webhookId: "msg_failed", eventType: "(unreadable)", webhookTimestamp: new Date(), rawBody: '{"y":1}', headers: {}, status: "FAILED", error: "schema" },
    });
    const organization = await db.prisma.organization.findUniqueOrThrow({ where: { slug: "evidence" } });
    const replayed = await db.prisma.webhookEvent.update({
      where: { id: failed.id },
      data: { status: "PROCESSED", error: null, processedAt: new Date(), eventType: "payment.succeeded", organizationId: organization.id },
    });
    expect(replayed).toMatchObject({ status: "PROCESSED", eventType: "payment.succeeded", organizationId: organization.id });
    const again = await db.prisma.webhookEvent.create({
      data: { webhookId: "msg_failed_2", eventType: "(unreadable)", webhookTimestamp: new Date(), rawBody: '{"y":2}', headers: {}, status: "FAILED" },
    });
    // The app role is refused by its column grants, the owner (single role, PGlite) by the trigger.
    expect(["INSERT_ONLY_VIOLATION", "PERMISSION_DENIED"]).toContain(
      await refusal(db.prisma.webhookEvent.update({ where: { id: again.id }, data: { rawBody: '{"y":3}' } })),
    );
  });

  it("error: what Dodo sent never changes and is never deleted, not even by the owner, and it cannot be truncated", async () => {
    // The owner role (with two roles configured) is the one privileges do not hold back: the trigger does.
    const owner = db.migrationUrl ? await openDatabase({ databaseUrl: db.migrationUrl, poolSize: 1 }) : db;
    try {
      const changes = [
        { rawBody: '{"x":2}' },
        { headers: { forged: "yes" } },
        { webhookId: "msg_other" },
        { eventType: "refund.succeeded" },
        { webhookTimestamp: new Date(0) },
        { receivedAt: new Date(0) },
        { organizationId: null },
      ];
      for (const data of changes) {
        expect(await refusal(owner.prisma.webhookEvent.update({ where: { id: eventId }, data })), JSON.stringify(data)).toBe("INSERT_ONLY_VIOLATION");
      }
      expect(await refusal(owner.prisma.webhookEvent.delete({ where: { id: eventId } }))).toBe("INSERT_ONLY_VIOLATION");
      expect(await refusal(owner.prisma.$executeRawUnsafe("TRUNCATE webhook_events CASCADE"))).toBe("INSERT_ONLY_VIOLATION");
      const kept = await db.prisma.webhookEvent.findUniqueOrThrow({ where: { id: eventId } });
      expect(kept).toMatchObject({ webhookId: "msg_evidence", eventType: "payment.succeeded", rawBody: '{"x":1}', headers: { "webhook-id": "msg_evidence" } });
    } finally {
      if (owner !== db) await owner.close();
    }
  });

});
