// /verify: the public page where a recipient enters a wallet or token account address to check every
// payout StableFlow made to it against the chain. A GET form: it works without JavaScript.
import { data, redirect, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Link, useLoaderData } from "@remix-run/react";
import { VerifyForm } from "~/components/verify-payout";
import { parseVerifyAddress } from "~/settlement/verify-pages.server";

export const meta: MetaFunction = () => [
  { title: "Verify a payout · StableFlow" },
  { name: "description", content: "Check a StableFlow payout against the Solana chain, without trusting StableFlow." },
];

export async function loader({ request }: LoaderFunctionArgs) {
  const input = new URL(request.url).searchParams.get("address");
  if (input === null) return data({ input: "", error: undefined });
  const parsed = parseVerifyAddress(input);
  if (parsed.ok) throw redirect(`/verify/${parsed.address}`);
  return data({ input: input.slice(0, 64), error: parsed.message }, { status: 400 });
}

export default function VerifyIndex() {
  const { input, error } = useLoaderData<typeof loader>();
  return (
    <main className="page verify">
      <nav className="crumbs"><Link to="/">StableFlow</Link> / Verify a payout</nav>
      <h1>Verify a payout</h1>
      <p>
        Were you paid by an organization that settles with StableFlow? Enter your wallet address (or the token account you
        were paid to) to see every payout to it, each checked live against the chain: the program's SplitRecord, the plan hash
        of the batch's transfer list, and the transaction that raised your balance.
      </p>
      <VerifyForm defaultValue={input} error={error} />
      <p className="muted">
        Each payout's proof can be downloaded and checked without StableFlow, against any Solana RPC endpoint:{" "}
        <code>npm run verify -- proof.json --rpc URL</code>.
      </p>
    </main>
  );
}
