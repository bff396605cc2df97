// GET /console/audit: the organization's audit trail, newest first, filtered by action, actor, subject and
// date range (days in the viewer's time zone), 50 lines a page. Readable without JavaScript: the filter is
// a GET form and the pages are links.
import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Link, useLoaderData } from "@remix-run/react";
import { Field, SelectField } from "~/components/console-form";
import { LocalTime } from "~/components/local-time";
import { listAuditLog, parseAuditFilter } from "~/models/audit-log.server";
import { getPrisma } from "~/utils/db.server";
import { requireOperator } from "~/utils/session.server";
import { viewerTimeZone } from "~/utils/time-zone.server";

export const meta: MetaFunction = () => [{ title: "Audit log · StableFlow console" }];

export async function loader({ request }: LoaderFunctionArgs) {
  const auth = await requireOperator(request);
  const timeZone = viewerTimeZone(request);
  const params = new URL(request.url).searchParams;
  const parsed = parseAuditFilter(params);
  const filter = parsed.ok ? parsed.filter : {};
  const page = await listAuditLog(await getPrisma(), auth.actor.organizationId, filter, timeZone);
  const values = parsed.ok ? parsed.filter : parsed.raw;
  const older = page.olderBefore ? new URLSearchParams({ ...Object.fromEntries(params), before: page.olderBefore }).toString() : null;
  const newestParams = new URLSearchParams(params);
  newestParams.delete("before");
  return {
    timeZone,
    errors: parsed.ok ? {} : parsed.errors,
    values: { action: values.action ?? "", actor: values.actor ?? "", subject: values.subject ?? "", from: values.from ?? "", to: values.to ?? "" },
    lines: parsed.ok ? page.lines : [],
    actions: page.actions,
    operators: page.operators,
    older,
    newest: params.has("before") ? newestParams.toString() : null,
  };
}

export default function ConsoleAudit() {
  const { timeZone, errors, values, lines, actions, operators, older, newest } = useLoaderData<typeof loader>();
  const refused = Object.keys(errors).length > 0;
  const actorOptions = [
    { value: "", label: "Anyone" },
    { value: "OPERATOR", label: "Any operator" },
    ...operators.map((o) => ({ value: `OPERATOR:${o.id}`, label: o.label })),
    { value: "SYSTEM", label: "The system (worker, executor)" },
    { value: "WEBHOOK", label: "Dodo webhooks" },
    { value: "CUSTOMER", label: "Customers (checkout)" },
  ];
  return (
    <>
      <h1>Audit log</h1>
      <p className="muted">Every change to this organization&apos;s payments, payout runs, policies, recipients and team, newest first. Days are read in {timeZone}.</p>
      <form method="get" className="card filters" aria-label="Filter the audit log">
        <SelectField name="action" label="Action" defaultValue={values.action} error={errors.action} options={[{ value: "", label: "Any action" }, ...actions.map((a) => ({ value: a, label: a }))]} />
        <SelectField name="actor" label="Actor" defaultValue={values.actor} error={errors.actor} options={actorOptions} />
        <Field name="subject" label="Subject" type="search" required={false} defaultValue={values.subject} error={errors.subject} hint="An id or its start, or a type and id: payment 3f2a…" />
        <Field name="from" label="From" type="date" required={false} defaultValue={values.from} error={errors.from} />
        <Field name="to" label="To (included)" type="date" required={false} defaultValue={values.to} error={errors.to} />
        <p className="actions">
          <button type="submit">Filter</button> <Link to="/console/audit">Clear the filter</Link>
        </p>
      </form>
      {refused ? (
        <p className="card bad" role="alert">
          The filter was not applied: check the fields marked above.
        </p>
      ) : lines.length === 0 ? (
        <p>No audit line matches{newest ? " on this page" : ""}.</p>
      ) : (
        <div className="scroll">
          <table>
            <caption className="muted">{lines.length} line{lines.length === 1 ? "" : "s"} on this page</caption>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Action</th>
                <th scope="col">Subject</th>
                <th scope="col">By</th>
                <th scope="col">Details</th>
              </tr>
            </thead>
            <tbody>
              {lines.map((line) => (
                <tr key={line.id} data-audit-id={line.id}>
                  <td className="muted">
                    <LocalTime value={line.createdAt} />
                  </td>
                  <td>{line.action}</td>
                  <td>
                    <code className="wrap">{line.subject}</code>
                  </td>
                  <td>{line.actor}</td>
                  <td>{line.data ? <code className="wrap">{line.data}</code> : <span className="muted">—</span>}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <nav aria-label="Audit log pages">
        <p>
          {newest !== null ? <Link to={`/console/audit?${newest}`}>Newest lines</Link> : null}
          {newest !== null && older ? " · " : null}
          {older ? <Link to={`/console/audit?${older}`}>Older lines</Link> : null}
        </p>
      </nav>
    </>
  );
}
