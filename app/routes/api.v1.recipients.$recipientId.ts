// /api/v1/recipients/{recipientId}: one recipient.
import { apiRoute } from "~/api/handler.server";
import { getRecipient } from "~/api/reads.server";

const route = apiRoute({ GET: getRecipient });
export const loader = route.loader;
export const action = route.action;
