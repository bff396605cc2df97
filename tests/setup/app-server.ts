// Serves the production build of the app in the test process on 127.0.0.1 (random port), backed by
// the test's own database: the same handler `npm start` runs, so tests exercise what ships.
import { existsSync, readdirSync, statSync } from "node:fs";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { createAppServer } from "../../scripts/app.mjs";
import { afterAll, beforeAll } from "vitest";
import { setDatabase, clearDatabase, type Database } from "~/utils/db.server";
import type { DatabaseTarget, TestDatabase } from "./databases";

const BUILD = path.resolve("build/server/index.js");

function newestSourceMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    // Generated code and tests never enter the build; editing a test must not mark the build stale.
    if (entry.name === "generated" || /\.test\.tsx?$/.test(entry.name)) continue;
    const full = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSourceMtime(full) : statSync(full).mtimeMs);
  }
  return newest;
}

/** Throws unless build/server is at least as new as every source file under app/ (tests must test what ships). */
export function assertFreshBuild(): void {
  if (!existsSync(BUILD)) throw new Error("no app build: run `npm run build` (npm test does it before the suite)");
  if (statSync(BUILD).mtimeMs < newestSourceMtime(path.resolve("app"))) {
    throw new Error("the app build is older than app/: run `npm run build` (npm test does it before the suite)");
  }
}

export interface AppServer {
  url: string;
  close(): Promise<void>;
}

export async function startAppServer(database: Database): Promise<AppServer> {
  assertFreshBuild();
  const build = await import(pathToFileURL(BUILD).href);
  setDatabase(database);
  const server = createAppServer(build).listen(0, "127.0.0.1");
  await new Promise<void>((resolve, reject) => {
    server.once("listening", resolve);
    server.once("error", reject);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      clearDatabase();
    },
  };
}

export interface ServedApp {
  readonly db: TestDatabase;
  readonly server: AppServer;
}

/**
 * A fresh database of `target` (seeded by `seed`, before the first request) and the app served over it,
 * for the tests of the calling describe block: opened before them, closed and dropped after them.
 */
export function useServedApp(target: DatabaseTarget, seed?: (db: TestDatabase) => Promise<void>): ServedApp {
  const app = {} as { db: TestDatabase; server: AppServer };
  beforeAll(async () => {
    app.db = await target.create();
    await seed?.(app.db);
    app.server = await startAppServer(app.db);
  });
  afterAll(async () => {
    await app.server?.close();
    await app.db?.destroy();
  });
  return app;
}
