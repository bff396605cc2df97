// /api/v1/webhook-endpoints/{endpointId}/deliveries: an endpoint's delivery log.
import { apiRoute } from "~/api/handler.server";
import { listWebhookDeliveries } from "~/api/webhooks.server";

const route = apiRoute({ GET: listWebhookDeliveries });
export const loader = route.loader;
export const action = route.action;
