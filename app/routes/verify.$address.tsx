// /verify/:address: every settled payout to a wallet or token account, each checked live against the chain
// (pass or fail per check, with the reason), with explorer links and a proof download. Public: no sign-in,
// rate limited per client address; it shows nothing but the payouts to this address.
import type { HeadersFunction, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { isRouteErrorResponse, Link, useLoaderData, useRouteError } from "@remix-run/react";
import { ClusterProvider } from "~/components/explorer";
import { PayoutCard, VerifyForm } from "~/components/verify-payout";
import { loadVerifyPage } from "~/settlement/verify-pages.server";

export const meta: MetaFunction = ({ params }) => [
  { title: `Payouts to ${(params.address ?? "").slice(0, 12)}… · Verify · StableFlow` },
  // The address is in the URL: it goes to no other site.
  { name: "referrer", content: "same-origin" },
];

// The loader's Cache-Control, and a refusal's Retry-After, reach the document response.
export const headers: HeadersFunction = ({ loaderHeaders, errorHeaders }) => errorHeaders ?? loaderHeaders;

export function loader({ params, request, context }: LoaderFunctionArgs) {
  return loadVerifyPage({ address: params.address, page: new URL(request.url).searchParams.get("page"), context });
}

function Crumbs() {
  return <nav className="crumbs"><Link to="/">StableFlow</Link> / <Link to="/verify">Verify a payout</Link></nav>;
}

export default function VerifyAddress() {
  const result = useLoaderData<typeof loader>();
  const { address, payouts, total, page, pageSize } = result;
  const verified = payouts.filter((p) => p.verification.state === "verified").length;
  const failed = payouts.filter((p) => p.verification.state === "failed").length;
  const unchecked = payouts.length - verified - failed;
  const first = (page - 1) * pageSize + 1;
  const last = first + payouts.length - 1;
  return (
    <ClusterProvider value={result.cluster}>
      <main className="page verify">
        <Crumbs />
        <h1>Payouts to this address</h1>
        <p className="mono-wrap"><code data-testid="address">{address}</code></p>
        <VerifyForm defaultValue={address} />
        {result.canSign ? (
          <p>
            <Link to={`/verify/${address}/balances`} data-testid="balances-link">Held-back balances</Link>{" "}
            <span className="muted">(what is kept for you or owed back, and why: sign a message with this wallet to see them)</span>
          </p>
        ) : null}
        <p className="muted" data-testid="cluster">
          Cluster: {result.cluster === "localnet" ? "local chain (test data, no real money)" : result.cluster}
        </p>
        {result.chainError ? <p className="banner" role="alert" data-testid="chain-error">{result.chainError}</p> : null}
        {total === 0 ? (
          <p className="card" role="status" data-testid="no-payouts">
            No settled payout to this address. If you expect one, ask the organization that pays you for the address it pays
            to: a payout appears here once its transaction is confirmed.
          </p>
        ) : (
          <>
            <p role="status" data-testid="summary">
              {total === 1 ? "1 settled payout" : `${total} settled payouts`}
              {total > payouts.length ? ` (showing ${first} to ${last}, newest first)` : ""}: {verified} verified
              {failed ? `, ${failed} failed` : ""}
              {unchecked ? `, ${unchecked} not checked` : ""}.
            </p>
            {payouts.map((payout) => (
              <PayoutCard key={`${payout.batchId}-${payout.position}`} payout={payout} proofUrl={`/verify/${address}/proof/${payout.batchId}`} />
            ))}
            {total > pageSize ? (
              <nav className="verify-pages" aria-label="More payouts">
                {page > 1 ? <Link to={`/verify/${address}?page=${page - 1}`}>Newer payouts</Link> : null}
                {last < total ? <Link to={`/verify/${address}?page=${page + 1}`}>Older payouts</Link> : null}
              </nav>
            ) : null}
          </>
        )}
        <h2>How this is checked</h2>
        <ul className="muted">
          <li><strong>Cluster</strong>: the chain answering is the one the payout was made on (its genesis hash).</li>
          <li><strong>SplitRecord</strong>: the payout program's record at the address derived from the treasury, run and batch exists, belongs to the program, and states the same run, batch, number of recipients and total.</li>
          <li><strong>Plan hash</strong>: the batch's published transfer list, hashed as the program hashes it, equals the hash the program stored when it paid.</li>
          <li><strong>Transaction</strong>: the transaction executed this batch and raised your token account's balance by exactly the amount.</li>
        </ul>
      </main>
    </ClusterProvider>
  );
}

/** Invalid input and the rate limit answer with the form again; anything else says little. */
export function ErrorBoundary() {
  const error = useRouteError();
  const known =
    isRouteErrorResponse(error) && typeof error.data === "object" && error.data !== null && "message" in error.data
      ? (error.data as { kind?: string; message: string; input?: string })
      : undefined;
  return (
    <main className="page verify">
      <Crumbs />
      <h1>{known?.kind === "rate_limited" ? "Too many lookups" : known ? "Verify a payout" : "Something went wrong"}</h1>
      {known?.kind === "rate_limited" ? (
        <p className="banner" role="alert" data-testid="rate-limited">{known.message}</p>
      ) : known ? (
        <VerifyForm defaultValue={known.input} error={known.message} />
      ) : (
        <p role="alert">The error was logged. Try again in a moment.</p>
      )}
    </main>
  );
}
