// Zod schemas of the Dodo Payments webhook payloads we act on (payment.*, refund.*, dispute.*).
// Lenient to fields we do not use (Dodo adds fields freely), strict on the ones we do; money leaves as bigint.
import { z } from "zod";
import { PAYMENT_STATUS_ORDER, type PaymentObservation, type PaymentStatus } from "~/ledger/payment-state";

/** Amounts arrive as JSON numbers in the currency's smallest unit; refuse anything a double cannot hold exactly. */
const minorUnitsFromNumber = z
  .number()
  .refine((n) => Number.isSafeInteger(n) && n >= 0, { message: "expected a non-negative integer amount in minor units" })
  .transform((n) => BigInt(n));

/** Dispute amounts are strings ("to accommodate precision"); digits only. */
const minorUnitsFromString = z
  .string()
  .regex(/^[0-9]{1,30}$/, { message: "expected a decimal string of minor units" })
  .transform((s) => BigInt(s));

/** ISO 4217 code as Dodo sends it (upper case, three letters). */
const currencyCode = z.string().regex(/^[A-Z]{3}$/, { message: "expected an ISO 4217 currency code" });

/** RFC 3339 timestamp; kept as text (for storage) and parsed for ordering. */
const isoTimestamp = z
  .string()
  .max(64)
  .refine((s) => !Number.isNaN(Date.parse(s)), { message: "expected an ISO 8601 timestamp" });

const dodoId = z.string().min(1).max(128);

/** Dodo's metadata is a flat map of scalars; ours travels as strings. */
export const dodoMetadataSchema = z.record(z.string().max(256), z.union([z.string().max(4096), z.number(), z.boolean()]));

export const dodoCustomerSchema = z.object({
  customer_id: dodoId,
  email: z.string().max(320),
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

/** `data` of payment.* events: Dodo's Payment object (SDK type `PaymentsAPI.Payment`). */
export const dodoPaymentDataSchema = z.object({
  payment_id: dodoId,
  business_id: dodoId.optional(),
  total_amount: minorUnitsFromNumber,
  currency: currencyCode,
  settlement_amount: minorUnitsFromNumber,
  settlement_currency: currencyCode,
  status: z.enum(PAYMENT_INTENT_STATUSES).nullish(),
  metadata: dodoMetadataSchema.default({}),
  customer: dodoCustomerSchema.optional(),
  checkout_session_id: dodoId.nullish(),
  created_at: isoTimestamp.optional(),
  updated_at: isoTimestamp.nullish(),
});

export const REFUND_STATUSES = ["succeeded", "failed", "pending", "review"] as const;

/** `data` of refund.* events: Dodo's Refund object. */
export const dodoRefundDataSchema = z.object({
  refund_id: dodoId,
  payment_id: dodoId,
  business_id: dodoId.optional(),
  status: z.enum(REFUND_STATUSES),
  amount: minorUnitsFromNumber.nullish(),
  currency: currencyCode.nullish(),
  is_partial: z.boolean().optional(),
  metadata: dodoMetadataSchema.default({}),
  created_at: isoTimestamp.optional(),
});

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

/** `data` of dispute.* events: Dodo's Dispute object. */
export const dodoDisputeDataSchema = z.object({
  dispute_id: dodoId,
  payment_id: dodoId,
  business_id: dodoId.optional(),
  amount: minorUnitsFromString,
  currency: currencyCode,
  dispute_status: z.enum(DISPUTE_STATUSES),
  dispute_stage: z.enum(DISPUTE_STAGES),
  created_at: isoTimestamp.optional(),
});

/** The envelope every Dodo webhook shares; `data` is checked per type afterwards. */
export const dodoWebhookEnvelopeSchema = z.object({
  business_id: dodoId,
  type: z.string().min(1).max(128),
  timestamp: isoTimestamp,
  data: z.record(z.string(), z.unknown()),
});

export type DodoPaymentData = z.infer<typeof dodoPaymentDataSchema>;
export type DodoRefundData = z.infer<typeof dodoRefundDataSchema>;
export type DodoDisputeData = z.infer<typeof dodoDisputeDataSchema>;

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
 * Parses an already JSON-decoded webhook body. Known types get their `data` checked strictly;
 * unknown types keep their raw `data` so they can be stored and acknowledged.
 */
export function parseDodoWebhookEvent(json: unknown): DodoWebhookEvent {
  const envelope = dodoWebhookEnvelopeSchema.safeParse(json);
  if (!envelope.success) {
    throw new DodoPayloadError("webhook envelope does not match Dodo's shape", issuesOf(envelope.error));
  }
  const { business_id, type, timestamp, data } = envelope.data;
  const base: EnvelopeFields = { businessId: business_id, timestamp, timestampMs: Date.parse(timestamp) };

  if (isOneOf(PAYMENT_EVENT_TYPES, type)) {
    const parsed = dodoPaymentDataSchema.safeParse(data);
    if (!parsed.success) throw new DodoPayloadError(`${type} data is invalid`, issuesOf(parsed.error));
    return { ...base, kind: "payment", type, data: parsed.data };
  }
  if (isOneOf(REFUND_EVENT_TYPES, type)) {
    const parsed = dodoRefundDataSchema.safeParse(data);
    if (!parsed.success) throw new DodoPayloadError(`${type} data is invalid`, issuesOf(parsed.error));
    return { ...base, kind: "refund", type, data: parsed.data };
  }
  if (isOneOf(DISPUTE_EVENT_TYPES, type)) {
    const parsed = dodoDisputeDataSchema.safeParse(data);
    if (!parsed.success) throw new DodoPayloadError(`${type} data is invalid`, issuesOf(parsed.error));
    return { ...base, kind: "dispute", type, data: parsed.data };
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
      return {
        kind: "payment",
        status,
        observedAtMs: event.timestampMs,
        totalAmount: event.data.total_amount,
        currency: event.data.currency,
        settlementAmount: event.data.settlement_amount,
        settlementCurrency: event.data.settlement_currency,
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
      };
    case "other":
      return null;
  }
}

/** The Dodo payment id an event concerns, if any (unknown types may still name one). */
export function dodoPaymentIdOf(event: DodoWebhookEvent): string | null {
  if (event.kind !== "other") return event.data.payment_id;
  const candidate = event.data.payment_id;
  return typeof candidate === "string" && candidate.length > 0 && candidate.length <= 128 ? candidate : null;
}
