// /api/v1/exports/{kind}: payments or payout transfers of a date range, as CSV.
import { apiRoute } from "~/api/handler.server";
import { exportCsvOperation } from "~/api/writes.server";

const route = apiRoute({ GET: exportCsvOperation });
export const loader = route.loader;
export const action = route.action;
