// Structured one-line logs. Every line passes through `redact`, which blanks the values of the
// secret environment variables wherever they appear, so a secret cannot reach the log by accident.
import { SECRET_ENV_NAMES } from "./env.server";

type Level = "debug" | "info" | "warn" | "error";
const ORDER: Record<Level | "silent", number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 99 };

function secretValues(): string[] {
  const values: string[] = [];
  for (const name of SECRET_ENV_NAMES) {
    const value = process.env[name];
    if (value && value.length >= 6) values.push(value);
    // Several webhook secrets during a rotation: any one of them may appear on its own.
    if (name === "DODO_PAYMENTS_WEBHOOK_KEY" && value) {
      for (const part of value.split(/[\s,]+/)) if (part.length >= 6) values.push(part);
    }
    if ((name === "DATABASE_URL" || name === "DATABASE_MIGRATION_URL") && value) {
      try {
        const password = decodeURIComponent(new URL(value).password);
        if (password.length >= 4) values.push(password);
      } catch {
        // not a URL: the whole value is already covered
      }
    }
  }
  return values;
}

export function redact(text: string): string {
  let out = text;
  for (const secret of secretValues()) out = out.split(secret).join("[redacted]");
  return out;
}

function threshold(): number {
  const level = (process.env.LOG_LEVEL ?? (process.env.STABLEFLOW_ENV === "test" ? "silent" : "info")) as Level | "silent";
  return ORDER[level] ?? ORDER.info;
}

/**
 * What failed, as one line of text, whatever was thrown: an Error's name and message (and its cause's), a
 * thrown or route-error Response's status and text, a string as is, any other value as JSON. Never
 * "[object Object]".
 */
export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const head = error.name && error.name !== "Error" ? `${error.name}: ${error.message}` : error.message;
    const cause = (error as { cause?: unknown }).cause;
    return cause === undefined || cause === error ? head : `${head} (cause: ${describeError(cause)})`;
  }
  if (typeof error === "string") return error;
  if (error instanceof Response) return `HTTP ${error.status}${error.statusText ? ` ${error.statusText}` : ""}`;
  if (error && typeof error === "object" && typeof (error as { status?: unknown }).status === "number") {
    // Remix's ErrorResponse (a thrown Response, or "no route matches"): status, status text and its text data.
    const { status, statusText, data } = error as { status: number; statusText?: string; data?: unknown };
    const text = typeof data === "string" ? data : data === undefined ? "" : JSON.stringify(data);
    return `HTTP ${status}${statusText ? ` ${statusText}` : ""}${text ? `: ${text.slice(0, 300)}` : ""}`;
  }
  try {
    return JSON.stringify(error, (_key, value) => (typeof value === "bigint" ? value.toString() : value)) ?? String(error);
  } catch {
    // Not serialisable (a cycle): its kind and keys still say more than "[object Object]".
    const kind = (error as object).constructor?.name ?? "object";
    return `${kind} with keys ${Object.keys(error as object).slice(0, 10).join(", ") || "(none)"}`;
  }
}

function write(level: Level, message: string, fields?: Record<string, unknown>): void {
  if (ORDER[level] < threshold()) return;
  const line = JSON.stringify(
    { t: new Date().toISOString(), level, msg: message, ...fields },
    (_key, value) => (typeof value === "bigint" ? value.toString() : value instanceof Error ? describeError(value) : value),
  );
  (level === "error" || level === "warn" ? process.stderr : process.stdout).write(redact(line) + "\n");
}

export const log = {
  debug: (message: string, fields?: Record<string, unknown>) => write("debug", message, fields),
  info: (message: string, fields?: Record<string, unknown>) => write("info", message, fields),
  warn: (message: string, fields?: Record<string, unknown>) => write("warn", message, fields),
  error: (message: string, fields?: Record<string, unknown>) => write("error", message, fields),
};
