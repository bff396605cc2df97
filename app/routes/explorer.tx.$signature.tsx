// /explorer/tx/:signature: a transaction as the chain reports it, decoded through the program's IDL.
import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { useLoaderData } from "@remix-run/react";
import { AccountLink, ExplorerFrame, TokenAmount } from "~/components/explorer";
import { loadExplainedTransaction } from "~/settlement/explorer-pages.server";

export const meta: MetaFunction<typeof loader> = ({ data }) => [
  { title: data ? `Transaction ${data.tx.signature.slice(0, 12)}… · StableFlow explorer` : "Transaction · StableFlow explorer" },
];

export async function loader({ params }: LoaderFunctionArgs) {
  return loadExplainedTransaction(params.signature ?? "");
}

export default function TransactionPage() {
  const { tx, cluster, publicUrl } = useLoaderData<typeof loader>();
  return (
    <ExplorerFrame cluster={cluster} title="Transaction" publicUrl={publicUrl}>
      <p className="mono-wrap"><code data-testid="signature">{tx.signature}</code></p>
      <table className="facts">
        <tbody>
          <tr><th scope="row">Status</th><td className={tx.status === "succeeded" ? "ok" : "bad"} data-testid="status">{tx.status}{tx.error ? `: ${tx.error}` : ""}</td></tr>
          <tr><th scope="row">Slot</th><td data-testid="slot">{tx.slot}</td></tr>
          <tr><th scope="row">Time</th><td>{tx.blockTime ? new Date(tx.blockTime * 1000).toISOString() : "unknown"}</td></tr>
          <tr><th scope="row">Fee</th><td data-testid="fee">{tx.fee} lamports</td></tr>
          <tr><th scope="row">Compute units</th><td data-testid="compute-units">{tx.computeUnits ?? "unknown"}</td></tr>
          <tr><th scope="row">Version</th><td>{tx.version}</td></tr>
        </tbody>
      </table>

      <h2>Instructions</h2>
      {tx.instructions.map((ix) => (
        <section className="card" key={ix.index} data-testid={`instruction-${ix.index}`}>
          <h3>
            #{ix.index} {ix.programName}
            {ix.name ? <>: <code data-testid="instruction-name">{ix.name}</code></> : null}
          </h3>
          {ix.args.length > 0 && (
            <dl className="args">
              {ix.args.filter((a) => a.name !== "amounts").map((arg) => (
                <div key={arg.name}>
                  <dt>{arg.name}</dt>
                  <dd><code data-testid={`arg-${arg.name}`}>{arg.value}</code></dd>
                </div>
              ))}
            </dl>
          )}
          {ix.split && (
            <table data-testid="split-recipients">
              <caption>{ix.split.recipients.length} recipients, total <TokenAmount amount={ix.split.total} decimals={tx.decimals} /></caption>
              <thead><tr><th scope="col">#</th><th scope="col">Recipient token account</th><th scope="col" className="num">Amount</th></tr></thead>
              <tbody>
                {ix.split.recipients.map((r, i) => (
                  <tr key={r.tokenAccount}>
                    <td>{i}</td>
                    <td><AccountLink address={r.tokenAccount} /></td>
                    <td className="num" data-amount={r.amount}><TokenAmount amount={r.amount} decimals={tx.decimals} /></td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <details>
            <summary>Accounts ({ix.accounts.length})</summary>
            <ul className="accounts">
              {ix.accounts.map((a, i) => (
                <li key={`${a.address}-${i}`}>
                  {a.name ? <span className="muted">{a.name}: </span> : null}
                  <AccountLink address={a.address} />
                  {a.signer ? " (signer)" : ""}
                  {a.writable ? " (writable)" : ""}
                </li>
              ))}
            </ul>
          </details>
        </section>
      ))}

      {tx.events.length > 0 && (
        <>
          <h2>Events</h2>
          {tx.events.map((event, i) => (
            <section className="card" key={i} data-testid={`event-${event.name}`}>
              <h3>{event.name}</h3>
              <dl className="args">
                {event.fields.map((f) => (
                  <div key={f.name}>
                    <dt>{f.name}</dt>
                    <dd><code data-testid={`event-field-${f.name}`}>{f.value}</code></dd>
                  </div>
                ))}
              </dl>
            </section>
          ))}
        </>
      )}

      {tx.tokenBalances.length > 0 && (
        <>
          <h2>Token balances</h2>
          <div className="scroll">
            <table data-testid="token-balances">
              <thead><tr><th scope="col">Account</th><th scope="col" className="num">Before</th><th scope="col" className="num">After</th><th scope="col" className="num">Change</th></tr></thead>
              <tbody>
                {tx.tokenBalances.map((b) => (
                  <tr key={b.account}>
                    <td><AccountLink address={b.account} /></td>
                    <td className="num"><TokenAmount amount={b.before} decimals={b.decimals} /></td>
                    <td className="num"><TokenAmount amount={b.after} decimals={b.decimals} /></td>
                    <td className="num"><TokenAmount amount={(BigInt(b.after) - BigInt(b.before)).toString()} decimals={b.decimals} signed /></td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}

      <h2>Logs</h2>
      <pre className="logs" data-testid="logs">{tx.logs.join("\n")}</pre>
    </ExplorerFrame>
  );
}

export { ExplorerErrorBoundary as ErrorBoundary } from "~/components/explorer";
