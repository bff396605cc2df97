// What organizations hold back for a wallet, shown to its holder after a signed lookup: per organization the
// balance owed to them and the clawback they owe, and the newest entries with the reason of each.
import { TokenAmount } from "~/components/explorer";

interface EntryView {
  kind: "ACCRUAL" | "ACCRUAL_PAID" | "CLAWBACK" | "CLAWBACK_NETTED" | "CLAWBACK_REVERSED";
  amount: string;
  decimals: number;
  at: string;
  reason: string;
  void: boolean;
}

interface OrganizationBalances {
  organizationName: string;
  decimals: number;
  balance: string;
  clawbackOwed: string;
  entries: EntryView[];
}

const KIND_LABELS: Record<EntryView["kind"], string> = {
  ACCRUAL: "Kept for you",
  ACCRUAL_PAID: "Paid from your balance",
  CLAWBACK: "Owed back",
  CLAWBACK_NETTED: "Settled from a share",
  CLAWBACK_REVERSED: "No longer owed",
};

export function HeldBalances({ organizations }: { organizations: OrganizationBalances[] }) {
  if (organizations.length === 0) {
    return <p className="card" role="status" data-testid="no-balances">No organization has this wallet as a recipient: nothing is held back for it.</p>;
  }
  return (
    <>
      <p role="status" className="ok" data-testid="balances-verified">Signature verified: these are this wallet's balances.</p>
      {organizations.map((org) => (
        <section key={org.organizationName} className="card" aria-label={org.organizationName} data-testid="balance-organization">
          <h2>{org.organizationName}</h2>
          <dl className="verify-facts">
            <dt>Held for you</dt>
            <dd data-testid="held-balance" data-amount={org.balance}><TokenAmount amount={org.balance} decimals={org.decimals} /> <span className="muted">(paid by a later run)</span></dd>
            <dt>You owe back</dt>
            <dd data-testid="clawback-owed" data-amount={org.clawbackOwed}><TokenAmount amount={org.clawbackOwed} decimals={org.decimals} /> <span className="muted">(netted against your later shares)</span></dd>
          </dl>
          {org.entries.length > 0 ? (
            <table data-testid="balance-entries">
              <caption className="muted">Newest entries first</caption>
              <thead>
                <tr><th scope="col">When</th><th scope="col">What</th><th scope="col" className="num">Amount</th></tr>
              </thead>
              <tbody>
                {org.entries.map((e, i) => (
                  <tr key={i} data-kind={e.kind} className={e.void ? "muted" : undefined}>
                    <td><time dateTime={e.at}>{e.at.slice(0, 10)}</time></td>
                    <td>
                      <strong>{KIND_LABELS[e.kind]}</strong>: <span data-testid="entry-reason">{e.reason}</span>
                      {e.void ? <em> (void: its run was cancelled)</em> : null}
                    </td>
                    <td className="num" data-amount={e.amount}><TokenAmount amount={e.amount} decimals={e.decimals} /></td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : null}
        </section>
      ))}
    </>
  );
}
