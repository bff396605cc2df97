// Records one verified Dodo delivery and applies it to the ledger atomically: webhook event row (webhook-id
// unique = idempotency key) -> payment state -> audit rows -> payout-run request, committed together.
import type { PrismaClient } from "~/generated/prisma/client";
import {
  dodoPaymentIdOf,
  paymentObservationOf,
  stableflowLinkFromMetadata,
  type DodoWebhookEvent,
} from "~/integrations/dodo-events";
import {
  applyPaymentObservation,
  becameSucceeded,
  diffPaymentStates,
  EMPTY_PAYMENT_STATE,
  type PaymentStateChange,
} from "~/ledger/payment-state";
import type { Database } from "~/utils/db.server";
import { isUniqueViolation, toDatabaseError } from "~/utils/db-errors.server";
import { sql, type SqlTransaction } from "~/utils/sql.server";
import {
  loadPaymentState,
  needsRefundOrDisputeWrites,
  writeDelivery,
  writeRefundsAndDisputes,
  type AuditRowInput,
  type DeliveryWrite,
  type DeliveryWritten,
  type LoadedPaymentState,
  type RecordedPayment,
} from "./payments.server";
import { ensureDefaultOrganization } from "./organizations.server";
import { announcePayoutRunRequests } from "./payout-run-worker.server";

/**
 * Ingestion runs on the driver (Database.query / Database.transaction), without Prisma's per-statement
 * cost, which was most of a delivery's CPU (docs/ingest-bench.md). Everything else in the app keeps Prisma.
 *
 * A payment event is recorded by folding it into the payment's state and writing everything in ONE
 * statement that commits only if the state's version is still the one folded from (optimistic
 * concurrency, writeDelivery). First against "nothing recorded yet" (a payment's first event: one round
 * trip, no transaction), then against the state as read (two). A delivery that lost the race, or that
 * changes refund or dispute rows too, is recorded in a transaction under the payment's advisory lock,
 * from a fresh read (see recordPaymentEvent).
 */
type Tx = SqlTransaction;

/** A locked attempt loses only to a fast-path writer slipping in between its read and write; bounded. */
const LOCKED_ATTEMPTS = 10;

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Header names kept with the event: enough to re-verify it later, nothing secret. */
const KEPT_HEADERS = ["webhook-id", "webhook-timestamp", "webhook-signature", "content-type", "user-agent"] as const;

export interface VerifiedDelivery {
  webhookId: string;
  timestampSeconds: number;
  rawBody: string;
  headers: Record<string, string>;
  event: DodoWebhookEvent;
}

export type WebhookRecordOutcome =
  | {
      kind: "recorded";
      webhookEventId: string;
      organizationId: string;
      payment: RecordedPayment | null;
      changes: PaymentStateChange[];
      /** A compile request was committed with this delivery (the worker compiles the run after commit). */
      payoutRunRequested: boolean;
    }
  | { kind: "duplicate" };

/** What recording needs of the database: the driver transaction, and Prisma for the cold paths. */
export type WebhookDatabase = Pick<Database, "prisma" | "transaction" | "query">;

// Organizations are never deleted, so the default one's id can be remembered per database.
const defaultOrganizationIds = new WeakMap<object, string>();

/**
 * The organization that owns the endpoint. Boot creates it; looked up (or created, in a process that did
 * not boot, e.g. a test) OUTSIDE the delivery's transaction, where a concurrent create cannot abort it.
 */
async function defaultOrganizationId(prisma: PrismaClient): Promise<string> {
  const cached = defaultOrganizationIds.get(prisma);
  if (cached) return cached;
  const { id } = await ensureDefaultOrganization(prisma);
  defaultOrganizationIds.set(prisma, id);
  return id;
}

/**
 * Our metadata names the organization (and checkout) the payment belongs to. Anything else, including a
 * payment created outside our checkout, belongs to the organization that owns the endpoint.
 */
async function resolveOwnership(
  tx: Tx,
  event: DodoWebhookEvent,
  defaultOrganization: string,
): Promise<{ organizationId: string; checkoutSessionId: string | null }> {
  const metadata = event.kind === "payment" || event.kind === "refund" ? event.data.metadata : undefined;
  const link = stableflowLinkFromMetadata(metadata);
  if (link.checkoutId && UUID_PATTERN.test(link.checkoutId)) {
    const [checkout] = await tx.query<{ id: string; organization_id: string }>(
      sql`SELECT id, organization_id FROM checkout_sessions WHERE id = ${link.checkoutId}::uuid`,
    );
    if (checkout && (!link.organization || link.organization === checkout.organization_id)) {
      return { organizationId: checkout.organization_id, checkoutSessionId: checkout.id };
    }
  }
  if (link.organization && UUID_PATTERN.test(link.organization)) {
    const [organization] = await tx.query<{ id: string }>(sql`SELECT id FROM organizations WHERE id = ${link.organization}::uuid`);
    if (organization) return { organizationId: organization.id, checkoutSessionId: null };
  }
  return { organizationId: defaultOrganization, checkoutSessionId: null };
}


function auditAction(change: PaymentStateChange): { action: string; entityType: string; entityId: string } {
  switch (change.kind) {
    case "payment_status":
      return { action: `payment.status.${change.to}`, entityType: "payment", entityId: "" };
    case "payment_amounts":
      return { action: "payment.amounts_updated", entityType: "payment", entityId: "" };
    case "refund":
      return { action: `refund.status.${change.to}`, entityType: "refund", entityId: change.refundId };
    case "dispute":
      return { action: `dispute.${change.to.status.replace(/^dispute_/, "")}`, entityType: "dispute", entityId: change.disputeId };
  }
}

type Recorded = Extract<WebhookRecordOutcome, { kind: "recorded" }>;

function keptHeadersJson(delivery: VerifiedDelivery): string {
  const kept: Record<string, string> = {};
  for (const name of KEPT_HEADERS) if (delivery.headers[name] !== undefined) kept[name] = delivery.headers[name]!.slice(0, 1024);
  return JSON.stringify(kept);
}

/** An event that moves no payment (unknown type, or without a payment id): its row is the whole write. */
async function recordIgnored(db: WebhookDatabase, delivery: VerifiedDelivery, organizationId: string): Promise<Recorded> {
  const [row] = await db.query<{ id: string }>(sql`
    INSERT INTO webhook_events (webhook_id, organization_id, event_type, webhook_timestamp, raw_body, headers, status, processed_at)
    VALUES (${delivery.webhookId}, ${organizationId}::uuid, ${delivery.event.type.slice(0, 128)},
            ${new Date(delivery.timestampSeconds * 1000)}::timestamptz, ${delivery.rawBody}, ${keptHeadersJson(delivery)}::jsonb,
            'IGNORED'::webhook_event_status, now())
    RETURNING id`);
  return { kind: "recorded", webhookEventId: row!.id, organizationId, payment: null, changes: [], payoutRunRequested: false };
}

/** Nothing of the payment recorded yet: version 0, no rows. */
const NOTHING_RECORDED: LoadedPaymentState = Object.freeze({ state: EMPTY_PAYMENT_STATE, payment: null, version: 0 });

/** The write of a payment event against `loaded` (the state as read, or NOTHING_RECORDED). */
function planDelivery(
  loaded: LoadedPaymentState,
  delivery: VerifiedDelivery,
  ownership: { organizationId: string; checkoutSessionId: string | null },
  dodoPaymentId: string,
): { write: DeliveryWrite; changes: PaymentStateChange[] } {
  const { event } = delivery;
  const observation = paymentObservationOf(event)!;
  const next = applyPaymentObservation(loaded.state, observation);
  const changes = diffPaymentStates(loaded.state, next);
  // The event row is written by the same statement: its id is added to each audit row's data there.
  const audit: AuditRowInput[] = changes.map((change) => {
    const { action, entityType, entityId } = auditAction(change);
    return {
      actor_id: delivery.webhookId,
      action,
      entity_type: entityType,
      entity_id: entityId || null,
      data: { dodoPaymentId, eventType: event.type, change },
    };
  });
  const paymentData = event.kind === "payment" ? event.data : null;
  return {
    changes,
    write: {
      webhookId: delivery.webhookId,
      webhookTimestamp: new Date(delivery.timestampSeconds * 1000),
      rawBody: delivery.rawBody,
      headersJson: keptHeadersJson(delivery),
      eventType: event.type.slice(0, 128),
      organizationId: loaded.payment?.organizationId ?? ownership.organizationId,
      dodoPaymentId,
      checkoutSessionId: ownership.checkoutSessionId,
      customerEmail: paymentData?.customer?.email ?? null,
      metadata: paymentData?.metadata ?? {},
      loaded,
      next,
      audit,
      // THE SEAM between ingestion and payouts: a payment that just became succeeded gets a compile request
      // (payout_run_requests, the outbox) written by the same statement, so it commits or rolls back with
      // the payment; the worker compiles the run after commit (decision 004).
      requestPayoutRun: becameSucceeded(loaded.state, next),
    },
  };
}

async function recordPaymentEvent(
  db: WebhookDatabase,
  delivery: VerifiedDelivery,
  ownership: { organizationId: string; checkoutSessionId: string | null },
  dodoPaymentId: string,
): Promise<Recorded> {
  const outcome = (changes: PaymentStateChange[], written: DeliveryWritten): Recorded => ({
    kind: "recorded",
    webhookEventId: written.webhookEventId,
    organizationId: ownership.organizationId,
    payment: written.payment,
    changes,
    payoutRunRequested: written.payoutRunRequested,
  });
  // Fast path: one conditional write statement (atomic on its own), first against "nothing recorded
  // yet" (most Dodo payments have a single event: one round trip), then against the state as read. The
  // version check makes either write nothing when its assumption is out of date.
  const firstSighting = planDelivery(NOTHING_RECORDED, delivery, ownership, dodoPaymentId);
  if (!needsRefundOrDisputeWrites(firstSighting.write)) {
    // A unique violation here (a redelivered webhook-id, or a payment row written some other way than by
    // a webhook) only means the assumption was wrong: the statement wrote nothing, and the read below
    // decides (a redelivery then fails the same way, outside, and is answered as a duplicate).
    const written = await writeDelivery(db, firstSighting.write).catch((error: unknown) => {
      if (isUniqueViolation(error)) return null;
      throw error;
    });
    if (written) return outcome(firstSighting.changes, written);
    const fast = planDelivery(await loadPaymentState(db, dodoPaymentId), delivery, ownership, dodoPaymentId);
    if (!needsRefundOrDisputeWrites(fast.write)) {
      const rewritten = await writeDelivery(db, fast.write);
      if (rewritten) return outcome(fast.changes, rewritten);
    }
  }
  // Locked path: one transaction under the payment's lock, from a fresh read. Locked writers wait for each
  // other; a fast-path writer can still slip in between read and write, and then this attempt writes
  // nothing and runs again.
  for (let attempt = 1; attempt <= LOCKED_ATTEMPTS; attempt++) {
    const recorded = await db.transaction(async (tx) => {
      await tx.query(sql`SELECT pg_advisory_xact_lock(hashtextextended(${dodoPaymentId}::text, 7))`);
      const { write, changes } = planDelivery(await loadPaymentState(tx, dodoPaymentId), delivery, ownership, dodoPaymentId);
      const written = await writeDelivery(tx, write);
      if (!written) return null;
      if (needsRefundOrDisputeWrites(write)) await writeRefundsAndDisputes(tx, write, written.payment);
      return outcome(changes, written);
    });
    if (recorded) return recorded;
  }
  // A 5xx: Dodo redelivers later, when the payment's other deliveries are done.
  throw new Error(`payment ${dodoPaymentId} kept changing under this delivery (${LOCKED_ATTEMPTS} attempts)`);
}

/**
 * Records a verified delivery exactly once. A redelivery (same webhook-id), sequential or concurrent,
 * returns `duplicate` and changes nothing: the unique index decides, not a read before the write.
 * Any other failure propagates (the route answers 5xx so Dodo retries).
 */
export async function recordDodoWebhook(db: WebhookDatabase, delivery: VerifiedDelivery): Promise<WebhookRecordOutcome> {
  const defaultOrganization = await defaultOrganizationId(db.prisma);
  try {
    const { event } = delivery;
    const ownership = await resolveOwnership(db, event, defaultOrganization);
    const dodoPaymentId = paymentObservationOf(event) ? dodoPaymentIdOf(event) : null;
    const outcome = dodoPaymentId
      ? await recordPaymentEvent(db, delivery, ownership, dodoPaymentId)
      : await recordIgnored(db, delivery, ownership.organizationId);
    // Committed: a run is compiled a moment after this 200, not inside it.
    if (outcome.payoutRunRequested) announcePayoutRunRequests(db);
    return outcome;
  } catch (error) {
    if (isUniqueViolation(error)) {
      // Only the webhook-id index means "already recorded" (the drivers do not always name the index,
      // so ask the table); any other unique violation is a real fault and must reach Dodo as a 5xx.
      const recorded = await db.prisma.webhookEvent.findUnique({ where: { webhookId: delivery.webhookId }, select: { id: true } });
      if (recorded) return { kind: "duplicate" };
    }
    throw toDatabaseError(error);
  }
}
