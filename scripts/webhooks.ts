// `npm run webhooks -- <command>`: verified Dodo deliveries the ledger kept FAILED, and payout-run requests
// that failed their last attempt (dead letters). On PostgreSQL (DATABASE_URL) or the embedded database;
// while the server holds the embedded database, through the server's socket (decision 011), and it says so.
//
//   failed                          list the deliveries kept FAILED, with their error
//   replay <webhook-id>             apply one stored FAILED delivery with this deploy's parser
//   replay --failed                 the same for every FAILED delivery, oldest first
//   dead-letters                    list payout-run requests that failed their last attempt
//   retry-dead <request-id>|--all   give them a fresh set of attempts
import { parseArgs } from "node:util";
import { listDeadPayoutRunRequests, retryDeadPayoutRunRequests } from "../app/models/payout-run-lifecycle.server";
import { replayFailedWebhookEvents, replayWebhookEvent, type ReplayOutcome } from "../app/models/webhook-failures.server";
import { openDatabase, type Database } from "../app/utils/db.server";
import { ConfigError, getEnv } from "../app/utils/env.server";
import { sql } from "../app/utils/sql.server";

const USAGE = `usage: npm run webhooks -- <command>
  failed                          list the deliveries kept FAILED
  replay <webhook-id>             apply one stored FAILED delivery again
  replay --failed                 apply every stored FAILED delivery again, oldest first
  dead-letters                    list payout-run requests that failed their last attempt
  retry-dead <request-id>|--all   give dead letters a fresh set of attempts`;

class UsageError extends Error {}

function describe(outcome: ReplayOutcome): string {
  switch (outcome.outcome) {
    case "processed":
    case "ignored":
      return `${outcome.webhookId}: ${outcome.outcome}`;
    case "still_failed":
      return `${outcome.webhookId}: still failed: ${outcome.error}`;
    case "not_failed":
      return `${outcome.webhookId}: not replayed: it is ${outcome.status}, not FAILED`;
    case "not_found":
      return `${outcome.webhookId}: no delivery with this webhook-id`;
  }
}

async function run(db: Database, argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({ args: argv, allowPositionals: true, options: { failed: { type: "boolean" }, all: { type: "boolean" } } });
  const [command, argument, ...extra] = positionals;
  if (extra.length > 0) throw new UsageError(`unexpected argument: ${extra[0]}`);
  switch (command) {
    case "failed": {
      const rows = await db.query<{ webhook_id: string; event_type: string; received_at: Date | string; error: string | null }>(sql`
        SELECT webhook_id, event_type, received_at, error FROM webhook_events WHERE status = 'FAILED' ORDER BY received_at, id`);
      for (const row of rows) console.log(`${row.webhook_id}  ${row.event_type}  ${new Date(row.received_at).toISOString()}  ${row.error ?? ""}`);
      console.log(`${rows.length} FAILED deliver${rows.length === 1 ? "y" : "ies"}`);
      return 0;
    }
    case "replay": {
      if (Boolean(values.failed) === (argument !== undefined)) throw new UsageError("replay takes a webhook-id or --failed");
      const outcomes = values.failed ? await replayFailedWebhookEvents(db) : [await replayWebhookEvent(db, argument!)];
      for (const outcome of outcomes) console.log(describe(outcome));
      const applied = outcomes.filter((o) => o.outcome === "processed" || o.outcome === "ignored").length;
      console.log(`${applied} of ${outcomes.length} applied`);
      return applied === outcomes.length ? 0 : 1;
    }
    case "dead-letters": {
      const dead = await listDeadPayoutRunRequests(db);
      for (const d of dead) console.log(`${d.requestId}  payment ${d.paymentId}  ${d.attempts} attempts  ${d.deadAt.toISOString()}  ${d.lastError ?? ""}`);
      console.log(`${dead.length} dead letter${dead.length === 1 ? "" : "s"}`);
      return 0;
    }
    case "retry-dead": {
      if (Boolean(values.all) === (argument !== undefined)) throw new UsageError("retry-dead takes a request id or --all");
      if (argument !== undefined && !/^[0-9a-f-]{36}$/i.test(argument)) throw new UsageError("retry-dead: a request id is a UUID");
      const retried = await retryDeadPayoutRunRequests(db, { requestId: argument, operator: "cli" });
      console.log(`${retried} request${retried === 1 ? "" : "s"} given a fresh set of attempts`);
      return retried > 0 ? 0 : 1;
    }
    default:
      throw new UsageError(command ? `unknown command: ${command}` : "no command");
  }
}

let code: number;
try {
  const env = getEnv();
  const db = await openDatabase({ databaseUrl: env.DATABASE_URL, dataDir: env.STABLEFLOW_DATA_DIR, whenHeld: "connect" });
  // PGlite is one process: while the server holds the embedded database, this works through its socket.
  const holder = /through process (\d+)'s socket/.exec(db.location);
  if (holder) console.error(`stableflow webhooks: process ${holder[1]} (the server) holds the embedded database, so this works through its socket.`);
  try {
    code = await run(db, process.argv.slice(2));
  } finally {
    await db.close();
  }
} catch (error) {
  if (error instanceof UsageError || (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
    console.error(`stableflow webhooks: ${(error as Error).message}\n${USAGE}`);
    code = 2;
  } else {
    const known = error instanceof ConfigError || (error as Error).name === "DataDirInUseError";
    console.error(`stableflow webhooks: ${known ? (error as Error).message : `failed: ${(error as Error)?.message ?? error}`}`);
    code = error instanceof ConfigError ? 2 : 1;
  }
}
process.exit(code);
