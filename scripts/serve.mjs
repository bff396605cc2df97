// Serves the built app: boots the database (migrating it), then answers HTTP until SIGINT/SIGTERM,
// closing the database cleanly on the way out so nothing is lost across restarts.
import { spawn } from "node:child_process";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { createRequestHandler } from "@remix-run/express";
import express from "express";

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

let booted;
try {
  booted = await boot({ payoutWorker: "auto" });
} catch (error) {
  // Configuration and migration problems are the operator's to fix: a clear sentence, no stack trace.
  if (error?.name === "ConfigError" || error?.name === "MigrationError") {
    console.error(`stableflow: ${error.message}`);
  } else {
    console.error(`stableflow: start-up failed: ${error?.message ?? error}`);
  }
  process.exit(1);
}
const { env, database } = booted;

// On PostgreSQL, payout runs are compiled by a worker process of its own (boot says so), restarted
// with a growing delay if it dies: the requests it leaves are pending rows, picked up by the next one.
let stopping = false;
let worker;
let workerDelayMs = 1_000;
function startWorker() {
  const startedAt = Date.now();
  worker = spawn(process.execPath, ["scripts/payout-worker.mjs"], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  try {
    os.setPriority(worker.pid, 10);
  } catch {}
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
async function stopWorker() {
  if (!worker || worker.exitCode !== null) return;
  const exited = new Promise((resolve) => worker.once("exit", resolve));
  worker.kill("SIGTERM");
  await exited;
}
if (booted.payoutWorker === "process") startWorker();

const app = express();
app.disable("x-powered-by");
app.use("/assets", express.static("build/client/assets", { immutable: true, maxAge: "1y" }));
app.use(express.static("build/client", { maxAge: "1h" }));
app.all("*", createRequestHandler({ build, mode: "production" }));

const server = app.listen(env.PORT, env.HOST, () => {
  const host = env.HOST === "127.0.0.1" || env.HOST === "0.0.0.0" ? "localhost" : env.HOST;
  console.log(
    `StableFlow listening on http://${host}:${env.PORT} ` +
      `(database: ${database.mode === "embedded" ? `embedded PGlite in ${database.location}` : database.location})`,
  );
});
server.on("error", async (error) => {
  console.error(`stableflow: cannot listen on ${env.HOST}:${env.PORT}: ${error.message}`);
  stopping = true;
  await stopWorker();
  await shutdown();
  process.exit(1);
});

async function stop(signal) {
  if (stopping) return;
  stopping = true;
  console.log(`StableFlow stopping (${signal})`);
  server.close();
  server.closeAllConnections?.();
  await stopWorker();
  await shutdown();
  process.exit(0);
}
process.on("SIGINT", () => void stop("SIGINT"));
process.on("SIGTERM", () => void stop("SIGTERM"));
