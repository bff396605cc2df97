// Outbound webhook endpoints of an organization and their delivery log: registered by an admin (the secret
// generated here and shown once), changed, disabled, enabled, deleted (kept for the log, never sent to again);
// every delivery and attempt readable by the organization's operators; a delivery sent again on demand (same
// webhook-id). Every call is scoped to the actor's organization: another organization's ids are "not found".
// The actor is an operator (the console) or an API key (the operator API: a write key may do what an admin
// may, a read key only read; decision 013). The events themselves are written by the database (migration
// 0010) in the transaction of their change.
import type { Prisma, PrismaClient } from "~/generated/prisma/client";
import type { EndpointChanges, NewEndpoint, OutboundEventType } from "~/integrations/outbound-events";
import { checkDestination, newEndpointSecret, WebhookDestinationError, type DestinationPolicy } from "~/integrations/webhook-sender.server";
import type { ApiPrincipal } from "./api-keys.server";
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

/** Who manages endpoints: a signed-in operator, or an API key of the organization. */
export type WebhookActor = Actor | ApiPrincipal;

const isKey = (actor: WebhookActor): actor is ApiPrincipal => "apiKeyId" in actor;

function requireRole(actor: WebhookActor, role: "ADMIN" | "OPERATOR"): void {
  // A write key stands for the admin who created it (only admins create keys); a read key only reads.
  const allowed = isKey(actor) ? actor.scope === "WRITE" : roleAtLeast(actor.role, role);
  if (!allowed) {
    throw new WebhookEndpointError(
      "NOT_ALLOWED",
      isKey(actor) ? "A read key cannot change webhook endpoints." : role === "ADMIN" ? "Only admins manage webhook endpoints." : "Viewers cannot send deliveries again.",
    );
  }
}

function audit(actor: WebhookActor, action: string, endpointId: string, data: Record<string, string> = {}) {
  const who = isKey(actor) ? { actorType: "API_KEY" as const, actorId: actor.prefix } : { actorType: "OPERATOR" as const, actorId: actor.operatorId };
  return { organizationId: actor.organizationId, ...who, action, entityType: "webhook_endpoint", entityId: endpointId, data };
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

/**
 * The organization's endpoints (not deleted), newest first, never with their secrets; `page` narrows them
 * (the operator API's cursor and date filters, or one id) and cuts the list.
 */
export async function listEndpoints(prisma: PrismaClient, actor: WebhookActor, page: { where?: Prisma.WebhookEndpointWhereInput[]; take?: number } = {}): Promise<EndpointView[]> {
  const rows = await prisma.webhookEndpoint.findMany({
    where: { organizationId: actor.organizationId, deletedAt: null, AND: page.where ?? [] },
    orderBy: [{ createdAt: "desc" }, { id: "desc" }],
    take: page.take,
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
export async function createEndpoint(prisma: PrismaClient, actor: WebhookActor, input: NewEndpoint, policy: DestinationPolicy): Promise<{ id: string; secret: string }> {
  requireRole(actor, "ADMIN");
  await refuseDestination(input.url, policy);
  const secret = newEndpointSecret();
  return prisma.$transaction(async (tx) => {
    const endpoint = await tx.webhookEndpoint.create({
      data: { organizationId: actor.organizationId, url: input.url, description: input.description ?? null, eventTypes: input.eventTypes, secret, createdById: isKey(actor) ? null : actor.operatorId },
      select: { id: true },
    });
    await tx.auditLog.create({ data: audit(actor, "webhook_endpoint.created", endpoint.id, { url: input.url, events: input.eventTypes.join(" ") }) });
    return { id: endpoint.id, secret };
  });
}

/** The SSRF guard at registration and on a change of URL: a sentence naming what is wrong with the URL. */
async function refuseDestination(url: string, policy: DestinationPolicy): Promise<void> {
  try {
    await checkDestination(url, policy);
  } catch (error) {
    if (error instanceof WebhookDestinationError) throw new WebhookEndpointError("DESTINATION_REFUSED", `This URL cannot receive webhooks: ${error.message}.`);
    throw error;
  }
}

async function ownEndpoint(prisma: PrismaClient, actor: WebhookActor, endpointId: string) {
  const endpoint = await prisma.webhookEndpoint.findFirst({
    where: { id: endpointId, organizationId: actor.organizationId, deletedAt: null },
    select: { id: true, status: true, url: true, description: true, eventTypes: true },
  });
  if (!endpoint) throw new WebhookEndpointError("ENDPOINT_NOT_FOUND", "There is no such webhook endpoint in your organization.");
  return endpoint;
}

/** Disables or enables an endpoint (admin); enabling lets its waiting deliveries go out again. */
export async function setEndpointEnabled(prisma: PrismaClient, actor: WebhookActor, endpointId: string, enabled: boolean): Promise<void> {
  // No URL changes here, so the destination policy is never consulted.
  await updateEndpoint(prisma, actor, endpointId, { enabled }, { allowPrivate: false });
}

const enabling = (enabled: boolean, actor: WebhookActor) =>
  enabled
    ? { status: "ENABLED" as const, disabledAt: null, disabledReason: null, disabledBySystem: false }
    : { status: "DISABLED" as const, disabledAt: new Date(), disabledReason: isKey(actor) ? "disabled through the API" : "disabled by an admin", disabledBySystem: false };

/**
 * Changes an endpoint (admin): its URL (the SSRF guard again), description, events, and enabled or not
 * (enabling lets its waiting deliveries go out again, also after the dispatcher disabled it). One audit row
 * per kind of change; nothing is written when nothing changes.
 */
export async function updateEndpoint(prisma: PrismaClient, actor: WebhookActor, endpointId: string, changes: EndpointChanges, policy: DestinationPolicy): Promise<void> {
  requireRole(actor, "ADMIN");
  const endpoint = await ownEndpoint(prisma, actor, endpointId);
  const data: Prisma.WebhookEndpointUpdateInput = {};
  const audits: ReturnType<typeof audit>[] = [];
  const edited: Record<string, string> = {};
  if (changes.url !== undefined && changes.url !== endpoint.url) {
    await refuseDestination(changes.url, policy);
    data.url = changes.url;
    edited.url = changes.url;
  }
  if (changes.description !== undefined && changes.description !== endpoint.description) {
    data.description = changes.description;
    edited.description = changes.description ?? "";
  }
  if (changes.eventTypes !== undefined && [...changes.eventTypes].sort().join(" ") !== [...endpoint.eventTypes].sort().join(" ")) {
    data.eventTypes = changes.eventTypes;
    edited.events = changes.eventTypes.join(" ");
  }
  if (Object.keys(edited).length > 0) audits.push(audit(actor, "webhook_endpoint.updated", endpoint.id, edited));
  if (changes.enabled !== undefined && (endpoint.status === "ENABLED") !== changes.enabled) {
    Object.assign(data, enabling(changes.enabled, actor));
    audits.push(audit(actor, changes.enabled ? "webhook_endpoint.enabled" : "webhook_endpoint.disabled", endpoint.id));
  }
  if (audits.length === 0) return;
  await prisma.$transaction([
    prisma.webhookEndpoint.update({ where: { id: endpoint.id }, data: { ...data, updatedAt: new Date() } }),
    ...audits.map((row) => prisma.auditLog.create({ data: row })),
  ]);
}

/** Deletes an endpoint (admin): no more deliveries; its log stays, its waiting deliveries are closed as FAILED. */
export async function deleteEndpoint(prisma: PrismaClient, actor: WebhookActor, endpointId: string): Promise<void> {
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

/** A delivery as the log shows it. */
export interface DeliveryRow {
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
}

export interface DeliveryLog {
  endpoint: { id: string; url: string; status: "ENABLED" | "DISABLED" };
  deliveries: DeliveryRow[];
  attempts: { deliveryId: string; webhookId: string; eventType: string; attempt: number; manual: boolean; statusCode: number | null; error: string | null; startedAt: Date; durationMs: number }[];
}

/** An endpoint's latest deliveries and attempts (any role of the organization). */
export async function deliveryLog(prisma: PrismaClient, actor: WebhookActor, endpointId: string, limit = 50): Promise<DeliveryLog> {
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
export async function redeliver(prisma: PrismaClient, actor: WebhookActor, deliveryId: string): Promise<void> {
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

/** A delivery with its endpoint, when it was delivered, and every attempt (the operator API's view). */
export interface DeliveryView extends DeliveryRow {
  endpointId: string;
  deliveredAt: Date | null;
  attemptLog: { attempt: number; manual: boolean; statusCode: number | null; error: string | null; startedAt: Date; durationMs: number }[];
}

const deliverySelect = {
  id: true, endpointId: true, eventId: true, status: true, attempts: true, lastStatusCode: true, lastError: true, lastAttemptAt: true, nextAttemptAt: true,
  deliveredAt: true, createdAt: true,
  event: { select: { eventType: true } },
  attemptsLog: { orderBy: [{ startedAt: "asc" }, { attempt: "asc" }], select: { attempt: true, manual: true, statusCode: true, error: true, startedAt: true, durationMs: true } },
} satisfies Prisma.WebhookDeliverySelect;

function deliveryView({ event, eventId, attemptsLog, ...row }: Prisma.WebhookDeliveryGetPayload<{ select: typeof deliverySelect }>): DeliveryView {
  return { ...row, webhookId: webhookIdOf(eventId), eventType: event.eventType, attemptLog: attemptsLog };
}

/**
 * An endpoint's deliveries, newest first, each with every attempt (oldest first): the operator API's page of
 * the delivery log; `page` narrows them (cursor, dates, status) and cuts the list.
 */
export async function listDeliveries(
  prisma: PrismaClient,
  actor: WebhookActor,
  endpointId: string,
  page: { where?: Prisma.WebhookDeliveryWhereInput[]; take?: number } = {},
): Promise<DeliveryView[]> {
  const endpoint = await ownEndpoint(prisma, actor, endpointId);
  const rows = await prisma.webhookDelivery.findMany({
    where: { endpointId: endpoint.id, AND: page.where ?? [] },
    orderBy: [{ createdAt: "desc" }, { id: "desc" }],
    take: page.take,
    select: deliverySelect,
  });
  return rows.map(deliveryView);
}

/** One delivery of the organization (an endpoint not deleted), or null. */
export async function getDelivery(prisma: PrismaClient, actor: WebhookActor, deliveryId: string): Promise<DeliveryView | null> {
  const row = await prisma.webhookDelivery.findFirst({ where: { id: deliveryId, endpoint: { organizationId: actor.organizationId, deletedAt: null } }, select: deliverySelect });
  return row ? deliveryView(row) : null;
}
