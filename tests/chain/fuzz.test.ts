// 1,000 malformed requests (fuzzed bodies, wrong types, wrong shapes, oversize) against the chain:
// each gets a JSON-RPC error (never an internal error, never a dropped connection but for oversize),
// and the server keeps serving. Run in both modes; CHAIN_FUZZ_RUNS changes the count.
import fc from "fast-check";
import WebSocket from "ws";
import { describe, expect, it } from "vitest";
import { METHOD_NAMES } from "~/settlement/chain-server/rpc";
import { useTestChain } from "../setup/chain";

const RUNS = Number(process.env.CHAIN_FUZZ_RUNS ?? 1_000);
// The test-only methods stay out: pausing or warping the clock is what they are for.
const METHODS = METHOD_NAMES.filter((m) => !m.startsWith("stableflow_"));
const EXPECTED_CODES = new Set([-32700, -32600, -32601, -32602, -32002, -32003, -32004, -32015, -32016]);

const json = fc.jsonValue({ maxDepth: 3 });
const param = fc.oneof(
  json,
  fc.base64String({ maxLength: 200 }),
  fc.constantFrom("11111111111111111111111111111111", "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA", "", "base64", "jsonParsed"),
  fc.record({ encoding: fc.constantFrom("base58", "base64", "jsonParsed", "base64+zstd", "zip"), commitment: fc.string() }, { requiredKeys: [] }),
  fc.integer(),
  fc.double(),
);
// Bodies: not JSON at all; JSON that is not a request; envelopes with wrong types; known methods with
// wrong params; batches of those; and bodies over the limit.
const body = fc.oneof(
  { weight: 2, arbitrary: fc.string({ maxLength: 300 }).filter((s) => !isJson(s)) },
  { weight: 2, arbitrary: json.map((v) => JSON.stringify(v)) },
  {
    weight: 3,
    arbitrary: fc
      .record({ jsonrpc: fc.oneof(fc.constant("2.0"), json), id: fc.oneof(fc.integer(), fc.string(), json), method: fc.oneof(fc.constantFrom(...METHODS), fc.string(), json), params: fc.oneof(json, fc.array(param, { maxLength: 4 })) }, { requiredKeys: ["id"] })
      .map((v) => JSON.stringify(v)),
  },
  {
    weight: 6,
    arbitrary: fc.record({ method: fc.constantFrom(...METHODS), params: fc.oneof(fc.array(param, { maxLength: 4 }), json), id: fc.integer() }).map((v) => JSON.stringify({ jsonrpc: "2.0", ...v })),
  },
  { weight: 1, arbitrary: fc.array(fc.record({ jsonrpc: fc.constant("2.0"), id: fc.nat(), method: fc.constantFrom(...METHODS), params: fc.array(param, { maxLength: 3 }) }), { minLength: 1, maxLength: 5 }).map((v) => JSON.stringify(v)) },
  { weight: 1, arbitrary: fc.integer({ min: 51 * 1024, max: 300 * 1024 }).map((n) => JSON.stringify({ jsonrpc: "2.0", id: 1, method: "getSlot", params: ["x".repeat(n)] })) },
);

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

describe.each([
  { mode: "embedded", separate: false },
  { mode: "rpc", separate: true },
])("chain JSON-RPC under malformed input ($mode)", ({ separate }) => {
  const chain = useTestChain({ separate });

  it(`${RUNS} malformed requests: JSON-RPC errors only, and the server keeps serving`, { timeout: 600_000 }, async () => {
    const pid = chain.current.pid;
    let count = 0;
    await fc.assert(
      fc.asyncProperty(body, async (text) => {
        count += 1;
        const oversize = text.length > 50 * 1024;
        let response: Response;
        try {
          response = await fetch(chain.current.url, { method: "POST", headers: { "content-type": "application/json" }, body: text });
        } catch (error) {
          // An oversize upload may be cut short by the server before the client finished sending it.
          if (oversize) return;
          throw error;
        }
        const reply = await response.text();
        if (oversize) {
          expect(response.status).toBe(413);
          expect(JSON.parse(reply).error.code).toBe(-32600);
          return;
        }
        expect(response.status).toBe(200);
        if (reply === "") return; // a notification: nothing to answer
        const parsed = JSON.parse(reply);
        for (const item of Array.isArray(parsed) ? parsed : [parsed]) {
          expect(item.jsonrpc).toBe("2.0");
          expect("result" in item || "error" in item).toBe(true);
          if ("error" in item) {
            expect(EXPECTED_CODES, `${text} -> ${reply}`).toContain(item.error.code);
            expect(typeof item.error.message).toBe("string");
          }
        }
      }),
      { numRuns: RUNS },
    );
    expect(count).toBe(RUNS);
    expect(chain.current.pid).toBe(pid);
    const health = await fetch(chain.current.url, { method: "POST", headers: { "content-type": "application/json" }, body: '{"jsonrpc":"2.0","id":1,"method":"getSlot"}' });
    expect(typeof (await health.json()).result).toBe("number");
    expect(process.kill(pid, 0)).toBe(true);
  });

  it("malformed WebSocket messages get JSON-RPC errors and the subscription socket keeps working", { timeout: 120_000 }, async () => {
    const socket = new WebSocket(chain.current.wsUrl);
    await new Promise<void>((resolve, reject) => {
      socket.once("open", () => resolve());
      socket.once("error", reject);
    });
    const replies: { id?: unknown; error?: { code: number }; result?: unknown; method?: string }[] = [];
    socket.on("message", (data) => replies.push(JSON.parse(String(data))));
    const messages = fc.sample(
      fc.oneof(
        fc.string({ maxLength: 100 }),
        json.map((v) => JSON.stringify(v)),
        fc.record({ jsonrpc: fc.constant("2.0"), id: fc.nat(), method: fc.constantFrom("signatureSubscribe", "accountSubscribe", "slotUnsubscribe", "nope"), params: fc.array(param, { maxLength: 3 }) }).map((v) => JSON.stringify(v)),
      ),
      { numRuns: 200, seed: 7 },
    );
    for (const message of messages) socket.send(message);
    socket.send(JSON.stringify({ jsonrpc: "2.0", id: "slots", method: "slotSubscribe" }));
    const deadline = Date.now() + 60_000;
    while (!replies.some((r) => r.method === "slotNotification") && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(replies.some((r) => r.method === "slotNotification")).toBe(true);
    const errors = replies.filter((r) => r.error);
    expect(errors.length).toBeGreaterThan(0);
    for (const reply of errors) expect([-32700, -32600, -32601, -32602]).toContain(reply.error!.code);
    socket.close();
  });
});
