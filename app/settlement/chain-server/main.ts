// The chain server as a process (scripts/chain-server.mjs runs this bundle): configuration from the
// environment, the repo's program deployed, a ready message to the parent over IPC, a clean stop on
// SIGTERM/SIGINT and when the parent goes away.
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { ConfigError, parseEnv } from "~/utils/env.server";
import { startChainServer, type RunningChainServer } from "./server";

export interface ChainReadyMessage {
  type: "stableflow-chain-ready";
  url: string;
  wsUrl: string;
  port: number;
  slot: number;
}

const PROGRAM_IDL = "idl/stableflow_payouts.json";
const PROGRAM_SO = "target/deploy/stableflow_payouts.so";

function repoProgram(root: string) {
  const idlPath = path.join(root, PROGRAM_IDL);
  if (!existsSync(idlPath)) return [];
  const idl = JSON.parse(readFileSync(idlPath, "utf8")) as { address?: unknown };
  if (typeof idl.address !== "string") return [];
  return [{ programId: idl.address, soPath: path.join(root, PROGRAM_SO) }];
}

export async function runChainServerProcess(): Promise<void> {
  let env;
  try {
    env = parseEnv();
  } catch (error) {
    console.error(`chain: ${error instanceof ConfigError ? error.message : String(error)}`);
    process.exit(1);
  }
  if (env.STABLEFLOW_ENV === "production" && !env.STABLEFLOW_ALLOW_SIMULATOR) {
    console.error("chain: the embedded chain is for development; in production set SOLANA_RPC_URL (or STABLEFLOW_ALLOW_SIMULATOR=true for a demo)");
    process.exit(1);
  }
  const testMode = env.STABLEFLOW_CHAIN_TEST_MODE ?? env.STABLEFLOW_ENV === "test";
  const dataDir = path.resolve(env.STABLEFLOW_DATA_DIR);

  let server: RunningChainServer;
  try {
    server = await startChainServer({
      dataDir,
      port: env.STABLEFLOW_CHAIN_PORT,
      slotMs: env.STABLEFLOW_CHAIN_SLOT_MS,
      testMode,
      programs: repoProgram(process.cwd()),
      // Tests snapshot often so that crash tests cross snapshots; a demo chain rarely needs one.
      snapshotEvery: testMode ? 64 : 5_000,
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException)?.code;
    if (code === "EADDRINUSE") {
      console.error(`chain: port ${env.STABLEFLOW_CHAIN_PORT} or ${env.STABLEFLOW_CHAIN_PORT + 1} is in use (another chain running?); set STABLEFLOW_CHAIN_PORT`);
    } else {
      console.error(`chain: could not start: ${(error as Error)?.message ?? error}`);
    }
    process.exit(1);
  }
  console.log(
    `chain: listening on ${server.url} (subscriptions ${server.wsUrl}), slot ${server.chain.clock.slot}, ` +
      `${env.STABLEFLOW_CHAIN_SLOT_MS} ms slots${testMode ? ", test mode" : ""}, state in ${path.join(dataDir, "chain")}`,
  );
  const ready: ChainReadyMessage = { type: "stableflow-chain-ready", url: server.url, wsUrl: server.wsUrl, port: server.port, slot: server.chain.clock.slot };
  process.send?.(ready);

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    try {
      await server.close();
    } finally {
      process.exit(0);
    }
  };
  process.on("SIGTERM", () => void stop());
  process.on("SIGINT", () => void stop());
  process.on("disconnect", () => void stop());
}
