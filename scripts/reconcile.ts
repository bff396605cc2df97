// `npm run reconcile [-- --json]`: see app/settlement/reconcile-cli.server.ts.
import { runReconcileCommand } from "../app/settlement/reconcile-cli.server";
import { ConfigError, getEnv } from "../app/utils/env.server";

let code: number;
try {
  code = await runReconcileCommand(process.argv.slice(2), getEnv(), { out: (line) => console.log(line), err: (line) => console.error(line) });
} catch (error) {
  console.error(`reconcile: ${error instanceof ConfigError ? error.message : `failed: ${(error as Error)?.message ?? error}`}`);
  code = error instanceof ConfigError ? 2 : 1;
}
process.exit(code);
