// The real `npm start` server (scripts/serve.mjs over the production build) as a child process with an
// environment of the test's choosing: for what only a fresh process shows (configuration refused at boot,
// what boot does to a database or a data directory).
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}

/** This process's environment without anything that would choose a database, plus `extra`. */
export function serveEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, STABLEFLOW_ENV: "development", LOG_LEVEL: "info" };
  delete env.DATABASE_URL;
  delete env.DATABASE_MIGRATION_URL;
  return { ...env, ...extra };
}

export interface ServeProcess {
  child: ChildProcess;
  url: string;
  output(): string;
  stop(): Promise<number | null>;
}

export async function startServeProcess(extra: Record<string, string>, options: { startTimeoutMs?: number } = {}): Promise<ServeProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, ["scripts/serve.mjs"], { env: serveEnv({ PORT: String(port), ...extra }), stdio: "pipe" });
  let output = "";
  child.stdout!.on("data", (d) => (output += d));
  child.stderr!.on("data", (d) => (output += d));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${output}`)), options.startTimeoutMs ?? 90_000);
    child.stdout!.on("data", () => {
      if (output.includes("StableFlow listening on")) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${output}`));
    });
  });
  return {
    child,
    url: `http://127.0.0.1:${port}`,
    output: () => output,
    stop() {
      if (child.exitCode !== null) return Promise.resolve(child.exitCode);
      const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
      child.kill("SIGTERM");
      return exited;
    },
  };
}

/** Runs the server with `extra` until it exits by itself (a refused start). */
export async function runServeToExit(extra: Record<string, string>, timeoutMs = 90_000): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, ["scripts/serve.mjs"], { env: serveEnv(extra), stdio: "pipe" });
  let output = "";
  child.stdout.on("data", (d) => (output += d));
  child.stderr.on("data", (d) => (output += d));
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  clearTimeout(timer);
  return { code, output };
}
