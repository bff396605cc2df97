// Test-only methods (stableflow_*): refused unless the server runs in test mode, so a demo or
// development chain cannot be bent by a caller. Each change is journaled like any other effect.
import { z } from "zod";
import { decodeBase64 } from "./codec";
import { invalidParams } from "./errors";
import { address, parseParams, type Method } from "./params";
import { isTokenAccountData, TOKEN_STATE_FROZEN, TOKEN_STATE_OFFSET } from "./tokens";

export const testMethods: Record<string, Method> = {
  /** Produces `slots` blocks at once: blockhashes expire, statuses finalize. Answers the new slot. */
  stableflow_warpSlots(params, { chain }) {
    const [slots] = parseParams(z.tuple([z.number().int().min(1).max(100_000)]), params);
    chain.clock.advance(slots);
    return chain.clock.slot;
  },

  /** Stops (true) or restarts (false) the slot clock; nothing confirms while it is paused. */
  stableflow_pauseClock(params, { chain }) {
    const [paused] = parseParams(z.tuple([z.boolean()]), params);
    chain.clock.setPaused(paused);
    return { paused, slot: chain.clock.slot };
  },

  /** Overwrites an account (a state no transaction reaches). */
  stableflow_setAccount(params, { chain }) {
    const [key, account] = parseParams(
      z.tuple([
        address,
        z.object({
          lamports: z.number().int().nonnegative(),
          owner: address,
          data: z.tuple([z.string().max(14_000_000), z.literal("base64")]),
          executable: z.boolean().optional(),
        }),
      ]),
      params,
    );
    chain.setAccounts("test", [
      [key, account.lamports === 0 ? null : { lamports: BigInt(account.lamports), owner: account.owner, executable: account.executable ?? false, data: decodeBase64(account.data[0]) }],
    ]);
    return true;
  },

  /** Freezes a token account in place, as its mint's freeze authority would. */
  stableflow_freezeTokenAccount(params, { chain }) {
    const [key] = parseParams(z.tuple([address]), params);
    const account = chain.account(key);
    if (!account || !isTokenAccountData(account.owner, account.data)) throw invalidParams("not a Token account");
    const data = new Uint8Array(account.data);
    data[TOKEN_STATE_OFFSET] = TOKEN_STATE_FROZEN;
    chain.setAccounts("test", [[key, { ...account, data }]]);
    return true;
  },
};
