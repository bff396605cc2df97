// /api/v1/webhook-deliveries/{deliveryId}/redeliver: send a delivery again.
import { apiRoute } from "~/api/handler.server";
import { redeliverWebhookDelivery } from "~/api/webhooks.server";

const route = apiRoute({ POST: redeliverWebhookDelivery });
export const loader = route.loader;
export const action = route.action;
