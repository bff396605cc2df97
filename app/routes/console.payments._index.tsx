// GET /console/payments: the organization's payments, filtered by status, creation date (days in the
// viewer's time zone) and amount (in each payment's currency), 25 a page. A plain GET form: it works without JavaScript and a
// filtered list has an address that can be shared.
import type { LinksFunction, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Form, Link, useLoaderData } from "@remix-run/react";
import { Field, SelectField } from "~/components/console-form";
import { LocalTime } from "~/components/local-time";
import { listPayments, PAYMENT_STATUSES, PaymentFilterSchema } from "~/models/console-payments.server";
import { issuesByField } from "~/models/input-errors";
import pageStyles from "~/styles/console-pages.css?url";
import { getPrisma } from "~/utils/db.server";
import { requireOperator } from "~/utils/session.server";
import { viewerTimeZone } from "~/utils/time-zone.server";

export const links: LinksFunction = () => [{ rel: "stylesheet", href: pageStyles }];
export const meta: MetaFunction = () => [{ title: "Payments · StableFlow console" }];

const FILTER_FIELDS = ["status", "from", "to", "minAmount", "maxAmount", "page"] as const;

export async function loader({ request }: LoaderFunctionArgs) {
  const auth = await requireOperator(request);
  const params = new URL(request.url).searchParams;
  const raw = Object.fromEntries(FILTER_FIELDS.map((field) => [field, params.get(field) ?? undefined]));
  const values = Object.fromEntries(FILTER_FIELDS.map((field) => [field, params.get(field) ?? ""])) as Record<(typeof FILTER_FIELDS)[number], string>;
  const parsed = PaymentFilterSchema.safeParse(raw);
  if (!parsed.success) return { statuses: PAYMENT_STATUSES, values, errors: issuesByField(parsed.error), list: null };
  const list = await listPayments(await getPrisma(), auth.actor.organizationId, parsed.data, viewerTimeZone(request));
  return { statuses: PAYMENT_STATUSES, values, errors: {} as Record<string, string>, list };
}

const words = (text: string) => text.toLowerCase().replace(/_/g, " ");

export default function Payments() {
  const { statuses, values, errors, list } = useLoaderData<typeof loader>();
  const pageLink = (page: number) => {
    const query = new URLSearchParams(Object.entries({ ...values, page: String(page) }).filter(([, v]) => v !== ""));
    return `?${query.toString()}`;
  };
  return (
    <>
      <h1>Payments</h1>
      <p className="muted">
        Each payment is shown by Dodo&apos;s id with our short id beside it (<code>pay_… · #1a2b3c4d</code>), as on every page of the console.
      </p>
      <Form method="get" className="card filters" aria-label="Filter payments">
        <SelectField
          name="status"
          label="Status"
          defaultValue={values.status}
          error={errors.status}
          options={[{ value: "", label: "Any status" }, ...statuses.map((s) => ({ value: s, label: words(s) }))]}
        />
        <Field name="from" label="Created from" type="date" required={false} defaultValue={values.from} error={errors.from} />
        <Field name="to" label="Created to (inclusive)" type="date" required={false} defaultValue={values.to} error={errors.to} />
        <Field name="minAmount" label="Amount at least" inputMode="decimal" required={false} defaultValue={values.minAmount} error={errors.minAmount} />
        <Field name="maxAmount" label="Amount at most" inputMode="decimal" required={false} defaultValue={values.maxAmount} error={errors.maxAmount} />
        <div className="filters-actions">
          <button type="submit">Filter</button>
          <Link to="/console/payments">Clear</Link>
        </div>
      </Form>
      {!list ? (
        <p className="card bad" role="alert">
          Fix the filters marked above to see payments.
        </p>
      ) : list.total === 0 ? (
        <p className="muted" data-testid="no-payments">
          No payment matches these filters.
        </p>
      ) : (
        <>
          <p className="muted" data-testid="payment-count">
            {list.total} payment{list.total === 1 ? "" : "s"}; page {list.page} of {list.pages}.
          </p>
          <div className="scroll">
            <table aria-label="Payments">
              <thead>
                <tr>
                  <th scope="col">Payment</th>
                  <th scope="col">Status</th>
                  <th scope="col" className="num">Total</th>
                  <th scope="col" className="num">Refunded</th>
                  <th scope="col" className="num">Net</th>
                  <th scope="col">Dispute / hold</th>
                  <th scope="col">Created</th>
                </tr>
              </thead>
              <tbody>
                {list.payments.map((p) => (
                  <tr key={p.id} data-payment={p.dodoPaymentId}>
                    <td>
                      <Link to={`/console/payments/${p.id}`}>
                        <code>{p.label}</code>
                      </Link>
                    </td>
                    <td>{words(p.status)}</td>
                    <td className="num">{p.total}</td>
                    <td className="num">{p.refunded}</td>
                    <td className="num">{p.net ?? "—"}</td>
                    <td>{[p.disputeState !== "NONE" ? `dispute ${words(p.disputeState)}` : null, p.hold ? `held: ${words(p.hold)}` : null].filter(Boolean).join("; ") || "—"}</td>
                    <td className="muted">
                      <LocalTime value={p.createdAt} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <nav className="pager" aria-label="Pages of payments">
            {list.page > 1 ? <Link to={pageLink(list.page - 1)}>← Newer</Link> : <span />}
            {list.page < list.pages ? <Link to={pageLink(list.page + 1)}>Older →</Link> : <span />}
          </nav>
        </>
      )}
    </>
  );
}
