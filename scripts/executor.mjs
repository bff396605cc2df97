// A settlement executor as a process (app/settlement/executor-main.server.ts): scripts/serve.mjs starts
// and supervises STABLEFLOW_EXECUTORS of them on PostgreSQL; tests start them to kill them. It runs a small
// esbuild bundle of its TypeScript (build/executor/index.mjs), rebuilt here when any of its sources is
// newer than the bundle, as scripts/chain-server.mjs does: no app rebuild after an edit, a fast start.
// `node scripts/executor.mjs --build` only (re)builds it.
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
const outDir = path.join(root, "build", "executor");
const bundle = path.join(outDir, "index.mjs");
const inputsFile = path.join(outDir, "inputs.json");
const entry = path.join(root, "app/settlement/executor-main.server.ts");

function isStale() {
  if (!existsSync(bundle) || !existsSync(inputsFile)) return true;
  const builtAt = statSync(bundle).mtimeMs;
  const inputs = JSON.parse(readFileSync(inputsFile, "utf8"));
  return inputs.some((file) => !existsSync(path.join(root, file)) || statSync(path.join(root, file)).mtimeMs > builtAt);
}

/** Builds the bundle if a source changed; written under a temporary name and renamed, so parallel starts never see half a file. */
export async function ensureExecutorBuild() {
  if (!isStale()) return false;
  let esbuild;
  try {
    esbuild = await import("esbuild");
  } catch {
    if (existsSync(bundle)) return false;
    throw new Error("the executor bundle is missing and esbuild is not installed (run npm ci)");
  }
  const result = await esbuild.build({
    absWorkingDir: root,
    entryPoints: [entry],
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    // npm packages stay imports of node_modules; only the repo's own TypeScript (with its ~/ paths) is bundled.
    plugins: [
      { name: "npm-external", setup: (b) => b.onResolve({ filter: /^[a-z@][^:]*$/i }, (args) => ({ path: args.path, external: true })) },
      // The installed esbuild (0.17) predates import attributes: `import x from "./a.json" with { type: "json" }`
      // is read without them (JSON is bundled by its extension anyway).
      {
        name: "import-attributes",
        setup: (b) =>
          b.onLoad({ filter: /[/\\]app[/\\].*\.tsx?$/ }, (args) => ({
            contents: readFileSync(args.path, "utf8").replace(/(from\s+["'][^"']+\.json["'])\s+with\s*\{\s*type:\s*["']json["']\s*\}/g, "$1"),
            loader: args.path.endsWith("x") ? "tsx" : "ts",
          })),
      },
    ],
    tsconfig: path.join(root, "tsconfig.json"),
    loader: { ".json": "json" },
    write: false,
    metafile: true,
    sourcemap: "inline",
    logLevel: "error",
  });
  mkdirSync(outDir, { recursive: true });
  const suffix = `${process.pid}.${Date.now()}.tmp`;
  writeFileSync(`${bundle}.${suffix}`, result.outputFiles[0].contents);
  writeFileSync(`${inputsFile}.${suffix}`, JSON.stringify(["scripts/executor.mjs", ...Object.keys(result.metafile.inputs).filter((f) => !f.includes("node_modules"))]));
  renameSync(`${inputsFile}.${suffix}`, inputsFile);
  renameSync(`${bundle}.${suffix}`, bundle);
  return true;
}

const isMain = process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname);
if (isMain) {
  try {
    const built = await ensureExecutorBuild();
    if (process.argv.includes("--build")) {
      console.log(built ? `[executor] built ${path.relative(root, bundle)}` : `[executor] ${path.relative(root, bundle)} is up to date`);
      process.exit(0);
    }
  } catch (error) {
    console.error(`executor: ${error?.message ?? error}`);
    process.exit(1);
  }
  const { runExecutorProcess } = await import(pathToFileURL(bundle).href);
  await runExecutorProcess();
}
