// Makes a fresh clone ready for `npm start` / `npm test` with Node built-ins only (it runs before any
// dependency is installed): installs npm dependencies when the lock changed, generates the Prisma
// client, builds the on-chain program and the app when their sources changed. Each step is skipped
// when a stamp of its inputs says it is up to date, so a second run costs a second or two.
import { createHash } from "node:crypto";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
process.chdir(root);
const stampDir = path.join(root, ".cache", "stamps");

// What each `npm run` script needs before its command runs (package.json names one per script):
//   start, test  everything, messages on stdout (test also the browser for the e2e tests)
//   generate     npm dependencies and the Prisma client (tsx and tsc scripts, the app build itself)
//   cli          generate + the on-chain program (command-line tools, bench:program)
//   dev          cli + the embedded chain's bundle (remix vite:dev)
//   app          dev + the app's production build (benchmarks that serve it)
// Every mode but start and test writes its messages to stderr, so a script's own output (--json) stays clean.
const MODES = ["start", "test", "generate", "cli", "dev", "app"];
const mode = process.argv[2] ?? "start";
if (!MODES.includes(mode)) {
  console.error(`[setup] unknown mode "${mode}": use one of ${MODES.join(", ")}.`);
  process.exit(2);
}
const quiet = mode !== "start" && mode !== "test";

function say(message) {
  (quiet ? console.error : console.log)(`[setup] ${message}`);
}

function run(command, args, options = {}) {
  say(`$ ${[command, ...args].join(" ")}`);
  const stdio = quiet ? ["inherit", 2, "inherit"] : "inherit";
  const result = spawnSync(command, args, { stdio, ...options, env: { ...process.env, ...options.env } });
  if (result.status !== 0) {
    console.error(`[setup] failed: ${command} ${args.join(" ")} (exit ${result.status ?? result.signal})`);
    process.exit(result.status ?? 1);
  }
}

function hashFiles(entries) {
  const hash = createHash("sha256");
  const visit = (p) => {
    if (!existsSync(p)) return;
    const stat = statSync(p);
    if (stat.isDirectory()) {
      for (const name of readdirSync(p).sort()) {
        if (name === "node_modules" || name === "generated" || name.startsWith(".")) continue;
        visit(path.join(p, name));
      }
    } else {
      hash.update(p);
      hash.update(readFileSync(p));
    }
  };
  for (const entry of entries) visit(entry);
  return hash.digest("hex");
}

function upToDate(name, digest) {
  const file = path.join(stampDir, name);
  return existsSync(file) && readFileSync(file, "utf8") === digest;
}

function stamp(name, digest) {
  mkdirSync(stampDir, { recursive: true });
  writeFileSync(path.join(stampDir, name), digest);
}

// 1. npm dependencies, from the lock file exactly.
const lockDigest = hashFiles(["package-lock.json"]);
if (!existsSync("node_modules/.package-lock.json") || !upToDate("npm", lockDigest)) {
  run("npm", ["ci", "--no-audit", "--no-fund"]);
  stamp("npm", lockDigest);
}

// 2. Prisma client. The schema engine cannot be downloaded here; generate needs only a path to it,
//    and the stub fails loudly if anything tries to use it for real.
const npx = (bin) => path.join(root, "node_modules", ".bin", bin);
const prismaDigest = hashFiles(["prisma/schema.prisma", "prisma.config.ts", "package-lock.json"]);
if (!existsSync("app/generated/prisma/client.ts") || !upToDate("prisma", prismaDigest)) {
  run(npx("prisma"), ["generate"], {
    env: { PRISMA_SCHEMA_ENGINE_BINARY: path.join(root, "scripts/prisma-schema-engine-stub.sh"), PRISMA_HIDE_UPDATE_MESSAGE: "1" },
  });
  stamp("prisma", prismaDigest);
}

if (mode === "generate") process.exit(0);

// 3. The on-chain program, from this repo's source (the script has its own staleness check).
if (existsSync("scripts/build-program.mjs")) {
  run(process.execPath, ["scripts/build-program.mjs"]);
}

if (mode === "cli") process.exit(0);

// 3b. The embedded chain server's bundle (build/chain-server; it also rebuilds itself when its sources change).
run(process.execPath, ["scripts/chain-server.mjs", "--build"]);

if (mode === "dev") process.exit(0);

// 4. The browser for the end-to-end tests: Debian's Chromium (a test tool's own browser download
//    cannot reach its host here). Installed like the SBF toolchain, with apt as root.
if (mode === "test" && !process.env.CHROMIUM_PATH && !existsSync("/usr/bin/chromium")) {
  const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
  if (isRoot && existsSync("/usr/bin/apt-get")) {
    run("apt-get", ["update", "-qq"]);
    run("apt-get", ["install", "-y", "-qq", "--no-install-recommends", "chromium"], { env: { DEBIAN_FRONTEND: "noninteractive" } });
  } else {
    say("warning: /usr/bin/chromium is missing and this is not root with apt-get: the browser test will fail until `apt-get install chromium` (or CHROMIUM_PATH)");
  }
}

// 5. The app's production build, used by `npm start` and by the tests that run the real server.
const appDigest = hashFiles(["app", "public", "vite.config.ts", "tsconfig.json", "package-lock.json", "prisma/schema.prisma"]);
if (!existsSync("build/server/index.js") || !upToDate("app-build", appDigest)) {
  run(npx("remix"), ["vite:build"]);
  stamp("app-build", appDigest);
}
say("ready");
