// Records one verified Dodo delivery and applies it to the ledger atomically: webhook event row (webhook-id
// unique = idempotency key) -> payment state -> audit rows -> payout-run request, committed together.
import type { PrismaClient } from "~/generated/prisma/client";
import { dodoPaymentIdOf, paymentObservationOf, type DodoWebhookEvent } from "~/integrations/dodo-events";
import { assessPayment, type PaymentAssessment, type ReviewInputs } from "~/ledger/payment-assessment";
import { applyPaymentObservation, becameSucceeded, diffPaymentStates, type PaymentStateChange } from "~/ledger/payment-state";
import type { Database } from "~/utils/db.server";
import { isUniqueViolation, toDatabaseError } from "~/utils/db-errors.server";
import { sql, type SqlTransaction } from "~/utils/sql.server";
import {
  needsRefundOrDisputeWrites,
  writeDelivery,
  writeRefundsAndDisputes,
  type AuditRowInput,
  type DeliveryWrite,
  type DeliveryWritten,
} from "./payment-delivery.server";
import { resolveOwnership, type Ownership } from "./payment-ownership.server";
import { loadPaymentState, NOTHING_RECORDED, type LoadedPaymentState, type RecordedPayment } from "./payments.server";
import { ensureDefaultOrganization } from "./organizations.server";
import { announcePayoutRunRequests } from "./payout-run-worker.server";
import { resolveRedelivery } from "./webhook-failures.server";

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

/** Header names kept with the event: enough to re-verify it later, nothing secret. */
export const KEPT_HEADERS = ["webhook-id", "webhook-timestamp", "webhook-signature", "content-type", "user-agent"] as const;

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
  | { kind: "duplicate" }
  /** The webhook-id was recorded with other bytes: the first stays authoritative, this body is kept for review. */
  | { kind: "conflict" };

export interface RecordOptions {
  /** Replaying a stored FAILED delivery (scripts/webhooks.ts): its event row is updated, not inserted. */
  replay?: boolean;
}

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

export function keptHeadersJson(delivery: Pick<VerifiedDelivery, "headers">): string {
  const kept: Record<string, string> = {};
  for (const name of KEPT_HEADERS) if (delivery.headers[name] !== undefined) kept[name] = delivery.headers[name]!.slice(0, 1024);
  return JSON.stringify(kept);
}

/** An event that moves no payment (unknown type, or without a payment id): its row is the whole write. */
async function recordIgnored(db: WebhookDatabase, delivery: VerifiedDelivery, organizationId: string, replay: boolean): Promise<Recorded> {
  const [row] = replay
    ? await db.query<{ id: string }>(sql`
        UPDATE webhook_events SET status = 'IGNORED', error = NULL, processed_at = now(), event_type = ${delivery.event.type.slice(0, 128)}
        WHERE webhook_id = ${delivery.webhookId} AND status = 'FAILED'
        RETURNING id`)
    : await db.query<{ id: string }>(sql`
        INSERT INTO webhook_events (webhook_id, organization_id, event_type, webhook_timestamp, raw_body, headers, status, processed_at)
        VALUES (${delivery.webhookId}, ${organizationId}::uuid, ${delivery.event.type.slice(0, 128)},
                ${new Date(delivery.timestampSeconds * 1000)}::timestamptz, ${delivery.rawBody}, ${keptHeadersJson(delivery)}::jsonb,
                'IGNORED'::webhook_event_status, now())
        RETURNING id`);
  if (!row) throw new Error(`webhook ${delivery.webhookId} is no longer FAILED: replayed by someone else`);
  return { kind: "recorded", webhookEventId: row.id, organizationId, payment: null, changes: [], payoutRunRequested: false };
}

/** Audit rows for the review flags a write raises or clears, and for a payout basis that moved after success. */
function reviewAudit(loaded: LoadedPaymentState, next: PaymentAssessment, reviewReason: string | null, delivery: VerifiedDelivery): AuditRowInput[] {
  const rows: AuditRowInput[] = [];
  const base = { actor_id: delivery.webhookId };
  const flags = (entityType: "refund" | "dispute", before: Record<string, string | null>, after: Record<string, string | null>) => {
    for (const [id, reason] of Object.entries(after)) {
      const was = before[id] ?? null;
      if (was === reason) continue;
      rows.push({ ...base, action: reason ? "review.flagged" : "review.cleared", entity_type: entityType, entity_id: id, data: { reason: reason ?? was } });
    }
  };
  flags("refund", loaded.assessment.refundReviews, next.refundReviews);
  flags("dispute", loaded.assessment.disputeReviews, next.disputeReviews);
  const reviewBefore = loaded.reviews.paymentReview?.reason ?? null;
  if (reviewReason !== reviewBefore) {
    rows.push({ ...base, action: reviewReason ? "review.flagged" : "review.cleared", entity_type: "payment", entity_id: null, data: { reason: reviewReason ?? reviewBefore } });
  }
  const was = loaded.payment;
  if (was && was.status === "succeeded" && (was.netSettlementMinor !== next.netSettlement || was.payoutHold !== next.payoutHold)) {
    rows.push({
      ...base,
      action: "payment.payout_basis",
      entity_type: "payment",
      entity_id: null,
      data: { from: { net: was.netSettlementMinor, hold: was.payoutHold }, to: { net: next.netSettlement, hold: next.payoutHold, deduction: next.deduction } },
    });
  }
  return rows;
}

/** The write of a payment event against `loaded` (the state as read, or NOTHING_RECORDED). */
function planDelivery(
  loaded: LoadedPaymentState,
  delivery: VerifiedDelivery,
  ownership: Ownership,
  dodoPaymentId: string,
  replay: boolean,
): { write: DeliveryWrite; changes: PaymentStateChange[] } {
  const { event } = delivery;
  const observation = paymentObservationOf(event)!;
  const next = applyPaymentObservation(loaded.state, observation);
  const changes = diffPaymentStates(loaded.state, next);
  // The checkout verdict of the payment event that won the fold; other events keep the row's.
  const won = event.kind === "payment" && next.payment !== loaded.state.payment;
  const reviewReason = won ? ownership.reviewReason : (loaded.reviews.paymentReview?.reason ?? null);
  const reviews: ReviewInputs = { ...loaded.reviews, paymentReview: { reason: reviewReason, released: loaded.reviews.paymentReview?.released ?? false } };
  const assessment = assessPayment(next, reviews);
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
  audit.push(...reviewAudit(loaded, assessment, reviewReason, delivery));
  const paymentData = event.kind === "payment" ? event.data : null;
  const succeeded = becameSucceeded(loaded.state, next);
  const existing = loaded.payment;
  // The basis the worker compiles from moved (a refund, a dispute, a review): it reconciles the run.
  const basisMoved =
    next.payment?.status === "succeeded" &&
    existing !== null &&
    (existing.netSettlementMinor !== assessment.netSettlement || existing.payoutHold !== assessment.payoutHold);
  return {
    changes,
    write: {
      replay,
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
      assessment,
      reviewReason,
      audit,
      // THE SEAM between ingestion and payouts: a payment that just became succeeded, or whose payout basis
      // moved, gets a compile request (payout_run_requests, the outbox) written by the same statement, so it
      // commits or rolls back with the payment; the worker compiles or reconciles the run after commit
      // (decisions 004 and 009).
      requestPayoutRun: succeeded || basisMoved,
      completeCheckout: succeeded && ownership.completesCheckout,
    },
  };
}

async function recordPaymentEvent(
  db: WebhookDatabase,
  delivery: VerifiedDelivery,
  ownership: Ownership,
  dodoPaymentId: string,
  replay: boolean,
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
  const firstSighting = planDelivery(NOTHING_RECORDED, delivery, ownership, dodoPaymentId, replay);
  // A replay always takes the locked path: it holds its FAILED event row while it writes.
  if (!replay && !needsRefundOrDisputeWrites(firstSighting.write)) {
    // A unique violation here (a redelivered webhook-id, or a payment row written some other way than by
    // a webhook) only means the assumption was wrong: the statement wrote nothing, and the read below
    // decides (a redelivery then fails the same way, outside, and is answered as a duplicate).
    const written = await writeDelivery(db, firstSighting.write).catch((error: unknown) => {
      if (isUniqueViolation(error)) return null;
      throw error;
    });
    if (written) return outcome(firstSighting.changes, written);
    const fast = planDelivery(await loadPaymentState(db, dodoPaymentId), delivery, ownership, dodoPaymentId, false);
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
      if (replay) {
        const [held] = await tx.query<{ status: string }>(sql`
          SELECT status::text AS status FROM webhook_events WHERE webhook_id = ${delivery.webhookId} FOR UPDATE`);
        if (held?.status !== "FAILED") throw new Error(`webhook ${delivery.webhookId} is no longer FAILED: replayed by someone else`);
      }
      const { write, changes } = planDelivery(await loadPaymentState(tx, dodoPaymentId), delivery, ownership, dodoPaymentId, replay);
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
export async function recordDodoWebhook(db: WebhookDatabase, delivery: VerifiedDelivery, options: RecordOptions = {}): Promise<WebhookRecordOutcome> {
  const defaultOrganization = await defaultOrganizationId(db.prisma);
  const replay = options.replay === true;
  try {
    const { event } = delivery;
    const ownership = await resolveOwnership(db, event, defaultOrganization);
    const dodoPaymentId = paymentObservationOf(event) ? dodoPaymentIdOf(event) : null;
    const outcome = dodoPaymentId
      ? await recordPaymentEvent(db, delivery, ownership, dodoPaymentId, replay)
      : await recordIgnored(db, delivery, ownership.organizationId, replay);
    // Committed: a run is compiled a moment after this 200, not inside it.
    if (outcome.payoutRunRequested) announcePayoutRunRequests(db);
    return outcome;
  } catch (error) {
    if (!replay && isUniqueViolation(error)) {
      // Only the webhook-id index means "already recorded" (the drivers do not always name the index,
      // so ask the table); any other unique violation is a real fault and must reach Dodo as a 5xx.
      const redelivery = await resolveRedelivery(db, delivery);
      if (redelivery) return { kind: redelivery };
    }
    throw toDatabaseError(error);
  }
}
