// The operator API's outbound webhook endpoints and their delivery log: the console's operations
// (outbound-webhooks.server.ts: the same SSRF guard, event names, secret and audit) acting as the key. A read
// key lists and reads; a write key registers, changes, disables, enables, deletes and sends a delivery again,
// as an admin may in the console (decision 013). The signing secret is in the answer that registered the
// endpoint and in no other.
import { z } from "zod";
import { EndpointChangesSchema, NewEndpointSchema } from "~/integrations/outbound-events";
import { pageOf as cutPage, pageWhere, type ListArgs } from "~/models/api-views.server";
import {
  createEndpoint,
  deleteEndpoint,
  getDelivery,
  listDeliveries,
  listEndpoints,
  redeliver,
  updateEndpoint,
  type DeliveryView,
  type EndpointView,
} from "~/models/outbound-webhooks.server";
import { webhookSettings } from "~/models/webhook-dispatcher.server";
import type { Prisma } from "~/generated/prisma/client";
import { getEnv } from "~/utils/env.server";
import { ApiError } from "./errors.server";
import { defineOperation, type ApiContext } from "./handler.server";
import * as R from "./resources";
import { ListQuery, pageOf, Uuid } from "./schemas";
import { listing } from "./reads.server";

const iso = (date: Date | null) => (date ? date.toISOString() : null);

function endpointView(e: EndpointView): z.input<typeof R.WebhookEndpoint> {
  return {
    id: e.id,
    url: e.url,
    description: e.description,
    eventTypes: e.eventTypes,
    status: e.status,
    disabledReason: e.disabledReason,
    disabledAt: iso(e.disabledAt),
    disabledBySystem: e.disabledBySystem,
    lastSuccessAt: iso(e.lastSuccessAt),
    pendingDeliveries: e.pending,
    failedDeliveries: e.failed,
    createdAt: e.createdAt.toISOString(),
  };
}

function deliveryView(d: DeliveryView): z.input<typeof R.WebhookDelivery> {
  return {
    id: d.id,
    endpointId: d.endpointId,
    webhookId: d.webhookId,
    eventType: d.eventType as z.input<typeof R.WebhookDelivery>["eventType"],
    status: d.status,
    attempts: d.attempts,
    lastStatusCode: d.lastStatusCode,
    lastError: d.lastError,
    lastAttemptAt: iso(d.lastAttemptAt),
    nextAttemptAt: iso(d.nextAttemptAt),
    deliveredAt: iso(d.deliveredAt),
    createdAt: d.createdAt.toISOString(),
    attemptLog: d.attemptLog.map((a) => ({ ...a, startedAt: a.startedAt.toISOString() })),
  };
}

const policy = () => webhookSettings(getEnv()).policy;

/** A page of a model's list: the cursor and dates as the other lists take them, the status filter, one row more than the page. */
function paged<Row extends { id: string }, W, T>(
  query: ListArgs & { status?: string },
  cursorAt: (id: string) => Promise<{ createdAt: Date } | null>,
  list: (page: { where: W[]; take: number }) => Promise<Row[]>,
  view: (row: Row) => T,
) {
  return listing(async () => {
    const where = [...((await pageWhere(query, cursorAt)) as W[]), ...(query.status ? [{ status: query.status } as W] : [])];
    return cutPage(await list({ where, take: query.limit + 1 }), query.limit, view);
  });
}

async function endpointOf(ctx: ApiContext, endpointId: string) {
  const [endpoint] = await listEndpoints(ctx.db.prisma, ctx.principal, { where: [{ id: endpointId }] });
  if (!endpoint) throw ApiError.of("NOT_FOUND", "no such webhook endpoint in this organization");
  return endpointView(endpoint);
}

const EndpointParams = z.strictObject({ endpointId: Uuid });

export const listWebhookEndpoints = defineOperation({
  operationId: "listWebhookEndpoints",
  method: "GET",
  path: "/api/v1/webhook-endpoints",
  summary: "List the organization's outbound webhook endpoints (never with their secrets)",
  tag: "Webhooks",
  scope: "READ",
  query: ListQuery.extend({ status: z.enum(R.WEBHOOK_ENDPOINT_STATUSES).optional() }),
  response: pageOf(R.WebhookEndpoint),
  run: (ctx, { query }) =>
    paged<EndpointView, Prisma.WebhookEndpointWhereInput, z.input<typeof R.WebhookEndpoint>>(
      query,
      (id) => ctx.db.prisma.webhookEndpoint.findFirst({ where: { id, organizationId: ctx.organizationId, deletedAt: null }, select: { createdAt: true } }),
      (page) => listEndpoints(ctx.db.prisma, ctx.principal, page),
      endpointView,
    ),
});

export const createWebhookEndpoint = defineOperation({
  operationId: "createWebhookEndpoint",
  method: "POST",
  path: "/api/v1/webhook-endpoints",
  summary: "Register an endpoint for the events it names; the answer holds its signing secret, shown this once",
  description: "The URL must be http(s) without credentials and (in production) reach a public address: a private, loopback or link-local destination is 422 DESTINATION_REFUSED.",
  tag: "Webhooks",
  scope: "WRITE",
  body: NewEndpointSchema.strict(),
  response: R.WebhookEndpointCreated,
  status: 201,
  errors: [422],
  async run(ctx, { body }) {
    const created = await createEndpoint(ctx.db.prisma, ctx.principal, body, policy());
    return { ...(await endpointOf(ctx, created.id)), secret: created.secret };
  },
});

export const getWebhookEndpoint = defineOperation({
  operationId: "getWebhookEndpoint",
  method: "GET",
  path: "/api/v1/webhook-endpoints/{endpointId}",
  summary: "Get a webhook endpoint (without its secret)",
  tag: "Webhooks",
  scope: "READ",
  params: EndpointParams,
  response: R.WebhookEndpoint,
  errors: [404],
  run: (ctx, { params }) => endpointOf(ctx, params.endpointId),
});

export const updateWebhookEndpoint = defineOperation({
  operationId: "updateWebhookEndpoint",
  method: "POST",
  path: "/api/v1/webhook-endpoints/{endpointId}",
  summary: "Change an endpoint's URL, description or events, or disable it, or enable it again (also after StableFlow disabled it)",
  description: "Fields left out stay as they are; an empty description clears it. Enabling sends its waiting deliveries.",
  tag: "Webhooks",
  scope: "WRITE",
  params: EndpointParams,
  body: EndpointChangesSchema.strict(),
  response: R.WebhookEndpoint,
  errors: [404, 422],
  async run(ctx, { params, body }) {
    await updateEndpoint(ctx.db.prisma, ctx.principal, params.endpointId, body, policy());
    return endpointOf(ctx, params.endpointId);
  },
});

export const deleteWebhookEndpoint = defineOperation({
  operationId: "deleteWebhookEndpoint",
  method: "DELETE",
  path: "/api/v1/webhook-endpoints/{endpointId}",
  summary: "Delete an endpoint: nothing is sent to it again, its waiting deliveries close as FAILED, its log stays",
  tag: "Webhooks",
  scope: "WRITE",
  params: EndpointParams,
  response: R.WebhookEndpointDeleted,
  errors: [404],
  async run(ctx, { params }) {
    await deleteEndpoint(ctx.db.prisma, ctx.principal, params.endpointId);
    return { id: params.endpointId, deleted: true as const };
  },
});

export const listWebhookDeliveries = defineOperation({
  operationId: "listWebhookDeliveries",
  method: "GET",
  path: "/api/v1/webhook-endpoints/{endpointId}/deliveries",
  summary: "An endpoint's delivery log: each event sent to it, newest first, with every attempt's response code",
  tag: "Webhooks",
  scope: "READ",
  params: EndpointParams,
  query: ListQuery.extend({ status: z.enum(R.WEBHOOK_DELIVERY_STATUSES).optional() }),
  response: pageOf(R.WebhookDelivery),
  errors: [404],
  run: (ctx, { params, query }) =>
    paged<DeliveryView, Prisma.WebhookDeliveryWhereInput, z.input<typeof R.WebhookDelivery>>(
      query,
      (id) => ctx.db.prisma.webhookDelivery.findFirst({ where: { id, endpointId: params.endpointId }, select: { createdAt: true } }),
      (page) => listDeliveries(ctx.db.prisma, ctx.principal, params.endpointId, page),
      deliveryView,
    ),
});

export const redeliverWebhookDelivery = defineOperation({
  operationId: "redeliverWebhookDelivery",
  method: "POST",
  path: "/api/v1/webhook-deliveries/{deliveryId}/redeliver",
  summary: "Send a delivery again, delivered or not, with the same webhook-id and a fresh retry schedule (the endpoint must be enabled)",
  tag: "Webhooks",
  scope: "WRITE",
  params: z.strictObject({ deliveryId: Uuid }),
  response: R.WebhookDelivery,
  status: 202,
  errors: [404, 409],
  async run(ctx, { params }) {
    await redeliver(ctx.db.prisma, ctx.principal, params.deliveryId);
    const delivery = await getDelivery(ctx.db.prisma, ctx.principal, params.deliveryId);
    if (!delivery) throw ApiError.of("NOT_FOUND", "no such webhook delivery in this organization");
    return deliveryView(delivery);
  },
});
