// Dodo webhook payloads in the shapes Dodo really sends, typed against the `dodopayments` SDK's own types
// (Payment, Refund, Dispute and their webhook events), so a field the SDK renames or retypes breaks this
// fixture at compile time. The variants the SDK's types allow and our parser must take: nullable refund
// amount and currency with `is_partial`, a dispute amount as the SDK's string or as the JSON number Dodo's
// CLI sends, a dispute currency as any string, nullable payment fields, adaptive pricing (charged in one
// currency, settled in another). `signed` signs exactly the bytes it returns, as Dodo's sender does.
import { randomBytes } from "node:crypto";
import type { Dispute, Payment, Refund, UnwrapWebhookEvent } from "dodopayments/resources";
import { signWebhook } from "../../app/integrations/webhook-verification.server";

export type DodoEventType = UnwrapWebhookEvent["type"];

export function dodoId(prefix: "pay" | "ref" | "dsp" | "msg" | "cks" | "cus"): string {
  return `${prefix}_${randomBytes(10).toString("base64url")}`;
}

/** Dodo sends amounts as JSON numbers; the fixture takes bigints and refuses what a double cannot hold. */
export function jsonAmount(amount: bigint): number {
  if (amount < 0n || amount > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`amount ${amount} is not JSON-safe`);
  return Number(amount);
}

export interface PaymentShape {
  paymentId?: string;
  status?: "succeeded" | "failed" | "cancelled" | "processing";
  totalAmount: bigint;
  currency?: Payment["currency"];
  /** Absent: settled in the charge currency, for the charged amount. Null: Dodo reported no settlement. */
  settlementAmount?: bigint | null;
  settlementCurrency?: Payment["settlement_currency"] | null;
  tax?: bigint | null;
  checkoutSessionId?: string | null;
  metadata?: Payment["metadata"] | null;
  createdAt?: string;
}

/** `data` of a payment.* event: the SDK's Payment, with the nullable fields Dodo leaves null in practice. */
export function dodoPayment(shape: PaymentShape): Payment {
  const currency = shape.currency ?? "USD";
  const createdAt = shape.createdAt ?? new Date().toISOString();
  const payment: Payment = {
    billing: { country: "US", city: null, state: null, street: null, zipcode: null },
    brand_id: "bus_fixture",
    business_id: "bus_fixture",
    created_at: createdAt,
    currency,
    customer: { customer_id: "cus_fixture", email: "customer@example.com", name: "Fixture Customer" },
    digital_products_delivered: false,
    disputes: [],
    is_multi_subscription: false,
    is_update_payment_method: false,
    metadata: shape.metadata ?? {},
    payment_id: shape.paymentId ?? dodoId("pay"),
    payment_provider: "dodo",
    refunds: [],
    retry_attempt: 0,
    settlement_amount: jsonAmount(shape.settlementAmount ?? shape.totalAmount),
    settlement_currency: shape.settlementCurrency ?? currency,
    subscription_ids: [],
    total_amount: jsonAmount(shape.totalAmount),
    card_last_four: null,
    card_network: null,
    card_type: null,
    checkout_session_id: shape.checkoutSessionId ?? null,
    discount_id: null,
    error_code: shape.status === "failed" ? "CARD_DECLINED" : null,
    error_message: null,
    payment_link: null,
    payment_method: "card",
    payment_method_type: null,
    product_cart: null,
    settlement_tax: null,
    status: shape.status ?? "succeeded",
    subscription_id: null,
    tax: shape.tax === undefined || shape.tax === null ? null : jsonAmount(shape.tax),
    updated_at: null,
  };
  const loose = payment as unknown as Record<string, unknown>;
  // The SDK types settlement as required; Dodo's own payloads (and a processing payment) can omit it.
  if (shape.settlementAmount === null) delete loose.settlement_amount;
  if (shape.settlementCurrency === null) delete loose.settlement_currency;
  if (shape.metadata === null) loose.metadata = null;
  return payment;
}

export interface RefundShape {
  refundId?: string;
  paymentId: string;
  status?: Refund["status"];
  /** Null: Dodo did not report it (its schema allows it). */
  amount: bigint | null;
  currency?: Refund["currency"];
  isPartial: boolean;
  createdAt?: string;
}

export function dodoRefund(shape: RefundShape): Refund {
  return {
    brand_id: "bus_fixture",
    business_id: "bus_fixture",
    created_at: shape.createdAt ?? new Date().toISOString(),
    customer: { customer_id: "cus_fixture", email: "customer@example.com", name: "Fixture Customer" },
    is_partial: shape.isPartial,
    metadata: {},
    payment_id: shape.paymentId,
    refund_id: shape.refundId ?? dodoId("ref"),
    status: shape.status ?? "succeeded",
    amount: shape.amount === null ? null : jsonAmount(shape.amount),
    currency: shape.currency === undefined ? "USD" : shape.currency,
    reason: "requested_by_customer",
  };
}

export interface DisputeShape {
  disputeId?: string;
  paymentId: string;
  status: Dispute["dispute_status"];
  stage?: Dispute["dispute_stage"];
  amount: bigint;
  /** "sdk": the SDK's string ("400"); "cli": the JSON number Dodo's CLI sends (400); "decimal": "400.00". */
  amountAs?: "sdk" | "cli" | "decimal";
  /** Any string, as the SDK types it. */
  currency?: string;
  createdAt?: string;
}

export function dodoDispute(shape: DisputeShape): Dispute {
  const as = shape.amountAs ?? "sdk";
  const amount = as === "cli" ? jsonAmount(shape.amount) : as === "decimal" ? `${shape.amount}.00` : shape.amount.toString();
  return {
    // The CLI's number goes where the SDK says string: the wire is what Dodo sends, not what the type says.
    amount: amount as string,
    business_id: "bus_fixture",
    created_at: shape.createdAt ?? new Date().toISOString(),
    currency: shape.currency ?? "USD",
    dispute_id: shape.disputeId ?? dodoId("dsp"),
    dispute_stage: shape.stage ?? "dispute",
    dispute_status: shape.status,
    payment_id: shape.paymentId,
    is_resolved_by_rdr: null,
    remarks: null,
  };
}

/** The event envelope, typed as the SDK's webhook event of that type. */
export function dodoEvent<T extends DodoEventType>(
  type: T,
  data: Extract<UnwrapWebhookEvent, { type: T }>["data"],
  timestamp: string = new Date().toISOString(),
): Extract<UnwrapWebhookEvent, { type: T }> {
  return { business_id: "bus_fixture", type, timestamp, data } as Extract<UnwrapWebhookEvent, { type: T }>;
}

/** The dispute event of a dispute's status (dispute_won -> dispute.won). */
export function disputeEventOf(dispute: Dispute, timestamp?: string) {
  const type = `dispute.${dispute.dispute_status.replace(/^dispute_/, "")}` as Extract<DodoEventType, `dispute.${string}`>;
  return dodoEvent(type, dispute, timestamp);
}

export interface SignedBody {
  webhookId: string;
  body: string;
  headers: Record<string, string>;
}

/** Serialises once and signs those exact bytes (Standard Webhooks, as Dodo signs them). */
export function signed(secret: string, event: unknown, options: { webhookId?: string; timestampSeconds?: number } = {}): SignedBody {
  const webhookId = options.webhookId ?? dodoId("msg");
  const body = JSON.stringify(event);
  const timestampSeconds = options.timestampSeconds ?? Math.floor(Date.now() / 1000);
  return { webhookId, body, headers: { ...signWebhook({ secret, webhookId, timestampSeconds, body }), "content-type": "application/json" } };
}
