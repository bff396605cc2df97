// /api/v1/webhook-endpoints/{endpointId}: read (GET), change (POST) and delete (DELETE) one endpoint.
import { apiRoute } from "~/api/handler.server";
import { deleteWebhookEndpoint, getWebhookEndpoint, updateWebhookEndpoint } from "~/api/webhooks.server";

const route = apiRoute({ GET: getWebhookEndpoint, POST: updateWebhookEndpoint, DELETE: deleteWebhookEndpoint });
export const loader = route.loader;
export const action = route.action;
