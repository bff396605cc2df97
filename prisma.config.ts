// Prisma CLI configuration. Only `prisma generate` is used: migrations are plain SQL in migrations/,
// applied by scripts/migrate.ts, because the schema engine binary cannot be downloaded here.
import { defineConfig } from "prisma/config";

export default defineConfig({
  schema: "prisma/schema.prisma",
  datasource: {
    // `env()` would make generate fail when the variable is unset; the URL is not used by generate.
    url: process.env.DATABASE_URL ?? "postgresql://stableflow@127.0.0.1:5432/stableflow",
  },
});
