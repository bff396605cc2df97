import { chmod, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Keypair } from "@solana/web3.js";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { KeyFileError, loadOrCreateEmbeddedKeys, readKeypairFile } from "./keys.server";

let dataDir: string;
beforeEach(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), "sf-keys-"));
});
afterEach(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

describe("embedded chain keys", () => {
  it("are created once, private, and the same keys on every later load", async () => {
    const first = await loadOrCreateEmbeddedKeys(dataDir);
    const again = await loadOrCreateEmbeddedKeys(dataDir);
    for (const name of ["fee-payer", "treasury-authority", "mint-authority", "demo-mint"] as const) {
      expect(again[name].publicKey.toBase58()).toBe(first[name].publicKey.toBase58());
      expect((await stat(path.join(dataDir, "keys", `${name}.json`))).mode & 0o777).toBe(0o600);
    }
    expect((await stat(path.join(dataDir, "keys"))).mode & 0o777).toBe(0o700);
    // Distinct keys for distinct roles.
    expect(new Set(Object.values(first).map((k) => k.publicKey.toBase58())).size).toBe(4);
  });

  it("a data directory that does not exist yet is created private (the next start checks it)", async () => {
    const fresh = path.join(dataDir, "not-yet");
    await loadOrCreateEmbeddedKeys(fresh);
    expect((await stat(fresh)).mode & 0o777).toBe(0o700);
  });

  it("two loads at once agree on one set", async () => {
    const [a, b] = await Promise.all([loadOrCreateEmbeddedKeys(dataDir), loadOrCreateEmbeddedKeys(dataDir)]);
    expect(a["treasury-authority"].publicKey.equals(b["treasury-authority"].publicKey)).toBe(true);
  });

  it("error: a key file swapped for another valid keypair is refused, naming the file", async () => {
    await loadOrCreateEmbeddedKeys(dataDir);
    const file = path.join(dataDir, "keys", "treasury-authority.json");
    await writeFile(file, JSON.stringify(Array.from(Keypair.generate().secretKey)), { mode: 0o600 });
    const error = await loadOrCreateEmbeddedKeys(dataDir).catch((e) => e);
    expect(error).toBeInstanceOf(KeyFileError);
    expect(error.message).toContain(file);
    expect(error.message).toContain("not the treasury-authority key");
  });

  it("error: an edited key file (public half no longer matching) is refused as corrupt", async () => {
    await loadOrCreateEmbeddedKeys(dataDir);
    const file = path.join(dataDir, "keys", "fee-payer.json");
    const bytes = JSON.parse(await readFile(file, "utf8")) as number[];
    bytes[40] = (bytes[40] + 1) % 256;
    await writeFile(file, JSON.stringify(bytes), { mode: 0o600 });
    await expect(readKeypairFile(file)).rejects.toThrow(/corrupt/);
    await writeFile(file, "[1,2,3]", { mode: 0o600 });
    await expect(loadOrCreateEmbeddedKeys(dataDir)).rejects.toThrow(/not a Solana keypair/);
  });

  it("error: a key file readable by others is refused, not silently tightened", async () => {
    await loadOrCreateEmbeddedKeys(dataDir);
    const file = path.join(dataDir, "keys", "mint-authority.json");
    await chmod(file, 0o644);
    await expect(loadOrCreateEmbeddedKeys(dataDir)).rejects.toMatchObject({ code: "SECRET_FILE_EXPOSED" });
  });

  it("error: a missing manifest is refused rather than replaced by new keys", async () => {
    await loadOrCreateEmbeddedKeys(dataDir);
    await rm(path.join(dataDir, "keys", "manifest.json"));
    await expect(loadOrCreateEmbeddedKeys(dataDir)).rejects.toThrow(/no manifest\.json/);
  });
});
