// The vault's balance as the chain reported it, or the sentence saying why it could not be read (never a
// silent zero), and the runway with its low-balance warning. Shared by the overview and the treasury page.
import type { TreasuryOverview } from "~/models/treasury-overview.server";

export function TreasuryStatus({ treasury, runway }: Pick<TreasuryOverview, "treasury" | "runway">) {
  if (treasury.status !== "ok") {
    return (
      <p className="card warn" role="status" data-treasury-status={treasury.status}>
        {treasury.sentence}
      </p>
    );
  }
  return (
    <>
      <p>
        Vault balance: <strong data-testid="vault-balance">{treasury.balanceText}</strong>
        {treasury.tokenLabel ? <span className="muted"> ({treasury.tokenLabel})</span> : null}
        {treasury.paused ? <strong className="bad"> · the treasury is paused: no split can execute</strong> : null}
      </p>
      {runway ? (
        <p data-testid="runway">
          {runway.averageRun === null
            ? "No payout run has been paid yet, so there is no average run to measure the balance against."
            : `That covers ${runway.runsCovered} average run${runway.runsCovered === "1" ? "" : "s"} of ${runway.averageRun} (the mean of the 20 newest paid runs). Compiled runs still owe ${runway.owed}.`}
        </p>
      ) : null}
      {runway && runway.warnings.length > 0 ? (
        <div className="card bad" role="alert" data-testid="low-balance">
          <strong>Low balance.</strong> {runway.warnings.join(" ")} Fund the vault from the <a href="/console/treasury">treasury page</a>.
        </div>
      ) : null}
    </>
  );
}
