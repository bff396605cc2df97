// `npm run program` against the embedded JSON-RPC chain, as a devnet deploy would run: the repo's .so
// written into a buffer in chunks, deployed through the upgradeable loader, upgraded in place by its
// upgrade authority only, and resumed after an interruption without rewriting what the buffer holds.
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Keypair, LAMPORTS_PER_SOL, PublicKey, Transaction, TransactionInstruction } from "@solana/web3.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChainClient } from "~/settlement/chain.server";
import { runProgramCommand, PROGRAM_SO } from "~/settlement/program-cli.server";
import { loaderInstructions, showProgram, writeBuffer, WRITE_CHUNK_BYTES, ProgramDeployError } from "~/settlement/program-deploy.server";
import { PROGRAM_ID } from "~/settlement/program";
import { parseEnv } from "~/utils/env.server";
import { useTestChain } from "../setup/chain";

const chain = useTestChain({ slotMs: 40 });
let client: ChainClient;
let workDir: string;
let authority: Keypair;
let authorityFile: string;
const elf = new Uint8Array(readFileSync(PROGRAM_SO));

function trimmedSha(bytes: Uint8Array) {
  let end = bytes.length;
  while (end > 0 && bytes[end - 1] === 0) end--;
  return createHash("sha256").update(bytes.subarray(0, end)).digest("hex");
}

async function keypairFile(name: string, keypair = Keypair.generate()) {
  const file = path.join(workDir, `${name}.json`);
  await writeFile(file, JSON.stringify(Array.from(keypair.secretKey)), { mode: 0o600 });
  return { file, keypair };
}

beforeAll(async () => {
  client = new ChainClient({ mode: "rpc", rpcUrl: chain.current.url, displayUrl: chain.current.url, programId: PROGRAM_ID });
  workDir = await mkdtemp(path.join(os.tmpdir(), "sf-deploy-"));
  ({ keypair: authority, file: authorityFile } = await keypairFile("authority"));
  const signature = await client.read("requestAirdrop", (c) => c.requestAirdrop(authority.publicKey, 50 * LAMPORTS_PER_SOL));
  await client.confirmSignature(signature);
});
afterAll(async () => {
  await rm(workDir, { recursive: true, force: true });
});

function env(extra: Record<string, string> = {}) {
  return parseEnv({
    STABLEFLOW_ENV: "test",
    STABLEFLOW_DATA_DIR: path.join(workDir, "data"),
    SOLANA_RPC_URL: chain.current.url,
    STABLEFLOW_AUTHORITY_KEYPAIR: authorityFile,
    ...extra,
  });
}

async function run(argv: string[], extra: Record<string, string> = {}) {
  const lines: string[] = [];
  const code = await runProgramCommand(argv, env(extra), { out: (l) => void lines.push(l), err: (l) => void lines.push(l) });
  return { code, output: lines.join("\n"), json: () => JSON.parse(lines[lines.length - 1]) };
}

describe("npm run program", () => {
  let programFile: string;
  let program: PublicKey;

  it("deploys the repo's build through the upgradeable loader and shows it", async () => {
    const created = await keypairFile("program");
    programFile = created.file;
    program = created.keypair.publicKey;

    const deployed = await run(["deploy", "--program-keypair", programFile, "--json"]);
    expect(deployed.code, deployed.output).toBe(0);
    expect(deployed.json()).toMatchObject({
      ok: true,
      program: program.toBase58(),
      upgradeAuthority: authority.publicKey.toBase58(),
      programBytes: trimmedLength(elf),
      sha256: trimmedSha(elf),
      matchesLocalBuild: true,
    });
    const account = await client.account(program);
    expect(account?.executable).toBe(true);
    // And the deployed bytes run: an unknown instruction is answered by the program itself (6001).
    const { blockhash } = await client.connection.getLatestBlockhash();
    const probe = new Transaction({ feePayer: authority.publicKey, recentBlockhash: blockhash }).add(
      new TransactionInstruction({ programId: program, keys: [], data: Buffer.alloc(8, 0xee) }),
    );
    probe.sign(authority);
    const simulated = await client.connection.simulateTransaction(probe);
    expect(simulated.value.err).toEqual({ InstructionError: [0, { Custom: 6001 }] });
    expect(simulated.value.logs?.some((l) => l.startsWith(`Program ${program.toBase58()} failed`))).toBe(true);

    const shown = await run(["show", "--program-keypair", programFile]);
    expect(shown.code).toBe(0);
    expect(shown.output).toContain("(the local build)");
    // The buffer was consumed; its keypair file is gone.
    expect(existsSync(path.join(workDir, "data", "deploy", `buffer-${program.toBase58()}.json`))).toBe(false);
  });

  it("error: deploying twice at one address is refused; upgrade is the way", async () => {
    const again = await run(["deploy", "--program-keypair", programFile, "--json"]);
    expect(again.code).toBe(1);
    expect(again.json().error.code).toBe("DEPLOY_PROGRAM_EXISTS");
  });

  it("upgrades in place with the upgrade authority", async () => {
    const before = await showProgram(client, program);
    const upgraded = await run(["upgrade", "--json"], { STABLEFLOW_PROGRAM_ID: program.toBase58() });
    expect(upgraded.code, upgraded.output).toBe(0);
    const after = upgraded.json();
    expect(after).toMatchObject({ program: program.toBase58(), sha256: trimmedSha(elf), upgradeAuthority: authority.publicKey.toBase58() });
    expect(BigInt(after.deployedSlot)).toBeGreaterThan(before!.deployedSlot);
  });

  it("error: an upgrade by a keypair that is not the upgrade authority is refused before anything is written", async () => {
    const other = await keypairFile("other");
    const signature = await client.read("requestAirdrop", (c) => c.requestAirdrop(other.keypair.publicKey, 10 * LAMPORTS_PER_SOL));
    await client.confirmSignature(signature);
    const before = await client.lamports(other.keypair.publicKey);
    const refused = await run(["upgrade", "--json"], { STABLEFLOW_PROGRAM_ID: program.toBase58(), STABLEFLOW_AUTHORITY_KEYPAIR: other.file });
    expect(refused.code).toBe(1);
    expect(refused.json().error).toMatchObject({ code: "DEPLOY_NOT_UPGRADE_AUTHORITY" });
    expect(refused.json().error.message).toContain(authority.publicKey.toBase58());
    // Nothing was paid: no buffer was created for the refused upgrade.
    expect(await client.lamports(other.keypair.publicKey)).toBe(before);
  });

  it("resumes an interrupted buffer write: only the chunks the buffer lacks are sent again", async () => {
    // Given a buffer that a failed run left with its first half written
    const buffer = Keypair.generate();
    const half = Math.floor(elf.length / WRITE_CHUNK_BYTES / 2) * WRITE_CHUNK_BYTES;
    await writeBuffer({ client, authority, elf: padTo(elf.slice(0, half), elf.length), buffer });
    // When the write runs again with the whole program, counting the Write transactions it sends
    const sent: number[] = [];
    const original = loaderInstructions.write;
    loaderInstructions.write = (b, a, offset, bytes) => {
      sent.push(offset);
      return original(b, a, offset, bytes);
    };
    try {
      await writeBuffer({ client, authority, elf, buffer });
    } finally {
      loaderInstructions.write = original;
    }
    // Then only the second half was written, and the buffer now holds the program exactly
    expect(sent.length).toBeGreaterThan(0);
    expect(Math.min(...sent)).toBeGreaterThanOrEqual(half);
    const account = await client.account(buffer.publicKey);
    expect(Buffer.compare(account!.data.subarray(37), Buffer.from(elf))).toBe(0);
  });

  it("error: a buffer keypair of someone else's buffer is refused", async () => {
    const buffer = Keypair.generate();
    const stranger = Keypair.generate();
    const signature = await client.read("requestAirdrop", (c) => c.requestAirdrop(stranger.publicKey, 10 * LAMPORTS_PER_SOL));
    await client.confirmSignature(signature);
    await writeBuffer({ client, authority: stranger, elf: elf.slice(0, WRITE_CHUNK_BYTES * 2), buffer });
    await expect(writeBuffer({ client, authority, elf: elf.slice(0, WRITE_CHUNK_BYTES * 2), buffer })).rejects.toBeInstanceOf(ProgramDeployError);
  });
});

function trimmedLength(bytes: Uint8Array) {
  let end = bytes.length;
  while (end > 0 && bytes[end - 1] === 0) end--;
  return end;
}

/** The first part of the program, zero-filled to the full length (what a half-written buffer holds). */
function padTo(part: Uint8Array, length: number) {
  const out = new Uint8Array(length);
  out.set(part);
  return out;
}
