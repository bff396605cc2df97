// Dodo Payments' webhook payloads (payment, refund, dispute), shaped like Dodo's, and their signing exactly as
// Dodo's sender signs them. Used by the checkout simulator (app code, in the production bundle) and by tests
// (tests/mocks/dodo.ts re-exports them beside the HTTP double of Dodo's API, which stays out of the bundle).
import { randomBytes } from "node:crypto";
import { signWebhook } from "./webhook-verification.server";

function randomId(prefix: string): string {
  return `${prefix}_${randomBytes(12).toString("base64url")}`;
}

export interface PaymentPayloadInput {
  paymentId?: string;
  businessId?: string;
  status: "processing" | "succeeded" | "failed" | "cancelled";
  totalAmount: bigint;
  currency?: string;
  settlementAmount?: bigint;
  settlementCurrency?: string;
  metadata?: Record<string, string | number | boolean>;
  customerEmail?: string;
  customerName?: string;
  checkoutSessionId?: string | null;
  /** RFC 3339 event time; now when omitted. */
  timestamp?: string;
}

function toJsonNumber(amount: bigint): number {
  // Dodo sends amounts as JSON numbers; a double holds every integer up to 2^53 exactly.
  if (amount > BigInt(Number.MAX_SAFE_INTEGER) || amount < 0n) throw new RangeError("amount out of JSON-safe range");
  return Number(amount);
}

export function paymentEvent(input: PaymentPayloadInput): Record<string, unknown> {
  const timestamp = input.timestamp ?? new Date().toISOString();
  const businessId = input.businessId ?? "bus_simulator";
  const currency = input.currency ?? "USD";
  return {
    business_id: businessId,
    type: `payment.${input.status}`,
    timestamp,
    data: {
      payload_type: "Payment",
      payment_id: input.paymentId ?? randomId("pay"),
      business_id: businessId,
      brand_id: "bus_simulator",
      billing: { country: "US", city: null, state: null, street: null, zipcode: null },
      created_at: timestamp,
      updated_at: timestamp,
      currency,
      total_amount: toJsonNumber(input.totalAmount),
      settlement_amount: toJsonNumber(input.settlementAmount ?? input.totalAmount),
      settlement_currency: input.settlementCurrency ?? currency,
      tax: 0,
      settlement_tax: 0,
      status: input.status,
      customer: {
        customer_id: "cus_simulator",
        email: input.customerEmail ?? "customer@example.com",
        name: input.customerName ?? "Sim Customer",
        metadata: {},
        phone_number: null,
      },
      digital_products_delivered: false,
      disputes: [],
      refunds: [],
      is_multi_subscription: false,
      is_update_payment_method: false,
      metadata: input.metadata ?? {},
      payment_provider: "dodo",
      retry_attempt: 0,
      subscription_ids: [],
      subscription_id: null,
      checkout_session_id: input.checkoutSessionId ?? null,
      payment_method: "card",
      payment_method_type: "visa",
      card_last_four: "4242",
      card_network: "VISA",
      card_type: "CREDIT",
      error_code: input.status === "failed" ? "CARD_DECLINED" : null,
      error_message: input.status === "failed" ? "The card was declined." : null,
    },
  };
}

export function refundEvent(input: {
  refundId?: string;
  paymentId: string;
  status: "succeeded" | "failed";
  amount: bigint;
  currency?: string;
  businessId?: string;
  timestamp?: string;
  metadata?: Record<string, string | number | boolean>;
}): Record<string, unknown> {
  const timestamp = input.timestamp ?? new Date().toISOString();
  const businessId = input.businessId ?? "bus_simulator";
  return {
    business_id: businessId,
    type: `refund.${input.status}`,
    timestamp,
    data: {
      payload_type: "Refund",
      refund_id: input.refundId ?? randomId("ref"),
      payment_id: input.paymentId,
      business_id: businessId,
      brand_id: "bus_simulator",
      created_at: timestamp,
      status: input.status,
      amount: toJsonNumber(input.amount),
      currency: input.currency ?? "USD",
      is_partial: true,
      reason: "requested_by_customer",
      metadata: input.metadata ?? {},
      customer: { customer_id: "cus_simulator", email: "customer@example.com", name: "Sim Customer", metadata: {} },
    },
  };
}

export const DISPUTE_EVENT_STATUS = {
  opened: "dispute_opened",
  challenged: "dispute_challenged",
  accepted: "dispute_accepted",
  cancelled: "dispute_cancelled",
  expired: "dispute_expired",
  won: "dispute_won",
  lost: "dispute_lost",
} as const;

export function disputeEvent(input: {
  disputeId?: string;
  paymentId: string;
  event: keyof typeof DISPUTE_EVENT_STATUS;
  stage?: "pre_dispute" | "dispute" | "pre_arbitration";
  amount: bigint;
  currency?: string;
  businessId?: string;
  timestamp?: string;
}): Record<string, unknown> {
  const timestamp = input.timestamp ?? new Date().toISOString();
  const businessId = input.businessId ?? "bus_simulator";
  return {
    business_id: businessId,
    type: `dispute.${input.event}`,
    timestamp,
    data: {
      payload_type: "Dispute",
      dispute_id: input.disputeId ?? randomId("dsp"),
      payment_id: input.paymentId,
      business_id: businessId,
      // Dodo sends dispute amounts as strings.
      amount: input.amount.toString(),
      currency: input.currency ?? "USD",
      created_at: timestamp,
      dispute_stage: input.stage ?? "dispute",
      dispute_status: DISPUTE_EVENT_STATUS[input.event],
      is_resolved_by_rdr: null,
      remarks: null,
    },
  };
}

export interface SignedDelivery {
  webhookId: string;
  body: string;
  headers: Record<string, string>;
}

/** Serialises once and signs those exact bytes, as Dodo's sender does. */
export function signedDelivery(
  secret: string,
  event: Record<string, unknown>,
  options: { webhookId?: string; timestampSeconds?: number } = {},
): SignedDelivery {
  const webhookId = options.webhookId ?? randomId("msg");
  const body = JSON.stringify(event);
  const timestampSeconds = options.timestampSeconds ?? Math.floor(Date.now() / 1000);
  const signed = signWebhook({ secret, webhookId, timestampSeconds, body });
  return { webhookId, body, headers: { ...signed, "content-type": "application/json" } };
}

export function newDodoId(prefix: "pay" | "ref" | "dsp" | "msg" | "cks"): string {
  return randomId(prefix);
}
