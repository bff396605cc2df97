// /verify/:address/balances: a recipient signs a lookup message with their wallet (a browser wallet's
// signMessage, or any tool that signs the message's bytes, pasted in base58) and sees what the organizations
// paying them hold back, and why. Without JavaScript the paste path works; with it, a wallet button signs.
import type { ActionFunctionArgs, HeadersFunction, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Form, isRouteErrorResponse, Link, useActionData, useLoaderData, useRouteError } from "@remix-run/react";
import bs58 from "bs58";
import { useEffect, useRef, useState } from "react";
import { HeldBalances } from "~/components/verify-balances";
import { VerifyForm } from "~/components/verify-payout";
import { loadBalanceChallenge, submitBalanceLookup } from "~/settlement/verify-balances.server";

export const meta: MetaFunction = () => [{ title: "Held-back balances · Verify · StableFlow" }, { name: "referrer", content: "same-origin" }];

export const headers: HeadersFunction = ({ actionHeaders, loaderHeaders, errorHeaders }) => errorHeaders ?? (actionHeaders.has("Cache-Control") ? actionHeaders : loaderHeaders);

export function loader({ params, context }: LoaderFunctionArgs) {
  return loadBalanceChallenge({ address: params.address, context });
}

export function action({ params, request, context }: ActionFunctionArgs) {
  return submitBalanceLookup({ address: params.address, request, context });
}

interface InjectedWallet {
  publicKey?: { toString(): string };
  connect?: () => Promise<unknown>;
  signMessage(message: Uint8Array, encoding?: string): Promise<{ signature: Uint8Array } | Uint8Array>;
}

function injectedWallet(): InjectedWallet | undefined {
  const w = window as unknown as { solana?: InjectedWallet; phantom?: { solana?: InjectedWallet } };
  return w.phantom?.solana ?? w.solana;
}

function Crumbs({ address }: { address?: string }) {
  return (
    <nav className="crumbs">
      <Link to="/">StableFlow</Link> / <Link to="/verify">Verify a payout</Link>
      {address ? <> / <Link to={`/verify/${address}`}>Payouts</Link></> : null} / Held-back balances
    </nav>
  );
}

export default function BalancesPage() {
  const { address, message: loaderMessage } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const message = result && !result.ok ? result.message : loaderMessage;
  const [walletReady, setWalletReady] = useState(false);
  const [walletError, setWalletError] = useState<string>();
  const formRef = useRef<HTMLFormElement>(null);
  const signatureRef = useRef<HTMLTextAreaElement>(null);
  useEffect(() => setWalletReady(injectedWallet() !== undefined), []);

  async function signWithWallet() {
    setWalletError(undefined);
    const wallet = injectedWallet();
    try {
      if (!wallet) throw new Error("no browser wallet found");
      await wallet.connect?.();
      const signed = await wallet.signMessage(new TextEncoder().encode(message), "utf8");
      const bytes = signed instanceof Uint8Array ? signed : signed.signature;
      signatureRef.current!.value = bs58.encode(bytes);
      formRef.current!.requestSubmit();
    } catch (error) {
      setWalletError(`The wallet did not sign (${error instanceof Error ? error.message : String(error)}). You can paste a signature instead.`);
    }
  }

  return (
    <main className="page verify">
      <Crumbs address={address} />
      <h1>Held-back balances</h1>
      <p className="mono-wrap"><code data-testid="address">{address}</code></p>
      {result?.ok ? (
        <HeldBalances organizations={result.organizations} />
      ) : (
        <>
          <p>
            What an organization keeps for you until a later run (a share below your minimum payout, or held for its payout
            schedule) and what you owe back after a refund is shown only to the wallet's holder: sign this message with the
            wallet to see it. Signing moves no funds.
          </p>
          {result && !result.ok ? <p className="bad" role="alert" data-testid="balance-error">{result.error}</p> : null}
          <Form method="post" className="card verify-sign" ref={formRef}>
            <label htmlFor="balance-message">Message to sign</label>
            <textarea id="balance-message" readOnly rows={8} value={message} data-testid="balance-message" />
            <input type="hidden" name="message" value={message} />
            {walletReady ? (
              <p>
                <button type="button" onClick={signWithWallet}>Sign with my wallet</button>
                {walletError ? <span className="bad" role="alert"> {walletError}</span> : null}
              </p>
            ) : null}
            <label htmlFor="balance-signature">Signature (base58)</label>
            <textarea id="balance-signature" name="signature" rows={3} ref={signatureRef} spellCheck={false} autoComplete="off" aria-describedby="balance-signature-hint" />
            <p id="balance-signature-hint" className="muted">The wallet's ed25519 signature of the message's UTF-8 bytes, as a browser wallet's signMessage makes it.</p>
            <button type="submit">Show my balances</button>
          </Form>
        </>
      )}
    </main>
  );
}

export function ErrorBoundary() {
  const error = useRouteError();
  const known =
    isRouteErrorResponse(error) && typeof error.data === "object" && error.data !== null && "message" in error.data
      ? (error.data as { kind?: string; message: string; input?: string })
      : undefined;
  return (
    <main className="page verify">
      <Crumbs />
      <h1>{known?.kind === "rate_limited" ? "Too many lookups" : known ? "Held-back balances" : "Something went wrong"}</h1>
      {known?.kind === "rate_limited" ? (
        <p className="banner" role="alert">{known.message}</p>
      ) : known ? (
        <VerifyForm defaultValue={known.input} error={known.message} />
      ) : (
        <p role="alert">The error was logged. Try again in a moment.</p>
      )}
    </main>
  );
}

