// /api/v1/webhook-endpoints: list (GET) and register (POST) outbound webhook endpoints.
import { apiRoute } from "~/api/handler.server";
import { createWebhookEndpoint, listWebhookEndpoints } from "~/api/webhooks.server";

const route = apiRoute({ GET: listWebhookEndpoints, POST: createWebhookEndpoint });
export const loader = route.loader;
export const action = route.action;
