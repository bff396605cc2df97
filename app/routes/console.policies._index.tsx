// GET /console/policies: the organization's payout policy versions (active, drafts, retired), a form that
// compares two of them, and the way to a new policy. Read-only: changes happen on a version's page.
import type { LinksFunction, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Form, Link, useLoaderData } from "@remix-run/react";
import { SelectField } from "~/components/console-form";
import { LocalTime } from "~/components/local-time";
import { listPolicyVersions } from "~/models/console-policies.server";
import { roleAtLeast } from "~/models/operators.server";
import pageStyles from "~/styles/console-pages.css?url";
import { getPrisma } from "~/utils/db.server";
import { requireOperator } from "~/utils/session.server";

export const links: LinksFunction = () => [{ rel: "stylesheet", href: pageStyles }];
export const meta: MetaFunction = () => [{ title: "Policies · StableFlow console" }];

export async function loader({ request }: LoaderFunctionArgs) {
  const auth = await requireOperator(request);
  return { canChange: roleAtLeast(auth.role, "OPERATOR"), versions: await listPolicyVersions(await getPrisma(), auth.actor.organizationId) };
}

const words = (text: string) => text.toLowerCase().replace(/_/g, " ");

export default function Policies() {
  const { versions, canChange } = useLoaderData<typeof loader>();
  const options = versions.map((v) => ({ value: v.id, label: `${v.policyName} v${v.version} (${words(v.status)})` }));
  return (
    <>
      <h1>Payout policies</h1>
      <p className="muted">
        A policy splits each payment among recipients. Editing saves a new draft version; a draft splits nothing until it is activated, and a
        version a run has used never changes.
      </p>
      {canChange ? (
        <p>
          <Link to="/console/policies/new">Start a new policy</Link>
        </p>
      ) : null}
      {versions.length === 0 ? (
        <p className="muted">No policy yet: payments are held until a policy is active.</p>
      ) : (
        <>
          <div className="scroll">
            <table aria-label="Policy versions">
              <thead>
                <tr>
                  <th scope="col">Version</th>
                  <th scope="col">Status</th>
                  <th scope="col">Payouts</th>
                  <th scope="col" className="num">Rules</th>
                  <th scope="col" className="num">Runs</th>
                  <th scope="col">Saved</th>
                </tr>
              </thead>
              <tbody>
                {versions.map((v) => (
                  <tr key={v.id} data-version={`${v.policyName} v${v.version}`}>
                    <td>
                      <Link to={`/console/policies/${v.id}`}>
                        {v.policyName} v{v.version}
                      </Link>
                    </td>
                    <td className={v.status === "ACTIVE" ? "ok" : undefined}>{words(v.status)}</td>
                    <td>
                      {words(v.payoutSchedule)}
                      {v.requireVerifiedRecipients ? ", verified wallets only" : ""}
                    </td>
                    <td className="num">{v.rules}</td>
                    <td className="num">{v.runs}</td>
                    <td className="muted">
                      <LocalTime value={v.createdAt} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {versions.length > 1 ? (
            <section aria-labelledby="compare-heading">
              <h2 id="compare-heading">Compare two versions</h2>
              <Form method="get" action="/console/policies/diff" className="card filters">
                <SelectField name="from" label="From" options={options} defaultValue={versions[1]!.id} />
                <SelectField name="to" label="To" options={options} defaultValue={versions[0]!.id} />
                <div className="filters-actions">
                  <button type="submit">Compare</button>
                </div>
              </Form>
            </section>
          ) : null}
        </>
      )}
    </>
  );
}
