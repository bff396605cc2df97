// /api/v1/payments: list payments.
import { apiRoute } from "~/api/handler.server";
import { listPayments } from "~/api/reads.server";

const route = apiRoute({ GET: listPayments });
export const loader = route.loader;
export const action = route.action;
