// `npm run reconcile [-- --json] [--run <id>]`: proves the ledger equals the chain (reconcile.server.ts),
// on DATABASE_URL or the embedded database (through the server's socket when it runs), against
// SOLANA_RPC_URL or the embedded chain. A report in sentences, or one JSON object with --json. Exit 0
// only with zero drift; 1 with drift; 2 on a usage or configuration error.
import { openDatabase } from "~/utils/db.server";
import type { Env } from "~/utils/env.server";
import { chainConfigFromEnv } from "./chain-config.server";
import { getChainClient } from "./chain.server";
import { reconcileReport, type ReconcileReport } from "./reconcile.server";

export interface CliIo {
  out(line: string): void;
  err(line: string): void;
}

const USAGE = "usage: npm run reconcile -- [--json] [--run <payout run id>]...";

function describe(report: ReconcileReport): string[] {
  const lines = [`reconciled ${report.runs.length} run(s) and ${report.treasuries.length} treasury(ies) at ${report.checkedAt}`];
  for (const run of report.runs) {
    const status = run.drift.length ? "DRIFT" : "ok";
    lines.push(`  run ${run.runId} ${run.status}: ${run.batches.length} batch(es), transfers ${run.transfers} = settled ${run.settled} + held ${run.held} + unsettled ${run.unsettled} [${status}]`);
    for (const drift of run.drift) lines.push(`    drift: ${drift}`);
  }
  for (const t of report.treasuries) {
    lines.push(
      `  treasury ${t.treasury}: vault ${t.vaultBalance} + settled ${t.settledOnChain} vs deposits ${t.deposits} - withdrawals ${t.withdrawals}; ledger settled ${t.settledInLedger} [${t.drift.length ? "DRIFT" : "ok"}]`,
    );
    for (const drift of t.drift) lines.push(`    drift: ${drift}`);
  }
  lines.push(report.drift === 0 ? "zero drift: the ledger and the chain agree" : `${report.drift} discrepancy(ies)`);
  return lines;
}

export async function runReconcileCommand(argv: string[], env: Env, io: CliIo): Promise<number> {
  // `npm run reconcile --json` hands --json to npm, which passes it on as npm_config_json.
  let json = process.env.npm_config_json === "true";
  const runIds: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--json") json = true;
    else if (argv[i] === "--run" && argv[i + 1] && /^[0-9a-f-]{36}$/i.test(argv[i + 1]!)) runIds.push(argv[++i]!);
    else {
      io.err(USAGE);
      return 2;
    }
  }
  const config = chainConfigFromEnv(env);
  const database = env.DATABASE_URL
    ? await openDatabase({ databaseUrl: env.DATABASE_URL, poolSize: 2 })
    : await openDatabase({ dataDir: env.STABLEFLOW_DATA_DIR, whenHeld: "connect" });
  try {
    const report = await reconcileReport(database, getChainClient(config), { programId: config.programId, runIds: runIds.length ? runIds : undefined });
    if (json) io.out(JSON.stringify(report));
    else for (const line of describe(report)) io.out(line);
    return report.drift === 0 ? 0 : 1;
  } finally {
    await database.close();
  }
}
