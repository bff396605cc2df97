// GET /healthz: whether the process can serve, with the mode of each part (never a secret).
import { healthReport } from "~/models/health.server";

export async function loader() {
  const report = await healthReport();
  return Response.json(report, {
    status: report.status === "ok" ? 200 : 503,
    headers: { "Cache-Control": "no-store" },
  });
}
