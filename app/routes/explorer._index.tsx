// /explorer: look up a transaction signature or an account address on the configured chain.
import { redirect, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, Link, useLoaderData } from "@remix-run/react";
import { parseAddress, parseSignature } from "~/settlement/explorer.server";

export const meta: MetaFunction = () => [{ title: "Explorer · StableFlow" }];

export async function loader({ request }: LoaderFunctionArgs) {
  const q = (new URL(request.url).searchParams.get("q") ?? "").trim();
  if (!q) return { q, error: null };
  if (parseSignature(q)) throw redirect(`/explorer/tx/${q}`);
  if (parseAddress(q)) throw redirect(`/explorer/account/${q}`);
  return { q: q.slice(0, 120), error: "That is neither a transaction signature nor an account address (both are base58)." };
}

export default function ExplorerIndex() {
  const { q, error } = useLoaderData<typeof loader>();
  return (
    <main className="page explorer">
      <nav className="crumbs"><Link to="/">StableFlow</Link> / Explorer</nav>
      <h1>Explorer</h1>
      <p>Transactions and accounts on the chain StableFlow settles on, decoded with the payout program's IDL.</p>
      <Form method="get" className="card">
        <label htmlFor="q">Signature or address</label>{" "}
        <input id="q" name="q" defaultValue={q} size={60} aria-invalid={error ? true : undefined} aria-describedby={error ? "q-error" : undefined} />{" "}
        <button type="submit">Look up</button>
        {error ? <p id="q-error" className="bad" role="alert">{error}</p> : null}
      </Form>
    </main>
  );
}
