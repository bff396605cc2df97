// The health report: database mode and a live round trip; later parts (chain, Dodo) add their mode.
import { getDatabase } from "~/utils/db.server";
import { getEnv } from "~/utils/env.server";

export interface HealthReport {
  status: "ok" | "degraded";
  database: { mode: "embedded" | "postgres" | "unknown"; status: "ready" | "unavailable"; migrations?: number; error?: string };
  dodo: { mode: "simulator" | "test_mode" | "live_mode" };
  // Settlement on the chain is the next milestone: until it lands the report says so rather than
  // claiming an embedded VM or an RPC endpoint that nothing uses yet.
  chain: { mode: "embedded" | "rpc"; status: "settlement_not_built" };
}

export async function healthReport(): Promise<HealthReport> {
  const env = getEnv();
  const dodo = { mode: env.DODO_PAYMENTS_API_KEY ? env.DODO_PAYMENTS_ENVIRONMENT : ("simulator" as const) };
  const chain = {
    mode: env.SOLANA_RPC_URL ? ("rpc" as const) : ("embedded" as const),
    status: "settlement_not_built" as const,
  };
  try {
    const db = await getDatabase();
    const rows = await db.prisma.$queryRaw<{ count: bigint }[]>`SELECT count(*) AS count FROM stableflow_migrations`;
    return {
      status: "ok",
      database: { mode: db.mode, status: "ready", migrations: Number(rows[0]?.count ?? 0) },
      dodo,
      chain,
    };
  } catch {
    return { status: "degraded", database: { mode: "unknown", status: "unavailable", error: "database unreachable" }, dodo, chain };
  }
}
