// State that survives the chain process: after SIGKILL or a clean stop and a restart, accounts,
// transactions (with the very same meta) and statuses are there, and slots never go back. Runs against
// the chain as npm start's child and as a separate process reached by URL.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { Keypair, LAMPORTS_PER_SOL, PublicKey, SendTransactionError } from "@solana/web3.js";
import { describe, expect, it } from "vitest";
import { startTestChain, useTestChain } from "../setup/chain";
import { fundedKeypair, rpc, tokenAmount, tokenWorld, transferTx, waitForStatus } from "./helpers";

const PROGRAM_ID = new PublicKey(JSON.parse(readFileSync("idl/stableflow_payouts.json", "utf8")).address);

describe.each([
  { mode: "embedded", separate: false },
  { mode: "rpc", separate: true },
])("chain persistence ($mode)", ({ separate }) => {
  // 100 ms slots: a blockhash lives 15 s, longer than a restart on a loaded machine.
  const chain = useTestChain({ separate, slotMs: 100 });

  it("after SIGKILL: the same getTransaction answer, the same accounts and genesis, later slots", async () => {
    const connection = chain.current.connection;
    const world = await tokenWorld(connection, 2, 1_000n);
    const { blockhash } = await connection.getLatestBlockhash();
    const signature = await connection.sendRawTransaction(transferTx(world, 0, 1, 321n, blockhash).serialize());
    await waitForStatus(connection, signature, "finalized");
    const options = { commitment: "confirmed" as const, maxSupportedTransactionVersion: 0 };
    const before = {
      json: await rpc(chain.current.url, "getTransaction", [signature, { ...options, encoding: "json" }]),
      parsed: await rpc(chain.current.url, "getTransaction", [signature, { ...options, encoding: "jsonParsed" }]),
      genesis: await connection.getGenesisHash(),
      accounts: await connection.getMultipleAccountsInfo([...world.accounts, world.mint, world.payer.publicKey, PROGRAM_ID]),
      slot: await connection.getSlot("processed"),
      height: await connection.getBlockHeight("processed"),
      pid: chain.current.pid,
    };
    expect(before.json.result?.meta?.err).toBeNull();

    await chain.current.kill("SIGKILL");
    await chain.current.restart();
    expect(chain.current.pid).not.toBe(before.pid);

    expect(await connection.getSlot("processed")).toBeGreaterThan(before.slot);
    expect(await connection.getBlockHeight("processed")).toBeGreaterThan(before.height);
    expect(await connection.getGenesisHash()).toBe(before.genesis);
    expect(await rpc(chain.current.url, "getTransaction", [signature, { ...options, encoding: "json" }])).toEqual(before.json);
    expect(await rpc(chain.current.url, "getTransaction", [signature, { ...options, encoding: "jsonParsed" }])).toEqual(before.parsed);
    expect(await connection.getMultipleAccountsInfo([...world.accounts, world.mint, world.payer.publicKey, PROGRAM_ID])).toEqual(before.accounts);
    expect((await connection.getSignatureStatuses([signature], { searchTransactionHistory: true })).value[0]?.err).toBeNull();
    expect((await connection.getSignaturesForAddress(world.accounts[1]!)).map((s) => s.signature)).toContain(signature);
    // The chain goes on: the restored accounts take new transfers.
    const again = await connection.getLatestBlockhash();
    await waitForStatus(connection, await connection.sendRawTransaction(transferTx(world, 1, 0, 21n, again.blockhash).serialize()));
    expect(await tokenAmount(connection, world.accounts[0]!)).toBe(1_000n - 321n + 21n);
  });

  it("a resend after the restart is still recognised: the transaction never executes twice", async () => {
    const connection = chain.current.connection;
    const world = await tokenWorld(connection, 2, 500n);
    const { blockhash } = await connection.getLatestBlockhash();
    const raw = transferTx(world, 0, 1, 5n, blockhash).serialize();
    const signature = await connection.sendRawTransaction(raw);
    await chain.current.kill("SIGKILL");
    await chain.current.restart();
    expect(await connection.sendRawTransaction(raw, { skipPreflight: true })).toBe(signature);
    const refused = await connection.sendRawTransaction(raw).catch((e: SendTransactionError) => e.transactionError.message);
    expect(refused).toMatch(/already been processed/);
    await waitForStatus(connection, signature);
    expect(await tokenAmount(connection, world.accounts[1]!)).toBe(5n);
  });

  it("a blockhash handed out before a crash is still usable after it (until it expires)", async () => {
    const connection = chain.current.connection;
    const world = await tokenWorld(connection, 2, 500n);
    const { blockhash } = await connection.getLatestBlockhash("processed");
    await chain.current.kill("SIGKILL");
    await chain.current.restart();
    expect((await connection.isBlockhashValid(blockhash)).value).toBe(true);
    const signature = await connection.sendRawTransaction(transferTx(world, 0, 1, 9n, blockhash).serialize());
    await waitForStatus(connection, signature);
    expect(await tokenAmount(connection, world.accounts[1]!)).toBe(9n);
  });

  it("a clean stop snapshots; what follows is replayed from the journal after a SIGKILL", async () => {
    const connection = chain.current.connection;
    const world = await tokenWorld(connection, 3, 10_000n);
    const send = async (from: number, to: number, amount: bigint) => {
      const { blockhash } = await connection.getLatestBlockhash();
      return waitForStatus(connection, await connection.sendRawTransaction(transferTx(world, from, to, amount, blockhash).serialize()));
    };
    await send(0, 1, 1_000n);
    const segments = () => readdirSync(path.join(chain.current.dataDir, "chain", "journal")).length;
    const segmentsBefore = segments();
    await chain.current.restart(); // SIGTERM: snapshot, and a new journal segment after it
    expect(existsSync(path.join(chain.current.dataDir, "chain", "snapshot.json"))).toBe(true);
    expect(segments()).toBeGreaterThan(segmentsBefore);
    await send(1, 2, 400n);
    const frozen = await rpc(chain.current.url, "stableflow_freezeTokenAccount", [world.accounts[2]!.toBase58()]);
    expect(frozen.result).toBe(true);
    await chain.current.kill("SIGKILL");
    await chain.current.restart();
    expect(await Promise.all(world.accounts.map((a) => tokenAmount(connection, a)))).toEqual([9_000n, 600n, 400n]);
    // The freeze, a test-only change, was journaled too: the frozen account still refuses a transfer.
    const { blockhash } = await connection.getLatestBlockhash();
    const refused = await connection.sendRawTransaction(transferTx(world, 1, 2, 1n, blockhash).serialize()).catch((e: SendTransactionError) => e);
    expect((refused as SendTransactionError).transactionError.message).toMatch(/custom program error: 0x11/); // TokenError::AccountFrozen
  });

  it("error: a second chain server on the same data directory is refused while the first runs", async () => {
    await expect(startTestChain({ dataDir: chain.current.dataDir })).rejects.toThrow(/in use by process \d+/);
    expect(typeof (await chain.current.connection.getSlot())).toBe("number");
  });

  it("test-only setAccount is journaled and survives a SIGKILL", async () => {
    const connection = chain.current.connection;
    const target = Keypair.generate().publicKey;
    const payer = await fundedKeypair(connection, 1);
    const set = await rpc(chain.current.url, "stableflow_setAccount", [
      target.toBase58(),
      { lamports: 7 * LAMPORTS_PER_SOL, owner: payer.publicKey.toBase58(), data: [Buffer.from("hello").toString("base64"), "base64"] },
    ]);
    expect(set.result).toBe(true);
    await chain.current.kill("SIGKILL");
    await chain.current.restart();
    const account = await connection.getAccountInfo(target);
    expect(account?.lamports).toBe(7 * LAMPORTS_PER_SOL);
    expect(account!.owner.equals(payer.publicKey)).toBe(true);
    expect(Buffer.from(account!.data).toString()).toBe("hello");
  });
});
