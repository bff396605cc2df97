#!/usr/bin/env node
// Builds target/deploy/stableflow_payouts.so (SBPF v0) from programs/stableflow_payouts when it is
// missing or stale, installing the toolchain first if needed, and regenerates or checks the IDL.
//
//   node scripts/build-program.mjs              build if stale, then regenerate idl/ if rebuilt
//   node scripts/build-program.mjs --force      rebuild even when up to date
//   node scripts/build-program.mjs --check      exit 1 if the .so is missing or stale (no build)
//   node scripts/build-program.mjs --check-idl  exit 1 with the first difference if idl/ is stale
//   node scripts/build-program.mjs --build-sbf  build with Solana's `cargo build-sbf` instead
//   node scripts/build-program.mjs --test       run the crate's host unit tests (cargo test)
//
// Node built-ins only. See docs/toolchain.md for the route and why each flag is there.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const PROGRAM = "stableflow_payouts";
const CRATE_DIR = path.join(ROOT, "programs", PROGRAM);
const DEPLOY_DIR = path.join(ROOT, "target", "deploy");
const SO_PATH = path.join(DEPLOY_DIR, `${PROGRAM}.so`);
const STAMP_PATH = `${SO_PATH}.stamp.json`;
const IDL_PATH = path.join(ROOT, "idl", `${PROGRAM}.json`);
const TARGET = "bpfel-unknown-none";
const BUILT_SO = path.join(ROOT, "target", TARGET, "release", `lib${PROGRAM}.so`);

// Debian's rustc-web, not a rustup proxy that may come first in PATH.
const RUSTC = "/usr/bin/rustc";
const CARGO = "/usr/bin/cargo";
const MIN_RUSTC_MINOR = 96;
const BPF_SYSROOT_LIB = `/usr/lib/rustlib/${TARGET}/lib`;
const SBPF_LINKER_VERSION = "0.2.6";
const SBPF_LINKER = path.join(process.env.CARGO_HOME ?? path.join(os.homedir(), ".cargo"), "bin", "sbpf-linker");
const BPF_STACK_SIZE = 4096; // SBPF v0 frame size

const RUSTFLAGS = [
  `-C linker=${SBPF_LINKER}`,
  "-C panic=abort",
  "-C relocation-model=static",
  // SBPF loads and stores may be misaligned; without this LLVM splits every u64 read of an
  // address or amount into byte loads (about 3x the instructions and program size).
  "-C target-feature=+allows-misaligned-mem-access",
  // bankrun's Solana 1.18 runtime loads only SBPF v0 (sbpf-linker defaults to v3).
  "-C link-arg=--arch=v0",
  // The math builtins sbpf-linker exports would pull soft-float/i128 code the BPF backend rejects.
  "-C link-arg=--disable-math-builtins",
  `-C link-arg=--llvm-args=-bpf-stack-size=${BPF_STACK_SIZE}`,
  // Otherwise sbpf-linker also copies its output to ./target/deploy on its own; this script
  // installs the .so itself, after checking it.
  "-C link-arg=--deploy=false",
].join(" ");

const EM_BPF = 247;

class BuildError extends Error {}

function log(message) {
  process.stdout.write(`build-program: ${message}\n`);
}

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { cwd: ROOT, encoding: "utf8", ...options });
  if (result.error) {
    throw new BuildError(`could not run ${command}: ${result.error.message}`);
  }
  return result;
}

function commandOutput(command, args) {
  if (!fs.existsSync(command)) return null;
  const result = spawnSync(command, args, { encoding: "utf8" });
  return result.status === 0 ? result.stdout.trim() : null;
}

/** What is wrong with the installed toolchain, or [] when it is complete. */
function toolchainProblems() {
  const problems = [];
  const rustcVersion = commandOutput(RUSTC, ["-V"]);
  const minor = Number(/^rustc 1\.(\d+)\./.exec(rustcVersion ?? "")?.[1] ?? 0);
  if (minor < MIN_RUSTC_MINOR) problems.push(`${RUSTC} is ${rustcVersion ?? "missing"} (need >= 1.${MIN_RUSTC_MINOR})`);
  if (!fs.existsSync(CARGO)) problems.push(`${CARGO} is missing`);
  const bpfCore = fs.existsSync(BPF_SYSROOT_LIB) && fs.readdirSync(BPF_SYSROOT_LIB).some((f) => f.startsWith("libcore-"));
  if (!bpfCore) problems.push(`no prebuilt core for ${TARGET} in ${BPF_SYSROOT_LIB}`);
  const linkerVersion = commandOutput(SBPF_LINKER, ["--version"]);
  if (!linkerVersion?.includes(`sbpf-linker ${SBPF_LINKER_VERSION}`) || !linkerVersion.includes("LLVM 22.")) {
    problems.push(`${SBPF_LINKER} is ${linkerVersion?.replace(/\n/g, ", ") ?? "missing"} (need ${SBPF_LINKER_VERSION} on LLVM 22)`);
  }
  return problems;
}

function ensureToolchain() {
  const problems = toolchainProblems();
  if (problems.length === 0) return;
  log(`toolchain incomplete: ${problems.join("; ")}`);
  log("running scripts/install-sbf-toolchain.sh");
  const result = run("bash", [path.join(ROOT, "scripts", "install-sbf-toolchain.sh")], { stdio: "inherit" });
  if (result.status !== 0) throw new BuildError(`scripts/install-sbf-toolchain.sh exited with ${result.status}`);
  const remaining = toolchainProblems();
  if (remaining.length > 0) throw new BuildError(`toolchain still incomplete after install: ${remaining.join("; ")}`);
}

function listFiles(dir) {
  const out = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === "target" || entry.name.startsWith(".")) continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listFiles(full));
    else if (entry.isFile()) out.push(full);
  }
  return out;
}

/** Hash of everything the .so is built from: sources, manifests, lock file, flags, tools. */
function inputsHash() {
  const files = [
    ...listFiles(path.join(ROOT, "programs")),
    path.join(ROOT, "Cargo.toml"),
    path.join(ROOT, "Cargo.lock"),
    fileURLToPath(import.meta.url),
  ].sort();
  const hash = createHash("sha256");
  for (const file of files) {
    hash.update(path.relative(ROOT, file)).update("\0");
    hash.update(fs.existsSync(file) ? fs.readFileSync(file) : Buffer.from("<missing>")).update("\0");
  }
  hash.update(RUSTFLAGS).update("\0");
  hash.update(commandOutput(RUSTC, ["-V"]) ?? "").update("\0");
  hash.update(commandOutput(SBPF_LINKER, ["--version"]) ?? "");
  return hash.digest("hex");
}

function sha256File(file) {
  return createHash("sha256").update(fs.readFileSync(file)).digest("hex");
}

/** Why the .so must be rebuilt, or null when it is up to date. */
function staleReason(hash) {
  if (!fs.existsSync(SO_PATH)) return `${path.relative(ROOT, SO_PATH)} is missing`;
  if (!fs.existsSync(STAMP_PATH)) return "no build stamp";
  let stamp;
  try {
    stamp = JSON.parse(fs.readFileSync(STAMP_PATH, "utf8"));
  } catch {
    return "unreadable build stamp";
  }
  if (stamp.inputs !== hash) return "sources, manifests, flags or toolchain changed";
  if (stamp.so_sha256 !== sha256File(SO_PATH)) return "the .so differs from the one this script built";
  return null;
}

/** Refuses anything but a BPF ELF with e_flags 0 (SBPF v0; v3 would be 3). */
function checkSbpfV0(file) {
  const elf = fs.readFileSync(file);
  if (elf.length < 64 || elf.readUInt32BE(0) !== 0x7f454c46) throw new BuildError(`${file} is not an ELF file`);
  const machine = elf.readUInt16LE(18);
  const flags = elf.readUInt32LE(48);
  if (machine !== EM_BPF) throw new BuildError(`${file} has e_machine ${machine}, expected ${EM_BPF} (BPF)`);
  if (flags !== 0) throw new BuildError(`${file} has e_flags ${flags}: not SBPF v0, bankrun's 1.18 runtime cannot load it`);
}

function buildWithSbpfLinker() {
  ensureToolchain();
  log(`cargo build --release --target ${TARGET} (Debian rustc, sbpf-linker, SBPF v0)`);
  const env = { ...process.env, RUSTC, RUSTFLAGS };
  const result = run(CARGO, ["build", "--locked", "--release", "--target", TARGET, "--lib", "-p", PROGRAM], {
    env,
    stdio: "inherit",
  });
  if (result.status !== 0) throw new BuildError(`cargo build for ${TARGET} failed (exit ${result.status})`);
  if (!fs.existsSync(BUILT_SO)) throw new BuildError(`cargo succeeded but ${BUILT_SO} was not produced`);
  return BUILT_SO;
}

function buildWithCargoBuildSbf() {
  const probe = spawnSync("cargo", ["build-sbf", "--version"], { encoding: "utf8" });
  if (probe.status !== 0) throw new BuildError("--build-sbf given but `cargo build-sbf` is not installed");
  const outDir = path.join(ROOT, "target", "build-sbf");
  const result = run("cargo", ["build-sbf", "--manifest-path", path.join(CRATE_DIR, "Cargo.toml"), "--sbf-out-dir", outDir], {
    stdio: "inherit",
  });
  if (result.status !== 0) throw new BuildError(`cargo build-sbf failed (exit ${result.status})`);
  return path.join(outDir, `${PROGRAM}.so`);
}

function install(builtSo, hash) {
  checkSbpfV0(builtSo);
  fs.mkdirSync(DEPLOY_DIR, { recursive: true });
  const temporary = `${SO_PATH}.${process.pid}.tmp`;
  fs.copyFileSync(builtSo, temporary);
  fs.renameSync(temporary, SO_PATH);
  const stamp = { inputs: hash, so_sha256: sha256File(SO_PATH), size: fs.statSync(SO_PATH).size };
  fs.writeFileSync(STAMP_PATH, `${JSON.stringify(stamp, null, 2)}\n`);
  return stamp.size;
}

/** Runs the host IDL generator; `check` compares instead of writing. Returns its exit status. */
function runIdlGenerator(check) {
  const env = { ...process.env, RUSTC };
  delete env.RUSTFLAGS; // the SBF flags must not reach the host build
  const args = ["run", "--locked", "--quiet", "-p", PROGRAM, "--features", "idl", "--bin", "idl"];
  if (check) args.push("--", "--check");
  const result = run(CARGO, args, { env, stdio: "inherit" });
  return result.status ?? 1;
}

/** Runs the crate's host unit tests with Debian's toolchain. Returns cargo's exit status. */
function runHostTests() {
  const env = { ...process.env, RUSTC };
  delete env.RUSTFLAGS;
  const result = run(CARGO, ["test", "--locked", "-p", PROGRAM], { env, stdio: "inherit" });
  return result.status ?? 1;
}

function main(argv) {
  const flags = new Set(argv);
  const known = ["--force", "--check", "--check-idl", "--build-sbf", "--test"];
  const unknown = [...flags].filter((f) => !known.includes(f));
  if (unknown.length > 0) throw new BuildError(`unknown option ${unknown.join(", ")} (known: ${known.join(", ")})`);

  if (flags.has("--test")) {
    if (!fs.existsSync(CARGO) || !fs.existsSync(RUSTC)) ensureToolchain();
    return runHostTests() === 0 ? 0 : 1;
  }
  if (flags.has("--check-idl")) {
    if (!fs.existsSync(CARGO) || !fs.existsSync(RUSTC)) ensureToolchain();
    return runIdlGenerator(true) === 0 ? 0 : 1;
  }

  const hash = inputsHash();
  const reason = flags.has("--force") ? "--force" : staleReason(hash);
  if (flags.has("--check")) {
    if (reason) {
      log(`stale: ${reason}`);
      return 1;
    }
    log(`${path.relative(ROOT, SO_PATH)} is up to date`);
    return 0;
  }
  if (!reason) {
    log(`${path.relative(ROOT, SO_PATH)} is up to date (${fs.statSync(SO_PATH).size} bytes)`);
    if (!fs.existsSync(IDL_PATH) && runIdlGenerator(false) !== 0) throw new BuildError("IDL generation failed");
    return 0;
  }
  log(`building: ${reason}`);
  const builtSo = flags.has("--build-sbf") ? buildWithCargoBuildSbf() : buildWithSbpfLinker();
  const size = install(builtSo, hash);
  log(`wrote ${path.relative(ROOT, SO_PATH)} (${size} bytes, SBPF v0)`);
  if (runIdlGenerator(false) !== 0) throw new BuildError("IDL generation failed");
  return 0;
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (error) {
  if (error instanceof BuildError) {
    process.stderr.write(`build-program: error: ${error.message}\n`);
    process.exitCode = 1;
  } else {
    throw error;
  }
}
