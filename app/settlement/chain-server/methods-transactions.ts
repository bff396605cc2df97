// Transaction methods: simulate, send (preflight, skipPreflight, resend of the same bytes), statuses,
// history and airdrops, with Solana's error shapes (-32002 preflight failure with logs, -32003 bad
// signature, "Blockhash not found", -32015 unsupported version).
import { z } from "zod";
import type { Chain, ExecutionOutcome } from "./chain";
import { MAX_PROCESSING_AGE } from "./clock";
import { decodeBase58, decodeBase64, decodeTransaction, encodeBase58, isStaticWritable, type DecodedTransaction } from "./codec";
import {
  invalidParams,
  RpcError,
  RPC_PREFLIGHT_FAILURE,
  RPC_SIGNATURE_VERIFICATION_FAILURE,
  RPC_UNSUPPORTED_TRANSACTION_VERSION,
  transactionErrorText,
  type TransactionErrorJson,
} from "./errors";
import type { StoredTransaction } from "./history";
import {
  accountConfigSchema,
  address,
  commitmentSchema,
  configSchema,
  contextSlot,
  encodeAccount,
  parseParams,
  signature,
  withContext,
  type Method,
} from "./params";

/** The packet limit a real cluster enforces (LiteSVM does not). */
const PACKET_DATA_SIZE = 1232;
const MAX_AIRDROP_LAMPORTS = 1_000_000n * 1_000_000_000n;

const txEncoding = z.enum(["base58", "base64"]);

function decodeWire(encoded: string, encoding: "base58" | "base64" | undefined): DecodedTransaction {
  const maxEncoded = encoding === "base64" ? 1644 : 1683;
  if (encoded.length > maxEncoded) {
    throw invalidParams(`encoded transaction too large: ${encoded.length} bytes (max: encoded/raw ${maxEncoded}/${PACKET_DATA_SIZE})`);
  }
  let raw: Uint8Array;
  try {
    raw = encoding === "base64" ? decodeBase64(encoded) : decodeBase58(encoded);
  } catch {
    throw invalidParams(`invalid transaction: not ${encoding ?? "base58"}`);
  }
  if (raw.length > PACKET_DATA_SIZE) {
    throw invalidParams(`transaction too large: ${raw.length} bytes (max: encoded/raw ${maxEncoded}/${PACKET_DATA_SIZE})`);
  }
  return decodeTransaction(raw);
}

function preflightFailure(err: TransactionErrorJson, outcome?: ExecutionOutcome): RpcError {
  return new RpcError(RPC_PREFLIGHT_FAILURE, `Transaction simulation failed: ${transactionErrorText(err)}`, {
    err,
    logs: outcome?.logs ?? [],
    accounts: null,
    unitsConsumed: outcome?.unitsConsumed ?? 0,
    returnData: outcome?.returnData ?? null,
    innerInstructions: null,
  });
}

/** Inner instructions in the parsed form (program and accounts by address), as simulate and jsonParsed give them. */
function partiallyDecoded(accountKeys: string[], inner: StoredTransaction["innerInstructions"]) {
  return inner.map(({ index, instructions }) => ({
    index,
    instructions: instructions.map((ix) => ({
      programId: accountKeys[ix.programIdIndex],
      accounts: ix.accounts.map((i) => accountKeys[i]),
      data: ix.data,
      stackHeight: ix.stackHeight ?? null,
    })),
  }));
}

const sendConfig = z.looseObject({
  encoding: txEncoding.optional(),
  skipPreflight: z.boolean().optional(),
  preflightCommitment: commitmentSchema.optional(),
  maxRetries: z.number().int().nonnegative().optional(),
  minContextSlot: z.number().int().nonnegative().optional(),
});

const simulateConfig = z.looseObject({
  encoding: txEncoding.optional(),
  sigVerify: z.boolean().optional(),
  replaceRecentBlockhash: z.boolean().optional(),
  commitment: commitmentSchema.optional(),
  minContextSlot: z.number().int().nonnegative().optional(),
  innerInstructions: z.boolean().optional(),
  accounts: z.object({ addresses: z.array(address).max(100), encoding: accountConfigSchema.shape.encoding }).optional(),
});

const historyCommitment = commitmentSchema.refine((c) => c !== "processed", {
  error: "Method does not support commitment below `confirmed`",
});

function sendTransaction(chain: Chain, tx: DecodedTransaction, skipPreflight: boolean): string {
  if (chain.history.get(tx.signature)) {
    // The same bytes again: never executed twice; a preflight says so, as a validator's does.
    if (!skipPreflight) throw preflightFailure("AlreadyProcessed");
    return tx.signature;
  }
  if (!chain.clock.isBlockhashValid(tx.recentBlockhash)) {
    // A leader drops it; with skipPreflight the sender only learns by the status never appearing.
    if (!skipPreflight) throw preflightFailure("BlockhashNotFound");
    return tx.signature;
  }
  if (!skipPreflight) {
    const { outcome } = chain.simulate(tx, true);
    if (outcome.err === "SignatureFailure") {
      throw new RpcError(RPC_SIGNATURE_VERIFICATION_FAILURE, "Transaction signature verification failure");
    }
    if (outcome.err !== null) throw preflightFailure(outcome.err, outcome);
  }
  chain.execute(tx);
  return tx.signature;
}

export const transactionMethods: Record<string, Method> = {
  sendTransaction(params, { chain }) {
    const [encoded, config] = parseParams(z.tuple([z.string(), sendConfig.optional()]), params);
    if (!config?.skipPreflight) contextSlot(chain, { commitment: config?.preflightCommitment, minContextSlot: config?.minContextSlot });
    return sendTransaction(chain, decodeWire(encoded, config?.encoding), config?.skipPreflight === true);
  },

  simulateTransaction(params, { chain }) {
    const [encoded, config] = parseParams(z.tuple([z.string(), simulateConfig.optional()]), params);
    if (config?.sigVerify && config.replaceRecentBlockhash) {
      throw invalidParams("sigVerify may not be used with replaceRecentBlockhash");
    }
    const slot = contextSlot(chain, config);
    const tx = decodeWire(encoded, config?.encoding);
    const tip = chain.clock.tip;
    const replacementBlockhash = config?.replaceRecentBlockhash
      ? { blockhash: tip.blockhash, lastValidBlockHeight: tip.blockHeight + MAX_PROCESSING_AGE }
      : null;
    if (!replacementBlockhash && !chain.clock.isBlockhashValid(tx.recentBlockhash)) {
      return withContext(slot, { err: "BlockhashNotFound", logs: [], accounts: null, unitsConsumed: 0, returnData: null, innerInstructions: null, replacementBlockhash: null });
    }
    const { outcome, postAccounts } = chain.simulate(tx, config?.sigVerify === true);
    const accounts = config?.accounts
      ? config.accounts.addresses.map((key) => {
          const account = postAccounts.has(key) ? postAccounts.get(key)! : chain.account(key);
          return account && account.lamports > 0n ? encodeAccount(chain, account, { encoding: config.accounts!.encoding ?? "base64" }) : null;
        })
      : null;
    const loaded = chain.loadedAddresses(tx);
    const keys = [...tx.staticKeys, ...loaded.writable, ...loaded.readonly];
    return withContext(slot, {
      err: outcome.err,
      logs: outcome.logs,
      accounts,
      unitsConsumed: outcome.unitsConsumed,
      returnData: outcome.returnData,
      innerInstructions: config?.innerInstructions ? partiallyDecoded(keys, outcome.innerInstructions) : null,
      replacementBlockhash,
      loadedAccountsDataSize: 0,
    });
  },

  getSignatureStatuses(params, { chain }) {
    const [signatures, config] = parseParams(
      z.tuple([z.array(signature).max(256), z.looseObject({ searchTransactionHistory: z.boolean().optional() }).optional()]),
      params,
    );
    const slot = chain.clock.slot;
    return withContext(slot, signatures.map((sig) => chain.status(sig, config?.searchTransactionHistory === true)));
  },

  getTransaction(params, { chain }) {
    const [sig, config] = parseParams(
      z.tuple([
        signature,
        z
          .looseObject({
            commitment: historyCommitment.optional(),
            encoding: z.enum(["json", "jsonParsed", "base64", "base58"]).optional(),
            maxSupportedTransactionVersion: z.number().int().min(0).max(0).optional(),
          })
          .optional(),
      ]),
      params,
    );
    const tx = chain.history.get(sig);
    if (!tx || !chain.visibleAt(tx.slot, config?.commitment ?? "finalized")) return null;
    if (tx.version === 0 && config?.maxSupportedTransactionVersion === undefined) {
      throw new RpcError(
        RPC_UNSUPPORTED_TRANSACTION_VERSION,
        'Transaction version (0) is not supported by the requesting client. Please try the request again with the following configuration parameter: "maxSupportedTransactionVersion": 0',
      );
    }
    return transactionResponse(tx, config?.encoding ?? "json", config?.maxSupportedTransactionVersion !== undefined);
  },

  getSignaturesForAddress(params, { chain }) {
    const [key, config] = parseParams(
      z.tuple([
        address,
        z
          .looseObject({
            limit: z.number().int().min(1).max(1000).optional(),
            before: signature.optional(),
            until: signature.optional(),
            commitment: historyCommitment.optional(),
            minContextSlot: z.number().int().nonnegative().optional(),
          })
          .optional(),
      ]),
      params,
    );
    const maxSlot = contextSlot(chain, config);
    return chain.history
      .forAddress(key, { limit: config?.limit ?? 1000, before: config?.before, until: config?.until, maxSlot })
      .map((tx) => ({
        signature: tx.signature,
        slot: tx.slot,
        err: tx.err,
        memo: null,
        blockTime: tx.blockTime,
        confirmationStatus: chain.status(tx.signature, true)?.confirmationStatus ?? "finalized",
      }));
  },

  requestAirdrop(params, { chain }) {
    const [key, lamports] = parseParams(z.tuple([address, z.number().int().positive(), configSchema.optional()]), params);
    if (BigInt(lamports) > MAX_AIRDROP_LAMPORTS) throw invalidParams("airdrop larger than 1,000,000 SOL");
    const result = chain.airdrop(key, BigInt(lamports));
    if (!result.landed) throw new RpcError(-32603, `airdrop failed: ${transactionErrorText(result.outcome.err ?? "unknown")}`);
    return result.tx.signature;
  },
};

export function transactionResponse(tx: StoredTransaction, encoding: "json" | "jsonParsed" | "base64" | "base58", withVersion: boolean) {
  const decoded = decodeTransaction(decodeBase64(tx.raw));
  const parsed = encoding === "jsonParsed";
  let transaction: unknown;
  if (encoding === "base64") transaction = [tx.raw, "base64"];
  else if (encoding === "base58") transaction = [encodeBase58(decodeBase64(tx.raw)), "base58"];
  else {
    const staticCount = decoded.staticKeys.length;
    const loadedWritable = tx.loadedAddresses.writable.length;
    const accountKeys = parsed
      ? tx.accountKeys.map((pubkey, i) => ({
          pubkey,
          signer: i < decoded.header.numRequiredSignatures,
          writable: i < staticCount ? isStaticWritable(decoded, i) : i < staticCount + loadedWritable,
          source: i < staticCount ? "transaction" : "lookupTable",
        }))
      : decoded.staticKeys;
    const instructions = parsed
      ? decoded.instructions.map((ix) => ({
          programId: tx.accountKeys[ix.programIdIndex],
          accounts: ix.accounts.map((i) => tx.accountKeys[i]),
          data: ix.data,
          stackHeight: null,
        }))
      : decoded.instructions.map((ix) => ({ ...ix, stackHeight: null }));
    transaction = {
      signatures: decoded.signatures,
      message: {
        accountKeys,
        ...(parsed ? {} : { header: decoded.header }),
        recentBlockhash: decoded.recentBlockhash,
        instructions,
        ...(decoded.version === 0 ? { addressTableLookups: decoded.lookups } : {}),
      },
    };
  }
  const meta = {
    err: tx.err,
    status: tx.err === null ? { Ok: null } : { Err: tx.err },
    fee: Number(tx.fee),
    preBalances: tx.preBalances.map(Number),
    postBalances: tx.postBalances.map(Number),
    innerInstructions: parsed ? partiallyDecoded(tx.accountKeys, tx.innerInstructions) : tx.innerInstructions,
    logMessages: tx.logs,
    preTokenBalances: tx.preTokenBalances,
    postTokenBalances: tx.postTokenBalances,
    rewards: [],
    loadedAddresses: tx.loadedAddresses,
    computeUnitsConsumed: tx.computeUnitsConsumed,
    ...(tx.returnData ? { returnData: tx.returnData } : {}),
  };
  return {
    slot: tx.slot,
    blockTime: tx.blockTime,
    transaction,
    meta,
    ...(withVersion ? { version: tx.version } : {}),
  };
}
