// GET /console/treasury: the organization's treasury on chain — vault address, mint and decimals, balance,
// the program's totals — how to fund it, and its history of deposits, withdrawals and splits read from the
// chain's transactions on the treasury account (25 a page, older pages by link). Reading only: funding and
// withdrawing are commands an operator runs on the server, where the authority's key is.
import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Link, useLoaderData } from "@remix-run/react";
import { LocalTime } from "~/components/local-time";
import { TreasuryStatus } from "~/components/treasury-status";
import { loadTreasuryPage } from "~/models/treasury-overview.server";
import { getDatabase } from "~/utils/db.server";
import { getEnv } from "~/utils/env.server";
import { requireOperator } from "~/utils/session.server";

export const meta: MetaFunction = () => [{ title: "Treasury · StableFlow console" }];

export async function loader({ request }: LoaderFunctionArgs) {
  const auth = await requireOperator(request);
  const before = new URL(request.url).searchParams.get("before");
  const page = await loadTreasuryPage(await getDatabase(), getEnv(), auth.organization, { before });
  return { ...page, slug: auth.organization.slug, paged: before !== null };
}

const KIND_WORDS = { deposit: "Deposit", withdrawal: "Withdrawal", split: "Payout split" } as const;

export default function ConsoleTreasury() {
  const { treasury, runway, history, slug, paged } = useLoaderData<typeof loader>();
  const org = slug === "default" ? "" : ` --org ${slug}`;
  return (
    <>
      <h1>Treasury</h1>
      <section aria-labelledby="state-heading" className="card">
        <h2 id="state-heading">Vault</h2>
        <TreasuryStatus treasury={treasury} runway={runway} />
        {treasury.vault ? (
          <dl className="facts">
            <dt>Vault (token account)</dt>
            <dd>
              <code data-testid="vault-address">{treasury.vault}</code> · <Link to={`/explorer/account/${treasury.vault}`}>explorer</Link>
            </dd>
            <dt>Treasury account</dt>
            <dd>
              <code>{treasury.treasury}</code> · <Link to={`/explorer/account/${treasury.treasury}`}>explorer</Link>
            </dd>
            <dt>Mint</dt>
            <dd>
              <code>{treasury.mint}</code>
              {treasury.status === "ok" ? ` (${treasury.decimals} decimals)` : null}
            </dd>
            {treasury.status === "ok" ? (
              <>
                <dt>Authority</dt>
                <dd>
                  <code>{treasury.authority}</code>
                </dd>
                <dt>Paid out by splits</dt>
                <dd>
                  {`${treasury.totalSettledText} in ${treasury.splitsExecuted} split${treasury.splitsExecuted === "1" ? "" : "s"}`} (the program&apos;s own totals)
                </dd>
                <dt>Chain</dt>
                <dd>
                  <code>{treasury.rpcUrl}</code>
                </dd>
              </>
            ) : null}
          </dl>
        ) : null}
      </section>

      <section aria-labelledby="fund-heading" className="card">
        <h2 id="fund-heading">How to fund it</h2>
        <p>
          On the server, with the treasury authority&apos;s key configured, run <code>npm run treasury -- fund &lt;amount&gt;{org}</code> (the amount in
          whole tokens, e.g. <code>2500.50</code>). It moves that amount from the authority&apos;s token account
          {treasury.status === "ok" ? (
            <>
              {" "}
              <code>{treasury.fundingAccount}</code>
            </>
          ) : null}{" "}
          into the vault through the payout program&apos;s <code>deposit</code> instruction, so the deposit appears in the history below and in{" "}
          <code>npm run reconcile</code>. <code>npm run treasury -- status{org}</code> prints the same figures as this page.
        </p>
        <p>
          Tokens sent straight to the vault address with an ordinary token transfer raise its balance too, but the program does not see them as a deposit:
          they are not listed below, and reconciliation reports the difference. Fund through the command.
        </p>
        <p>
          Withdrawals: <code>npm run treasury -- withdraw &lt;amount&gt; &lt;destination&gt;{org}</code>, where the destination is a wallet or a token
          account of the mint.
        </p>
      </section>

      <section aria-labelledby="history-heading">
        <h2 id="history-heading">History</h2>
        <p className="muted">
          Read from the chain: the transactions that touched the treasury account, newest first, with what the program reported in each (its Deposited,
          Withdrawn and SplitExecuted events). Nothing here comes from the ledger.
        </p>
        {history === null ? (
          <p>The history needs the treasury to be readable on the chain (see above).</p>
        ) : history.status === "unavailable" ? (
          <p className="card warn" role="status">
            {history.sentence}
          </p>
        ) : history.entries.length === 0 ? (
          <p>No deposit, withdrawal or split {paged ? "on this page" : "yet"}.</p>
        ) : (
          <div className="scroll">
            <table>
              <thead>
                <tr>
                  <th scope="col">When</th>
                  <th scope="col">What</th>
                  <th scope="col" className="num">Amount</th>
                  <th scope="col">From / to</th>
                  <th scope="col">Transaction</th>
                </tr>
              </thead>
              <tbody>
                {history.entries.map((e, i) => (
                  <tr key={`${e.signature}-${i}`} data-kind={e.kind}>
                    <td className="muted">{e.blockTime ? <LocalTime value={e.blockTime} /> : `slot ${e.slot}`}</td>
                    <td>{KIND_WORDS[e.kind]}</td>
                    <td className="num">{e.amount}</td>
                    <td>
                      <code className="wrap">{e.counterparty}</code>
                    </td>
                    <td>
                      <Link to={`/explorer/tx/${e.signature}`}>
                        <code className="wrap">{e.signature.slice(0, 16)}…</code>
                      </Link>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        {history?.status === "ok" && history.failed > 0 ? (
          <p className="muted">
            {history.failed} transaction{history.failed === 1 ? "" : "s"} on this page failed on chain and moved nothing.
          </p>
        ) : null}
        <nav aria-label="History pages">
          <p>
            {paged ? <Link to="/console/treasury">Newest</Link> : null}
            {paged && history?.status === "ok" && history.olderBefore ? " · " : null}
            {history?.status === "ok" && history.olderBefore ? <Link to={`/console/treasury?before=${history.olderBefore}`}>Older</Link> : null}
          </p>
        </nav>
      </section>
    </>
  );
}
