// The reads the public Solana Explorer makes beyond the app's own (block pages, mint pages, the
// cluster's performance samples), through Connection, in both modes.
import { describe, expect, it } from "vitest";
import { useTestChain } from "../setup/chain";
import { rpc, tokenWorld, transferTx, waitForStatus } from "./helpers";

describe.each([
  { mode: "embedded", separate: false },
  { mode: "rpc", separate: true },
])("chain explorer reads ($mode)", ({ separate }) => {
  const chain = useTestChain({ separate });

  it("getBlock lists the slot's transactions; its hashes chain; later slots are not available yet", async () => {
    const connection = chain.current.connection;
    const world = await tokenWorld(connection, 2, 1_000n);
    const { blockhash } = await connection.getLatestBlockhash();
    const signature = await connection.sendRawTransaction(transferTx(world, 0, 1, 10n, blockhash).serialize());
    const status = await waitForStatus(connection, signature, "finalized");
    const block = await connection.getBlock(status.slot, { commitment: "finalized", maxSupportedTransactionVersion: 0 });
    expect(block!.transactions.map((t) => t.transaction.signatures[0])).toContain(signature);
    expect(block!.parentSlot).toBe(status.slot - 1);
    const parent = await connection.getBlock(status.slot - 1, { commitment: "finalized", maxSupportedTransactionVersion: 0, transactionDetails: "none" });
    expect(block!.previousBlockhash).toBe(parent!.blockhash);
    const signatures = await connection.getBlockSignatures(status.slot, "finalized");
    expect(signatures.signatures).toContain(signature);
    const future = await rpc(chain.current.url, "getBlock", [(await connection.getSlot("processed")) + 1_000, { maxSupportedTransactionVersion: 0 }]);
    expect(future.error?.code).toBe(-32004);
  });

  it("getTokenSupply, getTokenLargestAccounts and getRecentPerformanceSamples", async () => {
    const connection = chain.current.connection;
    const world = await tokenWorld(connection, 3, 900n);
    const { blockhash } = await connection.getLatestBlockhash();
    await waitForStatus(connection, await connection.sendRawTransaction(transferTx(world, 0, 2, 300n, blockhash).serialize()));
    expect((await connection.getTokenSupply(world.mint)).value).toMatchObject({ amount: "900", decimals: 6 });
    const largest = (await connection.getTokenLargestAccounts(world.mint)).value;
    expect(largest.map((a) => [a.address.toBase58(), a.amount])).toEqual([
      [world.accounts[0]!.toBase58(), "600"],
      [world.accounts[2]!.toBase58(), "300"],
      [world.accounts[1]!.toBase58(), "0"],
    ]);
    expect((await rpc(chain.current.url, "getTokenSupply", [world.accounts[0]!.toBase58()])).error?.code).toBe(-32602);
    const samples = await connection.getRecentPerformanceSamples(5);
    expect(samples.length).toBeGreaterThan(0);
    expect(samples[0]!.numTransactions).toBeGreaterThan(0);
    expect(samples[0]!.slot).toBeLessThanOrEqual(await connection.getSlot("processed"));
  });
});
