// SIGKILL of the chain process at random moments during a stream of token transfers, many times:
// after each restart every transfer the server had answered is found (its journal is fsynced before
// the answer), every one seen confirmed is there with its effect, balances add up, and slots never go
// back. CHAIN_CRASH_ROUNDS (default 20) kills per mode; CHAIN_CRASH_TRANSFERS (default 200) transfers.
import fc from "fast-check";
import type { Connection, TokenBalance } from "@solana/web3.js";
import bs58 from "bs58";
import { describe, expect, it } from "vitest";
import { useTestChain } from "../setup/chain";
import { createTransferCheckedInstruction } from "@solana/spl-token";
import { DECIMALS, send, tokenAmount, tokenWorld, transferTx, type TokenWorld } from "./helpers";

const ROUNDS = Number(process.env.CHAIN_CRASH_ROUNDS ?? 20);
const TRANSFERS = Number(process.env.CHAIN_CRASH_TRANSFERS ?? 200);
const ACCOUNTS = 5;
const START_BALANCE = 1_000_000_000n;

interface Transfer {
  from: number;
  to: number;
  amount: bigint;
}

describe.each([
  { mode: "embedded", separate: false },
  { mode: "rpc", separate: true },
])("chain crash safety ($mode)", ({ separate }) => {
  const chain = useTestChain({ separate, slotMs: 20 });

  it(`SIGKILL at random moments during ${TRANSFERS} transfers, ${ROUNDS} times: nothing answered is lost`, { timeout: 900_000 }, async () => {
    const connection = chain.current.connection;
    const world = await tokenWorld(connection, ACCOUNTS, START_BALANCE * BigInt(ACCOUNTS));
    for (let i = 1; i < ACCOUNTS; i += 1) {
      await send(connection, world.payer, [createTransferCheckedInstruction(world.accounts[0]!, world.mint, world.accounts[i]!, world.owners[0]!.publicKey, START_BALANCE, DECIMALS)], [world.owners[0]!]);
    }
    const supply = START_BALANCE * BigInt(ACCOUNTS);
    // A reproducible plan: which accounts each transfer moves between, and when each round's kill lands.
    const seed = Number(process.env.CHAIN_CRASH_SEED ?? Date.now() % 1_000_000);
    console.info(`chain crash test: CHAIN_CRASH_SEED=${seed} replays this schedule`);
    const plan = fc.sample(fc.record({ from: fc.nat(ACCOUNTS - 1), to: fc.nat(ACCOUNTS - 2), amount: fc.integer({ min: 1, max: 1_000 }) }), { numRuns: TRANSFERS, seed });
    const killDelays = fc.sample(fc.integer({ min: 0, max: 200 }), { numRuns: ROUNDS, seed: seed + 1 });

    const signed = new Map<string, Transfer>();
    const answered = new Set<string>();
    const confirmed = new Set<string>();
    let highestSlot = 0;
    let next = 0;
    const perRound = Math.max(1, Math.ceil(TRANSFERS / (ROUNDS + 1)));

    const stream = async (count: number, stopped: () => boolean) => {
      try {
        let blockhash = "";
        for (let i = 0; i < count && next < TRANSFERS && !stopped(); i += 1) {
          // A fresh blockhash now and then: at 20 ms slots one lives 3 s.
          if (i % 10 === 0) {
            const latest = await connection.getLatestBlockhashAndContext("processed");
            highestSlot = Math.max(highestSlot, latest.context.slot);
            blockhash = latest.value.blockhash;
          }
          const step = plan[next]!;
          // Distinct amounts keep every transaction (and signature) distinct.
          const transfer = { from: step.from, to: step.to >= step.from ? step.to + 1 : step.to, amount: BigInt(step.amount * 1_000 + next) };
          next += 1;
          const tx = transferTx(world, transfer.from, transfer.to, transfer.amount, blockhash);
          // Known before it is sent: a transfer in flight when the process dies may or may not have landed.
          signed.set(bs58.encode(tx.signature!), transfer);
          const signature = await connection.sendRawTransaction(tx.serialize(), { skipPreflight: i % 2 === 1 });
          answered.add(signature);
          const open = [...answered].filter((s) => !confirmed.has(s));
          const { context: statusContext, value } = await connection.getSignatureStatuses(open);
          highestSlot = Math.max(highestSlot, statusContext.slot);
          value.forEach((status, k) => {
            if (status && status.err === null && status.confirmationStatus !== "processed") confirmed.add(open[k]!);
          });
        }
      } catch (error) {
        // The process was killed under the request: expected, the round ends here; otherwise a failure.
        if (!stopped()) throw error;
      }
    };

    for (let round = 0; round < ROUNDS; round += 1) {
      let killed = false;
      const killer = new Promise((resolve) => setTimeout(resolve, killDelays[round])).then(async () => {
        killed = true;
        await chain.current.kill("SIGKILL");
      });
      await stream(perRound, () => killed);
      await killer;
      await chain.current.restart();
      await checkAfterRestart(connection, { answered, confirmed, highestSlot });
      highestSlot = await connection.getSlot("processed");
    }
    // The rest without a kill, then settle.
    await stream(TRANSFERS, () => false);
    expect(next).toBe(TRANSFERS);

    // Every transfer that landed (answered or not), replayed on the starting balances, gives the balances.
    const expected = world.accounts.map(() => START_BALANCE);
    const landed: string[] = [];
    const signatures = [...signed.keys()];
    for (let i = 0; i < signatures.length; i += 200) {
      const batch = signatures.slice(i, i + 200);
      const { value } = await connection.getSignatureStatuses(batch, { searchTransactionHistory: true });
      value.forEach((status, k) => {
        if (!status) return;
        expect(status.err).toBeNull();
        landed.push(batch[k]!);
        const t = signed.get(batch[k]!)!;
        expected[t.from] = expected[t.from]! - t.amount;
        expected[t.to] = expected[t.to]! + t.amount;
      });
    }
    for (const signature of answered) expect(landed).toContain(signature);
    const balances = await Promise.all(world.accounts.map((a) => tokenAmount(connection, a)));
    expect(balances).toEqual(expected);
    expect(balances.reduce((a, b) => a + b, 0n)).toBe(supply);
    // Each transfer seen confirmed is in the history with its effect.
    for (const signature of confirmed) await expectTransferEffect(connection, world, signature, signed.get(signature)!);
    expect(confirmed.size).toBeGreaterThan(TRANSFERS / 4);
  });
});

async function checkAfterRestart(connection: Connection, seen: { answered: Set<string>; confirmed: Set<string>; highestSlot: number }) {
  expect(await connection.getSlot("processed")).toBeGreaterThan(seen.highestSlot);
  const list = [...seen.answered];
  for (let i = 0; i < list.length; i += 200) {
    const batch = list.slice(i, i + 200);
    const { value } = await connection.getSignatureStatuses(batch, { searchTransactionHistory: true });
    value.forEach((status, k) => {
      expect(status, `answered ${batch[k]} lost in a crash`).not.toBeNull();
      if (seen.confirmed.has(batch[k]!)) expect(status!.confirmationStatus).not.toBe("processed");
    });
  }
}

async function expectTransferEffect(connection: Connection, world: TokenWorld, signature: string, transfer: Transfer) {
  const tx = await connection.getTransaction(signature, { commitment: "confirmed", maxSupportedTransactionVersion: 0 });
  expect(tx?.meta?.err).toBeNull();
  const keys = tx!.transaction.message.staticAccountKeys.map((k) => k.toBase58());
  const amount = (list: TokenBalance[] | null | undefined, account: string) =>
    BigInt(list!.find((b) => keys[b.accountIndex] === account)!.uiTokenAmount.amount);
  const from = world.accounts[transfer.from]!.toBase58();
  const to = world.accounts[transfer.to]!.toBase58();
  expect(amount(tx!.meta!.preTokenBalances, from) - amount(tx!.meta!.postTokenBalances, from)).toBe(transfer.amount);
  expect(amount(tx!.meta!.postTokenBalances, to) - amount(tx!.meta!.preTokenBalances, to)).toBe(transfer.amount);
}
