// Parameter schemas shared by the RPC methods, and the helpers that read commitment, context slots and
// account encodings the way Agave's RPC does.
import { z } from "zod";
import type { AccountView } from "./accounts";
import type { Chain } from "./chain";
import type { Commitment } from "./clock";
import { encodeBase58, encodeBase64, parseAddress } from "./codec";
import { invalidParams, RpcError, RPC_MIN_CONTEXT_SLOT_NOT_REACHED } from "./errors";
import { parsedTokenData } from "./tokens";

export interface MethodContext {
  chain: Chain;
  testMode: boolean;
}

export type Method = (params: unknown, context: MethodContext) => unknown;

export const address = z.string().refine((value) => parseAddress(value) !== undefined, { error: "Invalid param: not a valid address" });
export const signature = z.string().regex(/^[1-9A-HJ-NP-Za-km-z]{64,90}$/, { error: "Invalid param: not a valid signature" });
const u64 = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

export const commitmentSchema = z
  .enum(["processed", "confirmed", "finalized", "recent", "single", "singleGossip", "root", "max"])
  .transform((value): Commitment => {
    if (value === "recent") return "processed";
    if (value === "single" || value === "singleGossip") return "confirmed";
    if (value === "root" || value === "max") return "finalized";
    return value;
  });

export const encodingSchema = z.enum(["base58", "base64", "base64+zstd", "jsonParsed", "binary"]);
export const dataSliceSchema = z.object({ offset: z.number().int().nonnegative(), length: z.number().int().nonnegative() });

export const configSchema = z.looseObject({
  commitment: commitmentSchema.optional(),
  minContextSlot: u64.optional(),
});

export const accountConfigSchema = configSchema.extend({
  encoding: encodingSchema.optional(),
  dataSlice: dataSliceSchema.optional(),
});

export type AccountConfig = z.infer<typeof accountConfigSchema>;

/** Params as a positional tuple; a missing params member is an empty list. */
export function parseParams<T extends z.ZodType>(schema: T, params: unknown): z.infer<T> {
  const result = schema.safeParse(params ?? []);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue && issue.path.length > 0 ? ` (param ${issue.path.join(".")})` : "";
    throw invalidParams(`${issue?.message ?? "invalid"}${where}`);
  }
  return result.data;
}

/** The slot a reader at this commitment is answered at; refuses a minContextSlot not reached yet. */
export function contextSlot(chain: Chain, config: { commitment?: Commitment; minContextSlot?: number } | undefined): number {
  const slot = chain.clock.blockAt(config?.commitment ?? "finalized").slot;
  if (config?.minContextSlot !== undefined && slot < config.minContextSlot) {
    throw new RpcError(RPC_MIN_CONTEXT_SLOT_NOT_REACHED, "Minimum context slot has not been reached", { contextSlot: slot });
  }
  return slot;
}

export function withContext<T>(slot: number, value: T) {
  return { context: { apiVersion: "2.3.0", slot }, value };
}

/** An account as getAccountInfo writes it, in the requested encoding. */
export function encodeAccount(chain: Chain, account: AccountView, config: AccountConfig | undefined) {
  const encoding = config?.encoding ?? "base58";
  let bytes = account.data;
  if (config?.dataSlice) bytes = bytes.subarray(config.dataSlice.offset, config.dataSlice.offset + config.dataSlice.length);
  let data: unknown;
  if (encoding === "jsonParsed") {
    data = parsedTokenData(account.owner, account.data, chain.decimalsOf) ?? [encodeBase64(bytes), "base64"];
  } else if (encoding === "base64") {
    data = [encodeBase64(bytes), "base64"];
  } else if (encoding === "base64+zstd") {
    throw invalidParams("base64+zstd encoding is not supported by this node; use base64");
  } else {
    if (bytes.length > 128) {
      throw invalidParams("Encoded binary (base 58) data should be less than 128 bytes, please use Base64 encoding.");
    }
    data = encoding === "binary" ? encodeBase58(bytes) : [encodeBase58(bytes), "base58"];
  }
  return {
    data,
    executable: account.executable,
    lamports: Number(account.lamports),
    owner: account.owner,
    rentEpoch: 0,
    space: account.data.length,
  };
}
