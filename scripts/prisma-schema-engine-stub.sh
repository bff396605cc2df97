#!/bin/sh
# Stand-in for Prisma's schema engine, which cannot be downloaded on this network. `prisma generate`
# only needs the path to exist; every command that would really use the engine must fail loudly,
# never exit 0 having done nothing (see docs/decisions/001-sql-migrations.md).
echo "stableflow: the Prisma schema engine is not installed; migrations are applied by 'npm run db:migrate'" >&2
exit 1
