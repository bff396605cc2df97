// Pieces of the explorer pages: the frame (cluster label, search), links to accounts and transactions
// (the app's own page, plus explorer.solana.com on public clusters), exact token amounts, the 404.
import { createContext, useContext } from "react";
import { isRouteErrorResponse, Link, useRouteError } from "@remix-run/react";
import { formatMoney } from "~/ledger/money";

export type ClusterLabel = "mainnet-beta" | "devnet" | "testnet" | "localnet";

const ClusterContext = createContext<ClusterLabel>("localnet");

/** Names the cluster for the links inside it, on pages other than the explorer's own (e.g. /verify). */
export const ClusterProvider = ClusterContext.Provider;

function publicLink(cluster: ClusterLabel, kind: "tx" | "address", id: string): string | undefined {
  if (cluster === "localnet") return undefined;
  return `https://explorer.solana.com/${kind}/${encodeURIComponent(id)}${cluster === "mainnet-beta" ? "" : `?cluster=${cluster}`}`;
}

function short(id: string): string {
  return id.length > 20 ? `${id.slice(0, 8)}…${id.slice(-8)}` : id;
}

export function AccountLink({ address, full = false }: { address: string; full?: boolean }) {
  const cluster = useContext(ClusterContext);
  const external = publicLink(cluster, "address", address);
  return (
    <>
      <Link to={`/explorer/account/${address}`} title={address}><code>{full ? address : short(address)}</code></Link>
      {external ? <> <a href={external} rel="noreferrer" className="muted">(explorer.solana.com)</a></> : null}
    </>
  );
}

export function TransactionLink({ signature, full = false }: { signature: string; full?: boolean }) {
  const cluster = useContext(ClusterContext);
  const external = publicLink(cluster, "tx", signature);
  return (
    <>
      <Link to={`/explorer/tx/${signature}`} title={signature}><code>{full ? signature : short(signature)}</code></Link>
      {external ? <> <a href={external} rel="noreferrer" className="muted">(explorer.solana.com)</a></> : null}
    </>
  );
}

/** An exact token amount from its base units as a decimal string (never through a float). */
export function TokenAmount({ amount, decimals, signed = false }: { amount: string; decimals?: number; signed?: boolean }) {
  const units = BigInt(amount);
  const text = decimals === undefined ? `${units} base units` : formatMoney(units, decimals);
  return <>{signed && units > 0n ? "+" : ""}{text}</>;
}

export function ExplorerFrame({
  cluster,
  title,
  publicUrl,
  children,
}: {
  cluster: ClusterLabel;
  title: string;
  publicUrl?: string;
  children: React.ReactNode;
}) {
  return (
    <ClusterContext.Provider value={cluster}>
      <main className="page explorer">
        <nav className="crumbs"><Link to="/">StableFlow</Link> / <Link to="/explorer">Explorer</Link></nav>
        <h1>{title}</h1>
        <p className="muted" data-testid="cluster">
          Cluster: {cluster === "localnet" ? "local chain (test data, no real money)" : cluster}
          {publicUrl ? <> · <a href={publicUrl} rel="noreferrer">open on explorer.solana.com</a></> : null}
        </p>
        {children}
      </main>
    </ClusterContext.Provider>
  );
}

/** The explorer's error page: a 404 says what was not found; nothing else leaks detail. */
export function ExplorerErrorBoundary() {
  const error = useRouteError();
  const notFound = isRouteErrorResponse(error) && error.status === 404;
  const unavailable = isRouteErrorResponse(error) && error.status === 503;
  return (
    <main className="page explorer">
      <nav className="crumbs"><Link to="/">StableFlow</Link> / <Link to="/explorer">Explorer</Link></nav>
      <h1>{notFound ? "Not found" : unavailable ? "Chain unavailable" : "Something went wrong"}</h1>
      <p data-testid="explorer-error">
        {isRouteErrorResponse(error) && typeof error.data === "string" ? error.data : "The error was logged. Try again in a moment."}
      </p>
      <p><Link to="/explorer">Search for another signature or address</Link></p>
    </main>
  );
}
