// Cluster methods: slots, block height, blockhashes and their lifetime, epoch, fees, node identity.
import { VersionedMessage } from "@solana/web3.js";
import { z } from "zod";
import { SLOTS_PER_EPOCH } from "./chain";
import { MAX_PROCESSING_AGE } from "./clock";
import { decodeBase64, transactionFee } from "./codec";
import { invalidParams, RpcError, RPC_BLOCK_NOT_AVAILABLE } from "./errors";
import { address, configSchema, contextSlot, parseParams, withContext, type Method } from "./params";

const RECENT_FEE_SLOTS = 150;
const SOLANA_CORE_VERSION = "2.3.0";
const optionalConfig = z.union([z.tuple([]), z.tuple([configSchema])]);

export const clusterMethods: Record<string, Method> = {
  getHealth(params) {
    parseParams(z.tuple([]), params);
    return "ok";
  },

  getVersion(params) {
    parseParams(z.tuple([]), params);
    return { "solana-core": SOLANA_CORE_VERSION, "feature-set": 0, "stableflow-chain": "litesvm 1.4.1" };
  },

  getGenesisHash(params, { chain }) {
    parseParams(z.tuple([]), params);
    return chain.genesisHash;
  },

  getIdentity(params, { chain }) {
    parseParams(z.tuple([]), params);
    return { identity: chain.faucet.publicKey.toBase58() };
  },

  getSlot(params, { chain }) {
    const [config] = parseParams(optionalConfig, params);
    return contextSlot(chain, config);
  },

  getBlockHeight(params, { chain }) {
    const [config] = parseParams(optionalConfig, params);
    contextSlot(chain, config);
    return chain.clock.blockAt(config?.commitment).blockHeight;
  },

  getTransactionCount(params, { chain }) {
    parseParams(optionalConfig, params);
    return chain.history.size;
  },

  getEpochInfo(params, { chain }) {
    const [config] = parseParams(optionalConfig, params);
    const slot = contextSlot(chain, config);
    return {
      absoluteSlot: slot,
      blockHeight: chain.clock.blockAt(config?.commitment).blockHeight,
      epoch: Math.floor(slot / SLOTS_PER_EPOCH),
      slotIndex: slot % SLOTS_PER_EPOCH,
      slotsInEpoch: SLOTS_PER_EPOCH,
      transactionCount: chain.history.size,
    };
  },

  getEpochSchedule(params) {
    parseParams(z.tuple([]), params);
    return { slotsPerEpoch: SLOTS_PER_EPOCH, leaderScheduleSlotOffset: SLOTS_PER_EPOCH, warmup: false, firstNormalEpoch: 0, firstNormalSlot: 0 };
  },

  getFirstAvailableBlock(params) {
    parseParams(z.tuple([]), params);
    return 0;
  },

  getBlockTime(params, { chain }) {
    const [slot] = parseParams(z.tuple([z.number().int().nonnegative()]), params);
    const block = chain.clock.blockAtSlot(slot);
    if (block && block.time > 0) return block.time;
    // Older blocks are not kept; a slot that holds a transaction still has that transaction's time.
    const tx = slot <= chain.clock.slot ? chain.history.recent(slot).find((t) => t.slot === slot) : undefined;
    if (tx) return tx.blockTime;
    throw new RpcError(RPC_BLOCK_NOT_AVAILABLE, `Block not available for slot ${slot}`);
  },

  getLatestBlockhash(params, { chain }) {
    const [config] = parseParams(optionalConfig, params);
    const slot = contextSlot(chain, config);
    const block = chain.clock.blockAt(config?.commitment);
    return withContext(slot, { blockhash: block.blockhash, lastValidBlockHeight: block.blockHeight + MAX_PROCESSING_AGE });
  },

  isBlockhashValid(params, { chain }) {
    const [blockhash, config] = parseParams(z.tuple([z.string().max(64), configSchema.optional()]), params);
    const slot = contextSlot(chain, config);
    return withContext(slot, chain.clock.isBlockhashValid(blockhash));
  },

  getFeeForMessage(params, { chain }) {
    const [encoded, config] = parseParams(z.tuple([z.string().max(4096), configSchema.optional()]), params);
    const slot = contextSlot(chain, config);
    let message: VersionedMessage;
    try {
      message = VersionedMessage.deserialize(decodeBase64(encoded));
    } catch {
      throw invalidParams("invalid message");
    }
    if (!chain.clock.isBlockhashValid(message.recentBlockhash)) return withContext(slot, null);
    let computeUnitLimit = 0;
    let computeUnitPrice = 0n;
    let others = 0;
    for (const ix of message.compiledInstructions) {
      const program = message.staticAccountKeys[ix.programIdIndex]?.toBase58();
      const data = Buffer.from(ix.data);
      if (program !== "ComputeBudget111111111111111111111111111111") others += 1;
      else if (data[0] === 2 && data.length >= 5) computeUnitLimit = data.readUInt32LE(1);
      else if (data[0] === 3 && data.length >= 9) computeUnitPrice = data.readBigUInt64LE(1);
    }
    const fee = transactionFee({
      header: message.header,
      computeUnitLimit: Math.min(computeUnitLimit || others * 200_000, 1_400_000),
      computeUnitPrice,
    });
    return withContext(slot, Number(fee));
  },

  getRecentPrioritizationFees(params, { chain }) {
    const [addresses] = parseParams(z.union([z.tuple([]), z.tuple([z.array(address).max(128)])]), params);
    const tip = chain.clock.slot;
    const from = Math.max(0, tip - RECENT_FEE_SLOTS + 1);
    const wanted = addresses && addresses.length > 0 ? new Set(addresses) : undefined;
    const lowest = new Map<number, bigint>();
    for (const tx of chain.history.recent(from)) {
      if (wanted && !tx.accountKeys.some((key) => wanted.has(key))) continue;
      const price = BigInt(tx.computeUnitPrice);
      const seen = lowest.get(tx.slot);
      if (seen === undefined || price < seen) lowest.set(tx.slot, price);
    }
    const fees = [];
    for (let slot = from; slot <= tip; slot += 1) fees.push({ slot, prioritizationFee: Number(lowest.get(slot) ?? 0n) });
    return fees;
  },
};
