// `npm run db:migrate`: applies migrations/ to DATABASE_URL, or to the embedded database in
// STABLEFLOW_DATA_DIR when it is unset. The server also migrates at boot; this is for operators.
import { migrateDatabase, openDatabase } from "../app/utils/db.server";
import { ConfigError, getEnv } from "../app/utils/env.server";

try {
  const env = getEnv();
  const db = await openDatabase({ databaseUrl: env.DATABASE_URL, dataDir: env.STABLEFLOW_DATA_DIR });
  try {
    // DATABASE_MIGRATION_URL: migrate as the owner role and grant DATABASE_URL's role its DML.
    const result = await migrateDatabase(db, undefined, { migrationUrl: env.DATABASE_MIGRATION_URL });
    console.log(
      `${db.mode} database at ${db.location}: applied ${result.applied.length} migration(s)` +
        (result.applied.length ? ` (${result.applied.join(", ")})` : "") +
        `, ${result.alreadyApplied} already applied`,
    );
  } finally {
    await db.close();
  }
} catch (error) {
  const name = (error as Error).name;
  console.error(`stableflow: ${name === "ConfigError" || name === "MigrationError" ? (error as Error).message : String(error)}`);
  process.exit(error instanceof ConfigError ? 2 : 1);
}
