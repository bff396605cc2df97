// Locates the program's build outputs in this repo and refuses to run against a missing or
// stale build: the suite must exercise the .so built from the source next to it.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Idl } from "@coral-xyz/anchor";

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
export const PROGRAM_SO_PATH = join(REPO_ROOT, "target/deploy/stableflow_payouts.so");
export const IDL_PATH = join(REPO_ROOT, "idl/stableflow_payouts.json");
export const BUILD_SCRIPT_PATH = join(REPO_ROOT, "scripts/build-program.mjs");
export const BUILD_COMMAND = "node scripts/build-program.mjs";

export class MissingBuildError extends Error {
  readonly code = "PROGRAM_BUILD_MISSING";
}

let buildChecked = false;

/**
 * The build script's own `--check` compares a hash of the crate, manifests, flags and toolchain
 * (and the .so's own hash) with the stamp it wrote: a stale or foreign .so is refused.
 */
function assertBuildIsCurrent(): void {
  if (buildChecked || !existsSync(BUILD_SCRIPT_PATH)) return;
  const result = spawnSync(process.execPath, [BUILD_SCRIPT_PATH, "--check"], { cwd: REPO_ROOT, encoding: "utf8" });
  if (result.status !== 0) {
    throw new MissingBuildError(
      `${PROGRAM_SO_PATH} is not the build of the current sources (${(result.stdout + result.stderr).trim()}). Rebuild: \`${BUILD_COMMAND}\``,
    );
  }
  buildChecked = true;
}

export function loadProgramBinary(soPath: string = PROGRAM_SO_PATH): Uint8Array {
  if (!existsSync(soPath)) {
    throw new MissingBuildError(`${soPath} does not exist. Build the program from this repo first: \`${BUILD_COMMAND}\``);
  }
  // Escape hatch for running the suite while the program is mid-edit; never set in CI.
  if (process.env.PROGRAM_TESTS_ALLOW_STALE_SO !== "1") assertBuildIsCurrent();
  return new Uint8Array(readFileSync(soPath));
}

export function loadIdl(): Idl {
  if (!existsSync(IDL_PATH)) {
    throw new MissingBuildError(`${IDL_PATH} does not exist. Generate it: \`${BUILD_COMMAND}\``);
  }
  return JSON.parse(readFileSync(IDL_PATH, "utf8")) as Idl;
}
