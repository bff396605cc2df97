// The embedded chain for tests: startTestChain (tests/setup/chain-process.ts) and useTestChain, which
// starts one for the tests of a describe block and stops it after them; useUnreachableChain, a configured
// chain that never answers.
import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Keypair } from "@solana/web3.js";
import { afterAll, beforeAll } from "vitest";
import { startTestChain, type TestChain, type TestChainOptions } from "./chain-process";

export { startTestChain, type TestChain, type TestChainOptions } from "./chain-process";

/** A chain for the tests of the calling describe block: started before them, stopped after them. */
export function useTestChain(options: TestChainOptions = {}): { readonly current: TestChain } {
  const holder = {} as { current: TestChain };
  beforeAll(async () => {
    holder.current = await startTestChain(options);
  });
  afterAll(async () => {
    await holder.current?.stop();
  });
  return holder;
}

/**
 * Points the app (served in this process) at a chain endpoint nobody answers on, with a treasury configured
 * (a mint and an authority key file), so pages that read the chain must say it could not be read. Call it
 * at the top of a test file, before the app reads its environment; the environment is put back after the
 * file (the next file may run in the same process). Port 9 (discard) on loopback: refused at once.
 */
export function useUnreachableChain(): void {
  const keyFile = path.join(mkdtempSync(path.join(os.tmpdir(), "sf-no-chain-")), "authority.json");
  writeFileSync(keyFile, JSON.stringify(Array.from(Keypair.generate().secretKey)), { mode: 0o600 });
  process.env.SOLANA_RPC_URL = "http://127.0.0.1:9";
  process.env.STABLEFLOW_MINT = Keypair.generate().publicKey.toBase58();
  process.env.STABLEFLOW_AUTHORITY_KEYPAIR = keyFile;
  afterAll(() => {
    delete process.env.SOLANA_RPC_URL;
    delete process.env.STABLEFLOW_MINT;
    delete process.env.STABLEFLOW_AUTHORITY_KEYPAIR;
  });
}
