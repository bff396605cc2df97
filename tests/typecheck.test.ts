// The whole TypeScript tree type-checks under `strict`: a type error anywhere fails the suite,
// not just the editor of whoever wrote it.
import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);

describe("typecheck", () => {
  it("tsc --noEmit reports no error", async () => {
    // Asynchronous on purpose: a blocking spawn would stall this worker's RPC with vitest for a minute.
    const result = await run(path.resolve("node_modules/.bin/tsc"), ["--noEmit", "--pretty", "false"], {
      encoding: "utf8",
      timeout: 280_000,
      maxBuffer: 16 * 1024 * 1024,
    }).then(
      ({ stdout, stderr }) => ({ code: 0, output: `${stdout}${stderr}`.trim() }),
      (error: { code?: number; stdout?: string; stderr?: string }) => ({
        code: error.code ?? 1,
        output: `${error.stdout ?? ""}${error.stderr ?? ""}`.trim(),
      }),
    );
    expect(result.output).toBe("");
    expect(result.code).toBe(0);
  }, 300_000);
});
