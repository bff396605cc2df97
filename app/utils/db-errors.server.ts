// Database failures as typed errors. Prisma's pg and PGlite adapters report the same Postgres
// condition differently (P2002 with or without the constraint, raw SQLSTATE in a DriverAdapterError):
// everything the application branches on goes through `toDatabaseError`.

export type DatabaseErrorCode =
  | "UNIQUE_VIOLATION"
  | "FOREIGN_KEY_VIOLATION"
  | "CHECK_VIOLATION"
  | "NOT_NULL_VIOLATION"
  | "INSERT_ONLY_VIOLATION"
  | "IMMUTABLE_POLICY_VERSION"
  | "ILLEGAL_RUN_TRANSITION"
  | "SERIALIZATION_FAILURE";

export class DatabaseError extends Error {
  constructor(
    readonly code: DatabaseErrorCode,
    message: string,
    /** The constraint or the fields, when the driver tells. */
    readonly target: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "DatabaseError";
  }
}

export class UniqueViolationError extends DatabaseError {
  constructor(target: string | undefined, cause?: unknown) {
    super("UNIQUE_VIOLATION", `unique constraint violated${target ? ` (${target})` : ""}`, target, { cause });
    this.name = "UniqueViolationError";
  }
}

export class ConstraintViolationError extends DatabaseError {
  constructor(code: DatabaseErrorCode, message: string, target: string | undefined, cause?: unknown) {
    super(code, message, target, { cause });
    this.name = "ConstraintViolationError";
  }
}

const SQLSTATE_TO_CODE: Record<string, DatabaseErrorCode> = {
  "23505": "UNIQUE_VIOLATION",
  "23503": "FOREIGN_KEY_VIOLATION",
  "23514": "CHECK_VIOLATION",
  "23502": "NOT_NULL_VIOLATION",
  "40001": "SERIALIZATION_FAILURE",
  "40P01": "SERIALIZATION_FAILURE",
  SF001: "INSERT_ONLY_VIOLATION",
  SF002: "IMMUTABLE_POLICY_VERSION",
  SF003: "ILLEGAL_RUN_TRANSITION",
};

const PRISMA_TO_CODE: Record<string, DatabaseErrorCode> = {
  P2002: "UNIQUE_VIOLATION",
  P2003: "FOREIGN_KEY_VIOLATION",
  P2011: "NOT_NULL_VIOLATION",
  P2034: "SERIALIZATION_FAILURE",
};

interface Inspected {
  code?: DatabaseErrorCode;
  target?: string;
  message?: string;
}

/** Walks an error, its `cause` chain and Prisma's `meta` looking for what Postgres said. */
function inspect(error: unknown, depth = 0): Inspected {
  if (depth > 6 || error === null || typeof error !== "object") return {};
  const e = error as Record<string, unknown>;
  const found: Inspected = {};
  const meta = (e.meta ?? {}) as Record<string, unknown>;
  const driverError = (meta.driverAdapterError ?? undefined) as Record<string, unknown> | undefined;
  const candidates: unknown[] = [e.code, e.originalCode, meta.code, driverError?.cause && (driverError.cause as Record<string, unknown>).originalCode];
  for (const candidate of candidates) {
    if (typeof candidate !== "string") continue;
    found.code ??= SQLSTATE_TO_CODE[candidate] ?? PRISMA_TO_CODE[candidate];
  }
  const kind = typeof e.kind === "string" ? e.kind : undefined;
  if (!found.code && kind === "UniqueConstraintViolation") found.code = "UNIQUE_VIOLATION";
  if (!found.code && kind === "ForeignKeyConstraintViolation") found.code = "FOREIGN_KEY_VIOLATION";
  if (!found.code && kind === "NullConstraintViolation") found.code = "NOT_NULL_VIOLATION";
  if (!found.code && kind === "TransactionWriteConflict") found.code = "SERIALIZATION_FAILURE";
  const target = meta.target ?? meta.constraint ?? e.constraint ?? (e.constraint as unknown);
  if (Array.isArray(target)) found.target = target.join(",");
  else if (typeof target === "string") found.target = target;
  else if (target && typeof target === "object" && "fields" in (target as object)) {
    found.target = ((target as { fields: string[] }).fields ?? []).join(",");
  }
  if (typeof e.message === "string") found.message = e.message;
  const nested = [e.cause, driverError, meta.driverAdapterError && (meta.driverAdapterError as Record<string, unknown>).cause];
  for (const inner of nested) {
    if (!inner) continue;
    const deeper = inspect(inner, depth + 1);
    found.code ??= deeper.code;
    found.target ??= deeper.target;
  }
  // Last resort for drivers that keep only the text: our triggers' messages are stable.
  if (!found.code && found.message) {
    if (/rows are insert-only|payout runs are never deleted|are fixed at compile time/.test(found.message)) found.code = "INSERT_ONLY_VIOLATION";
    else if (/policy version .* (cannot change|cannot be deleted|cannot be reactivated)|rules of a policy version used/.test(found.message)) found.code = "IMMUTABLE_POLICY_VERSION";
    else if (/cannot move from/.test(found.message)) found.code = "ILLEGAL_RUN_TRANSITION";
    else if (/violates check constraint/.test(found.message)) found.code = "CHECK_VIOLATION";
    else if (/duplicate key value violates unique constraint/.test(found.message)) found.code = "UNIQUE_VIOLATION";
    else if (/violates foreign key constraint/.test(found.message)) found.code = "FOREIGN_KEY_VIOLATION";
  }
  if (!found.target && found.message) {
    const quoted = /constraint "([^"]+)"/.exec(found.message);
    if (quoted) found.target = quoted[1];
  }
  return found;
}

/**
 * Returns the typed error for a database failure the application can cause (unique, check, FK,
 * insert-only, ...), or the original error untouched when it is something else.
 */
export function toDatabaseError(error: unknown): unknown {
  if (error instanceof DatabaseError) return error;
  const found = inspect(error);
  if (!found.code) return error;
  if (found.code === "UNIQUE_VIOLATION") return new UniqueViolationError(found.target, error);
  const messages: Record<Exclude<DatabaseErrorCode, "UNIQUE_VIOLATION">, string> = {
    FOREIGN_KEY_VIOLATION: "a referenced row does not exist",
    CHECK_VIOLATION: "a value is outside what the ledger accepts",
    NOT_NULL_VIOLATION: "a required value is missing",
    INSERT_ONLY_VIOLATION: "this record is insert-only: write a correcting row instead",
    IMMUTABLE_POLICY_VERSION: "a policy version used by a payout run cannot change: create a new version",
    ILLEGAL_RUN_TRANSITION: "the payout run cannot move to that state",
    SERIALIZATION_FAILURE: "the transaction conflicted with another one; retry",
  };
  const base = messages[found.code];
  return new ConstraintViolationError(found.code, found.target ? `${base} (${found.target})` : base, found.target, error);
}

/** Runs `fn`, rethrowing database failures as typed errors. */
export async function withDatabaseErrors<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    throw toDatabaseError(error);
  }
}

export function isUniqueViolation(error: unknown): error is UniqueViolationError {
  return toDatabaseError(error) instanceof UniqueViolationError;
}
