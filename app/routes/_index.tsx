// The landing page: what StableFlow is and where each kind of user goes.
import type { MetaFunction } from "@remix-run/node";
import { useLoaderData } from "@remix-run/react";
import { loadDemoShowcase } from "~/models/demo-seed.server";
import { deploymentModes } from "~/models/health.server";

export const meta: MetaFunction = () => [
  { title: "StableFlow" },
  { name: "description", content: "From Dodo Payments revenue to stablecoin payouts on Solana." },
];

export async function loader() {
  const modes = deploymentModes();
  // The embedded demo (decision 012): what the last purchase became, with its transaction.
  return { ...modes, demo: modes.chain === "embedded" ? await loadDemoShowcase().catch(() => null) : null };
}

export default function Index() {
  const modes = useLoaderData<typeof loader>();
  const demo = modes.demo;
  return (
    <main className="page">
      <h1>StableFlow</h1>
      <p>
        Revenue in, stablecoin out: customers pay through Dodo Payments, every payment lands once in the ledger,
        payout policies split it, and the split settles on Solana where every recipient can verify it.
      </p>
      {(modes.dodo === "simulator" || modes.database === "embedded" || modes.chain === "embedded") && (
        <p className="muted">
          Running on: {modes.database === "embedded" ? "embedded database" : "PostgreSQL"},{" "}
          {modes.dodo === "simulator" ? "local checkout simulator (no real money)" : `Dodo ${modes.dodo}`},{" "}
          {modes.chain === "embedded" ? "embedded Solana chain with a demo stablecoin (test data)" : "Solana RPC endpoint"}.
        </p>
      )}
      {demo && (
        <div className="card" data-testid="demo">
          <h2>Demo: a purchase becomes a settled split</h2>
          <p>
            A demo policy pays {demo.recipients.map((r) => r.name).join(", ")} from every purchase and approves small
            runs by itself. <a href="/shop">Buy something</a> with the simulator and come back.
          </p>
          {demo.latestRun ? (
            <p data-testid="demo-run" data-status={demo.latestRun.status}>
              The last purchase's payout run <code>{demo.latestRun.id.slice(0, 8)}</code> is{" "}
              <strong>{demo.latestRun.status.toLowerCase()}</strong>: {demo.latestRun.total} sUSD to {demo.latestRun.recipients} recipients.{" "}
              {demo.latestRun.signatures.map((signature) => (
                <a key={signature} href={`/explorer/tx/${signature}`} data-testid="demo-tx">
                  See the split on chain
                </a>
              ))}
              {demo.latestRun.signatures.length === 0 && "It settles within seconds; reload."}
            </p>
          ) : (
            <p className="muted">No purchase yet.</p>
          )}
        </div>
      )}
      <div className="card">
        <h2>Where to go</h2>
        <ul>
          <li><a href="/shop">Shop</a>: buy a product (customers)</li>
          <li><a href="/ledger">Ledger</a>: payments, payout runs, webhook deliveries and the audit trail</li>
          <li><a href="/explorer">Explorer</a>: transactions and accounts on the chain, decoded</li>
          <li><a href="/healthz">Health</a>: what this server runs on</li>
        </ul>
      </div>
    </main>
  );
}
