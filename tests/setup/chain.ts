// The embedded chain for tests: startTestChain (tests/setup/chain-process.ts) and useTestChain, which
// starts one for the tests of a describe block and stops it after them.
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
