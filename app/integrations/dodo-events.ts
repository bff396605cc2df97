// Zod schemas of the Dodo Payments webhook payloads we act on (payment.*, refund.*, dispute.*), after the
// SDK's own types (dodopayments: PaymentsAPI.Payment, RefundsAPI.Refund, DisputesAPI.Dispute) and the
// shapes Dodo's CLI sends. Lenient to fields we do not use (Dodo adds fields freely) and to the nullable
// ones the SDK declares, strict on what we record; money leaves as bigint, never beyond the bigint column.
import { z } from "zod";
import { PAYMENT_STATUS_ORDER, type PaymentObservation, type PaymentStatus } from "~/ledger/payment-state";

/** The largest amount a money column (PostgreSQL bigint) holds; beyond it a delivery is FAILED, not a 500 loop. */
export const BIGINT_COLUMN_MAX = (1n << 63n) - 1n;

/** Amounts arrive as JSON numbers in the currency's smallest unit; refuse anything a double cannot hold exactly. */
const minorUnitsFromNumber = z
  .number()
  .refine((n) => Number.isSafeInteger(n) && n >= 0, { message: "expected a non-negative integer amount in minor units" })
  .transform((n) => BigInt(n));

/**
 * A dispute's amount: the SDK types it as a string "to accommodate precision", Dodo's CLI sends a JSON
 * number (`"amount": 400`). Either way we take it in the currency's smallest unit, like every other
 * amount of Dodo's API (the CLI's 400 disputes a 400-cent payment); the string form exists for precision,
 * not for another unit. So an integer, written as a number or as digits (a zero fraction, "400.00", is the
 * same integer); a fraction of a minor unit cannot be one, and is refused (the delivery is kept FAILED).
 */
const disputeAmount = z.union([
  minorUnitsFromNumber,
  z
    .string()
    .trim()
    .regex(/^[0-9]{1,19}(\.0+)?$/, { message: "expected an integer amount of minor units (digits, or digits with a zero fraction)" })
    .transform((s) => BigInt(s.split(".")[0]!)),
]).refine((amount) => amount <= BIGINT_COLUMN_MAX, { message: "amount exceeds the ledger's bigint range" });

/** ISO 4217 code as Dodo sends it (upper case, three letters). */
const currencyCode = z.string().regex(/^[A-Z]{3}$/, { message: "expected an ISO 4217 currency code" });

/** A dispute's currency: the SDK types it as any string. Kept, upper-cased and trimmed, bounded. */
const anyCurrency = z
  .string()
  .trim()
  .min(1)
  .max(16)
  .transform((s) => s.toUpperCase());

/** RFC 3339 timestamp; kept as text (for storage) and parsed for ordering. */
const isoTimestamp = z
  .string()
  .max(64)
  .refine((s) => !Number.isNaN(Date.parse(s)), { message: "expected an ISO 8601 timestamp" });

const dodoId = z.string().min(1).max(128);

/** Dodo's metadata is a flat map of scalars; ours travels as strings. Null or absent: none. */
export const dodoMetadataSchema = z
  .record(z.string().max(256), z.union([z.string().max(4096), z.number(), z.boolean()]))
  .nullish()
  .transform((metadata) => metadata ?? {});

export const dodoCustomerSchema = z.object({
  customer_id: dodoId,
  email: z.string().max(320).nullish(),
  name: z.string().max(512).nullish(),
});

export const PAYMENT_EVENT_TYPES = ["payment.processing", "payment.succeeded", "payment.failed", "payment.cancelled"] as const;
export const REFUND_EVENT_TYPES = ["refund.succeeded", "refund.failed"] as const;
export const DISPUTE_EVENT_TYPES = [
  "dispute.opened",
  "dispute.challenged",
  "dispute.accepted",
  "dispute.cancelled",
  "dispute.expired",
  "dispute.won",
  "dispute.lost",
] as const;

export type PaymentEventType = (typeof PAYMENT_EVENT_TYPES)[number];
export type RefundEventType = (typeof REFUND_EVENT_TYPES)[number];
export type DisputeEventType = (typeof DISPUTE_EVENT_TYPES)[number];

export const PAYMENT_INTENT_STATUSES = [
  "succeeded",
  "failed",
  "cancelled",
  "processing",
  "requires_customer_action",
  "requires_merchant_action",
  "requires_payment_method",
  "requires_confirmation",
  "requires_capture",
  "partially_captured",
  "partially_captured_and_capturable",
] as const;

export const REFUND_STATUSES = ["succeeded", "failed", "pending", "review"] as const;

export const DISPUTE_STATUSES = [
  "dispute_opened",
  "dispute_expired",
  "dispute_accepted",
  "dispute_cancelled",
  "dispute_challenged",
  "dispute_won",
  "dispute_lost",
] as const;
export const DISPUTE_STAGES = ["pre_dispute", "dispute", "pre_arbitration"] as const;

/** The statuses a parser knows; a delivery carrying any other is kept FAILED until a deploy learns it. */
export interface DodoSchemaOptions {
  paymentStatuses?: readonly string[];
  refundStatuses?: readonly string[];
  disputeStatuses?: readonly string[];
  disputeStages?: readonly string[];
}

function statusOf(known: readonly string[], what: string) {
  return z.string().refine((s) => known.includes(s), { message: `unknown ${what}` });
}

function dataSchemas(options: DodoSchemaOptions) {
  return {
    /** `data` of payment.* events: Dodo's Payment object (SDK type `PaymentsAPI.Payment`). */
    payment: z.object({
      payment_id: dodoId,
      business_id: dodoId.nullish(),
      total_amount: minorUnitsFromNumber,
      tax: minorUnitsFromNumber.nullish(),
      currency: currencyCode,
      // Required in the SDK's type, absent in some of Dodo's own payloads: recorded as "not reported yet".
      settlement_amount: minorUnitsFromNumber.nullish(),
      settlement_currency: currencyCode.nullish(),
      status: statusOf(options.paymentStatuses ?? PAYMENT_INTENT_STATUSES, "payment status").nullish(),
      metadata: dodoMetadataSchema,
      customer: dodoCustomerSchema.nullish(),
      checkout_session_id: dodoId.nullish(),
      created_at: isoTimestamp.nullish(),
      updated_at: isoTimestamp.nullish(),
    }),
    /** `data` of refund.* events: Dodo's Refund object (SDK type `RefundsAPI.Refund`). */
    refund: z.object({
      refund_id: dodoId,
      payment_id: dodoId,
      business_id: dodoId.nullish(),
      status: statusOf(options.refundStatuses ?? REFUND_STATUSES, "refund status"),
      amount: minorUnitsFromNumber.nullish(),
      currency: currencyCode.nullish(),
      is_partial: z.boolean().nullish(),
      metadata: dodoMetadataSchema,
      created_at: isoTimestamp.nullish(),
    }),
    /** `data` of dispute.* events: Dodo's Dispute object (SDK type `DisputesAPI.Dispute`). */
    dispute: z.object({
      dispute_id: dodoId,
      payment_id: dodoId,
      business_id: dodoId.nullish(),
      amount: disputeAmount,
      currency: anyCurrency,
      dispute_status: statusOf(options.disputeStatuses ?? DISPUTE_STATUSES, "dispute status"),
      dispute_stage: statusOf(options.disputeStages ?? DISPUTE_STAGES, "dispute stage"),
      created_at: isoTimestamp.nullish(),
    }),
  };
}

const defaultSchemas = dataSchemas({});
export const dodoPaymentDataSchema = defaultSchemas.payment;
export const dodoRefundDataSchema = defaultSchemas.refund;
export const dodoDisputeDataSchema = defaultSchemas.dispute;

/** The envelope every Dodo webhook shares; `data` is checked per type afterwards. */
export const dodoWebhookEnvelopeSchema = z.object({
  business_id: dodoId,
  type: z.string().min(1).max(128),
  timestamp: isoTimestamp,
  data: z.record(z.string(), z.unknown()),
});

// The statuses as the ledger's types spell them (a parser that learned a new one maps it like any other).
export type DodoPaymentData = Omit<z.infer<typeof dodoPaymentDataSchema>, "status"> & {
  status?: (typeof PAYMENT_INTENT_STATUSES)[number] | null;
};
export type DodoRefundData = Omit<z.infer<typeof dodoRefundDataSchema>, "status"> & { status: (typeof REFUND_STATUSES)[number] };
export type DodoDisputeData = Omit<z.infer<typeof dodoDisputeDataSchema>, "dispute_status" | "dispute_stage"> & {
  dispute_status: (typeof DISPUTE_STATUSES)[number];
  dispute_stage: (typeof DISPUTE_STAGES)[number];
};

interface EnvelopeFields {
  businessId: string;
  timestamp: string;
  /** Milliseconds since the epoch of `timestamp`; the event's place in Dodo's own order. */
  timestampMs: number;
}

export type DodoWebhookEvent =
  | (EnvelopeFields & { kind: "payment"; type: PaymentEventType; data: DodoPaymentData })
  | (EnvelopeFields & { kind: "refund"; type: RefundEventType; data: DodoRefundData })
  | (EnvelopeFields & { kind: "dispute"; type: DisputeEventType; data: DodoDisputeData })
  | (EnvelopeFields & { kind: "other"; type: string; data: Record<string, unknown> });

export class DodoPayloadError extends Error {
  readonly code = "DODO_PAYLOAD_INVALID";
  constructor(
    message: string,
    readonly issues: readonly string[] = [],
  ) {
    super(message);
    this.name = "DodoPayloadError";
  }
}

function issuesOf(error: z.ZodError): string[] {
  return error.issues.slice(0, 10).map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`);
}

function isOneOf<T extends string>(list: readonly T[], value: string): value is T {
  return (list as readonly string[]).includes(value);
}

/**
 * A status the ledger ranks, or `fallback` for one only a newer parser knows: the least consequential
 * state of its kind (pending refund, open dispute: neither pays nor takes back anything).
 */
function knownOr<T extends string>(list: readonly T[], value: string, fallback: T): T {
  return isOneOf(list, value) ? value : fallback;
}

export type DodoEventParser = (json: unknown) => DodoWebhookEvent;

/**
 * A parser for a set of known statuses (the default: the SDK's). A replay after a deploy that learned a
 * new status uses the new parser; a test builds one to play that deploy.
 */
export function createDodoEventParser(options: DodoSchemaOptions = {}): DodoEventParser {
  const schemas = Object.keys(options).length === 0 ? defaultSchemas : dataSchemas(options);
  return (json) => parseWith(schemas, json);
}

/**
 * Parses an already JSON-decoded webhook body. Known types get their `data` checked strictly;
 * unknown types keep their raw `data` so they can be stored and acknowledged.
 */
export function parseDodoWebhookEvent(json: unknown): DodoWebhookEvent {
  return parseWith(defaultSchemas, json);
}

function parseWith(schemas: ReturnType<typeof dataSchemas>, json: unknown): DodoWebhookEvent {
  const envelope = dodoWebhookEnvelopeSchema.safeParse(json);
  if (!envelope.success) {
    throw new DodoPayloadError("webhook envelope does not match Dodo's shape", issuesOf(envelope.error));
  }
  const { business_id, type, timestamp, data } = envelope.data;
  const base: EnvelopeFields = { businessId: business_id, timestamp, timestampMs: Date.parse(timestamp) };

  if (isOneOf(PAYMENT_EVENT_TYPES, type)) {
    const parsed = schemas.payment.safeParse(data);
    if (!parsed.success) throw new DodoPayloadError(`${type} data is invalid`, issuesOf(parsed.error));
    const status = parsed.data.status;
    // A status a newer parser learned is read through the event's type (it is not one the fold ranks).
    const known = status != null && (PAYMENT_INTENT_STATUSES as readonly string[]).includes(status);
    return { ...base, kind: "payment", type, data: { ...parsed.data, status: known ? (status as DodoPaymentData["status"]) : null } };
  }
  if (isOneOf(REFUND_EVENT_TYPES, type)) {
    const parsed = schemas.refund.safeParse(data);
    if (!parsed.success) throw new DodoPayloadError(`${type} data is invalid`, issuesOf(parsed.error));
    return { ...base, kind: "refund", type, data: { ...parsed.data, status: knownOr(REFUND_STATUSES, parsed.data.status, "pending") } };
  }
  if (isOneOf(DISPUTE_EVENT_TYPES, type)) {
    const parsed = schemas.dispute.safeParse(data);
    if (!parsed.success) throw new DodoPayloadError(`${type} data is invalid`, issuesOf(parsed.error));
    const { dispute_status, dispute_stage } = parsed.data;
    return {
      ...base,
      kind: "dispute",
      type,
      data: {
        ...parsed.data,
        dispute_status: knownOr(DISPUTE_STATUSES, dispute_status, "dispute_opened"),
        dispute_stage: knownOr(DISPUTE_STAGES, dispute_stage, "dispute"),
      },
    };
  }
  return { ...base, kind: "other", type, data };
}

/** The metadata keys our checkout puts on every session, read back from payment/refund metadata. */
export const STABLEFLOW_METADATA = {
  checkoutId: "stableflow_checkout_id",
  organization: "stableflow_org",
} as const;

export function stableflowLinkFromMetadata(metadata: Record<string, string | number | boolean> | undefined): {
  checkoutId: string | null;
  organization: string | null;
} {
  const checkoutId = metadata?.[STABLEFLOW_METADATA.checkoutId];
  const organization = metadata?.[STABLEFLOW_METADATA.organization];
  return {
    checkoutId: typeof checkoutId === "string" && checkoutId.length > 0 ? checkoutId : null,
    organization: typeof organization === "string" && organization.length > 0 ? organization : null,
  };
}

/**
 * The ledger fact one parsed event reports, for app/ledger/payment-state.ts. A payment event's status is
 * the higher of its type and its `data.status`: Dodo sends the object's latest state, so a late
 * `payment.processing` may already carry `status: "succeeded"`.
 */
export function paymentObservationOf(event: DodoWebhookEvent): PaymentObservation | null {
  switch (event.kind) {
    case "payment": {
      const fromType = event.type.slice("payment.".length) as PaymentStatus;
      const fromData = event.data.status;
      const status =
        fromData && (PAYMENT_STATUS_ORDER as readonly string[]).includes(fromData) &&
        PAYMENT_STATUS_ORDER.indexOf(fromData as PaymentStatus) > PAYMENT_STATUS_ORDER.indexOf(fromType)
          ? (fromData as PaymentStatus)
          : fromType;
      // A settlement amount without its currency (or the reverse) is not a settlement we can use yet.
      const settlementKnown = event.data.settlement_amount != null && event.data.settlement_currency != null;
      return {
        kind: "payment",
        status,
        observedAtMs: event.timestampMs,
        totalAmount: event.data.total_amount,
        currency: event.data.currency,
        settlementAmount: settlementKnown ? event.data.settlement_amount! : null,
        settlementCurrency: settlementKnown ? event.data.settlement_currency! : null,
        checkoutSessionId: event.data.checkout_session_id ?? null,
      };
    }
    case "refund":
      return {
        kind: "refund",
        refundId: event.data.refund_id,
        status: event.data.status,
        observedAtMs: event.timestampMs,
        amount: event.data.amount ?? null,
        currency: event.data.currency ?? null,
        isPartial: event.data.is_partial ?? null,
        createdAtMs: createdAtMsOf(event.data.created_at, event.timestampMs),
      };
    case "dispute":
      return {
        kind: "dispute",
        disputeId: event.data.dispute_id,
        status: event.data.dispute_status,
        stage: event.data.dispute_stage,
        observedAtMs: event.timestampMs,
        amount: event.data.amount,
        currency: event.data.currency,
        createdAtMs: createdAtMsOf(event.data.created_at, event.timestampMs),
      };
    case "other":
      return null;
  }
}

/** Dodo's creation time of a refund or dispute (the order of take-backs), else the event's own time. */
function createdAtMsOf(createdAt: string | null | undefined, fallbackMs: number): number {
  const ms = createdAt ? Date.parse(createdAt) : Number.NaN;
  return Number.isFinite(ms) ? ms : fallbackMs;
}

/** The Dodo payment id an event concerns, if any (unknown types may still name one). */
export function dodoPaymentIdOf(event: DodoWebhookEvent): string | null {
  if (event.kind !== "other") return event.data.payment_id;
  const candidate = event.data.payment_id;
  return typeof candidate === "string" && candidate.length > 0 && candidate.length <= 128 ? candidate : null;
}
