// Locates the program's build outputs in this repo and refuses to run against a missing or
// stale build: the suite must exercise the .so built from the source next to it.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Idl } from "@coral-xyz/anchor";

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
export const PROGRAM_SO_PATH = join(REPO_ROOT, "target/deploy/stableflow_payouts.so");
export const IDL_PATH = join(REPO_ROOT, "idl/stableflow_payouts.json");
export const PROGRAM_SRC_DIR = join(REPO_ROOT, "programs/stableflow_payouts");
export const BUILD_COMMAND = "node scripts/build-program.mjs";

export class MissingBuildError extends Error {
  readonly code = "PROGRAM_BUILD_MISSING";
}

/** Newest modification time of any file under the program crate (sources, Cargo.toml). */
function newestSourceMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSourceMtime(path));
    else newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

export function loadProgramBinary(): Uint8Array {
  if (!existsSync(PROGRAM_SO_PATH)) {
    throw new MissingBuildError(
      `${PROGRAM_SO_PATH} does not exist. Build the program from this repo first: \`${BUILD_COMMAND}\``,
    );
  }
  // Escape hatch for running the suite while the program is mid-edit; never set in CI.
  const allowStale = process.env.PROGRAM_TESTS_ALLOW_STALE_SO === "1";
  if (existsSync(PROGRAM_SRC_DIR) && !allowStale) {
    const soMtime = statSync(PROGRAM_SO_PATH).mtimeMs;
    const srcMtime = newestSourceMtime(PROGRAM_SRC_DIR);
    if (srcMtime > soMtime) {
      throw new MissingBuildError(
        `${PROGRAM_SO_PATH} is older than the sources in programs/stableflow_payouts. Rebuild: \`${BUILD_COMMAND}\``,
      );
    }
  }
  return new Uint8Array(readFileSync(PROGRAM_SO_PATH));
}

export function loadIdl(): Idl {
  if (!existsSync(IDL_PATH)) {
    throw new MissingBuildError(`${IDL_PATH} does not exist. Generate it: \`${BUILD_COMMAND}\``);
  }
  return JSON.parse(readFileSync(IDL_PATH, "utf8")) as Idl;
}
