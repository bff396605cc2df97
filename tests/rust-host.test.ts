// The program crate's host unit tests (`cargo test` with Debian's toolchain, via the build script)
// are part of the suite: instruction parsing, plan hash, validation, discriminators, IDL freshness.
import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);

describe("programs/stableflow_payouts host unit tests", () => {
  it("cargo test passes, and ran tests", async () => {
    const result = await run(process.execPath, [path.resolve("scripts/build-program.mjs"), "--test"], {
      encoding: "utf8",
      timeout: 600_000,
      maxBuffer: 32 * 1024 * 1024,
    }).then(
      ({ stdout, stderr }) => ({ code: 0, output: `${stdout}\n${stderr}` }),
      (error: { code?: number; stdout?: string; stderr?: string }) => ({
        code: error.code ?? 1,
        output: `${error.stdout ?? ""}\n${error.stderr ?? ""}`,
      }),
    );
    expect(result.code, result.output.slice(-4000)).toBe(0);
    const summaries = [...result.output.matchAll(/test result: (\w+)\. (\d+) passed; (\d+) failed/g)];
    expect(summaries.length, "no cargo test summary line").toBeGreaterThan(0);
    const passed = summaries.reduce((sum, m) => sum + Number(m[2]), 0);
    const failed = summaries.reduce((sum, m) => sum + Number(m[3]), 0);
    expect(failed).toBe(0);
    expect(passed).toBeGreaterThan(0);
  }, 620_000);
});
