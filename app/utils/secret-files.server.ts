// Secrets kept at rest in the data directory (the simulator's webhook key, chain keypairs): files 0600 in a
// directory 0700, written atomically, and refused with a sentence naming the path when anyone but the owner
// could read them. Refusing beats quietly tightening: a loose mode means someone else may already have a copy.
import { randomBytes } from "node:crypto";
import { link, lstat, mkdir, readFile, rename, stat, unlink, writeFile } from "node:fs/promises";
import path from "node:path";

export type SecretFileErrorCode = "SECRET_FILE_EXPOSED" | "SECRET_DIR_EXPOSED" | "SECRET_FILE_NOT_REGULAR" | "SECRET_DIR_NOT_DIRECTORY";

export class SecretFileError extends Error {
  constructor(
    readonly code: SecretFileErrorCode,
    /** The offending file or directory (never its contents). */
    readonly path: string,
    message: string,
  ) {
    super(message);
    this.name = "SecretFileError";
  }
}

/** Group and other permission bits: none may be set on a secret or its directory. */
const GROUP_OR_OTHER = 0o077;

function octal(mode: number): string {
  return (mode & 0o777).toString(8).padStart(3, "0");
}

/**
 * Creates `dir` (and missing parents) mode 0700, or checks that an existing one is a directory nobody but its
 * owner can enter or list. Throws SecretFileError otherwise.
 */
export async function ensurePrivateDir(dir: string): Promise<void> {
  const resolved = path.resolve(dir);
  await mkdir(resolved, { recursive: true, mode: 0o700 });
  // stat, not lstat: a data directory may be a symbolic link to a volume; what counts is where it leads.
  const info = await stat(resolved);
  if (!info.isDirectory()) {
    throw new SecretFileError("SECRET_DIR_NOT_DIRECTORY", resolved, `${resolved} should be a directory for secrets but is not one`);
  }
  if (info.mode & GROUP_OR_OTHER) {
    throw new SecretFileError(
      "SECRET_DIR_EXPOSED",
      resolved,
      `the secrets directory ${resolved} is open to other users (mode ${octal(info.mode)}); ` +
        `run \`chmod 700 ${resolved}\` (and replace any secret in it that someone else may have read)`,
    );
  }
}

async function checkSecretFile(file: string): Promise<void> {
  // lstat: a link in place of a secret could point anywhere; only a regular file is a secret file.
  const info = await lstat(file);
  if (!info.isFile()) {
    throw new SecretFileError("SECRET_FILE_NOT_REGULAR", file, `${file} should be a regular file holding a secret but is not one`);
  }
  if (info.mode & GROUP_OR_OTHER) {
    throw new SecretFileError(
      "SECRET_FILE_EXPOSED",
      file,
      `the secret file ${file} is readable by other users (mode ${octal(info.mode)}); ` +
        `run \`chmod 600 ${file}\`, or better replace the secret, since someone else may have read it`,
    );
  }
}

/**
 * The secret in `file` (trimmed), or undefined when there is no such file. Throws SecretFileError when the
 * file or its directory can be read by others.
 */
export async function readSecretFile(file: string): Promise<string | undefined> {
  const resolved = path.resolve(file);
  try {
    await checkSecretFile(resolved);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  await ensurePrivateDir(path.dirname(resolved));
  return (await readFile(resolved, "utf8")).trim();
}

export interface WriteSecretFileOptions {
  /** Keep an existing file (another process got there first): resolves false instead of replacing it. */
  exclusive?: boolean;
}

/**
 * Writes `secret` to `file` mode 0600 in a private directory (created 0700). The file appears whole or not
 * at all (written beside it, then linked or renamed into place), so a reader never sees half a secret.
 * Resolves true when this call's secret is the one in the file.
 */
export async function writeSecretFile(file: string, secret: string, options: WriteSecretFileOptions = {}): Promise<boolean> {
  const resolved = path.resolve(file);
  await ensurePrivateDir(path.dirname(resolved));
  const temporary = `${resolved}.${randomBytes(6).toString("hex")}.tmp`;
  await writeFile(temporary, secret.endsWith("\n") ? secret : `${secret}\n`, { mode: 0o600, flag: "wx" });
  try {
    if (options.exclusive) {
      try {
        // link() fails if the name exists: of two processes creating the same secret, exactly one wins.
        await link(temporary, resolved);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
        throw error;
      }
      return true;
    }
    await rename(temporary, resolved);
    return true;
  } finally {
    await unlink(temporary).catch(() => undefined);
  }
}
