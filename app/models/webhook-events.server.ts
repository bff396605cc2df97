// Records one verified Dodo delivery and applies it to the ledger, all in ONE transaction:
// webhook event row (webhook-id unique = idempotency key) -> payment state -> audit rows -> payout-run request.
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
  type PaymentStateChange,
} from "~/ledger/payment-state";
import type { Database } from "~/utils/db.server";
import { isUniqueViolation, toDatabaseError } from "~/utils/db-errors.server";
import { sql, type SqlTransaction } from "~/utils/sql.server";
import { loadPaymentState, writePaymentState, type AuditRowInput, type RecordedPayment } from "./payments.server";
import { ensureDefaultOrganization } from "./organizations.server";
import { wakePayoutRunWorkers } from "./payout-run-worker.server";

/**
 * The delivery's transaction runs on the driver (Database.transaction): five round trips for a first
 * payment.succeeded (BEGIN, three statements, COMMIT) without Prisma's per-statement cost, which was most
 * of a delivery's CPU (docs/ingest-bench.md). Everything else in the app keeps Prisma.
 */
type Tx = SqlTransaction;

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
export type WebhookDatabase = Pick<Database, "prisma" | "transaction">;

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

/** JSON has no bigint: amounts in audit data are decimal strings. */
function jsonText(value: unknown): string {
  return JSON.stringify(value, (_key, v) => (typeof v === "bigint" ? v.toString() : v));
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

async function applyDelivery(tx: Tx, delivery: VerifiedDelivery, defaultOrganization: string): Promise<Extract<WebhookRecordOutcome, { kind: "recorded" }>> {
  const { event } = delivery;
  const ownership = await resolveOwnership(tx, event, defaultOrganization);
  // First write of the transaction: a concurrent duplicate blocks on this unique index until we commit,
  // then fails with a unique violation and changes nothing.
  const keptHeaders: Record<string, string> = {};
  for (const name of KEPT_HEADERS) if (delivery.headers[name] !== undefined) keptHeaders[name] = delivery.headers[name]!.slice(0, 1024);
  const observation = paymentObservationOf(event);
  const dodoPaymentId = observation ? dodoPaymentIdOf(event) : null;
  // Written with its final status: if applying it fails, the whole transaction (this row included) rolls
  // back. The same statement takes the payment's lock, once the row (the duplicate guard) is in.
  const inserted = await tx.query<{ id: string }>(sql`
    WITH event AS (
      INSERT INTO webhook_events (webhook_id, organization_id, event_type, webhook_timestamp, raw_body, headers, status, processed_at)
      VALUES (${delivery.webhookId}, ${ownership.organizationId}::uuid, ${event.type.slice(0, 128)},
              ${new Date(delivery.timestampSeconds * 1000)}::timestamptz, ${delivery.rawBody}, ${JSON.stringify(keptHeaders)}::jsonb,
              ${observation && dodoPaymentId ? "PROCESSED" : "IGNORED"}::webhook_event_status, now())
      RETURNING id)
    SELECT event.id,
           (SELECT count(*)::int FROM (SELECT pg_advisory_xact_lock(hashtextextended(${dodoPaymentId ?? ""}::text, 7))
                                       WHERE ${dodoPaymentId !== null}::boolean) AS lock) AS locked
    FROM event`);
  const webhookEvent = inserted[0]!;

  let payment: RecordedPayment | null = null;
  let changes: PaymentStateChange[] = [];
  let payoutRunRequested = false;

  if (observation && dodoPaymentId) {
    const loaded = await loadPaymentState(tx, dodoPaymentId);
    const next = applyPaymentObservation(loaded.state, observation);
    changes = diffPaymentStates(loaded.state, next);
    const audit: AuditRowInput[] = changes.map((change) => {
      const { action, entityType, entityId } = auditAction(change);
      return {
        actor_id: delivery.webhookId,
        action,
        entity_type: entityType,
        entity_id: entityId || null,
        data: { dodoPaymentId, eventType: event.type, webhookEventId: webhookEvent.id, change },
      };
    });
    const paymentData = event.kind === "payment" ? event.data : null;
    // THE SEAM between ingestion and payouts: a payment that just became succeeded gets a compile request
    // (payout_run_requests, the outbox) written by the payment row's own statement, so it commits or rolls
    // back with the payment. The compile and its per-organization lock happen in the payout-run worker
    // after commit: deliveries of one organization no longer queue behind each other here.
    const requestPayoutRun = becameSucceeded(loaded.state, next);
    payment = await writePaymentState(
      tx,
      {
        organizationId: loaded.payment?.organizationId ?? ownership.organizationId,
        dodoPaymentId,
        checkoutSessionId: ownership.checkoutSessionId,
        customerEmail: paymentData?.customer?.email ?? null,
        metadata: paymentData?.metadata ?? {},
      },
      loaded,
      next,
      audit,
      { requestPayoutRun },
    );
    // Rows not written with the payment (refund/dispute changes, or no payment row yet).
    if (audit.length > 0) {
      const organizationId = payment?.organizationId ?? ownership.organizationId;
      const rows = audit.map((row) => ({ ...row, entity_id: row.entity_id ?? payment?.id ?? dodoPaymentId }));
      await tx.query(sql`
        INSERT INTO audit_log (organization_id, actor_type, actor_id, action, entity_type, entity_id, data)
        SELECT ${organizationId}::uuid, 'WEBHOOK'::audit_actor, x.actor_id, x.action, x.entity_type, x.entity_id, x.data
        FROM jsonb_to_recordset(${jsonText(rows)}::jsonb) AS x(actor_id text, action text, entity_type text, entity_id text, data jsonb)`);
    }
    if (payment && requestPayoutRun) {
      if (payment.checkoutSessionId) {
        await tx.query(sql`UPDATE checkout_sessions SET status = 'COMPLETED', updated_at = now()
                           WHERE id = ${payment.checkoutSessionId}::uuid AND status <> 'COMPLETED'`);
      }
      payoutRunRequested = true;
    }
  }

  return { kind: "recorded", webhookEventId: webhookEvent.id, organizationId: ownership.organizationId, payment, changes, payoutRunRequested };
}

/**
 * Records a verified delivery exactly once. A redelivery (same webhook-id), sequential or concurrent,
 * returns `duplicate` and changes nothing: the unique index decides, not a read before the write.
 * Any other failure propagates (the route answers 5xx so Dodo retries).
 */
export async function recordDodoWebhook(db: WebhookDatabase, delivery: VerifiedDelivery): Promise<WebhookRecordOutcome> {
  const defaultOrganization = await defaultOrganizationId(db.prisma);
  try {
    const outcome = await db.transaction((tx) => applyDelivery(tx, delivery, defaultOrganization));
    // Committed: a run is compiled a moment after this 200, not inside it.
    if (outcome.payoutRunRequested) wakePayoutRunWorkers();
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
