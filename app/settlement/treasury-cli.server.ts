// `npm run treasury -- init | fund <amount> | status | withdraw <amount> <destination> [--json] [--org <slug>]`:
// the treasury commands an operator runs against the configured cluster (SOLANA_RPC_URL with
// STABLEFLOW_AUTHORITY_KEYPAIR and STABLEFLOW_MINT; without SOLANA_RPC_URL, the embedded chain with the
// data directory's keys). Human sentences by default, one JSON object with --json. Exit 0 on success,
// 1 on a refusal (with its code), 2 on a usage or configuration error.
import { getAssociatedTokenAddressSync } from "@solana/spl-token";
import { PublicKey } from "@solana/web3.js";
import { formatMoney, MoneyError, parseMoney } from "~/ledger/money";
import { DEFAULT_ORGANIZATION_SLUG } from "~/models/organizations.server";
import { openDatabase } from "~/utils/db.server";
import { ConfigError, type Env } from "~/utils/env.server";
import { startChainRuntime, stopChainRuntime } from "./chain-runtime.server";
import { KeyFileError } from "./keys.server";
import { RpcError } from "./rpc-errors";
import {
  fundTreasury,
  initializeTreasury,
  readMint,
  readTreasury,
  TreasuryError,
  withdrawFromTreasury,
  type TreasuryState,
} from "./treasury.server";

export interface CliIo {
  out(line: string): void;
  err(line: string): void;
}

const USAGE = "usage: npm run treasury -- init | fund <amount> | status | withdraw <amount> <destination> [--json] [--org <slug>]";

class UsageError extends Error {}

function parseArgs(argv: string[]) {
  const positional: string[] = [];
  let json = false;
  let org = DEFAULT_ORGANIZATION_SLUG;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--json") json = true;
    else if (arg === "--org") {
      org = argv[++i] ?? "";
      if (!org) throw new UsageError("--org needs an organization slug");
    } else if (arg.startsWith("--")) throw new UsageError(`unknown option ${arg}`);
    else positional.push(arg);
  }
  const [command, ...rest] = positional;
  const expected: Record<string, number> = { init: 0, status: 0, fund: 1, withdraw: 2 };
  if (!command || !(command in expected)) throw new UsageError(command ? `unknown command ${command}` : "no command given");
  if (rest.length !== expected[command]) throw new UsageError(`${command} takes ${expected[command]} argument(s), got ${rest.length}`);
  return { command, rest, json, org };
}

function describe(state: TreasuryState) {
  return {
    treasury: state.identity.treasury.toBase58(),
    vault: state.identity.vault.toBase58(),
    mint: state.identity.mint.toBase58(),
    authority: state.account.authority.toBase58(),
    decimals: state.mint.decimals,
    vaultBalance: state.vaultBalance.toString(),
    totalSettled: state.account.totalSettled.toString(),
    splitsExecuted: state.account.splitsExecuted.toString(),
    paused: state.account.paused,
  };
}

function humanState(state: TreasuryState): string[] {
  const d = state.mint.decimals;
  return [
    `treasury  ${state.identity.treasury.toBase58()}`,
    `vault     ${state.identity.vault.toBase58()}  balance ${formatMoney(state.vaultBalance, d)}`,
    `mint      ${state.identity.mint.toBase58()}  (${d} decimals)`,
    `authority ${state.account.authority.toBase58()}`,
    `settled   ${formatMoney(state.account.totalSettled, d)} in ${state.account.splitsExecuted} split(s)${state.account.paused ? "  PAUSED" : ""}`,
  ];
}

/** Runs one treasury command; resolves the process exit code. */
export async function runTreasuryCommand(argv: string[], env: Env, io: CliIo): Promise<number> {
  let json = false;
  const fail = (code: string, message: string, exit: number) => {
    if (json) io.out(JSON.stringify({ ok: false, error: { code, message } }));
    else io.err(`treasury: ${message}`);
    return exit;
  };
  try {
    const args = parseArgs(argv);
    json = args.json;
    // While `npm start` holds the embedded database, through its socket.
    const db = await openDatabase({ databaseUrl: env.DATABASE_URL, dataDir: env.STABLEFLOW_DATA_DIR, whenHeld: "connect" });
    let organizationId: string;
    try {
      const org = await db.prisma.organization.findUnique({ where: { slug: args.org } });
      if (!org) return fail("ORGANIZATION_NOT_FOUND", `no organization with the slug "${args.org}"`, 2);
      organizationId = org.id;
    } finally {
      await db.close();
    }
    const runtime = await startChainRuntime(env, organizationId, { bootstrap: false });
    const { client, treasury, signers } = runtime;
    if (!treasury || !signers) {
      return fail("TREASURY_NOT_CONFIGURED", "set STABLEFLOW_AUTHORITY_KEYPAIR (a Solana CLI keypair file) and STABLEFLOW_MINT to use a treasury on SOLANA_RPC_URL", 2);
    }
    const report = (result: Record<string, unknown>, lines: string[]) => {
      if (json) io.out(JSON.stringify({ ok: true, ...result }));
      else for (const line of lines) io.out(line);
    };
    if (args.command === "status") {
      const state = await readTreasury(client, treasury, signers.authority.publicKey);
      if (!state) {
        report({ initialized: false, treasury: treasury.treasury.toBase58() }, [`no treasury at ${treasury.treasury.toBase58()} yet: run \`npm run treasury -- init\``]);
        return 0;
      }
      report({ initialized: true, ...describe(state) }, humanState(state));
      return 0;
    }
    if (args.command === "init") {
      const { created, state } = await initializeTreasury(client, { identity: treasury, authority: signers.authority, feePayer: signers.feePayer });
      report({ created, ...describe(state) }, [created ? "treasury initialized" : "treasury already initialized (nothing changed)", ...humanState(state)]);
      return 0;
    }
    const mint = await readMint(client, treasury.mint);
    const amount = parseMoney(args.rest[0], { scale: mint.decimals });
    if (args.command === "fund") {
      const { signature, state } = await fundTreasury(client, { identity: treasury, authority: signers.authority, feePayer: signers.feePayer, amount });
      report({ signature, ...describe(state) }, [`deposited ${formatMoney(amount, mint.decimals)} (${signature})`, ...humanState(state)]);
      return 0;
    }
    let destination: PublicKey;
    try {
      destination = new PublicKey(args.rest[1]);
    } catch {
      throw new UsageError(`destination ${JSON.stringify(args.rest[1])} is not a base58 address`);
    }
    // A wallet address is paid into its associated token account; a token account directly.
    const target = await client.account(destination);
    if (!target || !target.owner.equals(mint.tokenProgram)) {
      destination = getAssociatedTokenAddressSync(treasury.mint, destination, true, mint.tokenProgram);
      if (!(await client.account(destination))) {
        return fail("TREASURY_DESTINATION_MISSING", `the destination has no token account for this mint (${destination.toBase58()}); create it first`, 1);
      }
    }
    const { signature, state } = await withdrawFromTreasury(client, {
      identity: treasury,
      authority: signers.authority,
      feePayer: signers.feePayer,
      amount,
      destination,
    });
    report({ signature, destination: destination.toBase58(), ...describe(state) }, [
      `withdrew ${formatMoney(amount, mint.decimals)} to ${destination.toBase58()} (${signature})`,
      ...humanState(state),
    ]);
    return 0;
  } catch (error) {
    if (error instanceof UsageError) return fail("USAGE", `${error.message}\n${USAGE}`, 2);
    if (error instanceof ConfigError) return fail("CONFIG_INVALID", error.message, 2);
    if (error instanceof KeyFileError) return fail(error.code, error.message, 2);
    if (error instanceof MoneyError) return fail(error.code, error.message, 2);
    if (error instanceof TreasuryError) return fail(error.code, error.message, 1);
    if (error instanceof RpcError) return fail(error.code, error.message, 1);
    if ((error as { name?: string })?.name === "SecretFileError") return fail("SECRET_FILE", (error as Error).message, 2);
    throw error;
  } finally {
    stopChainRuntime();
  }
}
