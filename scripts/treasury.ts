// `npm run treasury -- ...`: see app/settlement/treasury-cli.server.ts for the commands.
import { runTreasuryCommand } from "../app/settlement/treasury-cli.server";
import { ConfigError, getEnv } from "../app/utils/env.server";

let code: number;
try {
  code = await runTreasuryCommand(process.argv.slice(2), getEnv(), {
    out: (line) => console.log(line),
    err: (line) => console.error(line),
  });
} catch (error) {
  console.error(`treasury: ${error instanceof ConfigError ? error.message : `failed: ${(error as Error)?.message ?? error}`}`);
  code = error instanceof ConfigError ? 2 : 1;
}
process.exit(code);
