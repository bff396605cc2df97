// The one way the app talks to Solana: a web3.js 1.x `Connection` whose HTTP goes through a fetch that
// turns transport failures into typed RpcErrors and refuses responses that are not JSON-RPC, wrapped in
// calls that map the node's errors, retry what is safe to repeat, and parse what they return with a
// schema. The embedded chain and devnet go through exactly this code; only the URL differs.
import {
  Connection,
  PublicKey,
  SendTransactionError,
  SolanaJSONRPCError,
  Transaction,
  type Commitment,
  type Keypair,
  type Signer,
  type TransactionInstruction,
} from "@solana/web3.js";
import bs58 from "bs58";
import { z } from "zod";
import { clusterOf, type ChainConfig, type ClusterName } from "./chain-config.server";
import { keepAliveFetch, TextResponse, type FetchLike } from "./http-fetch.server";
import { fromJsonRpcError, parseRetryAfter, rpcError, RpcError, withRpcRetry, type RetryOptions } from "./rpc-errors";

const DEFAULT_TIMEOUT_MS = 15_000;

const JsonRpcError = z.object({ code: z.number(), message: z.string(), data: z.unknown().optional() });
const JsonRpcResponse = z.union([
  z.object({ jsonrpc: z.literal("2.0"), id: z.unknown(), result: z.unknown() }),
  z.object({ jsonrpc: z.literal("2.0"), id: z.unknown(), error: JsonRpcError }),
]);
const JsonRpcBody = z.union([JsonRpcResponse, z.array(JsonRpcResponse)]);

/** One keep-alive socket pool for every client in the process (created on first use). */
let sharedFetch: FetchLike | undefined;
function defaultFetch(): FetchLike {
  sharedFetch ??= keepAliveFetch();
  return sharedFetch;
}

/**
 * The fetch given to `Connection`: a timeout per request, HTTP 429/5xx and connection failures as
 * transient RpcErrors (with Retry-After), and any 2xx body that is not a JSON-RPC 2.0 response refused
 * as RPC_INVALID_RESPONSE before web3.js reads it.
 */
export function typedRpcFetch(displayUrl: string, timeoutMs = DEFAULT_TIMEOUT_MS, baseFetch: FetchLike = defaultFetch()): FetchLike {
  return async (input, init) => {
    let response: Response;
    // One timer per request (AbortSignal.timeout costs ~7 µs more per call, on every read).
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new DOMException(`timed out after ${timeoutMs} ms`, "TimeoutError")), timeoutMs);
    let text: string;
    try {
      try {
        response = await baseFetch(input, { ...init, signal: controller.signal });
      } catch (error) {
        const name = (error as { name?: string })?.name;
        if (name === "TimeoutError" || name === "AbortError") {
          throw rpcError("RPC_TIMEOUT", `${displayUrl} did not answer within ${timeoutMs} ms`);
        }
        throw rpcError("RPC_UNREACHABLE", `cannot reach ${displayUrl} (${(error as Error)?.message ?? error})`);
      }
      const retryAfterMs = parseRetryAfter(response.headers.get("retry-after"));
      if (response.status === 429) {
        throw rpcError("RPC_RATE_LIMITED", `${displayUrl} is rate limiting (HTTP 429)`, { retryAfterMs, httpStatus: 429 });
      }
      if (response.status >= 500) {
        throw rpcError("RPC_UNAVAILABLE", `${displayUrl} answered HTTP ${response.status}`, {
          retryAfterMs,
          httpStatus: response.status,
          transient: true,
        });
      }
      try {
        text = await response.text();
      } catch (error) {
        const name = (error as { name?: string })?.name;
        if (name === "TimeoutError" || name === "AbortError") {
          throw rpcError("RPC_TIMEOUT", `${displayUrl} did not finish its answer within ${timeoutMs} ms`);
        }
        throw rpcError("RPC_UNREACHABLE", `${displayUrl} broke off its answer (${(error as Error)?.message ?? error})`);
      }
    } finally {
      clearTimeout(timer);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw rpcError("RPC_INVALID_RESPONSE", `${displayUrl} answered HTTP ${response.status} with a body that is not JSON`, {
        httpStatus: response.status,
      });
    }
    if (!JsonRpcBody.safeParse(parsed).success) {
      throw rpcError("RPC_INVALID_RESPONSE", `${displayUrl} answered HTTP ${response.status} with something that is not a JSON-RPC 2.0 response`, {
        httpStatus: response.status,
      });
    }
    // web3.js reads the text itself; a 4xx with a JSON-RPC error body is still the node's answer.
    return new TextResponse(response.ok ? response.status : 200, response.statusText, text, response.headers, parsed).asResponse();
  };
}

/** Maps whatever a web3.js call threw to an RpcError (already-typed errors pass through). */
export function toRpcError(error: unknown, method: string): RpcError {
  if (error instanceof RpcError) return error;
  if (error instanceof SolanaJSONRPCError) return fromJsonRpcError({ code: error.code, message: error.message, data: error.data }, method);
  if (error instanceof SendTransactionError) {
    const failed = rpcError("RPC_TRANSACTION_FAILED", `${method}: ${error.transactionError.message}`, { logs: error.transactionError.logs });
    return /blockhash not found/i.test(error.message) ? rpcError("RPC_BLOCKHASH_NOT_FOUND", failed.message) : failed;
  }
  const message = error instanceof Error ? error.message : String(error);
  // web3.js validates every result with superstruct and throws a plain Error when it does not match.
  if (/StructError|Expected|invalid/i.test(message)) return rpcError("RPC_INVALID_RESPONSE", `${method}: ${message}`);
  return rpcError("RPC_REQUEST_REFUSED", `${method}: ${message}`);
}

export interface ChainClientOptions {
  commitment?: Commitment;
  timeoutMs?: number;
  retry?: RetryOptions;
  fetch?: FetchLike;
}

export interface ChainIdentity {
  genesisHash: string;
  cluster: ClusterName;
  slot: number;
  blockHeight: number;
}

const Base58 = z.string().regex(/^[1-9A-HJ-NP-Za-km-z]{32,88}$/);

/** An account as the app reads it: lamports and data exactly as the node sent them. */
export interface ChainAccountInfo {
  owner: PublicKey;
  lamports: bigint;
  executable: boolean;
  data: Buffer;
}

export interface AccountReadOptions {
  commitment?: Commitment;
  /** Refuse (RPC_NODE_BEHIND, retried) an answer from a node that has not reached this slot. */
  minContextSlot?: number;
  retry?: RetryOptions;
}

// getAccountInfo / getMultipleAccounts with base64 data, as the JSON-RPC documents them. Lamports must be
// a safe integer: a larger JSON number has already lost units in JSON.parse, so it is refused, not rounded.
const RpcAccount = z.object({
  data: z.tuple([z.string(), z.literal("base64")]),
  executable: z.boolean(),
  lamports: z.number().int().nonnegative(),
  owner: Base58,
});
const RpcContext = z.object({ slot: z.number().int().nonnegative() });
const AccountResult = z.object({ context: RpcContext, value: RpcAccount.nullable() });
const MultipleAccountsResult = z.object({ context: RpcContext, value: z.array(RpcAccount.nullable()) });
const RpcEnvelope = z.union([z.object({ result: z.unknown() }), z.object({ error: JsonRpcError })]);

function accountFromRpc(value: z.infer<typeof RpcAccount> | null): ChainAccountInfo | null {
  if (!value) return null;
  return { owner: new PublicKey(value.owner), lamports: BigInt(value.lamports), executable: value.executable, data: Buffer.from(value.data[0], "base64") };
}

/** getMultipleAccounts takes at most 100 addresses per request. */
const ACCOUNTS_PER_REQUEST = 100;

export class ChainClient {
  readonly connection: Connection;
  private genesisHash?: string;
  private readonly rpcFetch: FetchLike;
  private requestId = 0;

  constructor(
    readonly config: ChainConfig,
    private readonly options: ChainClientOptions = {},
  ) {
    this.rpcFetch = typedRpcFetch(config.displayUrl, options.timeoutMs, options.fetch);
    this.connection = new Connection(config.rpcUrl, {
      commitment: options.commitment ?? "confirmed",
      fetch: this.rpcFetch as never,
      // Our own retry honours Retry-After and the attempt budget; web3.js's would hide the 429.
      disableRetryOnRateLimit: true,
    });
  }

  /**
   * A read (or any call safe to repeat): node errors typed, transient ones retried with backoff.
   * `method` names the call in errors.
   */
  read<T>(method: string, call: (connection: Connection) => Promise<T>, retry?: RetryOptions): Promise<T> {
    return withRpcRetry(async () => {
      try {
        return await call(this.connection);
      } catch (error) {
        throw toRpcError(error, method);
      }
    }, { ...this.options.retry, ...retry });
  }

  /** The cluster this endpoint serves: one round trip the first time, none after (a genesis hash never changes). */
  async cluster(retry?: RetryOptions): Promise<{ genesisHash: string; cluster: ClusterName }> {
    this.genesisHash ??= Base58.parse(await this.read("getGenesisHash", (c) => c.getGenesisHash(), retry));
    return { genesisHash: this.genesisHash, cluster: clusterOf(this.config, this.genesisHash) };
  }

  /** The cluster this endpoint serves, its genesis hash and where it is now. */
  async identity(retry?: RetryOptions): Promise<ChainIdentity> {
    const { genesisHash, cluster } = await this.cluster(retry);
    const [slot, blockHeight] = await Promise.all([
      this.read("getSlot", (c) => c.getSlot(), retry),
      this.read("getBlockHeight", (c) => c.getBlockHeight(), retry),
    ]);
    return {
      genesisHash,
      cluster,
      slot: z.number().int().nonnegative().parse(slot),
      blockHeight: z.number().int().nonnegative().parse(blockHeight),
    };
  }

  async lamports(address: PublicKey): Promise<bigint> {
    const balance = await this.read("getBalance", (c) => c.getBalance(address));
    return BigInt(z.number().int().nonnegative().parse(balance));
  }

  /**
   * One JSON-RPC call over the Connection's own fetch (same timeout, transport errors, envelope check),
   * its result parsed once with `schema`. For the hot reads: web3.js 1.x validates a getAccountInfo
   * result twice with superstruct (the coerced result again inside the union, building a StructError
   * each time), a fifth of a read's client CPU (decision 019).
   */
  private async call<T>(method: string, params: unknown[], schema: z.ZodType<T>, retry?: RetryOptions): Promise<T> {
    return withRpcRetry(async () => {
      const response = await this.rpcFetch(this.config.rpcUrl, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: (this.requestId = (this.requestId + 1) % 1_000_000_000), method, params }),
      });
      const envelope = RpcEnvelope.safeParse(await response.json());
      if (!envelope.success) throw rpcError("RPC_INVALID_RESPONSE", `${method}: ${this.config.displayUrl} answered a batch or no result`);
      if ("error" in envelope.data) throw fromJsonRpcError(envelope.data.error, method);
      const result = schema.safeParse(envelope.data.result);
      if (!result.success) {
        throw rpcError("RPC_INVALID_RESPONSE", `${method}: unexpected result (${result.error.issues[0]?.path.join(".") || "result"}: ${result.error.issues[0]?.message})`);
      }
      return result.data;
    }, { ...this.options.retry, ...retry });
  }

  private accountConfig(options: AccountReadOptions) {
    return {
      encoding: "base64",
      commitment: options.commitment ?? this.connection.commitment,
      ...(options.minContextSlot === undefined ? {} : { minContextSlot: options.minContextSlot }),
    };
  }

  /** An account's raw state, or null when it does not exist. */
  async account(address: PublicKey, options: AccountReadOptions = {}): Promise<ChainAccountInfo | null> {
    const { value } = await this.call("getAccountInfo", [address.toBase58(), this.accountConfig(options)], AccountResult, options.retry);
    return accountFromRpc(value);
  }

  /** The accounts at `addresses`, in order (null: none there), a hundred per request. */
  async accounts(addresses: readonly PublicKey[], options: AccountReadOptions = {}): Promise<(ChainAccountInfo | null)[]> {
    const out: (ChainAccountInfo | null)[] = [];
    for (let i = 0; i < addresses.length; i += ACCOUNTS_PER_REQUEST) {
      const chunk = addresses.slice(i, i + ACCOUNTS_PER_REQUEST);
      const { value } = await this.call("getMultipleAccounts", [chunk.map((a) => a.toBase58()), this.accountConfig(options)], MultipleAccountsResult, options.retry);
      if (value.length !== chunk.length) {
        throw rpcError("RPC_INVALID_RESPONSE", `getMultipleAccounts: ${value.length} accounts for ${chunk.length} addresses`);
      }
      out.push(...value.map(accountFromRpc));
    }
    return out;
  }

  /**
   * Sends bytes already signed and waits for `commitment` with its own loop over getSignatureStatuses
   * (web3.js 1.x confirmTransaction can report "block height exceeded" for a transaction that landed).
   * Resends the same bytes every `resendMs` until confirmed, failed on chain, or definitively expired:
   * past `lastValidBlockHeight` and unknown to the node's history.
   */
  async sendAndConfirm(
    signed: Uint8Array,
    signature: string,
    lastValidBlockHeight: number,
    options: { commitment?: "confirmed" | "finalized"; resendMs?: number; pollMs?: number; skipPreflight?: boolean } = {},
  ): Promise<{ slot: number }> {
    const commitment = options.commitment ?? "confirmed";
    const resendMs = options.resendMs ?? 2_000;
    const pollMs = options.pollMs ?? 250;
    const send = () =>
      this.read("sendTransaction", (c) => c.sendRawTransaction(signed, { skipPreflight: options.skipPreflight ?? false, maxRetries: 0 }));
    await send();
    let lastSend = Date.now();
    // Once the blockhash is past its last valid height only the node's whole history can still know it.
    let pastValidity = false;
    for (;;) {
      const status = await this.signatureStatus(signature, pastValidity);
      if (status?.err) {
        throw rpcError("RPC_TRANSACTION_FAILED", `transaction ${signature} failed on chain`, { transactionError: status.err });
      }
      if (status && (status.confirmationStatus === commitment || status.confirmationStatus === "finalized")) return { slot: status.slot };
      if (!status) {
        const height = await this.read("getBlockHeight", (c) => c.getBlockHeight());
        if (height > lastValidBlockHeight) {
          if (pastValidity) {
            throw rpcError("RPC_BLOCKHASH_NOT_FOUND", `transaction ${signature} expired unconfirmed (block height ${height} > ${lastValidBlockHeight})`);
          }
          pastValidity = true;
          continue;
        }
        if (Date.now() - lastSend >= resendMs) {
          await send().catch((error: unknown) => {
            // A resend refused because the first copy already landed or expired is settled by the status loop.
            if (!(error instanceof RpcError) || error.transient) throw error;
          });
          lastSend = Date.now();
        }
      }
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
  }

  /**
   * Signs `instructions` as one legacy transaction paid by `payer` on a fresh blockhash and sends it
   * until confirmed (for administrative transactions: treasury set-up, deploys; the settlement executor
   * persists its bytes before sending instead).
   */
  async sendInstructions(instructions: TransactionInstruction[], payer: Keypair, signers: Signer[] = []): Promise<{ signature: string; slot: number }> {
    const { blockhash, lastValidBlockHeight } = await this.read("getLatestBlockhash", (c) => c.getLatestBlockhash("confirmed"));
    const tx = new Transaction({ feePayer: payer.publicKey, blockhash, lastValidBlockHeight }).add(...instructions);
    tx.sign(payer, ...signers);
    const signature = bs58.encode(tx.signature!);
    const { slot } = await this.sendAndConfirm(tx.serialize(), signature, lastValidBlockHeight);
    return { signature, slot };
  }

  /** Waits for a transaction someone else sent (an airdrop) to be confirmed; fails on chain errors and after `timeoutMs`. */
  async confirmSignature(signature: string, timeoutMs = 30_000, pollMs = 200): Promise<{ slot: number }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const status = await this.signatureStatus(signature, true);
      if (status?.err) throw rpcError("RPC_TRANSACTION_FAILED", `transaction ${signature} failed on chain`, { transactionError: status.err });
      if (status && (status.confirmationStatus === "confirmed" || status.confirmationStatus === "finalized")) return { slot: status.slot };
      if (Date.now() > deadline) throw rpcError("RPC_TIMEOUT", `transaction ${signature} was not confirmed within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
  }

  async signatureStatus(signature: string, searchTransactionHistory = false) {
    const result = await this.read("getSignatureStatuses", (c) => c.getSignatureStatuses([signature], { searchTransactionHistory }));
    return result.value[0] ?? null;
  }
}

let shared: ChainClient | undefined;

/** The process's client for the configured chain. */
export function getChainClient(config: ChainConfig): ChainClient {
  if (!shared || shared.config.rpcUrl !== config.rpcUrl) shared = new ChainClient(config);
  return shared;
}
