// Outbound webhook endpoints of an organization and their delivery log: registered by an admin (the secret
// generated here and shown once), disabled, enabled, deleted (kept for the log, never sent to again); every
// delivery and attempt readable by the organization's operators; a delivery sent again on demand (same
// webhook-id). Every call is scoped to the actor's organization: another organization's ids are "not found".
// The events themselves are written by the database (migration 0010) in the transaction of their change.
import type { PrismaClient } from "~/generated/prisma/client";
import type { NewEndpoint, OutboundEventType } from "~/integrations/outbound-events";
import { checkDestination, newEndpointSecret, WebhookDestinationError, type DestinationPolicy } from "~/integrations/webhook-sender.server";
import { roleAtLeast, type Actor } from "./operators.server";
import { webhookIdOf } from "./webhook-dispatcher.server";

export type WebhookEndpointErrorCode = "ENDPOINT_NOT_FOUND" | "DELIVERY_NOT_FOUND" | "DESTINATION_REFUSED" | "ENDPOINT_NOT_ENABLED" | "NOT_ALLOWED";

export class WebhookEndpointError extends Error {
  constructor(
    readonly code: WebhookEndpointErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "WebhookEndpointError";
  }
}

function requireRole(actor: Actor, role: "ADMIN" | "OPERATOR"): void {
  if (!roleAtLeast(actor.role, role)) {
    throw new WebhookEndpointError("NOT_ALLOWED", role === "ADMIN" ? "Only admins manage webhook endpoints." : "Viewers cannot send deliveries again.");
  }
}

function audit(actor: Actor, action: string, endpointId: string, data: Record<string, string> = {}) {
  return { organizationId: actor.organizationId, actorType: "OPERATOR" as const, actorId: actor.operatorId, action, entityType: "webhook_endpoint", entityId: endpointId, data };
}

export interface EndpointView {
  id: string;
  url: string;
  description: string | null;
  eventTypes: OutboundEventType[];
  status: "ENABLED" | "DISABLED";
  disabledReason: string | null;
  disabledAt: Date | null;
  disabledBySystem: boolean;
  lastSuccessAt: Date | null;
  createdAt: Date;
  pending: number;
  failed: number;
}

/** The organization's endpoints (not deleted), newest first, never with their secrets. */
export async function listEndpoints(prisma: PrismaClient, actor: Actor): Promise<EndpointView[]> {
  const rows = await prisma.webhookEndpoint.findMany({
    where: { organizationId: actor.organizationId, deletedAt: null },
    orderBy: { createdAt: "desc" },
    select: {
      id: true, url: true, description: true, eventTypes: true, status: true, disabledReason: true, disabledAt: true,
      disabledBySystem: true, lastSuccessAt: true, createdAt: true,
    },
  });
  const counts = await prisma.webhookDelivery.groupBy({
    by: ["endpointId", "status"],
    where: { endpointId: { in: rows.map((r) => r.id) }, status: { in: ["PENDING", "FAILED"] } },
    _count: { _all: true },
  });
  const count = (id: string, status: "PENDING" | "FAILED") => counts.find((c) => c.endpointId === id && c.status === status)?._count._all ?? 0;
  return rows.map((row) => ({ ...row, eventTypes: row.eventTypes as OutboundEventType[], pending: count(row.id, "PENDING"), failed: count(row.id, "FAILED") }));
}

/** How many of the organization's endpoints the dispatcher disabled after persistent failure (the console's notice). */
export function stoppedEndpointCount(prisma: PrismaClient, organizationId: string): Promise<number> {
  return prisma.webhookEndpoint.count({ where: { organizationId, deletedAt: null, status: "DISABLED", disabledBySystem: true } });
}

/** Registers an endpoint (admin). Answers it with its secret, which is never shown again. */
export async function createEndpoint(prisma: PrismaClient, actor: Actor, input: NewEndpoint, policy: DestinationPolicy): Promise<{ id: string; secret: string }> {
  requireRole(actor, "ADMIN");
  try {
    await checkDestination(input.url, policy);
  } catch (error) {
    if (error instanceof WebhookDestinationError) throw new WebhookEndpointError("DESTINATION_REFUSED", `This URL cannot receive webhooks: ${error.message}.`);
    throw error;
  }
  const secret = newEndpointSecret();
  return prisma.$transaction(async (tx) => {
    const endpoint = await tx.webhookEndpoint.create({
      data: { organizationId: actor.organizationId, url: input.url, description: input.description ?? null, eventTypes: input.eventTypes, secret, createdById: actor.operatorId },
      select: { id: true },
    });
    await tx.auditLog.create({ data: audit(actor, "webhook_endpoint.created", endpoint.id, { url: input.url, events: input.eventTypes.join(" ") }) });
    return { id: endpoint.id, secret };
  });
}

async function ownEndpoint(prisma: PrismaClient, actor: Actor, endpointId: string) {
  const endpoint = await prisma.webhookEndpoint.findFirst({
    where: { id: endpointId, organizationId: actor.organizationId, deletedAt: null },
    select: { id: true, status: true, url: true },
  });
  if (!endpoint) throw new WebhookEndpointError("ENDPOINT_NOT_FOUND", "There is no such webhook endpoint in your organization.");
  return endpoint;
}

/** Disables or enables an endpoint (admin); enabling lets its waiting deliveries go out again. */
export async function setEndpointEnabled(prisma: PrismaClient, actor: Actor, endpointId: string, enabled: boolean): Promise<void> {
  requireRole(actor, "ADMIN");
  const endpoint = await ownEndpoint(prisma, actor, endpointId);
  if ((endpoint.status === "ENABLED") === enabled) return;
  await prisma.$transaction([
    prisma.webhookEndpoint.update({
      where: { id: endpoint.id },
      data: enabled
        ? { status: "ENABLED", disabledAt: null, disabledReason: null, disabledBySystem: false, updatedAt: new Date() }
        : { status: "DISABLED", disabledAt: new Date(), disabledReason: "disabled by an admin", disabledBySystem: false, updatedAt: new Date() },
    }),
    prisma.auditLog.create({ data: audit(actor, enabled ? "webhook_endpoint.enabled" : "webhook_endpoint.disabled", endpoint.id) }),
  ]);
}

/** Deletes an endpoint (admin): no more deliveries; its log stays, its waiting deliveries are closed as FAILED. */
export async function deleteEndpoint(prisma: PrismaClient, actor: Actor, endpointId: string): Promise<void> {
  requireRole(actor, "ADMIN");
  const endpoint = await ownEndpoint(prisma, actor, endpointId);
  await prisma.$transaction([
    prisma.webhookEndpoint.update({ where: { id: endpoint.id }, data: { deletedAt: new Date(), updatedAt: new Date() } }),
    prisma.webhookDelivery.updateMany({
      where: { endpointId: endpoint.id, status: "PENDING" },
      data: { status: "FAILED", nextAttemptAt: null, lastError: "the endpoint was deleted" },
    }),
    prisma.auditLog.create({ data: audit(actor, "webhook_endpoint.deleted", endpoint.id, { url: endpoint.url }) }),
  ]);
}

export interface DeliveryLog {
  endpoint: { id: string; url: string; status: "ENABLED" | "DISABLED" };
  deliveries: {
    id: string;
    webhookId: string;
    eventType: string;
    status: "PENDING" | "DELIVERED" | "FAILED";
    attempts: number;
    lastStatusCode: number | null;
    lastError: string | null;
    lastAttemptAt: Date | null;
    nextAttemptAt: Date | null;
    createdAt: Date;
  }[];
  attempts: { deliveryId: string; webhookId: string; eventType: string; attempt: number; manual: boolean; statusCode: number | null; error: string | null; startedAt: Date; durationMs: number }[];
}

/** An endpoint's latest deliveries and attempts (any role of the organization). */
export async function deliveryLog(prisma: PrismaClient, actor: Actor, endpointId: string, limit = 50): Promise<DeliveryLog> {
  const endpoint = await ownEndpoint(prisma, actor, endpointId);
  const [deliveries, attempts] = await Promise.all([
    prisma.webhookDelivery.findMany({
      where: { endpointId: endpoint.id },
      orderBy: [{ createdAt: "desc" }, { id: "asc" }],
      take: limit,
      select: {
        id: true, eventId: true, status: true, attempts: true, lastStatusCode: true, lastError: true, lastAttemptAt: true, nextAttemptAt: true, createdAt: true,
        event: { select: { eventType: true } },
      },
    }),
    prisma.webhookDeliveryAttempt.findMany({
      where: { delivery: { endpointId: endpoint.id } },
      orderBy: [{ startedAt: "desc" }, { attempt: "desc" }],
      take: limit * 2,
      select: { deliveryId: true, attempt: true, manual: true, statusCode: true, error: true, startedAt: true, durationMs: true, delivery: { select: { eventId: true, event: { select: { eventType: true } } } } },
    }),
  ]);
  return {
    endpoint: { id: endpoint.id, url: endpoint.url, status: endpoint.status },
    deliveries: deliveries.map(({ event, eventId, ...d }) => ({ ...d, webhookId: webhookIdOf(eventId), eventType: event.eventType })),
    attempts: attempts.map(({ delivery, ...a }) => ({ ...a, webhookId: webhookIdOf(delivery.eventId), eventType: delivery.event.eventType })),
  };
}

/**
 * Sends a delivery again (admin or operator), delivered or not: due now, with a fresh retry schedule and the
 * same webhook-id, so a receiver that already has it can tell. The endpoint must be enabled.
 */
export async function redeliver(prisma: PrismaClient, actor: Actor, deliveryId: string): Promise<void> {
  requireRole(actor, "OPERATOR");
  const delivery = await prisma.webhookDelivery.findFirst({
    where: { id: deliveryId, endpoint: { organizationId: actor.organizationId, deletedAt: null } },
    select: { id: true, attempts: true, status: true, endpoint: { select: { id: true, status: true } } },
  });
  if (!delivery) throw new WebhookEndpointError("DELIVERY_NOT_FOUND", "There is no such delivery in your organization.");
  if (delivery.endpoint.status !== "ENABLED") throw new WebhookEndpointError("ENDPOINT_NOT_ENABLED", "Enable the endpoint first: a disabled endpoint is sent nothing.");
  await prisma.$transaction(async (tx) => {
    // Conditional on the attempts counted, so a concurrent attempt's claim is not undone.
    const moved = await tx.webhookDelivery.updateMany({
      where: { id: delivery.id, attempts: delivery.attempts },
      data: { status: "PENDING", nextAttemptAt: new Date(), scheduleFrom: delivery.attempts, deliveredAt: null },
    });
    if (moved.count === 0) throw new WebhookEndpointError("DELIVERY_NOT_FOUND", "The delivery is being attempted right now; try again in a moment.");
    await tx.auditLog.create({ data: audit(actor, "webhook_delivery.redelivered", delivery.endpoint.id, { deliveryId: delivery.id, from: delivery.status }) });
  });
}
