// The health report: database mode and a live round trip, Dodo's mode, and the chain: its endpoint
// (credentials blanked), cluster, slot, treasury and vault balance. A part that does not answer makes
// the report `degraded` with the reason; the report itself always answers.
import { chainConfigFromEnv } from "~/settlement/chain-config.server";
import { chainHealth, type ChainHealth } from "~/settlement/chain-runtime.server";
import { getDatabase } from "~/utils/db.server";
import { getEnv } from "~/utils/env.server";

export interface HealthReport {
  status: "ok" | "degraded";
  database: { mode: "embedded" | "postgres" | "unknown"; status: "ready" | "unavailable"; migrations?: number; error?: string };
  dodo: { mode: "simulator" | "test_mode" | "live_mode" };
  chain: ChainHealth;
}

const CHAIN_HEALTH_BUDGET_MS = 4_000;

async function chainWithinBudget(): Promise<ChainHealth> {
  const env = getEnv();
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<ChainHealth>((resolve) => {
    timer = setTimeout(() => {
      const config = chainConfigFromEnv(env);
      resolve({ mode: config.mode, status: "unavailable", rpcUrl: config.displayUrl, programId: config.programId.toBase58(), error: `no answer within ${CHAIN_HEALTH_BUDGET_MS} ms` });
    }, CHAIN_HEALTH_BUDGET_MS);
  });
  try {
    return await Promise.race([chainHealth(env), late]);
  } finally {
    clearTimeout(timer);
  }
}

export async function healthReport(): Promise<HealthReport> {
  const env = getEnv();
  const dodo = { mode: env.DODO_PAYMENTS_API_KEY ? env.DODO_PAYMENTS_ENVIRONMENT : ("simulator" as const) };
  const chain = await chainWithinBudget();
  const chainOk = chain.status === "ready";
  try {
    const db = await getDatabase();
    const rows = await db.prisma.$queryRaw<{ count: bigint }[]>`SELECT count(*) AS count FROM stableflow_migrations`;
    return {
      status: chainOk ? "ok" : "degraded",
      database: { mode: db.mode, status: "ready", migrations: Number(rows[0]?.count ?? 0) },
      dodo,
      chain,
    };
  } catch {
    return { status: "degraded", database: { mode: "unknown", status: "unavailable", error: "database unreachable" }, dodo, chain };
  }
}

/** The mode of each part, from the configuration alone (no round trip): for page banners. */
export function deploymentModes() {
  const env = getEnv();
  return {
    database: env.DATABASE_URL ? ("postgres" as const) : ("embedded" as const),
    dodo: env.DODO_PAYMENTS_API_KEY ? env.DODO_PAYMENTS_ENVIRONMENT : ("simulator" as const),
    chain: chainConfigFromEnv(env).mode,
  };
}
