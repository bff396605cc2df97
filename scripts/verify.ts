// `npm run verify -- <proof.json> [--rpc URL] [--json]`: checks a payout proof against any Solana RPC endpoint
// with @solana/web3.js and the program's IDL only (app/settlement/payout-proof.ts); StableFlow's database and
// server play no part. Prints pass/fail per check; exits 0 only when every check passes (1 on a failed check,
// 2 on a bad proof file or arguments).
import { readFileSync } from "node:fs";
import { Connection } from "@solana/web3.js";
import { parsePayoutProof, ProofFormatError, verifyPayoutProof } from "../app/settlement/payout-proof";

const USAGE = "usage: npm run verify -- <proof.json> [--rpc URL] [--json]";

function fail(message: string): never {
  console.error(`verify: ${message}\n${USAGE}`);
  process.exit(2);
}

const args = process.argv.slice(2);
let rpc = process.env.SOLANA_RPC_URL ?? `http://127.0.0.1:${process.env.STABLEFLOW_CHAIN_PORT ?? 8899}`;
let json = false;
const files: string[] = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--rpc") rpc = args[++i] ?? fail("--rpc needs a URL");
  else if (args[i] === "--json") json = true;
  else if (args[i].startsWith("--")) fail(`unknown option ${args[i]}`);
  else files.push(args[i]);
}
if (files.length !== 1) fail("give exactly one proof file");

let proof;
try {
  proof = parsePayoutProof(JSON.parse(readFileSync(files[0], "utf8")));
} catch (error) {
  fail(error instanceof ProofFormatError ? error.message : `cannot read ${files[0]}: ${(error as Error).message}`);
}

try {
  const result = await verifyPayoutProof(new Connection(rpc, "confirmed"), proof);
  if (json) console.log(JSON.stringify(result));
  else {
    for (const check of result.checks) console.log(`${check.ok ? "PASS" : "FAIL"}  ${check.check.padEnd(11)} ${check.detail}`);
    console.log(result.ok ? "verified: every check passed" : "NOT verified: at least one check failed");
  }
  process.exit(result.ok ? 0 : 1);
} catch (error) {
  console.error(`verify: the endpoint did not answer (${(error as Error).message}); nothing was verified`);
  process.exit(1);
}
