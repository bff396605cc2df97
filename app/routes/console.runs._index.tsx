// GET /console/runs: the organization's payout runs, newest first, filtered by state (a plain GET form, so
// it works without JavaScript); each links to its detail page.
import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Form, Link, useLoaderData } from "@remix-run/react";
import { LocalTime } from "~/components/local-time";
import { formatMoney } from "~/ledger/money";
import { listPayoutRuns, RUN_STATUSES, type RunStatus } from "~/models/payout-run-views.server";
import { getDatabase } from "~/utils/db.server";
import { requireOperator } from "~/utils/session.server";

export const meta: MetaFunction = () => [{ title: "Payout runs · StableFlow console" }];

export async function loader({ request }: LoaderFunctionArgs) {
  const auth = await requireOperator(request);
  const wanted = new URL(request.url).searchParams.get("status") ?? "";
  const status = (RUN_STATUSES as readonly string[]).includes(wanted) ? (wanted as RunStatus) : undefined;
  const runs = await listPayoutRuns(await getDatabase(), auth.actor.organizationId, { status });
  return {
    statuses: RUN_STATUSES,
    status: status ?? "",
    runs: runs.map((r) => ({ ...r, total: formatMoney(r.totalTransfers, r.tokenDecimals), totalTransfers: undefined })),
  };
}

export default function PayoutRuns() {
  const { status, statuses, runs } = useLoaderData<typeof loader>();
  return (
    <>
      <h1>Payout runs</h1>
      <Form method="get" className="row-actions" aria-label="Filter payout runs">
        <label htmlFor="run-status">State</label>
        <select id="run-status" name="status" defaultValue={status}>
          <option value="">every state</option>
          {statuses.map((s) => (
            <option key={s} value={s}>
              {s.toLowerCase()}
            </option>
          ))}
        </select>
        <button type="submit" className="secondary">
          Show
        </button>
      </Form>
      {runs.length === 0 ? (
        <p className="muted">{status ? `No ${status.toLowerCase()} run.` : "No payout run yet: a paid checkout compiles one under the active policy."}</p>
      ) : (
        <div className="scroll">
          <table>
            <thead>
              <tr>
                <th scope="col">Run</th>
                <th scope="col">State</th>
                <th scope="col">Payment</th>
                <th scope="col" className="num">Transfers</th>
                <th scope="col" className="num">Total</th>
                <th scope="col" className="num">Approvals</th>
                <th scope="col" className="num">Batches</th>
                <th scope="col">Compiled</th>
              </tr>
            </thead>
            <tbody>
              {runs.map((r) => (
                <tr key={r.id} data-run={r.id} data-run-status={r.status}>
                  <td>
                    <Link to={`/console/runs/${r.id}`}>
                      <code>{r.id.slice(0, 8)}</code>
                    </Link>{" "}
                    <span className="muted">{r.kind.toLowerCase()}</span>
                  </td>
                  <td>
                    {r.status.toLowerCase()}
                    {r.rejected && r.status === "READY" ? <span className="bad"> (rejected)</span> : null}
                    {r.holdReason ? <span className="bad"> (held)</span> : null}
                  </td>
                  <td>{r.paymentLabel ? <code>{r.paymentLabel}</code> : <span className="muted">sweep</span>}</td>
                  <td className="num">{r.transfers}</td>
                  <td className="num">{r.total}</td>
                  <td className="num">{r.approvals}</td>
                  <td className="num">{r.batches}</td>
                  <td className="muted"><LocalTime value={r.createdAt} /></td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
