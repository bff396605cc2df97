// The repo's program at start: deployed once, left alone while the .so is the same (also across a
// restart), upgraded in place when it changed, and its upgrade authority kept.
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { PublicKey } from "@solana/web3.js";
import { afterEach, describe, expect, it } from "vitest";
import { Chain } from "./chain";
import { UPGRADEABLE_LOADER } from "./codec";
import { deployProgram } from "./programs";

const PROGRAM_ID = JSON.parse(readFileSync("idl/stableflow_payouts.json", "utf8")).address as string;
const SO = readFileSync("target/deploy/stableflow_payouts.so");
const [PROGRAM_DATA] = PublicKey.findProgramAddressSync([new PublicKey(PROGRAM_ID).toBytes()], new PublicKey(UPGRADEABLE_LOADER));
const sha = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

describe("deployProgram", () => {
  const dirs: string[] = [];
  afterEach(() => dirs.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true })));
  const open = (dir: string) => new Chain({ dataDir: dir, slotMs: 1_000, snapshotEvery: 5_000 });

  it("deploys once, keeps an unchanged .so across a restart, upgrades in place a changed one", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "stableflow-programs-"));
    dirs.push(dir);
    const soPath = path.join(dir, "program.so");
    writeFileSync(soPath, SO);
    const log: string[] = [];
    const chain = open(dir);
    expect(deployProgram(chain, { programId: PROGRAM_ID, soPath }, (l) => log.push(l))).toBe("deployed");
    expect(deployProgram(chain, { programId: PROGRAM_ID, soPath }, (l) => log.push(l))).toBe("unchanged");
    // Stand in for an upgrade authority set through the loader: it must survive the next deployment.
    const data = chain.account(PROGRAM_DATA.toBase58())!;
    const authority = PublicKey.unique();
    const withAuthority = new Uint8Array(data.data);
    withAuthority[12] = 1;
    withAuthority.set(authority.toBytes(), 13);
    chain.setAccounts("test", [[PROGRAM_DATA.toBase58(), { ...data, data: withAuthority }]]);
    chain.close();

    const reopened = open(dir);
    expect(deployProgram(reopened, { programId: PROGRAM_ID, soPath }, (l) => log.push(l))).toBe("unchanged");
    // A changed build (trailing bytes after the ELF's sections still load).
    const changed = Buffer.concat([SO, Buffer.alloc(64)]);
    writeFileSync(soPath, changed);
    expect(deployProgram(reopened, { programId: PROGRAM_ID, soPath }, (l) => log.push(l))).toBe("upgraded");
    const upgraded = reopened.account(PROGRAM_DATA.toBase58())!;
    expect(sha(upgraded.data.subarray(45))).toBe(sha(changed));
    expect(new PublicKey(upgraded.data.subarray(13, 45)).equals(authority)).toBe(true);
    expect(reopened.account(PROGRAM_ID)?.executable).toBe(true);
    reopened.close();
    expect(log).toEqual([]);
  });

  it("a missing .so or one the runtime refuses is reported, not fatal", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "stableflow-programs-"));
    dirs.push(dir);
    const chain = open(dir);
    const log: string[] = [];
    expect(deployProgram(chain, { programId: PROGRAM_ID, soPath: path.join(dir, "missing.so") }, (l) => log.push(l))).toBe("missing");
    const garbage = path.join(dir, "garbage.so");
    writeFileSync(garbage, Buffer.alloc(4096, 1));
    expect(deployProgram(chain, { programId: PROGRAM_ID, soPath: garbage }, (l) => log.push(l))).toBe("refused");
    expect(log).toHaveLength(2);
    expect(chain.account(PROGRAM_ID)).toBeNull();
    chain.close();
  });
});
