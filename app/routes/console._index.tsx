// GET /console: the overview of the signed-in operator's organization — revenue against payouts, the
// vault's balance read from the chain and how many average runs it covers, payments and payout runs by
// state, the team, and the newest lines of the audit trail.
import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Link, useLoaderData } from "@remix-run/react";
import { LocalTime } from "~/components/local-time";
import { RevenueChart } from "~/components/revenue-chart";
import { TreasuryStatus } from "~/components/treasury-status";
import { loadConsoleOverview } from "~/models/console-overview.server";
import { loadTreasuryOverview } from "~/models/treasury-overview.server";
import { getDatabase } from "~/utils/db.server";
import { getEnv } from "~/utils/env.server";
import { requireOperator } from "~/utils/session.server";
import { viewerTimeZone } from "~/utils/time-zone.server";

export const meta: MetaFunction = () => [{ title: "Overview · StableFlow console" }];

export async function loader({ request }: LoaderFunctionArgs) {
  const auth = await requireOperator(request);
  const db = await getDatabase();
  const [overview, money] = await Promise.all([
    loadConsoleOverview(db.prisma, auth.actor.organizationId),
    loadTreasuryOverview(db, getEnv(), auth.organization, viewerTimeZone(request)),
  ]);
  return { organization: auth.organization.name, role: auth.role, ...overview, money };
}

const words = (status: string) => status.toLowerCase();

export default function ConsoleOverview() {
  const { organization, payments, runs, operators, openInvitations, audit, role, money } = useLoaderData<typeof loader>();
  const totalPayments = payments.reduce((sum, row) => sum + row.count, 0);
  const totalRuns = runs.reduce((sum, row) => sum + row.count, 0);
  return (
    <>
      <h1>{organization}</h1>
      <p className="muted">
        {totalPayments} payment{totalPayments === 1 ? "" : "s"} recorded, {totalRuns} payout run{totalRuns === 1 ? "" : "s"} compiled,{" "}
        {operators} operator{operators === 1 ? "" : "s"}
        {openInvitations > 0 ? `, ${openInvitations} open invitation${openInvitations === 1 ? "" : "s"}` : ""}.
      </p>
      <div className="grid">
        <section aria-labelledby="vault-heading" className="card">
          <h2 id="vault-heading">Treasury</h2>
          <TreasuryStatus treasury={money.treasury} runway={money.runway} />
          <p>
            <Link to="/console/treasury">Addresses, deposit instructions and history</Link>
          </p>
        </section>
      </div>
      <section aria-labelledby="flow-heading" className="card">
        <h2 id="flow-heading">Revenue and payouts, last 30 days</h2>
        <RevenueChart days={money.chart.days} decimals={money.chart.decimals} symbol={money.chart.symbol} timeZone={money.chart.timeZone} />
        {money.chart.otherCurrencyPayments > 0 ? (
          <p className="muted">
            {money.chart.otherCurrencyPayments} succeeded payment{money.chart.otherCurrencyPayments === 1 ? " was" : "s were"} settled in a currency other than USD and
            {money.chart.otherCurrencyPayments === 1 ? " is" : " are"} not in the chart (there is no exact rate to the payout token).
          </p>
        ) : null}
      </section>
      <div className="grid">
        <section aria-labelledby="payments-heading" className="card">
          <h2 id="payments-heading">Payments by state</h2>
          <table>
            <thead>
              <tr><th scope="col">State</th><th scope="col" className="num">Payments</th></tr>
            </thead>
            <tbody>
              {payments.map((row) => (
                <tr key={row.status} data-payment-status={row.status}><td>{words(row.status)}</td><td className="num">{row.count}</td></tr>
              ))}
            </tbody>
          </table>
        </section>
        <section aria-labelledby="runs-heading" className="card">
          <h2 id="runs-heading">Payout runs by state</h2>
          <table>
            <thead>
              <tr><th scope="col">State</th><th scope="col" className="num">Runs</th></tr>
            </thead>
            <tbody>
              {runs.map((row) => (
                <tr key={row.status} data-run-status={row.status}><td>{words(row.status)}</td><td className="num">{row.count}</td></tr>
              ))}
            </tbody>
          </table>
        </section>
      </div>
      <p>
        <Link to="/ledger">Open the ledger</Link> for the payments, runs and webhook deliveries themselves
        {role === "ADMIN" ? (
          <>
            ; <Link to="/console/team">manage the team</Link>
          </>
        ) : null}
        .
      </p>
      <section aria-labelledby="audit-heading">
        <h2 id="audit-heading">Recent activity</h2>
        <p>
          <Link to="/console/audit">Open the audit log</Link> to filter the whole trail.
        </p>
        {audit.length === 0 ? (
          <p className="muted">Nothing recorded yet: payments, payout runs and team changes appear here as they happen.</p>
        ) : (
          <div className="scroll">
            <table>
              <thead>
                <tr><th scope="col">When</th><th scope="col">Action</th><th scope="col">Entity</th><th scope="col">By</th></tr>
              </thead>
              <tbody>
                {audit.map((line) => (
                  <tr key={line.id}><td className="muted"><LocalTime value={line.createdAt} /></td><td>{line.action}</td><td><code>{line.entity}</code></td><td>{line.actor}</td></tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </>
  );
}
