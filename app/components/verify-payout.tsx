// Pieces of the public verification page: the address form (a plain GET form, works without JavaScript)
// and one payout with its live checks, its batch's published transfer list and its proof download.
import { Form } from "@remix-run/react";
import { AccountLink, TokenAmount, TransactionLink } from "~/components/explorer";

export function VerifyForm({ defaultValue, error }: { defaultValue?: string; error?: string }) {
  return (
    <Form method="get" action="/verify" className="card verify-form" role="search">
      <label htmlFor="verify-address">Your wallet address or token account</label>
      <div className="verify-form-row">
        <input
          id="verify-address"
          name="address"
          defaultValue={defaultValue}
          autoComplete="off"
          spellCheck={false}
          inputMode="text"
          maxLength={64}
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? "verify-address-error" : "verify-address-hint"}
        />
        <button type="submit">Verify</button>
      </div>
      {error ? (
        <p id="verify-address-error" className="bad" role="alert">{error}</p>
      ) : (
        <p id="verify-address-hint" className="muted">A Solana address in base58, 32 to 44 characters. Nothing to sign, no account needed.</p>
      )}
    </Form>
  );
}

export interface CheckView {
  check: "cluster" | "record" | "plan_hash" | "transaction";
  ok: boolean;
  detail: string;
}

export interface PayoutView {
  batchId: string;
  organizationName: string;
  runId: string;
  batchIndex: number;
  treasury: string | null;
  splitRecord?: string;
  tokenAccount: string;
  amount: string;
  decimals: number;
  position: number;
  signature: string;
  slot: string;
  confirmedAt: string;
  transfers: { tokenAccount: string; amount: string }[];
  verification: { state: "verified" | "failed"; checks: CheckView[] } | { state: "unchecked"; reason: string };
}

const CHECK_LABELS: Record<CheckView["check"], string> = {
  cluster: "Cluster",
  record: "SplitRecord on chain",
  plan_hash: "Plan hash of the transfer list",
  transaction: "Transaction paid this account",
};

function StatusBadge({ state }: { state: PayoutView["verification"]["state"] }) {
  if (state === "verified") return <span className="verify-badge ok" data-testid="payout-status">Verified on chain</span>;
  if (state === "failed") return <span className="verify-badge bad" data-testid="payout-status">Verification failed</span>;
  return <span className="verify-badge warn" data-testid="payout-status">Not checked</span>;
}

export function PayoutCard({ payout, proofUrl }: { payout: PayoutView; proofUrl: string }) {
  const { verification } = payout;
  const headingId = `payout-${payout.batchId}-${payout.position}`;
  return (
    <article className="card verify-payout" aria-labelledby={headingId} data-testid="payout" data-batch={payout.batchId} data-state={verification.state}>
      <header className="verify-payout-head">
        <h2 id={headingId}>
          <TokenAmount amount={payout.amount} decimals={payout.decimals} /> <span className="muted">from</span> {payout.organizationName}
        </h2>
        <StatusBadge state={verification.state} />
      </header>
      <dl className="verify-facts">
        <dt>Amount</dt>
        <dd data-testid="payout-amount" data-amount={payout.amount}>
          <TokenAmount amount={payout.amount} decimals={payout.decimals} /> ({payout.amount} base units, {payout.decimals} decimals)
        </dd>
        <dt>Paid to token account</dt>
        <dd><AccountLink address={payout.tokenAccount} full /></dd>
        <dt>Run</dt>
        <dd><code data-testid="payout-run">{payout.runId}</code></dd>
        <dt>Batch</dt>
        <dd data-testid="payout-batch">{payout.batchIndex}, entry {payout.position + 1} of {payout.transfers.length}</dd>
        <dt>Transaction</dt>
        <dd><TransactionLink signature={payout.signature} full /></dd>
        <dt>Slot</dt>
        <dd data-testid="payout-slot">{payout.slot}</dd>
        <dt>Settled</dt>
        <dd><time dateTime={payout.confirmedAt}>{payout.confirmedAt.replace("T", " ").replace(/\.\d+Z$/, " UTC")}</time></dd>
        {payout.treasury ? (
          <>
            <dt>Treasury</dt>
            <dd><AccountLink address={payout.treasury} full /></dd>
          </>
        ) : null}
        {payout.splitRecord ? (
          <>
            <dt>SplitRecord</dt>
            <dd><AccountLink address={payout.splitRecord} full /></dd>
          </>
        ) : null}
      </dl>

      <h3>Checked live against the chain</h3>
      {verification.state === "unchecked" ? (
        <p className="warn" role="status" data-testid="payout-unchecked">{verification.reason}</p>
      ) : (
        <ul className="verify-checks" data-testid="checks">
          {verification.checks.map((c) => (
            <li key={c.check} className={c.ok ? "ok" : "bad"} data-testid={`check-${c.check}`} data-ok={c.ok ? "true" : "false"}>
              <strong>{c.ok ? "Pass" : "Fail"}: {CHECK_LABELS[c.check]}.</strong> <span className="verify-detail">{c.detail}</span>
            </li>
          ))}
        </ul>
      )}

      <details className="verify-transfers">
        <summary>The batch's published transfer list ({payout.transfers.length} {payout.transfers.length === 1 ? "entry" : "entries"}, what the plan hash commits to)</summary>
        <table data-testid="transfers">
          <thead>
            <tr><th scope="col">#</th><th scope="col">Token account</th><th scope="col" className="num">Amount</th></tr>
          </thead>
          <tbody>
            {payout.transfers.map((t, i) => (
              <tr key={`${i}-${t.tokenAccount}`} className={i === payout.position ? "mine" : undefined} aria-current={i === payout.position ? "true" : undefined}>
                <td>{i + 1}</td>
                <td><AccountLink address={t.tokenAccount} /></td>
                <td className="num" data-amount={t.amount}><TokenAmount amount={t.amount} decimals={payout.decimals} /></td>
              </tr>
            ))}
          </tbody>
        </table>
      </details>

      <p>
        <a href={proofUrl} download className="button secondary" data-testid="proof-download">Download the proof (JSON)</a>{" "}
        <span className="muted">then check it yourself: <code>npm run verify -- proof.json --rpc URL</code></span>
      </p>
    </article>
  );
}
