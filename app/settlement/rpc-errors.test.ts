import { describe, expect, it } from "vitest";
import { fromJsonRpcError, parseRetryAfter, rpcError, RpcError, withRpcRetry } from "./rpc-errors";

describe("RPC error classification", () => {
  it("names a node that is behind, a missing blockhash and a preflight failure with its logs", () => {
    const behind = fromJsonRpcError({ code: -32005, message: "Node is behind by 42 slots" }, "getSlot");
    expect(behind.code).toBe("RPC_NODE_BEHIND");
    expect(behind.transient).toBe(true);

    const blockhash = fromJsonRpcError({ code: -32002, message: "Transaction simulation failed: Blockhash not found" }, "sendTransaction");
    expect(blockhash.code).toBe("RPC_BLOCKHASH_NOT_FOUND");
    expect(blockhash.transient).toBe(false);

    const failed = fromJsonRpcError(
      { code: -32002, message: "Transaction simulation failed", data: { err: { InstructionError: [0, { Custom: 6020 }] }, logs: ["Program log: x", 7] } },
      "sendTransaction",
    );
    expect(failed.code).toBe("RPC_TRANSACTION_FAILED");
    expect(failed.details.logs).toEqual(["Program log: x"]);
    expect(failed.details.transactionError).toEqual({ InstructionError: [0, { Custom: 6020 }] });
  });

  it("reads Retry-After as seconds or as an HTTP date", () => {
    expect(parseRetryAfter("3")).toBe(3000);
    expect(parseRetryAfter("0.5")).toBe(500);
    const now = Date.parse("2026-01-01T00:00:00Z");
    expect(parseRetryAfter("Thu, 01 Jan 2026 00:00:02 GMT", now)).toBe(2000);
    expect(parseRetryAfter("soon")).toBeUndefined();
    expect(parseRetryAfter(null)).toBeUndefined();
  });
});

describe("withRpcRetry", () => {
  it("repeats a transient failure with growing, jittered delays, never shorter than Retry-After", async () => {
    const delays: number[] = [];
    let calls = 0;
    const result = await withRpcRetry(
      async () => {
        calls++;
        if (calls === 1) throw rpcError("RPC_UNAVAILABLE", "503");
        if (calls === 2) throw rpcError("RPC_RATE_LIMITED", "429", { retryAfterMs: 1500 });
        return "ok";
      },
      { baseDelayMs: 100, sleep: async (ms) => void delays.push(ms), random: () => 0.5 },
    );
    expect(result).toBe("ok");
    expect(calls).toBe(3);
    expect(delays).toEqual([50, 1500]);
  });

  it("gives up after its attempts and throws the last error", async () => {
    let calls = 0;
    await expect(
      withRpcRetry(async () => {
        calls++;
        throw rpcError("RPC_UNREACHABLE", `down ${calls}`);
      }, { attempts: 3, sleep: async () => {} }),
    ).rejects.toThrow("down 3");
    expect(calls).toBe(3);
  });

  it("never repeats what is not transient (a failed transaction, a refused request)", async () => {
    let calls = 0;
    const error = await withRpcRetry(async () => {
      calls++;
      throw rpcError("RPC_TRANSACTION_FAILED", "custom program error");
    }, { sleep: async () => {} }).catch((e) => e);
    expect(error).toBeInstanceOf(RpcError);
    expect(calls).toBe(1);
    const plain = await withRpcRetry(async () => {
      calls++;
      throw new Error("not an RPC error");
    }, { sleep: async () => {} }).catch((e) => e);
    expect(plain.message).toBe("not an RPC error");
    expect(calls).toBe(2);
  });
});
