// The embedded Solana JSON-RPC server (app/settlement/chain-server) as a process. scripts/serve.mjs
// starts and supervises it when SOLANA_RPC_URL is unset; tests start it through tests/setup/chain.ts.
// It runs a small esbuild bundle of its TypeScript (build/chain-server/index.mjs), rebuilt here when
// any of its sources is newer than the bundle: a second or two less than loading the Remix build, and
// no app rebuild after an edit. `node scripts/chain-server.mjs --build` only (re)builds it.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
const outDir = path.join(root, "build", "chain-server");
const bundle = path.join(outDir, "index.mjs");
const inputsFile = path.join(outDir, "inputs.json");
const entry = path.join(root, "app/settlement/chain-server/main.ts");

function isStale() {
  if (!existsSync(bundle) || !existsSync(inputsFile)) return true;
  const builtAt = statSync(bundle).mtimeMs;
  const inputs = JSON.parse(readFileSync(inputsFile, "utf8"));
  return inputs.some((file) => !existsSync(path.join(root, file)) || statSync(path.join(root, file)).mtimeMs > builtAt);
}

/** Builds the bundle if a source changed; written under a temporary name and renamed, so parallel starts never see half a file. */
export async function ensureChainServerBuild() {
  if (!isStale()) return false;
  let esbuild;
  try {
    esbuild = await import("esbuild");
  } catch {
    if (existsSync(bundle)) return false; // an installation without dev tools runs the bundle it has
    throw new Error("the chain server bundle is missing and esbuild is not installed (run npm ci)");
  }
  const result = await esbuild.build({
    absWorkingDir: root,
    entryPoints: [entry],
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    // npm packages stay imports of node_modules; only the repo's own TypeScript (with its ~/ paths) is bundled.
    plugins: [{ name: "npm-external", setup: (b) => b.onResolve({ filter: /^[a-z@][^:]*$/i }, (args) => ({ path: args.path, external: true })) }],
    tsconfig: path.join(root, "tsconfig.json"),
    write: false,
    metafile: true,
    sourcemap: "inline",
    logLevel: "error",
  });
  mkdirSync(outDir, { recursive: true });
  const suffix = `${process.pid}.${Date.now()}.tmp`;
  writeFileSync(`${bundle}.${suffix}`, result.outputFiles[0].contents);
  writeFileSync(`${inputsFile}.${suffix}`, JSON.stringify(["scripts/chain-server.mjs", ...Object.keys(result.metafile.inputs).filter((f) => !f.includes("node_modules"))]));
  renameSync(`${inputsFile}.${suffix}`, inputsFile);
  renameSync(`${bundle}.${suffix}`, bundle);
  return true;
}

/**
 * Runs the chain server as a supervised child (scripts/serve.mjs, when SOLANA_RPC_URL is unset): `ready`
 * resolves with its URL once it listens (or rejects with its reason if the first start fails: a port in
 * use, a damaged data directory); later exits restart it with a growing delay. It stops with stop(), and
 * by itself when this process dies (the IPC channel closes).
 */
export function superviseChainServer() {
  let child;
  let stopping = false;
  let delayMs = 1_000;
  let everReady = false;
  let resolveReady;
  let rejectReady;
  const ready = new Promise((resolve, reject) => {
    resolveReady = resolve;
    rejectReady = reject;
  });
  const start = () => {
    const startedAt = Date.now();
    // Its own session: a Ctrl-C in the terminal reaches the server, which stops the chain after the app.
    child = spawn(process.execPath, [path.join(root, "scripts/chain-server.mjs")], { cwd: root, stdio: ["ignore", "inherit", "inherit", "ipc"], detached: true });
    child.on("message", (message) => {
      if (message?.type !== "stableflow-chain-ready") return;
      everReady = true;
      resolveReady(message);
    });
    child.once("exit", (code, signal) => {
      child = undefined;
      if (stopping) return;
      if (!everReady) {
        rejectReady(new Error(`the embedded chain did not start (${signal ?? `exit code ${code}`}); its reason is printed above`));
        return;
      }
      if (Date.now() - startedAt > 60_000) delayMs = 1_000;
      console.error(`stableflow: the embedded chain exited (${signal ?? `code ${code}`}); restarting it in ${delayMs / 1000} s`);
      setTimeout(() => {
        if (!stopping) start();
      }, delayMs).unref();
      delayMs = Math.min(delayMs * 2, 30_000);
    });
  };
  start();
  return {
    ready,
    async stop() {
      stopping = true;
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    },
  };
}

const isMain = process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname);
if (isMain) {
  try {
    const built = await ensureChainServerBuild();
    if (process.argv.includes("--build")) {
      console.log(built ? `[chain] built ${path.relative(root, bundle)}` : `[chain] ${path.relative(root, bundle)} is up to date`);
      process.exit(0);
    }
  } catch (error) {
    console.error(`chain: ${error?.message ?? error}`);
    process.exit(1);
  }
  const { runChainServerProcess } = await import(pathToFileURL(bundle).href);
  await runChainServerProcess();
}
