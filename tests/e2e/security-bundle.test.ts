// The production server bundle (build/server, what `npm start` serves) holds no test code: the local HTTP
// double of Dodo's API lives in tests/mocks for tests only; the checkout simulator ships its own stand-in.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { assertFreshBuild } from "../setup/app-server";

function serverBundle(): string {
  const dir = path.resolve("build/server");
  const files: string[] = [];
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (/\.(m?js|cjs)$/.test(entry.name)) files.push(full);
    }
  };
  walk(dir);
  return files.map((f) => readFileSync(f, "utf8")).join("\n");
}

describe("production server bundle", () => {
  it("contains the checkout simulator but not the test double of Dodo's API", () => {
    assertFreshBuild();
    const bundle = serverBundle();
    // The simulator is there (so this reads the real bundle, not an empty file)...
    expect(bundle).toContain("StableFlow-Checkout-Simulator");
    // ...and nothing of tests/mocks/dodo.ts's HTTP double: its entry point, its answers, its import path.
    for (const marker of ["startDodoDouble", "double failed", "Invalid or missing API key", "tests/mocks"]) {
      expect(bundle.includes(marker), `build/server contains ${JSON.stringify(marker)}`).toBe(false);
    }
  });
});
