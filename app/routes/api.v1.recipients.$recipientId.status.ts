// /api/v1/recipients/{recipientId}/status: pause or resume a recipient.
import { apiRoute } from "~/api/handler.server";
import { setRecipientStatusOperation } from "~/api/writes.server";

const route = apiRoute({ POST: setRecipientStatusOperation });
export const loader = route.loader;
export const action = route.action;
