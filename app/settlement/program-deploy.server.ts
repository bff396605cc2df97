// Deploys and upgrades the payout program through the BPF upgradeable loader with web3.js alone (no
// Solana CLI): the .so is written into a buffer account in chunks, then deployed (a new program) or
// swapped in (an upgrade). Resumable: the buffer's keypair is kept beside the caller's state, and a
// rerun writes only the chunks the buffer does not already hold. Every transaction goes through the
// chain client's send-and-confirm loop, so the embedded chain and devnet run the same steps.
import { createHash } from "node:crypto";
import {
  Keypair,
  PublicKey,
  SystemProgram,
  SYSVAR_CLOCK_PUBKEY,
  SYSVAR_RENT_PUBKEY,
  TransactionInstruction,
  type Signer,
} from "@solana/web3.js";
import type { ChainClient } from "./chain.server";

export const UPGRADEABLE_LOADER_ID = new PublicKey("BPFLoaderUpgradeab1e11111111111111111111111");

// UpgradeableLoaderState, bincode: a u32 tag, then the variant's fields.
const BUFFER_HEADER = 4 + 1 + 32; // Buffer { authority: Option<Pubkey> }
const PROGRAM_SIZE = 4 + 32; // Program { programdata_address }
const PROGRAMDATA_HEADER = 4 + 8 + 1 + 32; // ProgramData { slot, upgrade_authority: Option<Pubkey> }
/** Bytes of program per Write transaction: one signer, three accounts, within the 1232-byte packet. */
export const WRITE_CHUNK_BYTES = 950;

export class ProgramDeployError extends Error {
  constructor(
    readonly code:
      | "DEPLOY_NOT_UPGRADE_AUTHORITY"
      | "DEPLOY_PROGRAM_EXISTS"
      | "DEPLOY_PROGRAM_MISSING"
      | "DEPLOY_NOT_UPGRADEABLE"
      | "DEPLOY_FEE_PAYER_UNFUNDED"
      | "DEPLOY_BUFFER_FOREIGN",
    message: string,
  ) {
    super(message);
    this.name = "ProgramDeployError";
  }
}

function u32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(value);
  return b;
}

function u64(value: number | bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(value));
  return b;
}

export const loaderInstructions = {
  initializeBuffer(buffer: PublicKey, authority: PublicKey): TransactionInstruction {
    return new TransactionInstruction({
      programId: UPGRADEABLE_LOADER_ID,
      keys: [
        { pubkey: buffer, isSigner: false, isWritable: true },
        { pubkey: authority, isSigner: false, isWritable: false },
      ],
      data: u32(0),
    });
  },
  write(buffer: PublicKey, authority: PublicKey, offset: number, bytes: Uint8Array): TransactionInstruction {
    return new TransactionInstruction({
      programId: UPGRADEABLE_LOADER_ID,
      keys: [
        { pubkey: buffer, isSigner: false, isWritable: true },
        { pubkey: authority, isSigner: true, isWritable: false },
      ],
      data: Buffer.concat([u32(1), u32(offset), u64(bytes.length), Buffer.from(bytes)]),
    });
  },
  deployWithMaxDataLen(args: { payer: PublicKey; program: PublicKey; buffer: PublicKey; authority: PublicKey; maxDataLen: number }) {
    return new TransactionInstruction({
      programId: UPGRADEABLE_LOADER_ID,
      keys: [
        { pubkey: args.payer, isSigner: true, isWritable: true },
        { pubkey: programDataAddress(args.program), isSigner: false, isWritable: true },
        { pubkey: args.program, isSigner: false, isWritable: true },
        { pubkey: args.buffer, isSigner: false, isWritable: true },
        { pubkey: SYSVAR_RENT_PUBKEY, isSigner: false, isWritable: false },
        { pubkey: SYSVAR_CLOCK_PUBKEY, isSigner: false, isWritable: false },
        { pubkey: SystemProgram.programId, isSigner: false, isWritable: false },
        { pubkey: args.authority, isSigner: true, isWritable: false },
      ],
      data: Buffer.concat([u32(2), u64(args.maxDataLen)]),
    });
  },
  upgrade(args: { program: PublicKey; buffer: PublicKey; spill: PublicKey; authority: PublicKey }) {
    return new TransactionInstruction({
      programId: UPGRADEABLE_LOADER_ID,
      keys: [
        { pubkey: programDataAddress(args.program), isSigner: false, isWritable: true },
        { pubkey: args.program, isSigner: false, isWritable: true },
        { pubkey: args.buffer, isSigner: false, isWritable: true },
        { pubkey: args.spill, isSigner: false, isWritable: true },
        { pubkey: SYSVAR_RENT_PUBKEY, isSigner: false, isWritable: false },
        { pubkey: SYSVAR_CLOCK_PUBKEY, isSigner: false, isWritable: false },
        { pubkey: args.authority, isSigner: true, isWritable: false },
      ],
      data: u32(3),
    });
  },
  extendProgram(args: { program: PublicKey; payer: PublicKey; additionalBytes: number }) {
    return new TransactionInstruction({
      programId: UPGRADEABLE_LOADER_ID,
      keys: [
        { pubkey: programDataAddress(args.program), isSigner: false, isWritable: true },
        { pubkey: args.program, isSigner: false, isWritable: true },
        { pubkey: SystemProgram.programId, isSigner: false, isWritable: false },
        { pubkey: args.payer, isSigner: true, isWritable: true },
      ],
      data: Buffer.concat([u32(6), u32(args.additionalBytes)]),
    });
  },
};

export function programDataAddress(program: PublicKey): PublicKey {
  return PublicKey.findProgramAddressSync([program.toBuffer()], UPGRADEABLE_LOADER_ID)[0];
}

export interface DeployedProgram {
  program: string;
  programData: string;
  upgradeAuthority: string | null;
  deployedSlot: bigint;
  /** Length of the ELF as deployed (trailing zero padding of the program data account trimmed). */
  programBytes: number;
  capacity: number;
  sha256: string;
}

function trimZeros(data: Buffer): Buffer {
  let end = data.length;
  while (end > 0 && data[end - 1] === 0) end--;
  return data.subarray(0, end);
}

/** What the cluster holds at `program`, or null when nothing is deployed there. */
export async function showProgram(client: ChainClient, program: PublicKey): Promise<DeployedProgram | null> {
  const account = await client.account(program);
  if (!account) return null;
  if (!account.owner.equals(UPGRADEABLE_LOADER_ID) || account.data.length < PROGRAM_SIZE || account.data.readUInt32LE(0) !== 2) {
    throw new ProgramDeployError("DEPLOY_NOT_UPGRADEABLE", `${program.toBase58()} is not a program of the upgradeable loader`);
  }
  const programData = new PublicKey(account.data.subarray(4, 36));
  const data = await client.account(programData);
  if (!data || data.data.length < PROGRAMDATA_HEADER || data.data.readUInt32LE(0) !== 3) {
    throw new ProgramDeployError("DEPLOY_NOT_UPGRADEABLE", `the program data account of ${program.toBase58()} is missing or malformed`);
  }
  const hasAuthority = data.data[12] === 1;
  const elf = trimZeros(data.data.subarray(PROGRAMDATA_HEADER));
  return {
    program: program.toBase58(),
    programData: programData.toBase58(),
    upgradeAuthority: hasAuthority ? new PublicKey(data.data.subarray(13, 45)).toBase58() : null,
    deployedSlot: data.data.readBigUInt64LE(4),
    programBytes: elf.length,
    capacity: data.data.length - PROGRAMDATA_HEADER,
    sha256: createHash("sha256").update(elf).digest("hex"),
  };
}

export interface DeployProgress {
  (event: { step: "buffer" | "write" | "deploy" | "upgrade" | "extend" | "done"; written?: number; total?: number; message: string }): void;
}

export interface DeployOptions {
  client: ChainClient;
  /** Pays fees and rent, and is the upgrade authority. */
  authority: Keypair;
  elf: Uint8Array;
  /** The buffer's keypair: persisted by the caller so a failed run resumes into the same buffer. */
  buffer: Keypair;
  onProgress?: DeployProgress;
}

function send(client: ChainClient, instructions: TransactionInstruction[], payer: Keypair, signers: Signer[] = []) {
  return client.sendInstructions(instructions, payer, signers);
}

async function requireFunds(client: ChainClient, payer: PublicKey, needed: bigint) {
  const balance = await client.lamports(payer);
  if (balance < needed) {
    throw new ProgramDeployError(
      "DEPLOY_FEE_PAYER_UNFUNDED",
      `the fee payer ${payer.toBase58()} holds ${balance} lamports; the deploy needs about ${needed} (${needed - balance} more)`,
    );
  }
}

/**
 * Makes the buffer hold exactly `elf`: creates it if missing, and writes only the chunks that differ
 * (all of them the first time; the missing ones after an interrupted run).
 */
export async function writeBuffer({ client, authority, elf, buffer, onProgress }: DeployOptions): Promise<void> {
  const size = BUFFER_HEADER + elf.length;
  let account = await client.account(buffer.publicKey);
  if (account && (!account.owner.equals(UPGRADEABLE_LOADER_ID) || account.data.length !== size || account.data.readUInt32LE(0) !== 1)) {
    throw new ProgramDeployError(
      "DEPLOY_BUFFER_FOREIGN",
      `buffer ${buffer.publicKey.toBase58()} exists but is not a loader buffer for a program of ${elf.length} bytes; remove its keypair file to start a new buffer`,
    );
  }
  if (account && !(account.data[4] === 1 && new PublicKey(account.data.subarray(5, 37)).equals(authority.publicKey))) {
    throw new ProgramDeployError("DEPLOY_BUFFER_FOREIGN", `buffer ${buffer.publicKey.toBase58()} belongs to another authority`);
  }
  if (!account) {
    const rent = await client.read("getMinimumBalanceForRentExemption", (c) => c.getMinimumBalanceForRentExemption(size));
    await requireFunds(client, authority.publicKey, BigInt(rent) + 10_000_000n);
    onProgress?.({ step: "buffer", message: `creating buffer ${buffer.publicKey.toBase58()} (${size} bytes)` });
    await send(
      client,
      [
        SystemProgram.createAccount({ fromPubkey: authority.publicKey, newAccountPubkey: buffer.publicKey, lamports: rent, space: size, programId: UPGRADEABLE_LOADER_ID }),
        loaderInstructions.initializeBuffer(buffer.publicKey, authority.publicKey),
      ],
      authority,
      [buffer],
    );
    account = await client.account(buffer.publicKey);
  }
  const held = account ? account.data.subarray(BUFFER_HEADER) : Buffer.alloc(0);
  const total = Math.ceil(elf.length / WRITE_CHUNK_BYTES);
  let written = 0;
  for (let offset = 0; offset < elf.length; offset += WRITE_CHUNK_BYTES) {
    const chunk = elf.subarray(offset, Math.min(elf.length, offset + WRITE_CHUNK_BYTES));
    if (Buffer.compare(held.subarray(offset, offset + chunk.length), Buffer.from(chunk)) !== 0) {
      await send(client, [loaderInstructions.write(buffer.publicKey, authority.publicKey, offset, chunk)], authority);
    }
    written++;
    if (written % 10 === 0 || written === total) onProgress?.({ step: "write", written, total, message: `buffer chunk ${written}/${total}` });
  }
}

/** Deploys `elf` as a new program at `program`'s address, upgradeable by `authority`. */
export async function deployProgram(options: DeployOptions & { program: Keypair; maxDataLen?: number }): Promise<DeployedProgram> {
  const { client, authority, elf, program, onProgress } = options;
  if (await client.account(program.publicKey)) {
    throw new ProgramDeployError("DEPLOY_PROGRAM_EXISTS", `a program already exists at ${program.publicKey.toBase58()}: use upgrade`);
  }
  await writeBuffer(options);
  const maxDataLen = options.maxDataLen ?? elf.length * 2;
  const rent = await client.read("getMinimumBalanceForRentExemption", (c) => c.getMinimumBalanceForRentExemption(PROGRAM_SIZE));
  const dataRent = await client.read("getMinimumBalanceForRentExemption", (c) => c.getMinimumBalanceForRentExemption(PROGRAMDATA_HEADER + maxDataLen));
  await requireFunds(client, authority.publicKey, BigInt(rent + dataRent) + 5_000_000n);
  onProgress?.({ step: "deploy", message: `deploying ${program.publicKey.toBase58()} (room for ${maxDataLen} bytes)` });
  await send(
    client,
    [
      SystemProgram.createAccount({ fromPubkey: authority.publicKey, newAccountPubkey: program.publicKey, lamports: rent, space: PROGRAM_SIZE, programId: UPGRADEABLE_LOADER_ID }),
      loaderInstructions.deployWithMaxDataLen({ payer: authority.publicKey, program: program.publicKey, buffer: options.buffer.publicKey, authority: authority.publicKey, maxDataLen }),
    ],
    authority,
    [program],
  );
  onProgress?.({ step: "done", message: `deployed ${program.publicKey.toBase58()}` });
  return (await showProgram(client, program.publicKey))!;
}

/** Replaces the program at `program` with `elf`; refused unless `authority` is its upgrade authority. */
export async function upgradeProgram(options: DeployOptions & { program: PublicKey }): Promise<DeployedProgram> {
  const { client, authority, elf, program, onProgress } = options;
  const current = await showProgram(client, program);
  if (!current) throw new ProgramDeployError("DEPLOY_PROGRAM_MISSING", `no program at ${program.toBase58()}: use deploy`);
  if (current.upgradeAuthority !== authority.publicKey.toBase58()) {
    throw new ProgramDeployError(
      "DEPLOY_NOT_UPGRADE_AUTHORITY",
      `the upgrade authority of ${program.toBase58()} is ${current.upgradeAuthority ?? "none (immutable)"}, not the configured keypair ${authority.publicKey.toBase58()}`,
    );
  }
  await writeBuffer(options);
  if (elf.length > current.capacity) {
    const additionalBytes = elf.length - current.capacity;
    onProgress?.({ step: "extend", message: `extending the program data by ${additionalBytes} bytes` });
    await send(client, [loaderInstructions.extendProgram({ program, payer: authority.publicKey, additionalBytes })], authority);
  }
  onProgress?.({ step: "upgrade", message: `upgrading ${program.toBase58()}` });
  await send(client, [loaderInstructions.upgrade({ program, buffer: options.buffer.publicKey, spill: authority.publicKey, authority: authority.publicKey })], authority);
  onProgress?.({ step: "done", message: `upgraded ${program.toBase58()}` });
  return (await showProgram(client, program))!;
}
