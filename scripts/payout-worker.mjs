// The payout-run worker in a process of its own (PostgreSQL mode). scripts/serve.mjs starts and
// supervises it; it stops on SIGTERM/SIGINT, and when its parent goes away (the IPC channel closes), so a
// killed server never leaves a worker behind.
import path from "node:path";
import { pathToFileURL } from "node:url";

const build = await import(pathToFileURL(path.resolve("build/server/index.js")).href);
const { startPayoutRunWorkerProcess } = build.entry.module;

let worker;
try {
  worker = await startPayoutRunWorkerProcess();
} catch (error) {
  console.error(`stableflow: payout-run worker could not start: ${error?.message ?? error}`);
  process.exit(1);
}

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  try {
    await worker.stop();
  } finally {
    process.exit(0);
  }
}
process.on("SIGINT", () => void stop());
process.on("SIGTERM", () => void stop());
process.on("disconnect", () => void stop());
