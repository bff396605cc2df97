// /api/v1/payments/{paymentId}: one payment with its events.
import { apiRoute } from "~/api/handler.server";
import { getPayment } from "~/api/reads.server";

const route = apiRoute({ GET: getPayment });
export const loader = route.loader;
export const action = route.action;
