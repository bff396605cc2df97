// `npm run program -- deploy [--program-keypair <file>] | upgrade | show [--json]`: puts this repo's
// build of the payout program (target/deploy/stableflow_payouts.so) on the configured cluster through the
// upgradeable loader, with STABLEFLOW_AUTHORITY_KEYPAIR as payer and upgrade authority. The buffer's
// keypair is kept in the data directory until the deploy or upgrade consumed it, so a run that failed
// half-way resumes into the same buffer.
import { existsSync, readFileSync } from "node:fs";
import { unlink } from "node:fs/promises";
import path from "node:path";
import { Keypair } from "@solana/web3.js";
import { ConfigError, type Env } from "~/utils/env.server";
import { chainConfigFromEnv } from "./chain-config.server";
import { getChainClient } from "./chain.server";
import { KeyFileError, readKeypairFile, writeKeypairFile } from "./keys.server";
import { deployProgram, ProgramDeployError, showProgram, upgradeProgram, type DeployedProgram } from "./program-deploy.server";
import { RpcError } from "./rpc-errors";
import type { CliIo } from "./treasury-cli.server";

export const PROGRAM_SO = path.resolve("target/deploy/stableflow_payouts.so");
const USAGE = "usage: npm run program -- deploy [--program-keypair <file>] | upgrade | show [--json]";

class UsageError extends Error {}

function parseArgs(argv: string[]) {
  let json = false;
  let programKeypair: string | undefined;
  let so = PROGRAM_SO;
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--json") json = true;
    else if (arg === "--program-keypair") programKeypair = argv[++i];
    else if (arg === "--so") so = path.resolve(argv[++i] ?? "");
    else if (arg.startsWith("--")) throw new UsageError(`unknown option ${arg}`);
    else positional.push(arg);
  }
  const [command, ...rest] = positional;
  if (!command || !["deploy", "upgrade", "show"].includes(command) || rest.length > 0) {
    throw new UsageError(command ? `unknown command or extra arguments: ${positional.join(" ")}` : "no command given");
  }
  return { command: command as "deploy" | "upgrade" | "show", json, programKeypair, so };
}

function describe(p: DeployedProgram, localSha?: string) {
  return {
    program: p.program,
    programData: p.programData,
    upgradeAuthority: p.upgradeAuthority,
    deployedSlot: p.deployedSlot.toString(),
    programBytes: p.programBytes,
    capacity: p.capacity,
    sha256: p.sha256,
    matchesLocalBuild: localSha === undefined ? undefined : localSha === p.sha256,
  };
}

async function sha256Of(bytes: Uint8Array): Promise<string> {
  const { createHash } = await import("node:crypto");
  // The loader pads program data with zeros; the build's trailing zeros are not part of what we compare.
  let end = bytes.length;
  while (end > 0 && bytes[end - 1] === 0) end--;
  return createHash("sha256").update(bytes.subarray(0, end)).digest("hex");
}

export async function runProgramCommand(argv: string[], env: Env, io: CliIo): Promise<number> {
  let json = false;
  const fail = (code: string, message: string, exit: number) => {
    if (json) io.out(JSON.stringify({ ok: false, error: { code, message } }));
    else io.err(`program: ${message}`);
    return exit;
  };
  try {
    const args = parseArgs(argv);
    json = args.json;
    const config = chainConfigFromEnv(env);
    const client = getChainClient(config);
    const elf = existsSync(args.so) ? new Uint8Array(readFileSync(args.so)) : undefined;
    const localSha = elf ? await sha256Of(elf) : undefined;
    const report = (result: Record<string, unknown>, lines: string[]) => {
      if (json) io.out(JSON.stringify({ ok: true, ...result }));
      else for (const line of lines) io.out(line);
    };
    const human = (p: DeployedProgram) => [
      `program      ${p.program}`,
      `program data ${p.programData} (${p.programBytes} of ${p.capacity} bytes, deployed at slot ${p.deployedSlot})`,
      `authority    ${p.upgradeAuthority ?? "none (immutable)"}`,
      `sha256       ${p.sha256}${localSha ? (localSha === p.sha256 ? " (the local build)" : " (differs from the local build)") : ""}`,
    ];

    if (args.command === "show") {
      const programId = args.programKeypair ? (await readKeypairFile(args.programKeypair)).publicKey : config.programId;
      const shown = await showProgram(client, programId);
      if (!shown) {
        report({ deployed: false, program: programId.toBase58() }, [`nothing is deployed at ${programId.toBase58()}`]);
        return 0;
      }
      report({ deployed: true, ...describe(shown, localSha) }, human(shown));
      return 0;
    }
    if (!elf) return fail("PROGRAM_NOT_BUILT", `${args.so} does not exist: run \`npm run build:program\``, 2);
    if (!env.STABLEFLOW_AUTHORITY_KEYPAIR) {
      return fail("AUTHORITY_NOT_CONFIGURED", "set STABLEFLOW_AUTHORITY_KEYPAIR to the keypair file that pays and holds the upgrade authority", 2);
    }
    const authority = await readKeypairFile(env.STABLEFLOW_AUTHORITY_KEYPAIR);
    const programId = args.programKeypair ? (await readKeypairFile(args.programKeypair)).publicKey : config.programId;
    const bufferFile = path.join(env.STABLEFLOW_DATA_DIR, "deploy", `buffer-${programId.toBase58()}.json`);
    let buffer: Keypair;
    if (existsSync(bufferFile)) {
      buffer = await readKeypairFile(bufferFile);
      io.err(`program: resuming into buffer ${buffer.publicKey.toBase58()}`);
    } else {
      buffer = Keypair.generate();
      await writeKeypairFile(bufferFile, buffer);
    }
    const onProgress = (event: { message: string }) => {
      if (!json) io.err(`program: ${event.message}`);
    };
    let result: DeployedProgram;
    if (args.command === "deploy") {
      if (!args.programKeypair) return fail("USAGE", `deploy needs --program-keypair <file> (the new program's address)\n${USAGE}`, 2);
      const program = await readKeypairFile(args.programKeypair);
      result = await deployProgram({ client, authority, elf, buffer, program, onProgress });
    } else {
      result = await upgradeProgram({ client, authority, elf, buffer, program: programId, onProgress });
    }
    // The loader consumed the buffer.
    await unlink(bufferFile).catch(() => undefined);
    report({ command: args.command, ...describe(result, localSha) }, [`${args.command === "deploy" ? "deployed" : "upgraded"}:`, ...human(result)]);
    return 0;
  } catch (error) {
    if (error instanceof UsageError) return fail("USAGE", `${error.message}\n${USAGE}`, 2);
    if (error instanceof ConfigError) return fail("CONFIG_INVALID", error.message, 2);
    if (error instanceof KeyFileError) return fail(error.code, error.message, 2);
    if (error instanceof ProgramDeployError) return fail(error.code, error.message, 1);
    if (error instanceof RpcError) return fail(error.code, error.message, 1);
    throw error;
  }
}
