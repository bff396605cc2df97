// SvmRuntime over LiteSVM 1.4 (a current Agave runtime with p-token), fed web3.js 1.x transactions.
import { Keypair, LAMPORTS_PER_SOL, PublicKey, SystemProgram, Transaction, VersionedTransaction } from "@solana/web3.js";
import bs58 from "bs58";
import { FailedTransactionMetadata, LiteSVM, TransactionMetadata } from "litesvm";
import type { ProgramBinary, RawAccount, SvmRuntime, TxFailure, TxOutcome } from "./runtime.js";

// LiteSVM 1.x speaks @solana/kit: addresses are base58 strings, transactions are
// { messageBytes, signatures }. These aliases keep that knowledge in this file.
type KitAddress = Parameters<LiteSVM["getAccount"]>[0];
type KitTransaction = Parameters<LiteSVM["sendTransaction"]>[0];
type KitEncodedAccount = Parameters<LiteSVM["setAccount"]>[0];

const asAddress = (key: PublicKey) => key.toBase58() as KitAddress;

export async function startLiteSvm(programs: readonly ProgramBinary[]): Promise<SvmRuntime> {
  const svm = new LiteSVM();
  for (const program of programs) svm.addProgram(asAddress(program.programId), program.bytes);
  // LiteSVM's clock starts at unix time 0; a real time makes a recorded timestamp checkable.
  const clock = svm.getClock();
  clock.unixTimestamp = BigInt(Math.floor(Date.now() / 1000));
  svm.setClock(clock);
  const payer = Keypair.generate();
  const funded = svm.airdrop(asAddress(payer.publicKey), (10_000n * BigInt(LAMPORTS_PER_SOL)) as never);
  if (!(funded instanceof TransactionMetadata)) throw new Error(`LiteSVM airdrop failed: ${String(funded)}`);

  return {
    kind: "litesvm",
    payer,
    async latestBlockhash() {
      return svm.latestBlockhash();
    },
    async send(tx) {
      const result = svm.sendTransaction(toKitTransaction(tx));
      const signature = signatureOf(tx);
      if (result instanceof FailedTransactionMetadata) {
        const meta = result.meta();
        const outcome: TxOutcome = {
          ok: false,
          logs: meta.logs(),
          computeUnits: meta.computeUnitsConsumed(),
          signature,
          error: describeFailure(result),
        };
        return outcome;
      }
      return { ok: true, logs: result.logs(), computeUnits: result.computeUnitsConsumed(), signature, error: null };
    },
    async getAccount(address) {
      const account = svm.getAccount(asAddress(address));
      if (!account.exists) return null;
      return {
        lamports: BigInt(account.lamports),
        owner: new PublicKey(account.programAddress),
        data: new Uint8Array(account.data),
        executable: account.executable,
      };
    },
    async setAccount(address, account: RawAccount) {
      const encoded = {
        address: asAddress(address),
        executable: account.executable,
        lamports: account.lamports,
        programAddress: asAddress(account.owner),
        space: BigInt(account.data.length),
        data: account.data,
      } as unknown as KitEncodedAccount;
      svm.setAccount(encoded);
    },
    async advanceSlot() {
      const current = svm.getClock().slot;
      // LiteSVM's warp does not record the slot it leaves in SlotHashes, where the lookup-table
      // program looks up a table's recent slot; record it (newest first, as the sysvar keeps it).
      const history = svm.getSlotHashes();
      const entry = svm.getSlotHashes()[0];
      if (entry && !history.some((h) => h.slot === current)) {
        entry.slot = current;
        entry.hash = svm.latestBlockhash();
        svm.setSlotHashes([entry, ...history].slice(0, 512));
      }
      svm.warpToSlot(current + 1n);
      // LiteSVM keeps one blockhash until told; a new slot should also mean a new blockhash.
      svm.expireBlockhash();
    },
    async slot() {
      return svm.getClock().slot;
    },
    async unixTimestamp() {
      return svm.getClock().unixTimestamp;
    },
    async minimumBalanceForRentExemption(space) {
      return svm.minimumBalanceForRentExemption(BigInt(space));
    },
  };
}

function toKitTransaction(tx: Transaction | VersionedTransaction): KitTransaction {
  const signatures: Record<string, Uint8Array | null> = {};
  if (tx instanceof VersionedTransaction) {
    const signerKeys = tx.message.staticAccountKeys.slice(0, tx.message.header.numRequiredSignatures);
    signerKeys.forEach((key, i) => {
      const sig = tx.signatures[i];
      signatures[key.toBase58()] = sig && sig.some((b) => b !== 0) ? new Uint8Array(sig) : null;
    });
    return { messageBytes: tx.message.serialize(), signatures } as unknown as KitTransaction;
  }
  for (const entry of tx.signatures) {
    signatures[entry.publicKey.toBase58()] = entry.signature ? new Uint8Array(entry.signature) : null;
  }
  return { messageBytes: new Uint8Array(tx.serializeMessage()), signatures } as unknown as KitTransaction;
}

function describeFailure(result: FailedTransactionMetadata): TxFailure {
  const err = result.err() as unknown;
  // The napi error classes are not exported by name; read them by shape.
  const text = /err: (.*?), meta:/s.exec(result.toString())?.[1] ?? String(err);
  if (typeof err === "object" && err !== null && "index" in err && typeof (err as { index: unknown }).index === "number") {
    const withIndex = err as { index: number; err(): unknown };
    const inner = withIndex.err();
    const customCode =
      typeof inner === "object" && inner !== null && "code" in inner ? Number((inner as { code: number }).code) : null;
    return { instructionIndex: withIndex.index, customCode, message: text };
  }
  return { instructionIndex: null, customCode: null, message: text };
}

function signatureOf(tx: Transaction | VersionedTransaction): string {
  const first = tx instanceof VersionedTransaction ? tx.signatures[0] : tx.signature;
  return first ? bs58.encode(first) : "";
}
