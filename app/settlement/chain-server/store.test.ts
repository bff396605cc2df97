// The chain journal on disk: a torn last line (a crash mid-write, never answered) is cut off and the
// journal goes on after it; damage anywhere else refuses to start, naming the file.
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ChainStore, ChainStoreError, type Genesis } from "./store";

const genesis = (): Genesis => ({ genesisHash: "G".repeat(44), createdAt: 1, faucetSecretKey: Array.from({ length: 64 }, (_, i) => i) });
const account = (address: string, lamports: string) => [address, lamports, "11111111111111111111111111111111", false, ""] as [string, string, string, boolean, string];

describe("ChainStore", () => {
  const dirs: string[] = [];
  afterEach(() => dirs.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true })));
  const fresh = () => {
    const dir = path.join(mkdtempSync(path.join(os.tmpdir(), "stableflow-store-")), "chain");
    dirs.push(path.dirname(dir));
    return dir;
  };
  const segment = (dir: string) => path.join(dir, "journal", readdirSync(path.join(dir, "journal")).sort().at(-1)!);

  it("a torn last line is cut off; earlier records and later appends are kept", () => {
    const dir = fresh();
    const first = ChainStore.open(dir, genesis);
    first.store.append({ t: "set", reason: "test", w: [account("A", "5")] });
    first.store.append({ t: "clock", slot: 40, blockHeight: 40 });
    first.store.close();
    appendFileSync(segment(dir), '1234abcd {"t":"set","reason":"te'); // the crash hit mid-write

    const second = ChainStore.open(dir, genesis);
    expect(second.state.accounts.get("A")?.[1]).toBe("5");
    expect(second.state.clock).toEqual([{ slot: 40, blockHeight: 40 }]);
    expect(readFileSync(segment(dir), "utf8").endsWith("}\n")).toBe(true);
    second.store.append({ t: "set", reason: "test", w: [account("A", "7")] });
    second.store.close();
    expect(ChainStore.open(dir, genesis).state.accounts.get("A")?.[1]).toBe("7");
  });

  it("error: a damaged line before the end refuses to start", () => {
    const dir = fresh();
    const { store } = ChainStore.open(dir, genesis);
    store.append({ t: "set", reason: "test", w: [account("A", "5")] });
    store.append({ t: "set", reason: "test", w: [account("B", "6")] });
    store.close();
    const file = segment(dir);
    writeFileSync(file, readFileSync(file, "utf8").replace('"5"', '"9"'));
    expect(() => ChainStore.open(dir, genesis)).toThrow(ChainStoreError);
    expect(() => ChainStore.open(dir, genesis)).toThrow(/damaged at byte 0/);
  });

  it("a snapshot replaces the replay of older segments but keeps their transactions", () => {
    const dir = fresh();
    const { store } = ChainStore.open(dir, genesis);
    store.append({ t: "set", reason: "test", w: [account("A", "5")] });
    store.snapshot([account("A", "5")], [{ slot: 16, blockHeight: 16 }], new Map([["P", "abc"]]));
    store.append({ t: "set", reason: "test", w: [account("B", "6")] });
    store.close();
    const { state } = ChainStore.open(dir, genesis);
    expect([...state.accounts.keys()]).toEqual(["A", "B"]);
    expect(state.recordsSinceSnapshot).toBe(1);
    expect(state.programs.get("P")).toBe("abc");
  });
});
