// /explorer/account/:address: an account's owner and lamports, and its data decoded when the program's IDL
// (Treasury, SplitRecord) or the token program's layout (token account, mint) knows it.
import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { useLoaderData } from "@remix-run/react";
import { AccountLink, ExplorerFrame, TokenAmount } from "~/components/explorer";
import { loadExplainedAccount } from "~/settlement/explorer-pages.server";

export const meta: MetaFunction<typeof loader> = ({ data }) => [
  { title: data ? `Account ${data.account.address.slice(0, 12)}… · StableFlow explorer` : "Account · StableFlow explorer" },
];

export async function loader({ params }: LoaderFunctionArgs) {
  return loadExplainedAccount(params.address ?? "");
}

export default function AccountPage() {
  const { account, cluster, publicUrl } = useLoaderData<typeof loader>();
  const decoded = account.decoded;
  return (
    <ExplorerFrame cluster={cluster} title={decoded.kind === "Unknown" ? "Account" : decoded.kind} publicUrl={publicUrl}>
      <p className="mono-wrap"><code data-testid="address">{account.address}</code></p>
      <table className="facts">
        <tbody>
          <tr><th scope="row">Owner</th><td><AccountLink address={account.owner} />{account.ownerName ? ` (${account.ownerName})` : ""}</td></tr>
          <tr><th scope="row">Lamports</th><td data-testid="lamports">{account.lamports}</td></tr>
          <tr><th scope="row">Data</th><td>{account.dataLength} bytes{account.executable ? ", executable" : ""}</td></tr>
          <tr><th scope="row">Kind</th><td data-testid="kind">{decoded.kind}</td></tr>
        </tbody>
      </table>
      {(decoded.kind === "Treasury" || decoded.kind === "SplitRecord") && (
        <>
          <h2>{decoded.kind} (decoded with the program's IDL)</h2>
          <table className="facts" data-testid="decoded-fields">
            <tbody>
              {decoded.fields.map((f) => (
                <tr key={f.name}>
                  <th scope="row">{f.name}</th>
                  <td><code data-testid={`field-${f.name}`}>{f.value}</code></td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
      {decoded.kind === "TokenAccount" && (
        <>
          <h2>Token account</h2>
          <table className="facts">
            <tbody>
              <tr><th scope="row">Mint</th><td><AccountLink address={decoded.mint} full /></td></tr>
              <tr><th scope="row">Owner</th><td><AccountLink address={decoded.owner} full /></td></tr>
              <tr><th scope="row">Balance</th><td data-testid="token-balance" data-amount={decoded.amount}><TokenAmount amount={decoded.amount} decimals={decoded.decimals} /></td></tr>
              <tr><th scope="row">State</th><td data-testid="token-state">{decoded.state}</td></tr>
            </tbody>
          </table>
        </>
      )}
      {decoded.kind === "Mint" && (
        <>
          <h2>Mint</h2>
          <table className="facts">
            <tbody>
              <tr><th scope="row">Decimals</th><td data-testid="mint-decimals">{decoded.decimals}</td></tr>
              <tr><th scope="row">Supply</th><td><TokenAmount amount={decoded.supply} decimals={decoded.decimals} /></td></tr>
              <tr><th scope="row">Mint authority</th><td>{decoded.mintAuthority ? <AccountLink address={decoded.mintAuthority} /> : "none"}</td></tr>
              <tr><th scope="row">Freeze authority</th><td>{decoded.freezeAuthority ? <AccountLink address={decoded.freezeAuthority} /> : "none"}</td></tr>
            </tbody>
          </table>
        </>
      )}
    </ExplorerFrame>
  );
}

export { ExplorerErrorBoundary as ErrorBoundary } from "~/components/explorer";
