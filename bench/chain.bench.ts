// Measures the embedded chain through its JSON-RPC against LiteSVM in process, and prints ONE JSON line:
// send-to-confirmed latency of a plain SPL token transfer through Connection (p50/p99, arrivals
// spread uniformly over a slot), getAccountInfo calls per second, transfers per second sent through
// the RPC (signed beforehand) and executed straight in LiteSVM (the same transfer, signed beforehand),
// and their ratio. getAccountInfo is read through the app's own ChainClient.account (the headline), through
// the same client's Connection.getAccountInfo (web3.js's parse), through a plain Connection with web3.js's
// default fetch, and as plain JSON-RPC posts (the server's own capacity).
// Run: npm run bench:chain   (BENCH_CHAIN_SLOT_MS, default 400: the chain's default slot time)
import http from "node:http";
import { Connection, Keypair, PublicKey, SystemProgram, Transaction } from "@solana/web3.js";
import {
  createInitializeAccount3Instruction,
  createInitializeMint2Instruction,
  createMintToInstruction,
  createTransferCheckedInstruction,
  TOKEN_PROGRAM_ID,
} from "@solana/spl-token";
import { LiteSvm, FailedTransactionMetadata } from "litesvm/dist/internal.js";
import { ChainClient } from "../app/settlement/chain.server.js";
import { chainConfigFromEnv } from "../app/settlement/chain-config.server.js";
import { startTestChain } from "../tests/setup/chain-process.js";
import { DECIMALS, tokenWorld, transferTx, waitForStatus, type TokenWorld } from "../tests/chain/helpers.js";

const SLOT_MS = Number(process.env.BENCH_CHAIN_SLOT_MS ?? 400);
const CONFIRM_SAMPLES = Number(process.env.BENCH_CHAIN_CONFIRM_SAMPLES ?? 40);
const READ_SECONDS = 3;
const READ_CONCURRENCY = 8;
const SEND_COUNT = 600;
const SEND_CONCURRENCY = 4;
const DIRECT_COUNT = 3_000;
const GOALS = { rpc_send_confirm_p50_ms_max: SLOT_MS + 20, rpc_calls_per_s_min: 2_000 };

const say = (message: string) => process.stderr.write(`[bench:chain] ${message}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const round = (x: number, digits = 1) => Number(x.toFixed(digits));

async function sendConfirmLatency(connection: Connection, world: TokenWorld) {
  const confirm: number[] = [];
  const send: number[] = [];
  let blockhash = (await connection.getLatestBlockhash()).blockhash;
  for (let i = 0; i < CONFIRM_SAMPLES; i += 1) {
    if (i % 20 === 0) blockhash = (await connection.getLatestBlockhash()).blockhash;
    // A sender does not know where in a slot it is: arrivals spread over one slot time.
    await sleep(Math.random() * SLOT_MS);
    const tx = transferTx(world, 0, 1, BigInt(i + 1), blockhash);
    const started = performance.now();
    const signature = await connection.sendRawTransaction(tx.serialize());
    send.push(performance.now() - started);
    for (;;) {
      const status = (await connection.getSignatureStatuses([signature])).value[0];
      if (status?.err) throw new Error(`transfer failed: ${JSON.stringify(status.err)}`);
      if (status && status.confirmationStatus !== "processed") break;
      await sleep(2);
    }
    confirm.push(performance.now() - started);
  }
  confirm.sort((a, b) => a - b);
  send.sort((a, b) => a - b);
  return { p50: percentile(confirm, 50), p99: percentile(confirm, 99), sendP50: percentile(send, 50) };
}

async function accountReads(read: (address: PublicKey) => Promise<unknown>, world: TokenWorld) {
  let calls = 0;
  const deadline = performance.now() + READ_SECONDS * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: READ_CONCURRENCY }, async () => {
      while (performance.now() < deadline) {
        const account = await read(world.accounts[calls % 2]!);
        if (!account) throw new Error("token account missing");
        calls += 1;
      }
    }),
  );
  return calls / ((performance.now() - started) / 1000);
}

/** The server's own capacity: the same getAccountInfo as plain JSON-RPC posts, no client library. */
async function rawAccountReads(url: string, world: TokenWorld) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: READ_CONCURRENCY });
  const body = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "getAccountInfo", params: [world.accounts[0]!.toBase58(), { encoding: "base64" }] });
  const post = () =>
    new Promise<void>((resolve, reject) => {
      const req = http.request(url, { method: "POST", agent, headers: { "content-type": "application/json" } }, (res) => {
        let text = "";
        res.on("data", (chunk) => (text += chunk));
        res.on("end", () => (text.includes('"lamports"') ? resolve() : reject(new Error(`unexpected answer: ${text}`))));
      });
      req.on("error", reject);
      req.end(body);
    });
  let calls = 0;
  const started = performance.now();
  const deadline = started + READ_SECONDS * 1000;
  await Promise.all(
    Array.from({ length: READ_CONCURRENCY }, async () => {
      while (performance.now() < deadline) {
        await post();
        calls += 1;
      }
    }),
  );
  agent.destroy();
  return calls / ((performance.now() - started) / 1000);
}

async function rpcSends(connection: Connection, world: TokenWorld) {
  const { blockhash } = await connection.getLatestBlockhash();
  const raws = Array.from({ length: SEND_COUNT }, (_, i) => transferTx(world, 0, 1, BigInt(1_000 + i), blockhash).serialize());
  let next = 0;
  const signatures: string[] = [];
  const started = performance.now();
  await Promise.all(
    Array.from({ length: SEND_CONCURRENCY }, async () => {
      while (next < raws.length) signatures.push(await connection.sendRawTransaction(raws[next++]!));
    }),
  );
  const perSecond = SEND_COUNT / ((performance.now() - started) / 1000);
  await waitForStatus(connection, signatures.at(-1)!);
  return perSecond;
}

/** The same TransferChecked into LiteSVM in this process: mint and accounts created by transactions too. */
function directSends() {
  const svm = new LiteSvm();
  const payer = Keypair.generate();
  const owner = Keypair.generate();
  const mint = Keypair.generate();
  const source = Keypair.generate();
  const destination = Keypair.generate();
  svm.airdrop(payer.publicKey.toBytes(), 100_000_000_000n);
  const run = (tx: Transaction) => {
    const result = svm.sendLegacyTransaction(tx.serialize());
    if (result instanceof FailedTransactionMetadata) throw new Error(result.toString());
  };
  const blockhash = svm.latestBlockhash();
  const setup = new Transaction({ feePayer: payer.publicKey, recentBlockhash: blockhash }).add(
    SystemProgram.createAccount({ fromPubkey: payer.publicKey, newAccountPubkey: mint.publicKey, lamports: Number(svm.minimumBalanceForRentExemption(82n)), space: 82, programId: TOKEN_PROGRAM_ID }),
    createInitializeMint2Instruction(mint.publicKey, DECIMALS, payer.publicKey, null),
    ...[source, destination].flatMap((account) => [
      SystemProgram.createAccount({ fromPubkey: payer.publicKey, newAccountPubkey: account.publicKey, lamports: Number(svm.minimumBalanceForRentExemption(165n)), space: 165, programId: TOKEN_PROGRAM_ID }),
      createInitializeAccount3Instruction(account.publicKey, mint.publicKey, owner.publicKey),
    ]),
    createMintToInstruction(mint.publicKey, source.publicKey, payer.publicKey, 1_000_000_000n),
  );
  setup.sign(payer, mint, source, destination);
  run(setup);
  const raws = Array.from({ length: DIRECT_COUNT }, (_, i) => {
    const tx = new Transaction({ feePayer: payer.publicKey, recentBlockhash: blockhash }).add(
      createTransferCheckedInstruction(source.publicKey, mint.publicKey, destination.publicKey, owner.publicKey, BigInt(i + 1), DECIMALS),
    );
    tx.sign(payer, owner);
    return tx.serialize();
  });
  const started = performance.now();
  for (const raw of raws) {
    const result = svm.sendLegacyTransaction(raw);
    if (result instanceof FailedTransactionMetadata) throw new Error(result.toString());
  }
  return DIRECT_COUNT / ((performance.now() - started) / 1000);
}

async function main() {
  const chain = await startTestChain({ slotMs: SLOT_MS, testMode: false });
  try {
    const connection = chain.connection;
    say(`chain at ${chain.url}, ${SLOT_MS} ms slots`);
    const world = await tokenWorld(connection, 2, 1_000_000_000_000n);
    say(`send -> confirmed, ${CONFIRM_SAMPLES} transfers`);
    const latency = await sendConfirmLatency(connection, world);
    // The headline is the app's own read (ChainClient.account: undici pool, the JSON-RPC envelope and the
    // result parsed once with zod); beside it the same transport with web3.js's getAccountInfo (its
    // superstruct parse), a plain Connection with web3.js's default fetch, and the server's capacity
    // without any client library.
    say(`getAccountInfo for ${READ_SECONDS} s, ${READ_CONCURRENCY} at a time: ChainClient.account, its Connection's getAccountInfo, web3.js's default fetch, raw posts`);
    const app = new ChainClient(chainConfigFromEnv({ SOLANA_RPC_URL: chain.url, STABLEFLOW_CHAIN_PORT: chain.port }));
    const reads = await accountReads((address) => app.account(address), world);
    const readsWeb3 = await accountReads((address) => app.connection.getAccountInfo(address), world);
    const readsDefaultFetch = await accountReads((address) => connection.getAccountInfo(address), world);
    const readsRaw = await rawAccountReads(chain.url, world);
    say(`${SEND_COUNT} signed transfers through sendTransaction, ${SEND_CONCURRENCY} at a time`);
    const sends = await rpcSends(connection, world);
    say(`${DIRECT_COUNT} signed transfers straight into LiteSVM`);
    const direct = directSends();
    const figures = {
      bench: "chain",
      slot_ms: SLOT_MS,
      rpc_send_confirm_p50_ms: round(latency.p50),
      rpc_send_confirm_p99_ms: round(latency.p99),
      rpc_send_ms_p50: round(latency.sendP50, 2),
      rpc_calls_per_s: round(reads, 0),
      rpc_calls_per_s_web3_parse: round(readsWeb3, 0),
      rpc_calls_per_s_default_fetch: round(readsDefaultFetch, 0),
      rpc_calls_per_s_raw_http: round(readsRaw, 0),
      rpc_send_tx_per_s: round(sends, 0),
      litesvm_direct_tx_per_s: round(direct, 0),
      overhead_ratio: round(direct / sends, 2),
      samples: { confirm: CONFIRM_SAMPLES, reads_seconds: READ_SECONDS, rpc_sends: SEND_COUNT, direct_sends: DIRECT_COUNT },
      goals: GOALS,
      goals_met: {
        send_confirm_p50: latency.p50 < GOALS.rpc_send_confirm_p50_ms_max,
        rpc_calls_per_s: reads >= GOALS.rpc_calls_per_s_min,
      },
    };
    process.stdout.write(`${JSON.stringify(figures)}\n`);
  } finally {
    await chain.stop();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stdout.write(`${JSON.stringify({ bench: "chain", error: error instanceof Error ? (error.stack ?? error.message) : String(error) })}\n`);
    process.exit(1);
  },
);
