// Loaders of the explorer pages: resolve the chain, explain the transaction or account, and map what can
// go wrong to a page (404 for garbage or unknown ids, 503 when the chain does not answer), never a 500.
// Amounts leave as decimal strings.
import { getEnv } from "~/utils/env.server";
import { log } from "~/utils/log.server";
import { chainConfigFromEnv, publicExplorerUrl } from "./chain-config.server";
import { getChainClient, type ChainClient } from "./chain.server";
import { explainAccount, explainTransaction, ExplorerNotFoundError, type DecodedAccount } from "./explorer.server";
import { RpcError } from "./rpc-errors";

async function withChain<T>(what: string, fn: (client: ChainClient) => Promise<T>) {
  const client = getChainClient(chainConfigFromEnv(getEnv()));
  try {
    const [result, { cluster }] = await Promise.all([fn(client), client.cluster({ attempts: 2 })]);
    return { result, cluster };
  } catch (error) {
    if (error instanceof ExplorerNotFoundError) throw new Response(error.message, { status: 404 });
    if (error instanceof RpcError) {
      log.warn("explorer: chain did not answer", { what, code: error.code, error: error.message });
      throw new Response(`The chain at ${client.config.displayUrl} did not answer (${error.code}). Try again in a moment.`, { status: 503 });
    }
    throw error;
  }
}

export async function loadExplainedTransaction(signature: string) {
  const { result: tx, cluster } = await withChain("transaction", (client) => explainTransaction(client, signature));
  // A split pays one mint: the token balances name its decimals.
  const decimals = tx.tokenBalances[0]?.decimals;
  return {
    cluster,
    publicUrl: publicExplorerUrl(cluster, "tx", tx.signature),
    tx: {
      ...tx,
      decimals,
      fee: tx.fee.toString(),
      instructions: tx.instructions.map((ix) => ({
        ...ix,
        split: ix.split && {
          total: ix.split.total.toString(),
          recipients: ix.split.recipients.map((r) => ({ tokenAccount: r.tokenAccount, amount: r.amount.toString() })),
        },
      })),
      tokenBalances: tx.tokenBalances.map((b) => ({ ...b, before: b.before.toString(), after: b.after.toString() })),
    },
  };
}

type SerializedAccount =
  | Exclude<DecodedAccount, { kind: "TokenAccount" } | { kind: "Mint" }>
  | (Omit<Extract<DecodedAccount, { kind: "TokenAccount" }>, "amount"> & { amount: string })
  | (Omit<Extract<DecodedAccount, { kind: "Mint" }>, "supply"> & { supply: string });

function serializeDecoded(decoded: DecodedAccount): SerializedAccount {
  if (decoded.kind === "TokenAccount") return { ...decoded, amount: decoded.amount.toString() };
  if (decoded.kind === "Mint") return { ...decoded, supply: decoded.supply.toString() };
  return decoded;
}

export async function loadExplainedAccount(address: string) {
  const { result: account, cluster } = await withChain("account", (client) => explainAccount(client, address));
  return {
    cluster,
    publicUrl: publicExplorerUrl(cluster, "address", account.address),
    account: { ...account, lamports: account.lamports.toString(), decoded: serializeDecoded(account.decoded) },
  };
}
