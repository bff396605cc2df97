import { describe, expect, it } from "vitest";
import { PROGRAM_ID } from "./program";
import { chainConfigFromEnv, clusterOf, publicExplorerUrl, redactRpcUrl } from "./chain-config.server";

describe("chain configuration", () => {
  it("uses the embedded chain on its port when SOLANA_RPC_URL is unset, the endpoint otherwise", () => {
    expect(chainConfigFromEnv({ STABLEFLOW_CHAIN_PORT: 8899 })).toMatchObject({ mode: "embedded", rpcUrl: "http://127.0.0.1:8899", cluster: "localnet" });
    const rpc = chainConfigFromEnv({ STABLEFLOW_CHAIN_PORT: 8899, SOLANA_RPC_URL: "https://api.devnet.solana.com" });
    expect(rpc).toMatchObject({ mode: "rpc", rpcUrl: "https://api.devnet.solana.com" });
    expect(rpc.cluster).toBeUndefined();
    expect(rpc.programId.equals(PROGRAM_ID)).toBe(true);
    const own = chainConfigFromEnv({ STABLEFLOW_CHAIN_PORT: 8899, STABLEFLOW_PROGRAM_ID: "11111111111111111111111111111112" });
    expect(own.programId.toBase58()).toBe("11111111111111111111111111111112");
  });

  it("blanks every credential an RPC provider may put in the URL", () => {
    expect(redactRpcUrl("https://mainnet.helius-rpc.com/?api-key=abcd-1234-efgh")).toBe("https://mainnet.helius-rpc.com/?api-key=***");
    expect(redactRpcUrl("https://solana-mainnet.g.alchemy.com/v2/AbCdEfGhIjKlMnOpQrStUv")).toBe("https://solana-mainnet.g.alchemy.com/v2/***");
    expect(redactRpcUrl("https://user:pa55word@rpc.example.com/")).toBe("https://***:***@rpc.example.com/");
    expect(redactRpcUrl("http://127.0.0.1:8899")).toBe("http://127.0.0.1:8899/");
    expect(redactRpcUrl("not a url")).toBe("(unparseable URL)");
  });

  it("knows the public clusters by genesis hash unless SOLANA_CLUSTER says otherwise", () => {
    const rpc = chainConfigFromEnv({ STABLEFLOW_CHAIN_PORT: 8899, SOLANA_RPC_URL: "https://rpc.example.com" });
    expect(clusterOf(rpc, "EtWTRABZaYq6iMfeYKouRu166VU2xqa1wcaWoxPkrZBG")).toBe("devnet");
    expect(clusterOf(rpc, "5eykt4UsFv8P8NJdTREpY1vzqKqZKvdpKuc147dw2N9d")).toBe("mainnet-beta");
    expect(clusterOf(rpc, "SomeLocalGenesis1111111111111111111111111111")).toBe("localnet");
    expect(clusterOf({ ...rpc, cluster: "testnet" }, "EtWTRABZaYq6iMfeYKouRu166VU2xqa1wcaWoxPkrZBG")).toBe("testnet");
  });

  it("links explorer.solana.com with the cluster parameter, and not for a local chain", () => {
    expect(publicExplorerUrl("devnet", "tx", "abc")).toBe("https://explorer.solana.com/tx/abc?cluster=devnet");
    expect(publicExplorerUrl("mainnet-beta", "address", "xyz")).toBe("https://explorer.solana.com/address/xyz");
    expect(publicExplorerUrl("localnet", "tx", "abc")).toBeUndefined();
  });
});
