// Process start-up: parse the configuration, open the database for its mode, apply migrations,
// and install it for the app. Used by the server (scripts/serve.mjs via entry.server) and tests.
import { getEnv, type Env } from "./env.server";
import { clearDatabase, getDatabase, migrateDatabase, openDatabase, setDatabase, type Database } from "./db.server";
import { log } from "./log.server";
import { ensureDefaultOrganization } from "~/models/organizations.server";
import { startPayoutRunWorker, type PayoutRunWorker } from "~/models/payout-run-worker.server";

export interface BootResult {
  env: Env;
  database: Database;
  migrationsApplied: string[];
}

let booting: Promise<BootResult> | undefined;
let payoutRunWorker: PayoutRunWorker | undefined;

export function boot(): Promise<BootResult> {
  booting ??= (async () => {
    const env = getEnv();
    const database = await openDatabase({ databaseUrl: env.DATABASE_URL, dataDir: env.STABLEFLOW_DATA_DIR });
    const result = await migrateDatabase(database);
    await ensureDefaultOrganization(database.prisma);
    setDatabase(database);
    // Compiles the payout runs webhooks requested (the outbox), including any a previous process left.
    payoutRunWorker = startPayoutRunWorker(database.prisma);
    log.info("database ready", {
      mode: database.mode,
      location: database.location,
      migrationsApplied: result.applied.length,
      migrationsTotal: result.applied.length + result.alreadyApplied,
    });
    return { env, database, migrationsApplied: result.applied };
  })();
  return booting;
}

export async function shutdown(): Promise<void> {
  if (!booting) return;
  const { database } = await booting.catch(() => ({ database: undefined }));
  booting = undefined;
  await payoutRunWorker?.stop();
  payoutRunWorker = undefined;
  clearDatabase();
  await database?.close();
}

export { getDatabase };
