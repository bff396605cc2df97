// GET /console/payments/:paymentId (our id or Dodo's): one payment whole — its amounts and the net amount
// it distributes, every webhook delivery that named it, its refunds and disputes, its payout runs and its
// audit trail. Read-only; another organization's payment is a 404 like one that does not exist.
import type { LinksFunction, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Link, useLoaderData } from "@remix-run/react";
import { LocalTime } from "~/components/local-time";
import { loadPaymentDetail } from "~/models/console-payments.server";
import pageStyles from "~/styles/console-pages.css?url";
import { getPrisma } from "~/utils/db.server";
import { requireOperator } from "~/utils/session.server";

export const links: LinksFunction = () => [{ rel: "stylesheet", href: pageStyles }];
export const meta: MetaFunction<typeof loader> = ({ data }) => [{ title: `${data ? `Payment ${data.dodoPaymentId}` : "Payment"} · StableFlow console` }];

export async function loader({ request, params }: LoaderFunctionArgs) {
  const auth = await requireOperator(request);
  const payment = await loadPaymentDetail(await getPrisma(), auth.actor.organizationId, params.paymentId ?? "");
  if (!payment) throw new Response("Your organization has no payment with this id. Find it in the list of payments.", { status: 404 });
  return payment;
}

const time = (iso: string | null) => (iso ? <LocalTime value={iso} /> : "—");
const words = (text: string) => text.toLowerCase().replace(/_/g, " ");

export default function PaymentDetail() {
  const p = useLoaderData<typeof loader>();
  return (
    <>
      <p>
        <Link to="/console/payments">← Payments</Link>
      </p>
      <h1 className="ids">
        Payment <code>{p.label}</code>
      </h1>
      <dl className="facts">
        <dt>Status</dt>
        <dd data-testid="status">{words(p.status)}</dd>
        <dt>Total</dt>
        <dd data-testid="total">{p.total}</dd>
        <dt>Settlement</dt>
        <dd>{p.settlement ?? "not reported yet"}</dd>
        <dt>Refunded</dt>
        <dd>{p.refunded}</dd>
        <dt>Distributable (net)</dt>
        <dd data-testid="net">{p.net ?? "none yet (no settlement amount)"}</dd>
        <dt>Dispute</dt>
        <dd>{p.disputeState === "NONE" ? "none" : words(p.disputeState)}</dd>
        <dt>Payout hold</dt>
        <dd>{p.hold ? words(p.hold) : "none"}</dd>
        {p.reviewReason ? (
          <>
            <dt>Needs review</dt>
            <dd className="bad">{p.reviewReason}</dd>
          </>
        ) : null}
        <dt>Our id</dt>
        <dd>
          <code>{p.id}</code>
        </dd>
        <dt>Recorded</dt>
        <dd>{time(p.createdAt)}</dd>
      </dl>

      <h2 id="events-heading">Webhook deliveries</h2>
      {p.events.length === 0 ? (
        <p className="muted">No delivery named this payment.</p>
      ) : (
        <div className="scroll">
          <table aria-labelledby="events-heading">
            <thead>
              <tr><th scope="col">webhook-id</th><th scope="col">Event</th><th scope="col">Outcome</th><th scope="col">Sent by Dodo</th><th scope="col">Received</th></tr>
            </thead>
            <tbody>
              {p.events.map((e) => (
                <tr key={e.webhookId} data-event={e.webhookId}>
                  <td><code>{e.webhookId}</code></td>
                  <td>{e.eventType}</td>
                  <td>{words(e.status)}{e.error ? <span className="bad"> — {e.error}</span> : null}</td>
                  <td className="muted">{time(e.sentAt)}</td>
                  <td className="muted">{time(e.receivedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}

      <h2 id="refunds-heading">Refunds</h2>
      {p.refunds.length === 0 ? (
        <p className="muted">No refund.</p>
      ) : (
        <div className="scroll">
          <table aria-labelledby="refunds-heading">
            <thead>
              <tr><th scope="col">Refund</th><th scope="col">Status</th><th scope="col" className="num">Amount</th><th scope="col">Reason</th><th scope="col">Review</th></tr>
            </thead>
            <tbody>
              {p.refunds.map((r) => (
                <tr key={r.dodoRefundId} data-refund={r.dodoRefundId}>
                  <td><code>{r.dodoRefundId}</code></td>
                  <td>{words(r.status)}</td>
                  <td className="num">{r.amount}</td>
                  <td>{r.reason ?? "—"}</td>
                  <td>{r.review ?? "—"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}

      <h2 id="disputes-heading">Disputes</h2>
      {p.disputes.length === 0 ? (
        <p className="muted">No dispute.</p>
      ) : (
        <div className="scroll">
          <table aria-labelledby="disputes-heading">
            <thead>
              <tr><th scope="col">Dispute</th><th scope="col">Status</th><th scope="col">Stage</th><th scope="col" className="num">Amount</th><th scope="col">Review</th></tr>
            </thead>
            <tbody>
              {p.disputes.map((d) => (
                <tr key={d.dodoDisputeId} data-dispute={d.dodoDisputeId}>
                  <td><code>{d.dodoDisputeId}</code></td>
                  <td>{words(d.status)}</td>
                  <td>{d.stage ? words(d.stage) : "—"}</td>
                  <td className="num">{d.amount}</td>
                  <td>{d.review ?? "—"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}

      <h2 id="runs-heading">Payout runs</h2>
      {p.runs.length === 0 ? (
        <p className="muted">No payout run: runs are compiled from succeeded payments by the active payout policy.</p>
      ) : (
        <div className="scroll">
          <table aria-labelledby="runs-heading">
            <thead>
              <tr><th scope="col">Run</th><th scope="col">Kind</th><th scope="col">Status</th><th scope="col" className="num">Distributable</th><th scope="col" className="num">Transfers</th><th scope="col" className="num">To treasury</th></tr>
            </thead>
            <tbody>
              {p.runs.map((r) => (
                <tr key={r.id}>
                  <td><code>{r.shortId}</code></td>
                  <td>{words(r.kind)}</td>
                  <td>{words(r.status)}</td>
                  <td className="num">{r.distributable}</td>
                  <td className="num">{r.transferred}</td>
                  <td className="num">{r.remainder}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}

      <h2 id="audit-heading">Audit trail</h2>
      {p.audit.length === 0 ? (
        <p className="muted">Nothing recorded for this payment.</p>
      ) : (
        <div className="scroll">
          <table aria-labelledby="audit-heading">
            <thead>
              <tr><th scope="col">#</th><th scope="col">Action</th><th scope="col">Entity</th><th scope="col">By</th><th scope="col">At</th></tr>
            </thead>
            <tbody>
              {p.audit.map((a) => (
                <tr key={a.id} data-audit={a.action}>
                  <td className="num">{a.id}</td>
                  <td>{a.action}</td>
                  <td>{a.entity}</td>
                  <td>{a.actor}{a.actorId ? <code className="muted"> {a.actorId.slice(0, 24)}</code> : null}</td>
                  <td className="muted">{time(a.createdAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
