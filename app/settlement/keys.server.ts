// Keypairs the app signs with: Solana CLI keypair files (a JSON array of the 64 secret-key bytes).
// The embedded chain's keys live in the data directory, created once, with a manifest of their public
// keys: a key file that no longer matches what was created (edited, swapped, truncated) is refused with
// a sentence instead of silently becoming a new treasury. Secret bytes never leave this module but as
// a Keypair; nothing here logs.
import { existsSync } from "node:fs";
import { chmod, mkdtemp, rename, rm } from "node:fs/promises";
import path from "node:path";
import { Keypair } from "@solana/web3.js";
import { z } from "zod";
import { ensurePrivateDir, readSecretFile, writeSecretFile } from "~/utils/secret-files.server";

export class KeyFileError extends Error {
  readonly code = "KEY_FILE_INVALID";
  constructor(message: string) {
    super(message);
    this.name = "KeyFileError";
  }
}

const SecretKeyJson = z.array(z.number().int().min(0).max(255)).length(64);

/** Reads a Solana CLI keypair file; refuses a missing, malformed or inconsistent one, naming the file. */
export async function readKeypairFile(file: string): Promise<Keypair> {
  const text = await readSecretFile(file);
  if (text === undefined) throw new KeyFileError(`keypair file ${file} does not exist`);
  let bytes: number[];
  try {
    bytes = SecretKeyJson.parse(JSON.parse(text));
  } catch {
    throw new KeyFileError(`keypair file ${file} is not a Solana keypair (a JSON array of 64 bytes)`);
  }
  try {
    // Checks that the public half matches the secret half.
    return Keypair.fromSecretKey(Uint8Array.from(bytes));
  } catch {
    throw new KeyFileError(`keypair file ${file} is corrupt: its public key does not match its secret key`);
  }
}

export async function writeKeypairFile(file: string, keypair: Keypair): Promise<void> {
  await writeSecretFile(file, JSON.stringify(Array.from(keypair.secretKey)));
}

export const EMBEDDED_KEY_NAMES = ["fee-payer", "treasury-authority", "mint-authority", "demo-mint"] as const;
export type EmbeddedKeyName = (typeof EMBEDDED_KEY_NAMES)[number];
export type EmbeddedKeys = Record<EmbeddedKeyName, Keypair>;

const Manifest = z.object({
  version: z.literal(1),
  publicKeys: z.object(Object.fromEntries(EMBEDDED_KEY_NAMES.map((n) => [n, z.string()])) as Record<EmbeddedKeyName, z.ZodString>),
});

/**
 * The embedded chain's keys under `<dataDir>/keys`: created on first use, afterwards read and checked
 * against the manifest written with them.
 */
export async function loadOrCreateEmbeddedKeys(dataDir: string): Promise<EmbeddedKeys> {
  const dir = path.join(dataDir, "keys");
  const manifestFile = path.join(dir, "manifest.json");
  const fileOf = (name: EmbeddedKeyName, base = dir) => path.join(base, `${name}.json`);
  if (!existsSync(dir)) {
    // Written whole in a directory of its own and renamed into place: a crash leaves no half set, and
    // of two processes starting at once exactly one set wins (rename onto a non-empty directory fails).
    // 0700 like every secrets directory: created with the umask's 0755, the next start would refuse it.
    await ensurePrivateDir(dataDir);
    const partial = await mkdtemp(path.join(dataDir, "keys.partial-"));
    await chmod(partial, 0o700);
    const keys = Object.fromEntries(EMBEDDED_KEY_NAMES.map((name) => [name, Keypair.generate()])) as EmbeddedKeys;
    for (const name of EMBEDDED_KEY_NAMES) await writeKeypairFile(fileOf(name, partial), keys[name]);
    const manifest = { version: 1, publicKeys: Object.fromEntries(EMBEDDED_KEY_NAMES.map((n) => [n, keys[n].publicKey.toBase58()])) };
    await writeSecretFile(path.join(partial, "manifest.json"), JSON.stringify(manifest, null, 2));
    try {
      await rename(partial, dir);
      return keys;
    } catch (error) {
      await rm(partial, { recursive: true, force: true });
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== "ENOTEMPTY" && code !== "EEXIST") throw error;
      // Another process created them first: use theirs.
    }
  }
  await ensurePrivateDir(dir);
  if (!existsSync(manifestFile)) {
    throw new KeyFileError(`${dir} has no manifest.json: restore it from a backup, or remove the directory to start a new embedded chain`);
  }
  let manifest: z.infer<typeof Manifest>;
  const manifestText = (await readSecretFile(manifestFile)) ?? "";
  try {
    manifest = Manifest.parse(JSON.parse(manifestText));
  } catch {
    throw new KeyFileError(`${manifestFile} is not a StableFlow key manifest`);
  }
  const keys = {} as EmbeddedKeys;
  for (const name of EMBEDDED_KEY_NAMES) {
    const keypair = await readKeypairFile(fileOf(name));
    if (keypair.publicKey.toBase58() !== manifest.publicKeys[name]) {
      throw new KeyFileError(
        `key file ${fileOf(name)} holds ${keypair.publicKey.toBase58()}, not the ${name} key ${manifest.publicKeys[name]} created with this data directory: restore the original file`,
      );
    }
    keys[name] = keypair;
  }
  return keys;
}
