// The operator API's errors: `{ error: { code, message, field? } }` with stable codes, and the one mapping
// from the models' typed domain errors to HTTP statuses (the message is the model's sentence, never a stack).
import type { z } from "zod";
import { ApiKeyError } from "~/models/api-keys.server";
import { ApprovalError } from "~/models/approvals.server";
import { WebhookEndpointError } from "~/models/outbound-webhooks.server";
import { isRunActionFailure, runActionStatus } from "~/models/run-actions.server";
import { SettlementError } from "~/models/settlement.server";
import { LedgerError } from "~/ledger/money";
import { PolicyError } from "~/ledger/policy";

/** Codes of the API itself; domain codes (RECIPIENT_WALLET_TAKEN, RUN_NOT_READY, ...) pass through as the models name them. */
export const API_ERROR_CODES = {
  UNAUTHENTICATED: 401,
  INSUFFICIENT_SCOPE: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  VALIDATION_FAILED: 400,
  INVALID_JSON: 400,
  IDEMPOTENCY_KEY_INVALID: 400,
  IDEMPOTENCY_KEY_REUSED: 409,
  IDEMPOTENCY_KEY_IN_PROGRESS: 409,
  BODY_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RATE_LIMITED: 429,
  INTERNAL_ERROR: 500,
  SERVICE_UNAVAILABLE: 503,
} as const;
export type ApiErrorCode = keyof typeof API_ERROR_CODES;

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = "ApiError";
  }

  static of(code: ApiErrorCode, message: string, field?: string, headers?: Record<string, string>): ApiError {
    return new ApiError(API_ERROR_CODES[code], code, message, field, headers);
  }

  body(): { error: { code: string; message: string; field?: string } } {
    return { error: { code: this.code, message: this.message, ...(this.field ? { field: this.field } : {}) } };
  }
}

/** Where in the input: body paths as `rules.0.basisPoints`, a query parameter by its name. */
function fieldOf(path: readonly PropertyKey[]): string | undefined {
  return path.length > 0 ? path.map(String).join(".") : undefined;
}

/** The first issue of a failed parse, as a 400 naming its field. */
export function validationError(error: z.ZodError, prefix?: string): ApiError {
  const issue = error.issues[0]!;
  const inner = fieldOf(issue.path);
  // An unknown field names itself: `rules.0.extra`, not `rules.0`.
  const keys = issue.code === "unrecognized_keys" ? (issue as { keys?: string[] }).keys : undefined;
  const field = [prefix, inner, keys?.[0]].filter((part) => part !== undefined && part !== "").join(".") || undefined;
  const message = issue.code === "unrecognized_keys" ? `unknown field${keys && keys.length > 1 ? "s" : ""}: ${keys?.join(", ")}` : issue.message;
  return ApiError.of("VALIDATION_FAILED", message, field);
}

const CONFLICT_CODES = new Set([
  "RECIPIENT_WALLET_TAKEN",
  "RECIPIENT_REMOVED",
  "POLICY_VERSION_CONFLICT",
  "POLICY_VERSION_NOT_DRAFT",
  "CHALLENGE_USED",
  "API_KEY_REVOKED",
]);

/** A model's typed error as an API error; anything else is not ours to describe (null: a 500). */
export function domainError(error: unknown): ApiError | null {
  if (error instanceof ApiError) return error;
  if (error instanceof PolicyError) {
    const issue = error.issues[0]!;
    const field = issue.path ?? (issue.ruleIndex !== undefined ? `rules.${issue.ruleIndex}` : undefined);
    return new ApiError(422, error.code, error.message, field);
  }
  if (error instanceof LedgerError) {
    if (error.code.endsWith("_NOT_FOUND")) return new ApiError(404, error.code, error.message);
    return new ApiError(CONFLICT_CODES.has(error.code) ? 409 : 422, error.code, error.message);
  }
  // The console answers the same: a refused destination names the URL, a disabled endpoint is a conflict.
  if (error instanceof WebhookEndpointError) {
    if (error.code === "DESTINATION_REFUSED") return new ApiError(422, error.code, error.message, "url");
    if (error.code === "NOT_ALLOWED") return new ApiError(403, error.code, error.message);
    if (error.code === "ENDPOINT_NOT_ENABLED") return new ApiError(409, error.code, error.message);
    return new ApiError(404, error.code, error.message);
  }
  // The run actions' own mapping (the console answers the same statuses): 403, 404, 409, 503.
  if (isRunActionFailure(error)) return new ApiError(runActionStatus(error), error.code, error.message);
  if (error instanceof ApprovalError || error instanceof SettlementError || error instanceof ApiKeyError) {
    if (error.code.endsWith("_NOT_FOUND")) return new ApiError(404, error.code, error.message);
    if (error.code === "OPERATOR_NOT_ALLOWED") return new ApiError(403, error.code, error.message);
    return new ApiError(409, error.code, error.message);
  }
  return null;
}
