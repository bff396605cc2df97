// Serves the built app: boots the database (migrating it), then answers HTTP until SIGINT/SIGTERM,
// closing the database cleanly on the way out so nothing is lost across restarts.
import { spawn } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { createAppServer } from "./app.mjs";
import { superviseChainServer } from "./chain-server.mjs";

const buildPath = path.resolve("build/server/index.js");
let build;
try {
  build = await import(pathToFileURL(buildPath).href);
} catch (error) {
  console.error(`stableflow: cannot load the server build at ${buildPath}; run "npm run build" (npm start does it for you).`);
  console.error(String(error?.message ?? error));
  process.exit(1);
}
const { boot, shutdown } = build.entry.module;

// Without SOLANA_RPC_URL the chain is the embedded Solana JSON-RPC server, a supervised child process
// (it prints its URL); the app reaches it by URL like any other node. Up before boot, which talks to it.
const chainServer = process.env.SOLANA_RPC_URL ? undefined : superviseChainServer();
if (chainServer) {
  try {
    const { port } = await chainServer.ready;
    // STABLEFLOW_CHAIN_PORT=0 asks for any free port: from here on (boot, the workers it starts, a chain
    // restart) everyone uses the one it got.
    process.env.STABLEFLOW_CHAIN_PORT = String(port);
  } catch (error) {
    console.error(`stableflow: ${error?.message ?? error}`);
    process.exit(1);
  }
}

let booted;
try {
  booted = await boot({ payoutWorker: "auto" });
} catch (error) {
  // Configuration and migration problems are the operator's to fix: a clear sentence, no stack trace.
  if (["ConfigError", "MigrationError", "KeyFileError", "SecretFileError"].includes(error?.name)) {
    console.error(`stableflow: ${error.message}`);
  } else {
    console.error(`stableflow: start-up failed: ${error?.message ?? error}`);
  }
  process.exit(1);
}
const { env, database } = booted;

// On PostgreSQL, payout runs are compiled by a worker process of its own (boot says so), restarted
// with a growing delay if it dies: the requests it leaves are pending rows, picked up by the next one.
const WORKER_NICENESS = 10;
let stopping = false;
let worker;
let workerDelayMs = 1_000;
function startWorker() {
  const startedAt = Date.now();
  // With the server's Node flags (memory limits, --cpu-prof ...). In its own session (detached), so
  // that on Linux it is also its own scheduling autogroup: a niceness only ranks processes within one
  // autogroup, and the worker should yield to the web process and to PostgreSQL alike. It still exits
  // with the server (the IPC channel closing stops it).
  worker = spawn(process.execPath, [...process.execArgv, "scripts/payout-worker.mjs"], {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
    detached: true,
  });
  lowerPriority(worker.pid);
  worker.once("exit", (code, signal) => {
    worker = undefined;
    if (stopping) return;
    if (Date.now() - startedAt > 60_000) workerDelayMs = 1_000;
    console.error(`stableflow: the payout-run worker exited (${signal ?? `code ${code}`}); restarting it in ${workerDelayMs / 1000} s`);
    setTimeout(() => {
      if (!stopping) startWorker();
    }, workerDelayMs).unref();
    workerDelayMs = Math.min(workerDelayMs * 2, 30_000);
  });
}
/**
 * Background priority for the compile worker: webhooks have Dodo's deadline, compiles do not (the run
 * waits for an operator's approval anyway). Best effort: where the system refuses, it runs at normal
 * priority and says so.
 */
function lowerPriority(pid) {
  try {
    os.setPriority(pid, WORKER_NICENESS);
    // With autogroup scheduling (Linux), the group's niceness is what ranks it against other sessions.
    if (existsSync(`/proc/${pid}/autogroup`)) writeFileSync(`/proc/${pid}/autogroup`, String(WORKER_NICENESS));
  } catch (error) {
    console.error(`stableflow: the payout-run worker runs at normal priority (${error?.message ?? error})`);
  }
}

async function stopWorker() {
  if (!worker || worker.exitCode !== null) return;
  const exited = new Promise((resolve) => worker.once("exit", resolve));
  worker.kill("SIGTERM");
  await exited;
}
if (booted.payoutWorker === "process") startWorker();

// On PostgreSQL, settlement executors are processes of their own (STABLEFLOW_EXECUTORS, default 2), each
// restarted with a growing delay if it dies: a batch it held waits for its lease to run out, then the
// next executor resumes it from the persisted attempt (decision 012).
const executors = new Map();
function startExecutor(slot, delayMs = 1_000) {
  const startedAt = Date.now();
  const child = spawn(process.execPath, [...process.execArgv, "scripts/executor.mjs"], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  executors.set(slot, child);
  child.once("exit", (code, signal) => {
    executors.delete(slot);
    if (stopping) return;
    const next = Date.now() - startedAt > 60_000 ? 1_000 : Math.min(delayMs * 2, 30_000);
    console.error(`stableflow: settlement executor ${slot} exited (${signal ?? `code ${code}`}); restarting it in ${delayMs / 1000} s`);
    setTimeout(() => {
      if (!stopping) startExecutor(slot, next);
    }, delayMs).unref();
  });
}
async function stopExecutors() {
  await Promise.all(
    [...executors.values()].filter((child) => child.exitCode === null).map((child) => {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      return exited;
    }),
  );
}
if (booted.executors?.mode === "process") for (let slot = 1; slot <= booted.executors.count; slot++) startExecutor(slot);

const server = createAppServer(build).listen(env.PORT, env.HOST, () => {
  const host = env.HOST === "127.0.0.1" || env.HOST === "0.0.0.0" ? "localhost" : env.HOST;
  console.log(
    `StableFlow listening on http://${host}:${env.PORT} ` +
      `(database: ${database.mode === "embedded" ? `embedded PGlite in ${database.location}` : database.location})`,
  );
  void printSetupLink(`http://${host}:${env.PORT}`);
});

/**
 * A fresh installation has no operator, so nobody could sign in: a one-time link (single use, an hour,
 * stored hashed) for the person at this console to create the first admin. Not in production on
 * PostgreSQL, whose logs travel: there `npm run operator -- create` makes the first admin.
 */
async function printSetupLink(localOrigin) {
  if (env.STABLEFLOW_ENV === "production" && database.mode !== "embedded") return;
  try {
    const token = await build.entry.module.issueSetupTokenIfNoOperator(database.prisma);
    if (!token) return;
    const origin = env.STABLEFLOW_PUBLIC_URL ?? localOrigin;
    console.log(`No operator yet. Create the first admin at ${origin}/setup/${token} (works once, within the hour; restart for a new link).`);
  } catch (error) {
    console.error(`stableflow: cannot issue the setup link: ${error?.message ?? error}`);
  }
}
server.on("error", async (error) => {
  console.error(`stableflow: cannot listen on ${env.HOST}:${env.PORT}: ${error.message}`);
  stopping = true;
  await stopWorker();
  await stopExecutors();
  await shutdown();
  await chainServer?.stop();
  process.exit(1);
});

async function stop(signal) {
  if (stopping) return;
  stopping = true;
  console.log(`StableFlow stopping (${signal})`);
  server.close();
  server.closeAllConnections?.();
  await stopWorker();
  await stopExecutors();
  await shutdown();
  await chainServer?.stop();
  process.exit(0);
}
process.on("SIGINT", () => void stop("SIGINT"));
process.on("SIGTERM", () => void stop("SIGTERM"));
