// How npm start runs the embedded chain (scripts/serve.mjs through superviseChainServer): a child that is
// restarted when it dies and that goes away by itself when its parent does.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { childPids } from "../setup/processes";

const ROOT = path.resolve(import.meta.dirname, "../..");

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe("the supervised chain", () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "stableflow-supervised-"));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it("is restarted after a SIGKILL and exits when its parent dies", { timeout: 240_000 }, async () => {
    const script = `const { superviseChainServer } = await import(${JSON.stringify(path.join(ROOT, "scripts/chain-server.mjs"))});
      const chain = superviseChainServer();
      const ready = await chain.ready;
      console.log("READY " + ready.url);
      setInterval(() => {}, 1_000); // a server's listening socket keeps scripts/serve.mjs alive the same way`;
    const parent = spawn(process.execPath, ["--input-type=module", "-e", script], {
      cwd: ROOT,
      env: { ...process.env, STABLEFLOW_DATA_DIR: dataDir, STABLEFLOW_CHAIN_PORT: "0", STABLEFLOW_CHAIN_SLOT_MS: "50" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    parent.stdout!.on("data", (chunk) => (output += String(chunk)));
    parent.stderr!.on("data", (chunk) => (output += String(chunk)));
    try {
      await until("the chain to be ready", () => (output.includes("READY http://") ? true : undefined));
      const first = await until("the chain process", () => childPids(parent.pid!, "chain-server.mjs")[0]);
      const url = /READY (http:\/\/\S+)/.exec(output)![1]!;
      const answer = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: '{"jsonrpc":"2.0","id":1,"method":"getHealth"}' });
      expect((await answer.json()).result).toBe("ok");

      process.kill(first, "SIGKILL");
      const second = await until("a restarted chain", () => childPids(parent.pid!, "chain-server.mjs").find((pid) => pid !== first));
      expect(output).toMatch(/the embedded chain exited \(SIGKILL\); restarting it in 1 s/);
      await until("the restarted chain to listen", () => ((output.match(/chain: listening on/g) ?? []).length >= 2 ? true : undefined));

      parent.kill("SIGKILL");
      await until("the orphaned chain to exit", () => (alive(second) ? undefined : true), 30_000);
    } finally {
      if (parent.exitCode === null && parent.signalCode === null) parent.kill("SIGKILL");
    }
  });
});
