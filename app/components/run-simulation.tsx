// The preview of a READY run (app/settlement/run-simulation.server.ts) as a table: per batch whether the
// simulation succeeded, compute units and fees, and who would be held out or get a token account first.
import { LocalTime } from "./local-time";

export interface SimulationView {
  ok: boolean;
  vaultBalance: string | null;
  vaultShortBy: string | null;
  estimatedLamports: string;
  tokenAccounts: number;
  tokenAccountRentLamports: string;
  tokenAccountFeeLamports: string;
  lookupTableAddresses: number;
  simulatedAt: string;
  batches: {
    index: number;
    version: string;
    recipients: number;
    total: string;
    success: boolean;
    computeUnits: number | null;
    computeUnitLimit: number | null;
    feeLamports: string | null;
    splitRecordRentLamports: string;
    error: string | null;
    note: string | null;
    heldOut: { recipientName: string; tokenAccount: string; amount: string; reason: string }[];
    tokenAccountsCreated: { recipientName: string; tokenAccount: string }[];
  }[];
}

const lamports = (text: string) => `${BigInt(text).toLocaleString("en-US")} lamports`;

export function RunSimulationPreview({ simulation, error }: { simulation: SimulationView | null; error: string | null }) {
  return (
    <section aria-labelledby="simulation-heading" className="card">
      <h2 id="simulation-heading">Simulation before approval</h2>
      {error ? (
        <p className="bad" role="alert">
          {error}
        </p>
      ) : null}
      {simulation ? (
        <>
          <p className={simulation.ok ? "ok" : "bad"} data-simulation-ok={simulation.ok}>
            {simulation.ok
              ? "Every batch simulated successfully: nobody would be held out and the vault holds enough."
              : simulation.vaultShortBy
                ? `The vault is short by ${simulation.vaultShortBy}: deposit before approving.`
                : "Not every recipient can be paid as things stand: see the batches below."}
          </p>
          <p className="muted" data-estimated-lamports={simulation.estimatedLamports}>
            Vault balance {simulation.vaultBalance ?? "unknown (no vault)"}; estimated cost {lamports(simulation.estimatedLamports)}
            {simulation.tokenAccounts > 0
              ? ` including ${simulation.tokenAccounts} token account(s) created first (${lamports(simulation.tokenAccountRentLamports)} rent, ${lamports(simulation.tokenAccountFeeLamports)} in fees)`
              : ""}
            {simulation.lookupTableAddresses > 0 ? `; ${simulation.lookupTableAddresses} address(es) to add to a lookup table` : ""}. Simulated at <LocalTime value={simulation.simulatedAt} />.
          </p>
          <div className="scroll">
            <table aria-labelledby="simulation-heading">
              <thead>
                <tr>
                  <th scope="col">Batch</th>
                  <th scope="col">Shape</th>
                  <th scope="col" className="num">Recipients</th>
                  <th scope="col" className="num">Total</th>
                  <th scope="col">Simulation</th>
                  <th scope="col" className="num">Compute units</th>
                  <th scope="col" className="num">Fee</th>
                  <th scope="col">Held out or prepared</th>
                </tr>
              </thead>
              <tbody>
                {simulation.batches.map((b) => (
                  <tr key={b.index} data-simulated-batch={b.index} data-success={b.success}>
                    <td>#{b.index}</td>
                    <td>{b.version === "V0" ? "v0 + lookup table" : "legacy"}</td>
                    <td className="num">{b.recipients}</td>
                    <td className="num">{b.total}</td>
                    <td>
                      {b.success ? "succeeds" : <span className="bad">fails{b.error ? `: ${b.error}` : ""}</span>}
                      {b.note ? <span className="muted"> ({b.note})</span> : null}
                    </td>
                    <td className="num">
                      {b.computeUnits === null ? "—" : `${b.computeUnits.toLocaleString("en-US")} (limit ${b.computeUnitLimit?.toLocaleString("en-US")})`}
                    </td>
                    <td className="num">{b.feeLamports === null ? "—" : lamports(b.feeLamports)}</td>
                    <td>
                      {b.heldOut.length === 0 && b.tokenAccountsCreated.length === 0 ? <span className="muted">none</span> : null}
                      <ul className="plain">
                        {b.heldOut.map((h) => (
                          <li key={h.tokenAccount} className="bad">
                            {h.recipientName} ({h.amount}) held out: {h.reason}
                          </li>
                        ))}
                        {b.tokenAccountsCreated.map((h) => (
                          <li key={h.tokenAccount}>{h.recipientName}: token account created first</li>
                        ))}
                      </ul>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      ) : null}
    </section>
  );
}
