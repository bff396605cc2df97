// GET /ledger: what the ledger holds right now — payments, payout runs, webhook deliveries, audit trail.
import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { useLoaderData } from "@remix-run/react";
import { loadLedgerView } from "~/models/ledger.server";
import { requireOperator } from "~/utils/session.server";

export const meta: MetaFunction = () => [{ title: "Ledger · StableFlow" }];

// Operators only (it lists customers' payments), and only their own organization's rows.
export async function loader({ request }: LoaderFunctionArgs) {
  const auth = await requireOperator(request);
  return loadLedgerView(auth.actor.organizationId);
}

const time = (iso: string) => iso.replace("T", " ").slice(0, 19);

export default function Ledger() {
  const { payments, runs, webhooks, audit, reviews, heldPayouts, failedDeliveries, conflicts } = useLoaderData<typeof loader>();
  return (
    <main className="page">
      <h1>Ledger</h1>
      <p className="muted">The newest 25 of each. Amounts are exact: minor units in the database, shown here as decimals.</p>

      <h2>Payments</h2>
      {payments.length === 0 ? (
        <p className="muted">No payment yet. <a href="/shop">Buy something</a> to see one arrive.</p>
      ) : (
        <table>
          <thead>
            <tr><th>Payment</th><th>Status</th><th className="num">Total</th><th className="num">Settlement</th><th className="num">Refunded</th><th className="num">Net</th><th>Dispute</th><th>Payout run</th><th>Updated</th></tr>
          </thead>
          <tbody>
            {payments.map((p) => (
              <tr key={p.id} data-payment={p.dodoPaymentId}>
                <td><code>{p.label}</code></td>
                <td>{p.status.toLowerCase()}</td>
                <td className="num">{p.total}</td>
                <td className="num">{p.settlement ?? "—"}</td>
                <td className="num">{p.refunded}</td>
                <td className="num">{p.net ?? "—"}</td>
                <td>{p.disputeState === "NONE" ? "—" : p.disputeState.toLowerCase()}</td>
                <td>{p.hold ? `held: ${p.hold.toLowerCase().replace(/_/g, " ")}` : p.run ? `${p.run.status.toLowerCase()} (${p.run.id.slice(0, 8)})` : "—"}</td>
                <td className="muted">{time(p.updatedAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}

      {(reviews.length > 0 || heldPayouts.length > 0 || failedDeliveries.length > 0 || conflicts > 0) && (
        <section aria-labelledby="attention">
          <h2 id="attention">Needs an operator</h2>
          {reviews.length > 0 && (
            <table>
              <thead><tr><th>Needs review</th><th>Id</th><th>Payment</th><th>Reason</th></tr></thead>
              <tbody>
                {reviews.map((r) => (
                  <tr key={`${r.entity}:${r.id}`} data-review={r.id}><td>{r.entity}</td><td><code>{r.id}</code></td><td><code>{r.dodoPaymentId}</code></td><td>{r.reason}</td></tr>
                ))}
              </tbody>
            </table>
          )}
          {heldPayouts.length > 0 && (
            <table>
              <thead><tr><th>Payout held</th><th>Reason</th></tr></thead>
              <tbody>
                {heldPayouts.map((h) => (
                  <tr key={h.paymentId} data-held={h.paymentId}><td><code>{h.payment}</code>{h.dead ? " (dead letter)" : ""}</td><td>{h.reason}</td></tr>
                ))}
              </tbody>
            </table>
          )}
          {failedDeliveries.length > 0 && (
            <table>
              <thead><tr><th>Delivery kept FAILED</th><th>Type</th><th>Error</th><th>Received</th></tr></thead>
              <tbody>
                {failedDeliveries.map((w) => (
                  <tr key={w.webhookId} data-failed={w.webhookId}><td><code>{w.webhookId}</code></td><td>{w.eventType}</td><td>{w.error}</td><td className="muted">{time(w.receivedAt)}</td></tr>
                ))}
              </tbody>
            </table>
          )}
          {failedDeliveries.length > 0 && <p className="muted">After a fix: <code>npm run webhooks -- replay --failed</code>.</p>}
          {conflicts > 0 && <p role="alert">{conflicts} redelivered webhook-id{conflicts === 1 ? "" : "s"} carried different bytes (kept; the first is authoritative).</p>}
        </section>
      )}

      <h2>Payout runs</h2>
      {runs.length === 0 ? (
        <p className="muted">No payout run yet: runs are compiled from succeeded payments by the active payout policy.</p>
      ) : (
        <table>
          <thead>
            <tr><th>Run</th><th>Kind</th><th>Status</th><th className="num">Distributable</th><th className="num">Transfers</th><th className="num">To treasury</th><th>Created</th></tr>
          </thead>
          <tbody>
            {runs.map((r) => (
              <tr key={r.id}>
                <td><code>{r.id.slice(0, 8)}</code></td>
                <td>{r.kind.toLowerCase()}</td>
                <td>{r.status.toLowerCase()}</td>
                <td className="num">{r.distributable}</td>
                <td className="num">{r.transferred} ({r.transferCount})</td>
                <td className="num">{r.remainder}</td>
                <td className="muted">{time(r.createdAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}

      <h2>Webhook deliveries</h2>
      {webhooks.length === 0 ? (
        <p className="muted">No delivery yet.</p>
      ) : (
        <table>
          <thead><tr><th>webhook-id</th><th>Type</th><th>Status</th><th>Received</th></tr></thead>
          <tbody>
            {webhooks.map((w) => (
              <tr key={w.webhookId}><td><code>{w.webhookId}</code></td><td>{w.eventType}</td><td>{w.status.toLowerCase()}</td><td className="muted">{time(w.receivedAt)}</td></tr>
            ))}
          </tbody>
        </table>
      )}

      <h2>Audit trail</h2>
      {audit.length === 0 ? (
        <p className="muted">Nothing recorded yet.</p>
      ) : (
        <table>
          <thead><tr><th>#</th><th>Action</th><th>Entity</th><th>Actor</th><th>At</th></tr></thead>
          <tbody>
            {audit.map((a) => (
              <tr key={a.id}><td className="num">{a.id}</td><td>{a.action}</td><td><code>{a.entity}</code></td><td>{a.actor}</td><td className="muted">{time(a.createdAt)}</td></tr>
            ))}
          </tbody>
        </table>
      )}
    </main>
  );
}
