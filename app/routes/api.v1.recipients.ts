// /api/v1/recipients: list (GET) and create (POST) recipients.
import { apiRoute } from "~/api/handler.server";
import { createRecipientOperation } from "~/api/writes.server";
import { listRecipients } from "~/api/reads.server";

const route = apiRoute({ GET: listRecipients, POST: createRecipientOperation });
export const loader = route.loader;
export const action = route.action;
