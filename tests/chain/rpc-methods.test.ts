// Every JSON-RPC method the app relies on, checked through @solana/web3.js Connection against the
// embedded chain: as the child process npm start supervises, and ("rpc" mode) as a separate process
// known only by its URL, which is what SOLANA_RPC_URL gives the app.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import {
  AddressLookupTableProgram,
  ComputeBudgetProgram,
  Connection,
  Keypair,
  LAMPORTS_PER_SOL,
  MessageV0,
  PublicKey,
  SendTransactionError,
  SystemProgram,
  Transaction,
  TransactionInstruction,
  VersionedTransaction,
  type TokenBalance,
} from "@solana/web3.js";
import { createAssociatedTokenAccountInstruction, getAssociatedTokenAddressSync, TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID } from "@solana/spl-token";
import { describe, expect, it } from "vitest";
import { useTestChain } from "../setup/chain";
import { DECIMALS, fundedKeypair, rpc, send, tokenAmount, tokenWorld, transferTx, waitForStatus } from "./helpers";

const PROGRAM_ID = new PublicKey(JSON.parse(readFileSync("idl/stableflow_payouts.json", "utf8")).address);
const UPGRADEABLE_LOADER = new PublicKey("BPFLoaderUpgradeab1e11111111111111111111111");

describe.each([
  { mode: "embedded", separate: false },
  { mode: "rpc", separate: true },
])("chain JSON-RPC ($mode)", ({ separate }) => {
  const chain = useTestChain({ separate });
  // Each case builds its own Connection from the URL alone, as the app does.
  const connect = () => new Connection(chain.current.url, "confirmed");

  it("cluster: slots advance, block height follows, one genesis hash, health and version", async () => {
    const connection = connect();
    const first = await connection.getSlot("processed");
    await new Promise((resolve) => setTimeout(resolve, 300));
    const second = await connection.getSlot("processed");
    expect(second).toBeGreaterThan(first);
    expect(await connection.getSlot("finalized")).toBeLessThan(await connection.getSlot("processed"));
    const height = await connection.getBlockHeight("processed");
    expect(height).toBeGreaterThanOrEqual(second);
    const epoch = await connection.getEpochInfo("processed");
    expect(epoch.slotsInEpoch).toBe(432_000);
    expect(epoch.absoluteSlot).toBe(epoch.epoch * 432_000 + epoch.slotIndex);
    const genesis = await connection.getGenesisHash();
    expect(new PublicKey(genesis).toBytes()).toHaveLength(32);
    expect(await connect().getGenesisHash()).toBe(genesis);
    expect((await rpc(chain.current.url, "getHealth")).result).toBe("ok");
    expect((await connection.getVersion())["solana-core"]).toMatch(/^\d+\.\d+\.\d+/);
    const time = await connection.getBlockTime(second);
    expect(Math.abs(time! - Date.now() / 1000)).toBeLessThan(600);
    expect((await rpc(chain.current.url, "getBlockTime", [second + 1_000_000])).error?.code).toBe(-32004);
  });

  it("getLatestBlockhash lives 150 blocks and isBlockhashValid says so", async () => {
    const connection = connect();
    const before = await connection.getBlockHeight("processed");
    const { blockhash, lastValidBlockHeight } = await connection.getLatestBlockhash("processed");
    const after = await connection.getBlockHeight("processed");
    // Issued at the tip's height, valid 150 blocks more.
    expect(lastValidBlockHeight - 150).toBeGreaterThanOrEqual(before);
    expect(lastValidBlockHeight - 150).toBeLessThanOrEqual(after);
    expect((await connection.isBlockhashValid(blockhash)).value).toBe(true);
    expect((await connection.isBlockhashValid(Keypair.generate().publicKey.toBase58())).value).toBe(false);
  });

  it("airdrop, balances, account info and multiple accounts, rent", async () => {
    const connection = connect();
    const payer = await fundedKeypair(connection, 3);
    const missing = Keypair.generate().publicKey;
    expect(await connection.getBalance(payer.publicKey)).toBe(3 * LAMPORTS_PER_SOL);
    const info = await connection.getAccountInfo(payer.publicKey);
    expect(info).toMatchObject({ lamports: 3 * LAMPORTS_PER_SOL, executable: false });
    expect(info!.owner.equals(SystemProgram.programId)).toBe(true);
    expect(info!.data).toHaveLength(0);
    expect(await connection.getAccountInfo(missing)).toBeNull();
    const many = await connection.getMultipleAccountsInfo([payer.publicKey, missing]);
    expect(many[0]?.lamports).toBe(3 * LAMPORTS_PER_SOL);
    expect(many[1]).toBeNull();
    // The runtime's own rent: 128 bytes of overhead at 3,480 lamports per byte-year, two years.
    expect(await connection.getMinimumBalanceForRentExemption(165)).toBe((165 + 128) * 3480 * 2);
  });

  it("the repo's program is deployed at its id through the upgradeable loader, with the built .so", async () => {
    const connection = connect();
    const program = await connection.getAccountInfo(PROGRAM_ID);
    expect(program?.executable).toBe(true);
    expect(program!.owner.equals(UPGRADEABLE_LOADER)).toBe(true);
    const [programData] = PublicKey.findProgramAddressSync([PROGRAM_ID.toBytes()], UPGRADEABLE_LOADER);
    expect(new PublicKey(program!.data.subarray(4, 36)).equals(programData)).toBe(true);
    const data = await connection.getAccountInfo(programData);
    const so = readFileSync("target/deploy/stableflow_payouts.so");
    const sha = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");
    expect(sha(data!.data.subarray(45, 45 + so.length))).toBe(sha(so));
  });

  it("SPL Token and Token-2022: transfers, token balances, program accounts with filters, jsonParsed", async () => {
    const connection = connect();
    for (const programId of [TOKEN_PROGRAM_ID, TOKEN_2022_PROGRAM_ID]) {
      const world = await tokenWorld(connection, 3, 1_000_000n, programId);
      const { blockhash } = await connection.getLatestBlockhash();
      const signature = await connection.sendRawTransaction(transferTx(world, 0, 1, 250_000n, blockhash).serialize());
      await waitForStatus(connection, signature);
      expect(await tokenAmount(connection, world.accounts[0]!)).toBe(750_000n);
      expect(await tokenAmount(connection, world.accounts[1]!)).toBe(250_000n);
      const balance = await connection.getTokenAccountBalance(world.accounts[1]!);
      expect(balance.value).toMatchObject({ amount: "250000", decimals: DECIMALS, uiAmountString: "0.25" });

      const ofMint = await connection.getProgramAccounts(programId, {
        filters: [{ dataSize: 165 }, { memcmp: { offset: 0, bytes: world.mint.toBase58() } }],
      });
      expect(ofMint.map((a) => a.pubkey.toBase58()).sort()).toEqual(world.accounts.map((a) => a.toBase58()).sort());
      const ofOwner = await connection.getProgramAccounts(programId, {
        filters: [{ memcmp: { offset: 32, bytes: world.owners[2]!.publicKey.toBase58() } }],
      });
      expect(ofOwner.map((a) => a.pubkey.toBase58())).toEqual([world.accounts[2]!.toBase58()]);

      const parsed = await connection.getParsedAccountInfo(world.accounts[0]!);
      expect(parsed.value?.data).toMatchObject({
        program: programId.equals(TOKEN_PROGRAM_ID) ? "spl-token" : "spl-token-2022",
        parsed: { type: "account", info: { mint: world.mint.toBase58(), owner: world.owners[0]!.publicKey.toBase58(), state: "initialized", tokenAmount: { amount: "750000" } } },
      });
      const byOwner = await connection.getTokenAccountsByOwner(world.owners[1]!.publicKey, { mint: world.mint });
      expect(byOwner.value.map((a) => a.pubkey.toBase58())).toEqual([world.accounts[1]!.toBase58()]);

      await waitForStatus(connection, signature, "finalized");
      const tx = await connection.getTransaction(signature, { maxSupportedTransactionVersion: 0 });
      expect(tx?.meta?.err).toBeNull();
      expect(tx!.meta!.fee).toBe(10_000); // payer and token owner sign
      expect(tx!.meta!.computeUnitsConsumed).toBeGreaterThan(0);
      expect(tx!.meta!.logMessages).toContain(`Program ${programId.toBase58()} success`);
      expect(tx!.version).toBe("legacy");
      const amountOf = (list: TokenBalance[] | null | undefined, index: number) =>
        BigInt(list!.find((b) => b.accountIndex === index)!.uiTokenAmount.amount);
      const keys = tx!.transaction.message.staticAccountKeys.map((k) => k.toBase58());
      const source = keys.indexOf(world.accounts[0]!.toBase58());
      const destination = keys.indexOf(world.accounts[1]!.toBase58());
      expect(amountOf(tx!.meta!.preTokenBalances, source) - amountOf(tx!.meta!.postTokenBalances, source)).toBe(250_000n);
      expect(amountOf(tx!.meta!.postTokenBalances, destination) - amountOf(tx!.meta!.preTokenBalances, destination)).toBe(250_000n);
      const payer = keys.indexOf(world.payer.publicKey.toBase58());
      expect(tx!.meta!.preBalances[payer]! - tx!.meta!.postBalances[payer]!).toBe(10_000);
    }
  });

  it("the associated token account program and ComputeBudget are there", async () => {
    const connection = connect();
    const world = await tokenWorld(connection, 1, 0n);
    const owner = Keypair.generate().publicKey;
    const ata = getAssociatedTokenAddressSync(world.mint, owner);
    const signature = await send(connection, world.payer, [
      ComputeBudgetProgram.setComputeUnitLimit({ units: 100_000 }),
      createAssociatedTokenAccountInstruction(world.payer.publicKey, ata, owner, world.mint),
    ]);
    const account = await connection.getParsedAccountInfo(ata);
    expect(account.value?.data).toMatchObject({ parsed: { type: "account", info: { mint: world.mint.toBase58(), owner: owner.toBase58() } } });
    const tx = await connection.getTransaction(signature, { commitment: "confirmed", maxSupportedTransactionVersion: 0 });
    // The limit the ComputeBudget instruction set (less its own units), not the default 200,000 per instruction.
    const budget = tx!.meta!.logMessages!.map((line) => /^Program ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL consumed \d+ of (\d+) compute units$/.exec(line)?.[1]).find(Boolean);
    expect(Number(budget)).toBeGreaterThan(99_000);
    expect(Number(budget)).toBeLessThanOrEqual(100_000);
    expect(tx!.meta!.innerInstructions!.length).toBeGreaterThan(0); // the ATA program's CPIs
  });

  it("simulateTransaction: logs and units, replaceRecentBlockhash, sigVerify, post-state accounts", async () => {
    const connection = connect();
    const payer = await fundedKeypair(connection, 2);
    const to = Keypair.generate().publicKey;
    const transfer = SystemProgram.transfer({ fromPubkey: payer.publicKey, toPubkey: to, lamports: LAMPORTS_PER_SOL });
    // Unsigned, with a blockhash the chain never issued: only a replaced blockhash lets it run.
    const stale = new VersionedTransaction(
      new MessageV0({
        header: { numRequiredSignatures: 1, numReadonlySignedAccounts: 0, numReadonlyUnsignedAccounts: 1 },
        staticAccountKeys: [payer.publicKey, to, SystemProgram.programId],
        recentBlockhash: Keypair.generate().publicKey.toBase58(),
        compiledInstructions: [{ programIdIndex: 2, accountKeyIndexes: [0, 1], data: transfer.data }],
        addressTableLookups: [],
      }),
    );
    const refused = await connection.simulateTransaction(stale, { sigVerify: false });
    expect(refused.value.err).toBe("BlockhashNotFound");
    const replaced = await connection.simulateTransaction(stale, {
      replaceRecentBlockhash: true,
      accounts: { addresses: [to.toBase58()], encoding: "base64" },
    });
    expect(replaced.value.err).toBeNull();
    expect(replaced.value.unitsConsumed).toBeGreaterThan(0);
    expect(replaced.value.logs).toContain("Program 11111111111111111111111111111111 success");
    expect(replaced.value.accounts?.[0]?.lamports).toBe(LAMPORTS_PER_SOL);
    // The tip's blockhash at the time (the slot may have moved on since): valid, with its lifetime.
    const replacement = (replaced.value as { replacementBlockhash?: { blockhash: string; lastValidBlockHeight: number } }).replacementBlockhash!;
    expect((await connection.isBlockhashValid(replacement.blockhash, { commitment: "processed" })).value).toBe(true);
    const height = await connection.getBlockHeight("processed");
    expect(replacement.lastValidBlockHeight).toBeGreaterThan(height);
    expect(replacement.lastValidBlockHeight).toBeLessThanOrEqual(height + 150);
    expect(await connection.getBalance(to)).toBe(0);
    const withSig = await connection.simulateTransaction(stale, { sigVerify: true, replaceRecentBlockhash: false });
    expect(withSig.value.err).toBeTruthy();
  });

  it("sendTransaction: a failing program answers -32002 with its logs; skipPreflight lands it failed, fee charged", async () => {
    const connection = connect();
    const payer = await fundedKeypair(connection, 2);
    const junk = new TransactionInstruction({ programId: PROGRAM_ID, keys: [], data: Buffer.from([9, 9, 9, 9, 9, 9, 9, 9]) });
    const { blockhash } = await connection.getLatestBlockhash();
    const tx = new Transaction({ feePayer: payer.publicKey, recentBlockhash: blockhash }).add(junk);
    tx.sign(payer);
    const raw = tx.serialize();
    const error = await connection.sendRawTransaction(raw).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SendTransactionError);
    expect((error as SendTransactionError).transactionError.message).toMatch(/^Transaction simulation failed: Error processing Instruction 0: custom program error: 0x/);
    expect((error as SendTransactionError).transactionError.logs).toContain(`Program ${PROGRAM_ID.toBase58()} invoke [1]`);
    const wire = await rpc(chain.current.url, "sendTransaction", [raw.toString("base64"), { encoding: "base64" }]);
    expect(wire.error?.code).toBe(-32002);
    expect(wire.error?.data?.err).toEqual({ InstructionError: [0, { Custom: expect.any(Number) }] });
    expect(await connection.getBalance(payer.publicKey)).toBe(2 * LAMPORTS_PER_SOL);

    const signature = await connection.sendRawTransaction(raw, { skipPreflight: true });
    const status = await waitForStatus(connection, signature);
    expect(status.err).toEqual({ InstructionError: [0, { Custom: expect.any(Number) }] });
    expect(await connection.getBalance(payer.publicKey)).toBe(2 * LAMPORTS_PER_SOL - 5_000);
  });

  it("sendTransaction: a bad signature is -32003, an oversize or garbled transaction -32602", async () => {
    const connection = connect();
    const payer = await fundedKeypair(connection, 1);
    const { blockhash } = await connection.getLatestBlockhash();
    const tx = new Transaction({ feePayer: payer.publicKey, recentBlockhash: blockhash }).add(
      SystemProgram.transfer({ fromPubkey: payer.publicKey, toPubkey: Keypair.generate().publicKey, lamports: LAMPORTS_PER_SOL / 10 }),
    );
    tx.sign(payer);
    const forged = Buffer.from(tx.serialize());
    forged[5] ^= 0xff;
    expect((await rpc(chain.current.url, "sendTransaction", [forged.toString("base64"), { encoding: "base64" }])).error?.code).toBe(-32003);
    const huge = Buffer.concat([tx.serialize(), Buffer.alloc(1300)]).toString("base64");
    const tooLarge = await rpc(chain.current.url, "sendTransaction", [huge, { encoding: "base64" }]);
    expect(tooLarge.error).toMatchObject({ code: -32602, message: expect.stringMatching(/too large/) });
    const garbled = await rpc(chain.current.url, "sendTransaction", [Buffer.from("not a transaction").toString("base64"), { encoding: "base64" }]);
    expect(garbled.error?.code).toBe(-32602);
    expect(await connection.getBalance(payer.publicKey)).toBe(LAMPORTS_PER_SOL);
  });

  it("a transaction sent twice executes once", async () => {
    const connection = connect();
    const world = await tokenWorld(connection, 2, 100n);
    const { blockhash } = await connection.getLatestBlockhash();
    const raw = transferTx(world, 0, 1, 40n, blockhash).serialize();
    const first = await connection.sendRawTransaction(raw, { skipPreflight: true });
    const second = await connection.sendRawTransaction(raw, { skipPreflight: true });
    expect(second).toBe(first);
    await waitForStatus(connection, first);
    const third = await connection.sendRawTransaction(raw).catch((e: SendTransactionError) => e.transactionError.message);
    expect(third).toMatch(/already been processed/);
    expect(await tokenAmount(connection, world.accounts[1]!)).toBe(40n);
    expect(await tokenAmount(connection, world.accounts[0]!)).toBe(60n);
  });

  it("an expired blockhash is refused like on a cluster; with skipPreflight the transaction never lands", async () => {
    const connection = connect();
    const world = await tokenWorld(connection, 2, 100n);
    const { blockhash, lastValidBlockHeight } = await connection.getLatestBlockhash();
    const raw = transferTx(world, 0, 1, 7n, blockhash).serialize();
    const { result: slotAfter } = await rpc(chain.current.url, "stableflow_warpSlots", [151]);
    expect(slotAfter).toBeGreaterThan(0);
    expect(await connection.getBlockHeight()).toBeGreaterThan(lastValidBlockHeight);
    expect((await connection.isBlockhashValid(blockhash)).value).toBe(false);
    const refused = await connection.sendRawTransaction(raw).catch((e: SendTransactionError) => e.transactionError.message);
    expect(refused).toBe("Transaction simulation failed: Blockhash not found");
    const signature = await connection.sendRawTransaction(raw, { skipPreflight: true });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect((await connection.getSignatureStatuses([signature], { searchTransactionHistory: true })).value[0]).toBeNull();
    expect(await tokenAmount(connection, world.accounts[1]!)).toBe(0n);
  });

  it("statuses go processed -> confirmed -> finalized; history needs searchTransactionHistory after the status cache", async () => {
    const connection = connect();
    const world = await tokenWorld(connection, 2, 100n);
    await rpc(chain.current.url, "stableflow_pauseClock", [true]);
    try {
      const { blockhash } = await connection.getLatestBlockhash("processed");
      const signature = await connection.sendRawTransaction(transferTx(world, 0, 1, 1n, blockhash).serialize());
      const processed = (await connection.getSignatureStatuses([signature])).value[0];
      expect(processed).toMatchObject({ confirmationStatus: "processed", confirmations: 0, err: null });
      expect(await connection.getTransaction(signature, { commitment: "confirmed", maxSupportedTransactionVersion: 0 })).toBeNull();
      await rpc(chain.current.url, "stableflow_warpSlots", [1]);
      expect((await connection.getSignatureStatuses([signature])).value[0]).toMatchObject({ confirmationStatus: "confirmed", confirmations: 1 });
      expect(await connection.getTransaction(signature, { commitment: "confirmed", maxSupportedTransactionVersion: 0 })).not.toBeNull();
      expect(await connection.getTransaction(signature, { commitment: "finalized", maxSupportedTransactionVersion: 0 })).toBeNull();
      await rpc(chain.current.url, "stableflow_warpSlots", [31]);
      const finalized = (await connection.getSignatureStatuses([signature])).value[0];
      expect(finalized).toMatchObject({ confirmationStatus: "finalized", confirmations: null, slot: processed!.slot });
      await rpc(chain.current.url, "stableflow_warpSlots", [300]);
      expect((await connection.getSignatureStatuses([signature])).value[0]).toBeNull();
      expect((await connection.getSignatureStatuses([signature], { searchTransactionHistory: true })).value[0]?.confirmationStatus).toBe("finalized");
    } finally {
      await rpc(chain.current.url, "stableflow_pauseClock", [false]);
    }
  });

  it("getSignaturesForAddress pages newest first with limit, before and until", async () => {
    const connection = connect();
    const world = await tokenWorld(connection, 2, 100n);
    const signatures: string[] = [];
    for (let i = 1n; i <= 4n; i += 1n) {
      const { blockhash } = await connection.getLatestBlockhash();
      const signature = await connection.sendRawTransaction(transferTx(world, 0, 1, i, blockhash).serialize());
      await waitForStatus(connection, signature);
      signatures.push(signature);
    }
    const all = await connection.getSignaturesForAddress(world.accounts[1]!);
    // The account's creation first, then the four transfers: newest first.
    expect(all.slice(0, 4).map((s) => s.signature)).toEqual([...signatures].reverse());
    expect(all).toHaveLength(5);
    expect(all[0]).toMatchObject({ err: null, confirmationStatus: expect.stringMatching(/confirmed|finalized/) });
    const page = await connection.getSignaturesForAddress(world.accounts[1]!, { limit: 2, before: signatures[3] });
    expect(page.map((s) => s.signature)).toEqual([signatures[2], signatures[1]]);
    const until = await connection.getSignaturesForAddress(world.accounts[1]!, { until: signatures[1] });
    expect(until.map((s) => s.signature)).toEqual([signatures[3], signatures[2]]);
  });

  it("getFeeForMessage and getRecentPrioritizationFees", async () => {
    const connection = connect();
    const world = await tokenWorld(connection, 2, 100n);
    const { blockhash } = await connection.getLatestBlockhash();
    const tx = transferTx(world, 0, 1, 1n, blockhash, 5_000);
    expect((await connection.getFeeForMessage(tx.compileMessage())).value).toBe(2 * 5_000 + Math.ceil((5_000 * 200_000) / 1e6));
    const message = tx.compileMessage();
    message.recentBlockhash = Keypair.generate().publicKey.toBase58();
    expect((await connection.getFeeForMessage(message)).value).toBeNull();
    const signature = await connection.sendRawTransaction(tx.serialize());
    const status = await waitForStatus(connection, signature);
    const fees = await connection.getRecentPrioritizationFees({ lockedWritableAccounts: [world.accounts[1]!] });
    expect(fees.find((f) => f.slot === status.slot)?.prioritizationFee).toBe(5_000);
    expect(fees.filter((f) => f.slot !== status.slot).every((f) => f.prioritizationFee === 0)).toBe(true);
  });

  it("v0 with a lookup table: loaded addresses in the meta, version required from the caller", async () => {
    const connection = connect();
    const world = await tokenWorld(connection, 2, 100n);
    const slot = await connection.getSlot("finalized");
    const [create, table] = AddressLookupTableProgram.createLookupTable({ authority: world.payer.publicKey, payer: world.payer.publicKey, recentSlot: slot });
    const extend = AddressLookupTableProgram.extendLookupTable({ lookupTable: table, authority: world.payer.publicKey, payer: world.payer.publicKey, addresses: [world.accounts[1]!, world.mint] });
    await send(connection, world.payer, [create, extend]);
    await rpc(chain.current.url, "stableflow_warpSlots", [2]);
    const lookup = (await connection.getAddressLookupTable(table)).value!;
    expect(lookup.state.addresses.map((a) => a.toBase58())).toEqual([world.accounts[1]!.toBase58(), world.mint.toBase58()]);
    const { blockhash } = await connection.getLatestBlockhash();
    const legacy = transferTx(world, 0, 1, 3n, blockhash);
    const message = MessageV0.compile({ payerKey: world.payer.publicKey, instructions: legacy.instructions, recentBlockhash: blockhash, addressLookupTableAccounts: [lookup] });
    const tx = new VersionedTransaction(message);
    tx.sign([world.payer, world.owners[0]!]);
    const signature = await connection.sendTransaction(tx);
    await waitForStatus(connection, signature);
    expect(await tokenAmount(connection, world.accounts[1]!)).toBe(3n);
    const refused = await rpc(chain.current.url, "getTransaction", [signature, { commitment: "confirmed" }]);
    expect(refused.error?.code).toBe(-32015);
    const got = await connection.getTransaction(signature, { commitment: "confirmed", maxSupportedTransactionVersion: 0 });
    expect(got?.version).toBe(0);
    expect(got!.meta!.loadedAddresses!.writable.map((a) => a.toBase58())).toEqual([world.accounts[1]!.toBase58()]);
    expect(got!.meta!.loadedAddresses!.readonly.map((a) => a.toBase58())).toEqual([world.mint.toBase58()]);
    expect(got!.transaction.message.addressTableLookups[0]?.accountKey.equals(table)).toBe(true);
    const parsed = await connection.getParsedTransaction(signature, { commitment: "confirmed", maxSupportedTransactionVersion: 0 });
    expect(parsed!.transaction.message.accountKeys.find((k) => k.pubkey.equals(world.accounts[1]!))).toMatchObject({ writable: true, source: "lookupTable" });
  });

  it("signatures confirm through WebSocket subscriptions (Connection.confirmTransaction) and account changes notify", async () => {
    const connection = connect();
    const payer = await fundedKeypair(connection, 2);
    const to = Keypair.generate().publicKey;
    const changes: number[] = [];
    const subscription = connection.onAccountChange(to, (account) => changes.push(account.lamports), { commitment: "confirmed" });
    // A node notifies changes after a subscription is made. Subscriptions travel in order on one socket:
    // once a later slot subscription speaks, the account subscription is in place.
    await new Promise<void>((resolve) => {
      const slots = connection.onSlotChange(() => {
        void connection.removeSlotChangeListener(slots);
        resolve();
      });
    });
    const latest = await connection.getLatestBlockhash();
    const tx = new Transaction({ feePayer: payer.publicKey, recentBlockhash: latest.blockhash }).add(
      SystemProgram.transfer({ fromPubkey: payer.publicKey, toPubkey: to, lamports: LAMPORTS_PER_SOL }),
    );
    tx.sign(payer);
    const signature = await connection.sendRawTransaction(tx.serialize());
    const confirmed = await connection.confirmTransaction({ signature, ...latest }, "confirmed");
    expect(confirmed.value.err).toBeNull();
    const deadline = Date.now() + 30_000;
    while (changes.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(changes).toEqual([LAMPORTS_PER_SOL]);
    await connection.removeAccountChangeListener(subscription);
  });

  it("JSON-RPC error shapes: parse, invalid request, method not found, invalid params, batches, notifications", async () => {
    const url = chain.current.url;
    const post = async (body: string) => {
      const response = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body });
      return { status: response.status, text: await response.text() };
    };
    expect(JSON.parse((await post("{nope")).text)).toEqual({ jsonrpc: "2.0", id: null, error: { code: -32700, message: "Parse error" } });
    expect(JSON.parse((await post('{"id":1,"method":"getSlot"}')).text).error.code).toBe(-32600);
    expect(JSON.parse((await post("[]")).text).error.code).toBe(-32600);
    expect(JSON.parse((await post('{"jsonrpc":"2.0","id":"a","method":"getEverything"}')).text)).toEqual({ jsonrpc: "2.0", id: "a", error: { code: -32601, message: "Method not found" } });
    expect(JSON.parse((await post('{"jsonrpc":"2.0","id":2,"method":"getBalance","params":[42]}')).text).error.code).toBe(-32602);
    const batch = JSON.parse((await post('[{"jsonrpc":"2.0","id":1,"method":"getSlot"},{"jsonrpc":"2.0","id":2,"method":"nope"},{"jsonrpc":"2.0","method":"getSlot"},5]')).text);
    expect(batch).toHaveLength(3);
    expect(typeof batch[0].result).toBe("number");
    expect(batch[1].error.code).toBe(-32601);
    expect(batch[2].error.code).toBe(-32600);
    expect((await post('{"jsonrpc":"2.0","method":"getSlot"}')).text).toBe("");
    const oversize = await post(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "getSlot", params: ["x".repeat(60 * 1024)] })).catch(() => ({ status: 413, text: "" }));
    expect(oversize.status).toBe(413);
    const preflight = await fetch(url, { method: "OPTIONS", headers: { origin: "https://explorer.solana.com", "access-control-request-method": "POST", "access-control-request-headers": "content-type,solana-client" } });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-origin")).toBe("*");
    expect(preflight.headers.get("access-control-allow-headers")).toBe("content-type,solana-client");
    const cors = await fetch(url, { method: "POST", headers: { "content-type": "application/json", origin: "https://explorer.solana.com" }, body: '{"jsonrpc":"2.0","id":1,"method":"getHealth"}' });
    expect(cors.headers.get("access-control-allow-origin")).toBe("*");
  });
});

describe("chain test-only methods outside test mode", () => {
  const chain = useTestChain({ testMode: false });

  it("error: stableflow_* methods are not found unless the chain runs in test mode", async () => {
    for (const method of ["stableflow_warpSlots", "stableflow_pauseClock", "stableflow_setAccount", "stableflow_freezeTokenAccount"]) {
      expect((await rpc(chain.current.url, method, [1])).error?.code).toBe(-32601);
    }
    expect(typeof (await rpc(chain.current.url, "getSlot")).result).toBe("number");
  });
});
