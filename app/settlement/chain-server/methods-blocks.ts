// Block-level and token-supply reads the public Solana Explorer makes (block pages, mint pages, the
// cluster's performance samples), answered from the journaled history.
import { z } from "zod";
import { blockhashOf } from "./clock";
import { invalidParams, RpcError, RPC_BLOCK_NOT_AVAILABLE, RPC_UNSUPPORTED_TRANSACTION_VERSION } from "./errors";
import { transactionResponse } from "./methods-transactions";
import { address, commitmentSchema, configSchema, contextSlot, parseParams, withContext, type Method } from "./params";
import { isMintData, isTokenAccountData, readMint, readTokenAccount, TOKEN_2022_PROGRAM, TOKEN_PROGRAM, uiTokenAmount } from "./tokens";

const blockConfig = z.looseObject({
  commitment: commitmentSchema.refine((c) => c !== "processed", { error: "Method does not support commitment below `confirmed`" }).optional(),
  encoding: z.enum(["json", "jsonParsed", "base64", "base58"]).optional(),
  transactionDetails: z.enum(["full", "signatures", "none", "accounts"]).optional(),
  rewards: z.boolean().optional(),
  maxSupportedTransactionVersion: z.number().int().min(0).max(0).optional(),
});

export const blockMethods: Record<string, Method> = {
  getBlock(params, { chain }) {
    const [slot, config] = parseParams(z.tuple([z.number().int().nonnegative(), blockConfig.optional()]), params);
    const visible = chain.clock.blockAt(config?.commitment ?? "finalized");
    if (slot > visible.slot) throw new RpcError(RPC_BLOCK_NOT_AVAILABLE, `Block not available for slot ${slot}`);
    const txs = chain.history.recent(slot).filter((tx) => tx.slot === slot);
    const withVersion = config?.maxSupportedTransactionVersion !== undefined;
    if (!withVersion && txs.some((tx) => tx.version === 0)) {
      throw new RpcError(
        RPC_UNSUPPORTED_TRANSACTION_VERSION,
        'Transaction version (0) is not supported by the requesting client. Please try the request again with the following configuration parameter: "maxSupportedTransactionVersion": 0',
      );
    }
    const offset = chain.clock.slot - chain.clock.blockHeight;
    const known = chain.clock.blockAtSlot(slot);
    const block: Record<string, unknown> = {
      blockhash: blockhashOf(chain.genesisHash, slot),
      previousBlockhash: slot === 0 ? chain.genesisHash : blockhashOf(chain.genesisHash, slot - 1),
      parentSlot: Math.max(0, slot - 1),
      blockHeight: slot - offset,
      blockTime: known && known.time > 0 ? known.time : (txs[0]?.blockTime ?? null),
    };
    const details = config?.transactionDetails ?? "full";
    if (details === "signatures") block.signatures = txs.map((tx) => tx.signature);
    if (details === "full") {
      block.transactions = txs.map((tx) => {
        const { transaction, meta, version } = transactionResponse(tx, config?.encoding ?? "json", withVersion) as { transaction: unknown; meta: unknown; version?: unknown };
        return { transaction, meta, ...(withVersion ? { version } : {}) };
      });
    }
    if (details === "accounts") throw invalidParams("transactionDetails=accounts is not supported by this node");
    if (config?.rewards !== false) block.rewards = [];
    return block;
  },

  getRecentPerformanceSamples(params, { chain }) {
    const [limit] = parseParams(z.union([z.tuple([]), z.tuple([z.number().int().min(1).max(720)])]), params);
    // One sample per 60 s of slots, as a validator keeps them; the newest first.
    const slotsPerSample = Math.max(1, Math.round(60_000 / chain.slotMs));
    const tip = chain.clock.slot;
    const samples = [];
    for (let end = tip; end > 0 && samples.length < (limit ?? 720); end -= slotsPerSample) {
      const start = Math.max(0, end - slotsPerSample);
      const count = chain.history.recent(start + 1).filter((tx) => tx.slot <= end).length;
      samples.push({ slot: end, numSlots: end - start, numTransactions: count, numNonVoteTransactions: count, samplePeriodSecs: 60 });
      if (start === 0) break;
    }
    return samples;
  },

  getTokenSupply(params, { chain }) {
    const [mint, config] = parseParams(z.tuple([address, configSchema.optional()]), params);
    const slot = contextSlot(chain, config);
    const account = chain.account(mint);
    if (!account || !isMintData(account.owner, account.data)) throw invalidParams("not a Token mint");
    const { supply, decimals } = readMint(account.data);
    return withContext(slot, uiTokenAmount(supply, decimals));
  },

  getTokenLargestAccounts(params, { chain }) {
    const [mint, config] = parseParams(z.tuple([address, configSchema.optional()]), params);
    const slot = contextSlot(chain, config);
    const account = chain.account(mint);
    if (!account || !isMintData(account.owner, account.data)) throw invalidParams("not a Token mint");
    const decimals = readMint(account.data).decimals;
    const holders = [TOKEN_PROGRAM, TOKEN_2022_PROGRAM]
      .flatMap((program) => chain.programAccounts(program))
      .filter((entry) => isTokenAccountData(entry.account.owner, entry.account.data))
      .map((entry) => ({ address: entry.address, token: readTokenAccount(entry.account.data) }))
      .filter((entry) => entry.token.mint === mint)
      .sort((a, b) => (a.token.amount === b.token.amount ? 0 : a.token.amount > b.token.amount ? -1 : 1))
      .slice(0, 20);
    return withContext(slot, holders.map((h) => ({ address: h.address, ...uiTokenAmount(h.token.amount, decimals) })));
  },
};
