// The landing page: what StableFlow is and where each kind of user goes.
import type { MetaFunction } from "@remix-run/node";
import { useLoaderData } from "@remix-run/react";
import { deploymentModes } from "~/models/health.server";

export const meta: MetaFunction = () => [
  { title: "StableFlow" },
  { name: "description", content: "From Dodo Payments revenue to stablecoin payouts on Solana." },
];

export async function loader() {
  return deploymentModes();
}

export default function Index() {
  const modes = useLoaderData<typeof loader>();
  return (
    <main className="page">
      <h1>StableFlow</h1>
      <p>
        Revenue in, stablecoin out: customers pay through Dodo Payments, every payment lands once in the ledger,
        payout policies split it, and the split settles on Solana where every recipient can verify it.
      </p>
      {(modes.dodo === "simulator" || modes.database === "embedded" || modes.chain === "embedded") && (
        <p className="banner" role="status">
          Development mode: {modes.database === "embedded" ? "embedded database" : "PostgreSQL"},{" "}
          {modes.dodo === "simulator" ? "local checkout simulator (no real money)" : `Dodo ${modes.dodo}`},{" "}
          {modes.chain === "embedded" ? "embedded Solana chain with a demo stablecoin (test data)" : "Solana RPC endpoint"}.
        </p>
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
