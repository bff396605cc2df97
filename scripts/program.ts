// `npm run program -- deploy | upgrade | show`: see app/settlement/program-cli.server.ts.
import { runProgramCommand } from "../app/settlement/program-cli.server";
import { ConfigError, getEnv } from "../app/utils/env.server";

let code: number;
try {
  code = await runProgramCommand(process.argv.slice(2), getEnv(), {
    out: (line) => console.log(line),
    err: (line) => console.error(line),
  });
} catch (error) {
  console.error(`program: ${error instanceof ConfigError ? error.message : `failed: ${(error as Error)?.message ?? error}`}`);
  code = error instanceof ConfigError ? 2 : 1;
}
process.exit(code);
