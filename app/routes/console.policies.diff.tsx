// GET /console/policies/diff?from=&to=: what changed between two versions of the organization's policies —
// the terms, and the rules added, removed and changed (field by field), matched by recipient.
import type { LinksFunction, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Link, useLoaderData } from "@remix-run/react";
import { z } from "zod";
import { comparePolicyVersions } from "~/models/console-policies.server";
import pageStyles from "~/styles/console-pages.css?url";
import { getPrisma } from "~/utils/db.server";
import { requireOperator } from "~/utils/session.server";

export const links: LinksFunction = () => [{ rel: "stylesheet", href: pageStyles }];
export const meta: MetaFunction = () => [{ title: "Compare policy versions · StableFlow console" }];

const Query = z.object({ from: z.uuid(), to: z.uuid() });

export async function loader({ request }: LoaderFunctionArgs) {
  const auth = await requireOperator(request);
  const params = new URL(request.url).searchParams;
  const query = Query.safeParse({ from: params.get("from"), to: params.get("to") });
  if (!query.success) throw new Response("Choose two policy versions to compare on the policies page.", { status: 400 });
  const diff = await comparePolicyVersions(await getPrisma(), auth.actor.organizationId, query.data.from, query.data.to);
  if (!diff) throw new Response("Your organization has no such policy version. Choose two on the policies page.", { status: 404 });
  return diff;
}

const FIELD_LABEL: Record<string, string> = {
  kind: "kind",
  basisPoints: "basis points",
  fixedAmount: "fixed amount",
  capPerPayment: "cap per payment",
  capPerPeriod: "cap per period",
  periodDays: "period (days)",
  minPayout: "minimum payout",
  priority: "priority",
  requireVerifiedRecipients: "verified wallets only",
  payoutSchedule: "payouts",
};

type RuleView = ReturnType<typeof useLoaderData<typeof loader>>["added"][number];
const share = (r: RuleView) =>
  [
    r.kind === "PERCENTAGE" ? `${r.basisPoints} bps` : `${r.fixedAmount} sUSD fixed`,
    r.capPerPayment ? `cap ${r.capPerPayment} per payment` : null,
    r.capPerPeriod ? `cap ${r.capPerPeriod} per ${r.periodDays} days` : null,
    r.minPayout ? `minimum ${r.minPayout}` : null,
    r.kind === "FIXED" && r.priority ? `priority ${r.priority}` : null,
  ]
    .filter(Boolean)
    .join(", ");

export default function PolicyDiff() {
  const d = useLoaderData<typeof loader>();
  const nothing = d.terms.length + d.added.length + d.removed.length + d.changed.length === 0;
  return (
    <>
      <p>
        <Link to="/console/policies">← Policies</Link>
      </p>
      <h1>
        {d.from.label} → {d.to.label}
      </h1>
      {nothing ? <p data-testid="no-change">The two versions split payments alike: no term and no rule differs.</p> : null}
      {d.terms.length > 0 ? (
        <>
          <h2>Terms</h2>
          <ul>
            {d.terms.map((t) => (
              <li key={t.field} data-term={t.field}>
                {FIELD_LABEL[t.field]}: {t.before.toLowerCase()} → {t.after.toLowerCase()}
              </li>
            ))}
          </ul>
        </>
      ) : null}
      <h2 id="added-heading">Rules added ({d.added.length})</h2>
      {d.added.length === 0 ? <p className="muted">None.</p> : (
        <ul aria-labelledby="added-heading">
          {d.added.map((r) => (
            <li key={r.recipientId} data-added={r.recipient}>
              <strong>{r.recipient}</strong>: {share(r)}
            </li>
          ))}
        </ul>
      )}
      <h2 id="removed-heading">Rules removed ({d.removed.length})</h2>
      {d.removed.length === 0 ? <p className="muted">None.</p> : (
        <ul aria-labelledby="removed-heading">
          {d.removed.map((r) => (
            <li key={r.recipientId} data-removed={r.recipient}>
              <strong>{r.recipient}</strong>: {share(r)}
            </li>
          ))}
        </ul>
      )}
      <h2 id="changed-heading">Rules changed ({d.changed.length})</h2>
      {d.changed.length === 0 ? <p className="muted">None.</p> : (
        <div className="scroll">
          <table aria-labelledby="changed-heading">
            <thead>
              <tr><th scope="col">Recipient</th><th scope="col">Field</th><th scope="col" className="num">Before</th><th scope="col" className="num">After</th></tr>
            </thead>
            <tbody>
              {d.changed.flatMap((c) =>
                c.fields.map((f) => (
                  <tr key={`${c.recipientId}:${f.field}`} data-changed={`${c.recipient}:${f.field}`}>
                    <td>{c.recipient}</td>
                    <td>{FIELD_LABEL[f.field]}</td>
                    <td className="num">{f.before ?? "—"}</td>
                    <td className="num">{f.after ?? "—"}</td>
                  </tr>
                )),
              )}
            </tbody>
          </table>
        </div>
      )}
      <p className="muted">{d.unchanged} rule{d.unchanged === 1 ? "" : "s"} unchanged.</p>
    </>
  );
}
