// The embedded chain server (scripts/chain-server.mjs) as a child process: a free port, a temporary data
// directory, and kill / restart / stop for crash tests. Every caller reaches it the way the app does, by
// URL, through @solana/web3.js `Connection`. No vitest here, so benchmarks use it too; tests import
// tests/setup/chain.ts.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Connection } from "@solana/web3.js";

const ROOT = path.resolve(import.meta.dirname, "../..");
const ENTRY = path.join(ROOT, "scripts/chain-server.mjs");
const START_TIMEOUT_MS = 120_000;

export interface TestChainOptions {
  /** Slot time (default 50 ms: statuses confirm fast, blockhashes still live 150 blocks = 7.5 s). */
  slotMs?: number;
  /** stableflow_* test methods (default: on, as STABLEFLOW_ENV=test implies; false to check refusals). */
  testMode?: boolean;
  /** An existing data directory (default: a new temporary one, removed by stop()). */
  dataDir?: string;
  /** A fixed port (default: a free pair, the next one for WebSockets). */
  port?: number;
  /** More environment for the process. */
  env?: Record<string, string>;
  /**
   * Start it as a process of its own (no IPC channel, its own session), known to the test only by
   * the URL it prints: what a node reached through SOLANA_RPC_URL is. Default: a child with IPC,
   * as scripts/serve.mjs runs it.
   */
  separate?: boolean;
}

export interface TestChain {
  /** http://127.0.0.1:<port>: what SOLANA_RPC_URL would be set to. */
  readonly url: string;
  readonly wsUrl: string;
  readonly port: number;
  readonly dataDir: string;
  /** The current process's pid (a restart changes it). */
  readonly pid: number;
  /** A Connection at "confirmed" commitment. */
  readonly connection: Connection;
  /** Sends `signal` (default SIGKILL) and waits for the process to exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts the process again on the same port and data (stopping it first with SIGTERM if it runs). */
  restart(): Promise<void>;
  /** Stops the process (SIGTERM, clean snapshot) and removes a data directory it created. */
  stop(): Promise<void>;
  /** What the process printed so far (stdout and stderr), for assertion messages. */
  output(): string;
}

interface Ready {
  type: "stableflow-chain-ready";
  url: string;
  wsUrl: string;
  port: number;
}

export async function startTestChain(options: TestChainOptions = {}): Promise<TestChain> {
  const ownsDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? mkdtempSync(path.join(os.tmpdir(), "stableflow-chain-"));
  let output = "";
  let child: ChildProcess | undefined;
  let port = options.port ?? 0;

  const launch = async (): Promise<Ready> => {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      STABLEFLOW_DATA_DIR: dataDir,
      STABLEFLOW_CHAIN_PORT: String(port),
      STABLEFLOW_CHAIN_SLOT_MS: String(options.slotMs ?? 50),
      ...(options.testMode === undefined ? {} : { STABLEFLOW_CHAIN_TEST_MODE: String(options.testMode) }),
      ...options.env,
    };
    delete env.SOLANA_RPC_URL;
    const proc = spawn(process.execPath, [ENTRY], {
      cwd: ROOT,
      env,
      stdio: options.separate ? ["ignore", "pipe", "pipe"] : ["ignore", "pipe", "pipe", "ipc"],
      detached: options.separate === true,
    });
    child = proc;
    proc.stderr!.on("data", (chunk) => (output += String(chunk)));
    return await new Promise<Ready>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`chain server did not start in ${START_TIMEOUT_MS} ms:\n${output}`)), START_TIMEOUT_MS);
      proc.stdout!.on("data", (chunk) => {
        output += String(chunk);
        // A separate process is known only by what it prints: "chain: listening on http://127.0.0.1:<port> (subscriptions ws://...)".
        const listening = /chain: listening on (http:\/\/[^\s]+):(\d+) \(subscriptions (ws:\/\/[^\s)]+)\)/.exec(output);
        if (options.separate && listening) {
          clearTimeout(timer);
          resolve({ type: "stableflow-chain-ready", url: `${listening[1]}:${listening[2]}`, wsUrl: listening[3]!, port: Number(listening[2]) });
        }
      });
      proc.on("message", (message: Ready) => {
        if (message?.type !== "stableflow-chain-ready") return;
        clearTimeout(timer);
        resolve(message);
      });
      proc.once("exit", (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`chain server exited (${signal ?? `code ${code}`}) before it was ready:\n${output}`));
      });
    });
  };

  const ready = await launch();
  port = ready.port;
  // Beware web3.js's 30 s blockhash cache (legacy simulateTransaction(tx) and sendTransaction(tx, signers)
  // re-blockhash from it): at 50 ms slots a blockhash lives 7.5 s. Sign with getLatestBlockhash instead.
  const connection = new Connection(ready.url, { commitment: "confirmed", disableRetryOnRateLimit: true });

  const waitExit = (proc: ChildProcess) =>
    proc.exitCode !== null || proc.signalCode !== null ? Promise.resolve() : new Promise<void>((resolve) => proc.once("exit", () => resolve()));

  const chain: TestChain = {
    url: ready.url,
    wsUrl: ready.wsUrl,
    port: ready.port,
    dataDir,
    get pid() {
      return child?.pid ?? -1;
    },
    connection,
    async kill(signal = "SIGKILL") {
      if (!child) return;
      const proc = child;
      proc.kill(signal);
      await waitExit(proc);
    },
    async restart() {
      if (child && child.exitCode === null && child.signalCode === null) await chain.kill("SIGTERM");
      // The same port again: an outgoing connection may briefly hold it (ephemeral ports share the range).
      for (let attempt = 1; ; attempt += 1) {
        try {
          await launch();
          return;
        } catch (error) {
          if (attempt >= 5 || !/port \d+ or \d+ is in use/.test(String((error as Error).message))) throw error;
          await new Promise((resolve) => setTimeout(resolve, 500));
        }
      }
    },
    async stop() {
      if (child) await chain.kill("SIGTERM");
      child = undefined;
      if (ownsDir) rmSync(dataDir, { recursive: true, force: true });
    },
    output: () => output,
  };
  return chain;
}
