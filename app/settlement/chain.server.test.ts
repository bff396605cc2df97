// The chain client's transport against a scripted fetch: HTTP failures become typed errors, what is not
// JSON-RPC is refused before web3.js reads it, and reads retry only what is transient.
import { describe, expect, it } from "vitest";
import { ChainClient, typedRpcFetch } from "./chain.server";
import { PROGRAM_ID } from "./program";
import { RpcError } from "./rpc-errors";

const URL_ = "http://127.0.0.1:1";

function scripted(responses: (() => Response | Promise<Response>)[]) {
  let i = 0;
  const calls: string[] = [];
  const fetchImpl = async (_input: string | URL, init?: RequestInit) => {
    calls.push(String(init?.body ?? ""));
    const next = responses[Math.min(i++, responses.length - 1)];
    return next();
  };
  return { fetchImpl, calls };
}

const rpcOk = (result: unknown) => () => new Response(JSON.stringify({ jsonrpc: "2.0", id: "1", result }), { status: 200 });

function client(fetchImpl: Parameters<typeof typedRpcFetch>[2]) {
  return new ChainClient(
    { mode: "rpc", rpcUrl: URL_, displayUrl: URL_, programId: PROGRAM_ID },
    { fetch: fetchImpl, retry: { attempts: 4, sleep: async () => {} } },
  );
}

describe("typedRpcFetch", () => {
  it("turns 429 with Retry-After, 503 and an unreachable node into transient typed errors", async () => {
    const limited = typedRpcFetch(URL_, 1000, async () => new Response("slow down", { status: 429, headers: { "retry-after": "2" } }));
    const error = await limited(URL_).catch((e) => e);
    expect(error).toBeInstanceOf(RpcError);
    expect(error).toMatchObject({ code: "RPC_RATE_LIMITED", details: { retryAfterMs: 2000, httpStatus: 429 } });

    const down = typedRpcFetch(URL_, 1000, async () => new Response("bad gateway", { status: 503 }));
    expect(await down(URL_).catch((e) => e)).toMatchObject({ code: "RPC_UNAVAILABLE", transient: true });

    const refused = typedRpcFetch(URL_, 1000, async () => {
      throw new TypeError("fetch failed");
    });
    expect(await refused(URL_).catch((e) => e)).toMatchObject({ code: "RPC_UNREACHABLE", transient: true });
  });

  it("refuses a body that is not JSON-RPC 2.0 before web3.js reads it", async () => {
    for (const body of ["<html>proxy error</html>", JSON.stringify({ result: 1 }), JSON.stringify({ jsonrpc: "1.0", id: 1, result: 1 })]) {
      const f = typedRpcFetch(URL_, 1000, async () => new Response(body, { status: 200 }));
      expect(await f(URL_).catch((e) => e)).toMatchObject({ code: "RPC_INVALID_RESPONSE" });
    }
  });
});

describe("ChainClient reads", () => {
  it("retries a node that is behind and then answers", async () => {
    const { fetchImpl, calls } = scripted([
      () => new Response(JSON.stringify({ jsonrpc: "2.0", id: "1", error: { code: -32005, message: "Node is behind by 9 slots" } })),
      () => new Response("", { status: 503 }),
      rpcOk(1234),
    ]);
    await expect(client(fetchImpl).read("getSlot", (c) => c.getSlot())).resolves.toBe(1234);
    expect(calls).toHaveLength(3);
  });

  it("gives a refused request its node's message and does not repeat it", async () => {
    const { fetchImpl, calls } = scripted([
      () => new Response(JSON.stringify({ jsonrpc: "2.0", id: "1", error: { code: -32602, message: "Invalid param: WrongSize" } })),
    ]);
    const error = await client(fetchImpl).read("getBalance", (c) => c.getSlot()).catch((e) => e);
    expect(error).toMatchObject({ code: "RPC_REQUEST_REFUSED" });
    expect(error.message).toContain("WrongSize");
    expect(calls).toHaveLength(1);
  });

  it("refuses a result of the wrong shape (web3.js's own schema) as an invalid response", async () => {
    const { fetchImpl } = scripted([rpcOk("not a slot")]);
    await expect(client(fetchImpl).read("getSlot", (c) => c.getSlot())).rejects.toMatchObject({ code: "RPC_INVALID_RESPONSE" });
  });
});

describe("ChainClient account reads (parsed once with the client's own schema)", () => {
  const owner = PROGRAM_ID.toBase58();
  const raw = (lamports: number, bytes: number[]) => ({ data: [Buffer.from(bytes).toString("base64"), "base64"], executable: false, lamports, owner, rentEpoch: 18446744073709551615, space: bytes.length });

  it("decodes an account, a missing one, and sends the commitment and minContextSlot asked for", async () => {
    const { fetchImpl, calls } = scripted([rpcOk({ context: { slot: 7 }, value: raw(2_039_280, [1, 2, 3]) }), rpcOk({ context: { slot: 7 }, value: null })]);
    const c = client(fetchImpl);
    const account = await c.account(PROGRAM_ID, { commitment: "finalized", minContextSlot: 5 });
    expect(account).toEqual({ owner: PROGRAM_ID, lamports: 2_039_280n, executable: false, data: Buffer.from([1, 2, 3]) });
    expect(await c.account(PROGRAM_ID)).toBeNull();
    const [first, second] = calls.map((body) => JSON.parse(body));
    expect(first).toMatchObject({ jsonrpc: "2.0", method: "getAccountInfo", params: [owner, { encoding: "base64", commitment: "finalized", minContextSlot: 5 }] });
    expect(second.params[1]).toEqual({ encoding: "base64", commitment: "confirmed" });
  });

  it("reads many addresses a hundred per request, in order, and refuses an answer with the wrong count", async () => {
    const addresses = Array.from({ length: 150 }, () => PROGRAM_ID);
    const { fetchImpl, calls } = scripted([
      rpcOk({ context: { slot: 1 }, value: Array.from({ length: 100 }, (_, i) => (i % 2 ? null : raw(i, [i]))) }),
      rpcOk({ context: { slot: 1 }, value: Array.from({ length: 50 }, (_, i) => raw(100 + i, [])) }),
    ]);
    const accounts = await client(fetchImpl).accounts(addresses);
    expect(accounts).toHaveLength(150);
    expect(accounts[0]?.lamports).toBe(0n);
    expect(accounts[1]).toBeNull();
    expect(accounts[2]?.data).toEqual(Buffer.from([2]));
    expect(accounts[149]?.lamports).toBe(149n);
    expect(calls.map((body) => JSON.parse(body).params[0].length)).toEqual([100, 50]);

    const short = scripted([rpcOk({ context: { slot: 1 }, value: [null] })]);
    await expect(client(short.fetchImpl).accounts([PROGRAM_ID, PROGRAM_ID])).rejects.toMatchObject({ code: "RPC_INVALID_RESPONSE" });
  });

  it("refuses lamports that JSON cannot carry exactly, data that is not base64, and a wrong shape; retries a node behind", async () => {
    for (const value of [raw(2 ** 53 + 2, []), { ...raw(1, []), data: ["AQ==", "jsonParsed"] }, { ...raw(1, []), owner: "0OIl" }, { lamports: 1 }]) {
      const { fetchImpl } = scripted([rpcOk({ context: { slot: 1 }, value })]);
      await expect(client(fetchImpl).account(PROGRAM_ID)).rejects.toMatchObject({ code: "RPC_INVALID_RESPONSE" });
    }
    const { fetchImpl, calls } = scripted([
      () => new Response(JSON.stringify({ jsonrpc: "2.0", id: "1", error: { code: -32016, message: "Minimum context slot has not been reached" } })),
      rpcOk({ context: { slot: 9 }, value: raw(5, [9]) }),
    ]);
    await expect(client(fetchImpl).account(PROGRAM_ID, { minContextSlot: 9 })).resolves.toMatchObject({ lamports: 5n });
    expect(calls).toHaveLength(2);
  });
});
