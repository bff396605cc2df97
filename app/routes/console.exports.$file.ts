// GET /console/exports/payments.csv and /console/exports/transfers.csv ?from=YYYY-MM-DD&to=YYYY-MM-DD: the
// organization's payments or payout transfers of those days (in the viewer's time zone), streamed as CSV
// (app/models/exports.server.ts). Any other file name is a 404.
import type { LoaderFunctionArgs } from "@remix-run/node";
import { csvExportResponse, EXPORT_KINDS, type ExportKind } from "~/models/exports.server";
import { getDatabase } from "~/utils/db.server";
import { requireOperator } from "~/utils/session.server";
import { viewerTimeZone } from "~/utils/time-zone.server";

export async function loader({ request, params }: LoaderFunctionArgs) {
  const auth = await requireOperator(request);
  const kind = EXPORT_KINDS.find((k) => params.file === `${k}.csv`);
  if (!kind) throw new Response("There is no such export: the console exports payments.csv and transfers.csv.", { status: 404 });
  return csvExportResponse(await getDatabase(), kind satisfies ExportKind, auth.actor.organizationId, new URL(request.url).searchParams, viewerTimeZone(request));
}
