// The whole test suite: unit tests beside the code, integration/program/e2e tests under tests/.
import { defineConfig } from "vitest/config";
import tsconfigPaths from "vite-tsconfig-paths";

export default defineConfig({
  plugins: [tsconfigPaths()],
  test: {
    include: ["app/**/*.test.{ts,tsx}", "tests/**/*.test.ts"],
    environment: "node",
    pool: "forks",
    // 2 cores: more workers only fight over them (PGlite and the SVMs are CPU-bound).
    poolOptions: { forks: { minForks: 1, maxForks: 2 } },
    testTimeout: 60_000,
    hookTimeout: 120_000,
    env: { STABLEFLOW_ENV: "test" },
    reporters: ["default", "./tests/setup/summary-reporter.ts"],
  },
});
