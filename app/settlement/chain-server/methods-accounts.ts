// Account methods: balances, account data in every encoding web3.js asks for, program accounts with
// memcmp/dataSize filters, token balances.
import { z } from "zod";
import { decodeBase58, decodeBase64 } from "./codec";
import { invalidParams } from "./errors";
import {
  accountConfigSchema,
  address,
  configSchema,
  contextSlot,
  encodeAccount,
  parseParams,
  withContext,
  type Method,
} from "./params";
import { isTokenAccountData, readTokenAccount, TOKEN_2022_PROGRAM, TOKEN_PROGRAM, uiTokenAmount } from "./tokens";

const filterSchema = z.union([
  z.strictObject({ dataSize: z.number().int().nonnegative() }),
  z.strictObject({
    memcmp: z.object({
      offset: z.number().int().nonnegative(),
      bytes: z.string().max(175),
      encoding: z.enum(["base58", "base64"]).optional(),
    }),
  }),
]);

const programAccountsConfig = accountConfigSchema.extend({
  filters: z.array(filterSchema).max(4).optional(),
  withContext: z.boolean().optional(),
});

type Filter = z.infer<typeof filterSchema>;

function matcher(filters: Filter[] | undefined): (data: Uint8Array) => boolean {
  const tests = (filters ?? []).map((filter) => {
    if ("dataSize" in filter) return (data: Uint8Array) => data.length === filter.dataSize;
    let bytes: Uint8Array;
    try {
      bytes = filter.memcmp.encoding === "base64" ? decodeBase64(filter.memcmp.bytes) : decodeBase58(filter.memcmp.bytes);
    } catch {
      throw invalidParams("memcmp bytes are not valid base58");
    }
    if (bytes.length > 128) throw invalidParams("memcmp bytes longer than 128");
    const { offset } = filter.memcmp;
    return (data: Uint8Array) => offset + bytes.length <= data.length && bytes.every((b, i) => data[offset + i] === b);
  });
  return (data) => tests.every((test) => test(data));
}

export const accountMethods: Record<string, Method> = {
  getBalance(params, { chain }) {
    const [key, config] = parseParams(z.tuple([address, configSchema.optional()]), params);
    const slot = contextSlot(chain, config);
    return withContext(slot, Number(chain.account(key)?.lamports ?? 0n));
  },

  getAccountInfo(params, { chain }) {
    const [key, config] = parseParams(z.tuple([address, accountConfigSchema.optional()]), params);
    const slot = contextSlot(chain, config);
    const account = chain.account(key);
    return withContext(slot, account ? encodeAccount(chain, account, config) : null);
  },

  getMultipleAccounts(params, { chain }) {
    const [keys, config] = parseParams(z.tuple([z.array(address).max(100), accountConfigSchema.optional()]), params);
    const slot = contextSlot(chain, config);
    return withContext(
      slot,
      keys.map((key) => {
        const account = chain.account(key);
        return account ? encodeAccount(chain, account, config) : null;
      }),
    );
  },

  getProgramAccounts(params, { chain }) {
    const [owner, config] = parseParams(z.tuple([address, programAccountsConfig.optional()]), params);
    const slot = contextSlot(chain, config);
    const matches = matcher(config?.filters);
    const found = chain
      .programAccounts(owner)
      .filter((entry) => matches(entry.account.data))
      .map((entry) => ({ pubkey: entry.address, account: encodeAccount(chain, entry.account, config) }));
    return config?.withContext ? withContext(slot, found) : found;
  },

  getTokenAccountBalance(params, { chain }) {
    const [key, config] = parseParams(z.tuple([address, configSchema.optional()]), params);
    const slot = contextSlot(chain, config);
    const account = chain.account(key);
    if (!account || !isTokenAccountData(account.owner, account.data)) throw invalidParams("not a Token account");
    const token = readTokenAccount(account.data);
    return withContext(slot, uiTokenAmount(token.amount, chain.decimalsOf(token.mint) ?? 0));
  },

  getTokenAccountsByOwner(params, { chain }) {
    const [owner, filter, config] = parseParams(
      z.tuple([address, z.union([z.strictObject({ mint: address }), z.strictObject({ programId: address })]), accountConfigSchema.optional()]),
      params,
    );
    const slot = contextSlot(chain, config);
    const programs = "programId" in filter ? [filter.programId] : [TOKEN_PROGRAM, TOKEN_2022_PROGRAM];
    const found = programs.flatMap((program) =>
      chain
        .programAccounts(program)
        .filter((entry) => isTokenAccountData(entry.account.owner, entry.account.data))
        .filter((entry) => {
          const token = readTokenAccount(entry.account.data);
          return token.owner === owner && (!("mint" in filter) || token.mint === filter.mint);
        })
        .map((entry) => ({ pubkey: entry.address, account: encodeAccount(chain, entry.account, config) })),
    );
    return withContext(slot, found);
  },

  getMinimumBalanceForRentExemption(params, { chain }) {
    const [space] = parseParams(z.tuple([z.number().int().nonnegative().max(10 * 1024 * 1024), configSchema.optional()]), params);
    return Number(chain.minimumBalanceForRentExemption(space));
  },
};
