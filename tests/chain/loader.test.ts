// The upgradeable BPF loader through real transactions, as `npm run program -- deploy | upgrade` will
// drive it with web3.js: a buffer written in chunks, DeployWithMaxDataLen, Upgrade, and the program
// callable after each and after a SIGKILL of the chain.
import { readFileSync } from "node:fs";
import {
  Keypair,
  PublicKey,
  SystemProgram,
  SYSVAR_CLOCK_PUBKEY,
  SYSVAR_RENT_PUBKEY,
  Transaction,
  TransactionInstruction,
  VersionedTransaction,
  type Connection,
} from "@solana/web3.js";
import { describe, expect, it } from "vitest";
import { useTestChain } from "../setup/chain";
import { fundedKeypair, send, waitForStatus } from "./helpers";

const LOADER = new PublicKey("BPFLoaderUpgradeab1e11111111111111111111111");
const BUFFER_METADATA = 37; // tag u32 + Option<authority>
const PROGRAMDATA_METADATA = 45; // tag u32 + slot u64 + Option<authority>
const CHUNK = 900;

// UpgradeableLoaderInstruction, bincode: a u32 tag, then the variant's fields.
const tag = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
};
const initializeBuffer = (buffer: PublicKey, authority: PublicKey) =>
  new TransactionInstruction({ programId: LOADER, keys: [{ pubkey: buffer, isSigner: false, isWritable: true }, { pubkey: authority, isSigner: false, isWritable: false }], data: tag(0) });
function write(buffer: PublicKey, authority: PublicKey, offset: number, bytes: Buffer) {
  const data = Buffer.alloc(4 + 4 + 8 + bytes.length);
  data.writeUInt32LE(1, 0);
  data.writeUInt32LE(offset, 4);
  data.writeBigUInt64LE(BigInt(bytes.length), 8);
  bytes.copy(data, 16);
  return new TransactionInstruction({ programId: LOADER, keys: [{ pubkey: buffer, isSigner: false, isWritable: true }, { pubkey: authority, isSigner: true, isWritable: false }], data });
}
function deployWithMaxDataLen(payer: PublicKey, programData: PublicKey, program: PublicKey, buffer: PublicKey, authority: PublicKey, maxDataLen: number) {
  const data = Buffer.alloc(12);
  data.writeUInt32LE(2, 0);
  data.writeBigUInt64LE(BigInt(maxDataLen), 4);
  return new TransactionInstruction({
    programId: LOADER,
    keys: [
      { pubkey: payer, isSigner: true, isWritable: true },
      { pubkey: programData, isSigner: false, isWritable: true },
      { pubkey: program, isSigner: false, isWritable: true },
      { pubkey: buffer, isSigner: false, isWritable: true },
      { pubkey: SYSVAR_RENT_PUBKEY, isSigner: false, isWritable: false },
      { pubkey: SYSVAR_CLOCK_PUBKEY, isSigner: false, isWritable: false },
      { pubkey: SystemProgram.programId, isSigner: false, isWritable: false },
      { pubkey: authority, isSigner: true, isWritable: false },
    ],
    data,
  });
}
const upgrade = (programData: PublicKey, program: PublicKey, buffer: PublicKey, spill: PublicKey, authority: PublicKey) =>
  new TransactionInstruction({
    programId: LOADER,
    keys: [
      { pubkey: programData, isSigner: false, isWritable: true },
      { pubkey: program, isSigner: false, isWritable: true },
      { pubkey: buffer, isSigner: false, isWritable: true },
      { pubkey: spill, isSigner: false, isWritable: true },
      { pubkey: SYSVAR_RENT_PUBKEY, isSigner: false, isWritable: false },
      { pubkey: SYSVAR_CLOCK_PUBKEY, isSigner: false, isWritable: false },
      { pubkey: authority, isSigner: true, isWritable: false },
    ],
    data: tag(3),
  });

/** A buffer account holding `elf`, written in chunks (sent together, confirmed at the end). */
async function writeBuffer(connection: Connection, payer: Keypair, elf: Buffer): Promise<PublicKey> {
  const buffer = Keypair.generate();
  const size = BUFFER_METADATA + elf.length;
  await send(connection, payer, [
    SystemProgram.createAccount({ fromPubkey: payer.publicKey, newAccountPubkey: buffer.publicKey, lamports: await connection.getMinimumBalanceForRentExemption(size), space: size, programId: LOADER }),
    initializeBuffer(buffer.publicKey, payer.publicKey),
  ], [buffer]);
  let blockhash = "";
  const signatures: string[] = [];
  for (let offset = 0; offset < elf.length; offset += CHUNK) {
    // A fresh blockhash every few chunks: at 50 ms slots one lives 7.5 s, and a loaded machine is slow.
    if ((offset / CHUNK) % 8 === 0) blockhash = (await connection.getLatestBlockhash()).blockhash;
    const tx = new Transaction({ feePayer: payer.publicKey, recentBlockhash: blockhash }).add(write(buffer.publicKey, payer.publicKey, offset, elf.subarray(offset, offset + CHUNK)));
    tx.sign(payer);
    signatures.push(await connection.sendRawTransaction(tx.serialize()));
  }
  for (const signature of signatures) expect((await waitForStatus(connection, signature)).err).toBeNull();
  return buffer.publicKey;
}

/** Calls the program with junk data: its own error (not "program not found") proves it loaded. */
async function invokeLogs(connection: Connection, payer: Keypair, program: PublicKey): Promise<string[]> {
  // A program deployed in a slot runs from the next one, as on a cluster: retry for a few slots.
  for (let attempt = 0; ; attempt += 1) {
    const { blockhash } = await connection.getLatestBlockhash();
    const tx = new Transaction({ feePayer: payer.publicKey, recentBlockhash: blockhash }).add(new TransactionInstruction({ programId: program, keys: [], data: Buffer.alloc(8, 7) }));
    tx.sign(payer);
    // Versioned: web3.js re-blockhashes a legacy Transaction from a 30 s cache, longer than 150 blocks of 50 ms.
    const logs = (await connection.simulateTransaction(new VersionedTransaction(tx.compileMessage()))).value.logs ?? [];
    if (logs.length > 0 || attempt >= 50) return logs;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe("the upgradeable loader through transactions", () => {
  const chain = useTestChain();

  it("buffer in chunks, DeployWithMaxDataLen, Upgrade: the program runs after each and after a SIGKILL", async () => {
    const connection = chain.current.connection;
    const payer = await fundedKeypair(connection, 100);
    const elf = readFileSync("target/deploy/stableflow_payouts.so");
    const program = Keypair.generate();
    const [programData] = PublicKey.findProgramAddressSync([program.publicKey.toBytes()], LOADER);

    const buffer = await writeBuffer(connection, payer, elf);
    const written = await connection.getAccountInfo(buffer);
    expect(Buffer.from(written!.data.subarray(BUFFER_METADATA)).equals(elf)).toBe(true);

    await send(connection, payer, [
      SystemProgram.createAccount({ fromPubkey: payer.publicKey, newAccountPubkey: program.publicKey, lamports: await connection.getMinimumBalanceForRentExemption(36), space: 36, programId: LOADER }),
      deployWithMaxDataLen(payer.publicKey, programData, program.publicKey, buffer, payer.publicKey, elf.length * 2),
    ], [program]);
    const data = await connection.getAccountInfo(programData);
    expect(data!.data.length).toBe(PROGRAMDATA_METADATA + elf.length * 2);
    expect(data!.data[12]).toBe(1); // Some(upgrade authority)
    expect(new PublicKey(data!.data.subarray(13, 45)).equals(payer.publicKey)).toBe(true);
    expect(await connection.getAccountInfo(buffer)).toBeNull(); // the deploy drains the buffer

    const logs = await invokeLogs(connection, payer, program.publicKey);
    expect(logs[0]).toBe(`Program ${program.publicKey.toBase58()} invoke [1]`);
    expect(logs.at(-1)).toMatch(new RegExp(`^Program ${program.publicKey.toBase58()} failed: custom program error: 0x`));

    const second = await writeBuffer(connection, payer, elf);
    const spill = Keypair.generate().publicKey;
    await send(connection, payer, [upgrade(programData, program.publicKey, second, spill, payer.publicKey)]);
    expect(await connection.getBalance(spill)).toBeGreaterThan(0); // the buffer's lamports
    const upgradedSlot = Number((await connection.getAccountInfo(programData))!.data.readBigUInt64LE(4));
    expect(upgradedSlot).toBeGreaterThan(0);

    // Only the upgrade authority may upgrade.
    const stranger = await fundedKeypair(connection, 10);
    const third = await writeBuffer(connection, stranger, elf);
    const { blockhash } = await connection.getLatestBlockhash();
    const byStranger = new Transaction({ feePayer: stranger.publicKey, recentBlockhash: blockhash }).add(upgrade(programData, program.publicKey, third, spill, stranger.publicKey));
    byStranger.sign(stranger);
    const strangerError = await connection.sendRawTransaction(byStranger.serialize()).catch((e: Error) => e.message);
    expect(strangerError).toMatch(/Incorrect authority provided/);

    await chain.current.kill("SIGKILL");
    await chain.current.restart();
    const after = await invokeLogs(connection, payer, program.publicKey);
    expect(after[0]).toBe(`Program ${program.publicKey.toBase58()} invoke [1]`);
    expect(after.at(-1)).toMatch(/failed: custom program error: 0x/);
    expect(Number((await connection.getAccountInfo(programData))!.data.readBigUInt64LE(4))).toBe(upgradedSlot);
  });
});
