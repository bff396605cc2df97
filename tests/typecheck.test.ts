// The whole TypeScript tree type-checks under `strict`: a type error anywhere fails the suite,
// not just the editor of whoever wrote it.
import { spawnSync } from "node:child_process";
import path from "node:path";
import { describe, expect, it } from "vitest";

describe("typecheck", () => {
  it("tsc --noEmit reports no error", () => {
    const result = spawnSync(path.resolve("node_modules/.bin/tsc"), ["--noEmit", "--pretty", "false"], {
      encoding: "utf8",
      timeout: 240_000,
    });
    const diagnostics = `${result.stdout}${result.stderr}`.trim();
    expect(diagnostics).toBe("");
    expect(result.status).toBe(0);
  }, 300_000);
});
