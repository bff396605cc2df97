// GET /console/exports: the form for the CSV exports of payments and payout transfers over a date range.
// The form submits straight to the CSV routes (a download, no JavaScript needed); dates the schema refuses
// come back here with its messages beside the fields.
import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { useLoaderData } from "@remix-run/react";
import { Field } from "~/components/console-form";
import { EXPORT_KINDS, EXPORT_PAGE_SIZE, parseExportRange } from "~/models/exports.server";
import { requireOperator } from "~/utils/session.server";
import { formatInstant } from "~/utils/time-zone";
import { viewerTimeZone } from "~/utils/time-zone.server";

export const meta: MetaFunction = () => [{ title: "Exports · StableFlow console" }];

export async function loader({ request }: LoaderFunctionArgs) {
  await requireOperator(request);
  const timeZone = viewerTimeZone(request);
  const params = new URL(request.url).searchParams;
  const kind = EXPORT_KINDS.find((k) => k === params.get("kind")) ?? null;
  const today = formatInstant(new Date(), timeZone, { dateOnly: true });
  const submitted = params.has("from") || params.has("to");
  const parsed = submitted ? parseExportRange({ from: params.get("from"), to: params.get("to") }, timeZone) : null;
  return {
    timeZone,
    kind,
    from: params.get("from") ?? `${today.slice(0, 8)}01`,
    to: params.get("to") ?? today,
    errors: parsed && !parsed.ok ? parsed.errors : {},
    pageSize: EXPORT_PAGE_SIZE,
  };
}

export default function ConsoleExports() {
  const { timeZone, kind, from, to, errors, pageSize } = useLoaderData<typeof loader>();
  const refused = Object.keys(errors).length > 0;
  return (
    <>
      <h1>Exports</h1>
      <p>
        CSV files (RFC 4180, UTF-8, comma-separated) of this organization&apos;s payments and payout transfers recorded on the days you choose,
        both days included, read in your time zone ({timeZone}). Amounts are exact decimals of each currency or token; times are UTC (ISO 8601).
        A cell that a spreadsheet would run as a formula (starting with =, +, -, @) begins with an apostrophe.
      </p>
      {refused ? (
        <p className="card bad" role="alert">
          {kind === "transfers" ? "The payout transfers were not exported" : kind === "payments" ? "The payments were not exported" : "Nothing was exported"}: check the
          dates below.
        </p>
      ) : null}
      <form method="get" action="/console/exports/payments.csv" className="card" aria-labelledby="export-heading">
        <h2 id="export-heading">Date range</h2>
        <Field name="from" label="From" type="date" defaultValue={from} error={errors.from} />
        <Field name="to" label="To (included)" type="date" defaultValue={to} error={errors.to} hint="Dates as YYYY-MM-DD where the browser has no date picker." />
        <p className="actions">
          <button type="submit" formAction="/console/exports/payments.csv">
            Download payments (CSV)
          </button>{" "}
          <button type="submit" formAction="/console/exports/transfers.csv">
            Download payout transfers (CSV)
          </button>
        </p>
      </form>
      <section aria-labelledby="columns-heading">
        <h2 id="columns-heading">What each file holds</h2>
        <dl>
          <dt>Payments</dt>
          <dd>
            One line per payment: our id and Dodo&apos;s, when it was recorded, state, total and refunded amounts in the payment&apos;s currency, the settlement
            amount and the net amount payouts follow, dispute state, and the customer&apos;s name and e-mail address.
          </dd>
          <dt>Payout transfers</dt>
          <dd>
            One line per transfer a payout run planned: run, recipient and wallet, token account, amount in the token (with its decimals), whether it was
            paid on chain (with the transaction signature and slot) or held and why, and the payment it came from.
          </dd>
        </dl>
        <p className="muted">The files are streamed {pageSize.toLocaleString("en-US")} rows at a time, so a large range downloads as it is read.</p>
      </section>
    </>
  );
}
