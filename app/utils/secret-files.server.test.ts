// Secrets at rest in the data directory: written 0600 in a 0700 directory, and refused, naming the path,
// when the file or its directory can be read by anyone but the owner.
import { chmod, mkdir, mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SecretFileError, ensurePrivateDir, readSecretFile, writeSecretFile } from "./secret-files.server";

let root: string;
beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "sf-secrets-"));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function mode(p: string): Promise<number> {
  return (await stat(p)).mode & 0o777;
}

function refusal(promise: Promise<unknown>): Promise<SecretFileError> {
  return promise.then(
    () => {
      throw new Error("expected a SecretFileError");
    },
    (error: unknown) => {
      if (error instanceof SecretFileError) return error;
      throw error;
    },
  );
}

describe("secret files", () => {
  it("writes the file 0600 inside a directory it creates 0700, and reads it back", async () => {
    const file = path.join(root, "data", "nested", "key");
    await expect(writeSecretFile(file, "s3cret-value")).resolves.toBe(true);
    expect(await mode(file)).toBe(0o600);
    expect(await mode(path.dirname(file))).toBe(0o700);
    expect(await mode(path.join(root, "data"))).toBe(0o700);
    expect(await readSecretFile(file)).toBe("s3cret-value");
  });

  it("a missing file reads as undefined", async () => {
    expect(await readSecretFile(path.join(root, "absent"))).toBeUndefined();
  });

  it("exclusive: a second writer keeps the first one's secret and learns it lost", async () => {
    const file = path.join(root, "key");
    const results = await Promise.all([writeSecretFile(file, "first", { exclusive: true }), writeSecretFile(file, "second", { exclusive: true })]);
    expect(results.filter(Boolean)).toHaveLength(1);
    const kept = await readSecretFile(file);
    expect(kept).toBe(results[0] ? "first" : "second");
  });

  it("without exclusive, a rewrite replaces the secret and keeps the mode (no temporary file left)", async () => {
    const file = path.join(root, "key");
    await writeSecretFile(file, "one");
    await writeSecretFile(file, "two");
    expect(await readSecretFile(file)).toBe("two");
    expect(await mode(file)).toBe(0o600);
    expect(await readdir(root)).toEqual(["key"]);
  });

  it("error: a secret file readable by the group or others is refused, naming the path and the fix", async () => {
    const file = path.join(root, "key");
    await writeSecretFile(file, "s3cret-value");
    for (const loose of [0o640, 0o604, 0o644]) {
      await chmod(file, loose);
      const error = await refusal(readSecretFile(file));
      expect(error.code).toBe("SECRET_FILE_EXPOSED");
      expect(error.path).toBe(file);
      expect(error.message).toContain(file);
      expect(error.message).toContain("chmod 600");
      expect(error.message).not.toContain("s3cret-value");
    }
  });

  it("error: a directory others can list is refused for reading and for writing", async () => {
    const dir = path.join(root, "data");
    await mkdir(dir, { mode: 0o755 });
    await chmod(dir, 0o755);
    await writeFile(path.join(dir, "key"), "x", { mode: 0o600 });
    const onRead = await refusal(readSecretFile(path.join(dir, "key")));
    expect(onRead.code).toBe("SECRET_DIR_EXPOSED");
    expect(onRead.message).toContain(dir);
    expect(onRead.message).toContain("chmod 700");
    const onWrite = await refusal(writeSecretFile(path.join(dir, "other"), "y"));
    expect(onWrite.code).toBe("SECRET_DIR_EXPOSED");
    await expect(stat(path.join(dir, "other"))).rejects.toMatchObject({ code: "ENOENT" });
    await expect(refusal(ensurePrivateDir(dir))).resolves.toMatchObject({ code: "SECRET_DIR_EXPOSED", path: dir });
  });

  it("error: a symbolic link in place of the secret is refused", async () => {
    const { symlink } = await import("node:fs/promises");
    const target = path.join(root, "elsewhere");
    await writeFile(target, "x", { mode: 0o600 });
    const link = path.join(root, "key");
    await symlink(target, link);
    await expect(refusal(readSecretFile(link))).resolves.toMatchObject({ code: "SECRET_FILE_NOT_REGULAR", path: link });
  });
});
