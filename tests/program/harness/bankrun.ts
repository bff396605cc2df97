// SvmRuntime over solana-bankrun 0.4 (the Solana 1.18 runtime, classic SPL Token).
import { Keypair, LAMPORTS_PER_SOL, PublicKey, SystemProgram, Transaction, VersionedTransaction } from "@solana/web3.js";
import bs58 from "bs58";
import { parseFailureMessage, type ProgramBinary, type RawAccount, type SvmRuntime, type TxOutcome } from "./runtime.js";

/** The non-upgradeable loader: what solana-program-test itself uses for an added `.so`. */
const BPF_LOADER_2 = new PublicKey("BPFLoader2111111111111111111111111111111111");

/** Account locks per transaction on the cluster (MAX_TX_ACCOUNT_LOCKS). */
const TRANSACTION_ACCOUNT_LOCK_LIMIT = 64n;

export async function startBankrun(programs: readonly ProgramBinary[]): Promise<SvmRuntime> {
  // The 1.18 runtime logs every instruction at DEBUG to stderr unless told otherwise.
  process.env.RUST_LOG ??= "error";
  const { start } = await import("solana-bankrun");
  const payer = Keypair.generate();
  // The program is passed as a ready account rather than by name: bankrun hangs when a
  // named program's .so is missing, and the bytes were already read (and checked) here.
  const context = await start(
    [],
    [
      ...programs.map((program) => ({
        address: program.programId,
        info: {
          lamports: LAMPORTS_PER_SOL,
          data: Buffer.from(program.bytes),
          owner: BPF_LOADER_2,
          executable: true,
        },
      })),
      {
        address: payer.publicKey,
        info: {
          lamports: 10_000 * LAMPORTS_PER_SOL,
          data: Buffer.alloc(0),
          owner: SystemProgram.programId,
          executable: false,
        },
      },
    ],
    undefined,
    // program-test 1.18 allows 128 account locks; the cluster and LiteSVM allow 64.
    TRANSACTION_ACCOUNT_LOCK_LIMIT,
  );
  const client = context.banksClient;

  return {
    kind: "bankrun",
    payer,
    async latestBlockhash() {
      const latest = await client.getLatestBlockhash();
      if (!latest) throw new Error("bankrun returned no blockhash");
      return latest[0];
    },
    async send(tx) {
      const result = await client.tryProcessTransaction(tx);
      const signature = signatureOf(tx);
      const logs = result.meta?.logMessages ?? [];
      const computeUnits = result.meta?.computeUnitsConsumed ?? 0n;
      const outcome: TxOutcome = {
        ok: result.result === null,
        logs,
        computeUnits,
        signature,
        error: result.result === null ? null : parseFailureMessage(result.result),
      };
      return outcome;
    },
    async getAccount(address) {
      const account = await client.getAccount(address);
      if (!account) return null;
      return {
        lamports: BigInt(account.lamports),
        owner: account.owner,
        data: new Uint8Array(account.data),
        executable: account.executable,
      };
    },
    async setAccount(address, account: RawAccount) {
      context.setAccount(address, {
        lamports: Number(account.lamports),
        owner: account.owner,
        data: Buffer.from(account.data),
        executable: account.executable,
      });
    },
    async advanceSlot() {
      const slot = await client.getSlot();
      context.warpToSlot(slot + 1n);
    },
    async slot() {
      return client.getSlot();
    },
    async unixTimestamp() {
      return (await client.getClock()).unixTimestamp;
    },
    async minimumBalanceForRentExemption(space) {
      const rent = await client.getRent();
      return rent.minimumBalance(BigInt(space));
    },
  };
}

function signatureOf(tx: Transaction | VersionedTransaction): string {
  const first = tx instanceof VersionedTransaction ? tx.signatures[0] : tx.signature;
  return first ? bs58.encode(first) : "";
}
