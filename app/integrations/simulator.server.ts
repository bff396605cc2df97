// The local checkout simulator (no DODO_PAYMENTS_API_KEY): plays Dodo's hosted checkout and its later
// refund/dispute notifications by delivering correctly signed Standard Webhooks to our own endpoint.
import type { PrismaClient } from "~/generated/prisma/client";
import type { Env } from "~/utils/env.server";
import { getCheckoutByDodoSession } from "~/models/checkout.server";
import { findPaymentWithDisputes } from "~/models/payment-views.server";
import type { PaymentStatus } from "~/ledger/payment-state";
import { disputeEvent, newDodoId, paymentEvent, refundEvent, signedDelivery } from "./dodo-payloads.server";
import { STABLEFLOW_METADATA } from "./dodo-events";
import { getWebhookSecret, simulatorAllowed } from "./dodo.server";

export class SimulatorError extends Error {
  constructor(
    readonly code: "SIMULATOR_DISABLED" | "SIMULATOR_NOT_FOUND" | "SIMULATOR_INVALID" | "SIMULATOR_NOT_ALLOWED" | "SIMULATOR_DELIVERY_FAILED",
    message: string,
    readonly status: 400 | 404 | 409 | 502,
  ) {
    super(message);
    this.name = "SimulatorError";
  }
}

export type CheckoutOutcome = "pay" | "fail" | "cancel";

/**
 * What the hosted page still allows, by what the ledger holds for the checkout: before any result every
 * outcome; after a decline only paying with another card (a decline outranks a cancel in the payment's state
 * machine, so a cancel would change nothing); after a payment or a cancel nothing. Dodo's page behaves alike.
 */
export function checkoutOutcomesAllowed(status: PaymentStatus | null): { allowed: CheckoutOutcome[]; reason: string | null } {
  switch (status) {
    case null:
    case "processing":
      return { allowed: ["pay", "fail", "cancel"], reason: null };
    case "failed":
      return { allowed: ["pay"], reason: "The card was declined: you can pay with another card, or start again from the shop." };
    case "succeeded":
      return { allowed: [], reason: "This checkout is already paid: nothing more can be done on it." };
    case "cancelled":
      return { allowed: [], reason: "This checkout was cancelled: start a new one from the shop." };
  }
}

/** Refunds and disputes exist only for a payment that took money; a dispute opens once at a time. */
export function paymentActionsAllowed(payment: { status: PaymentStatus; totalAmountMinor: bigint; refundedAmountMinor: bigint; disputeOpen: boolean }) {
  const paid = payment.status === "succeeded";
  return {
    refund: paid && payment.totalAmountMinor > payment.refundedAmountMinor,
    disputeOpen: paid && !payment.disputeOpen,
    disputeResolve: paid && payment.disputeOpen,
  };
}

const isOpenDispute = (d: { status: string }) => d.status === "dispute_opened" || d.status === "dispute_challenged";

interface SimulatorDeps {
  prisma: PrismaClient;
  env: Env;
  /**
   * Our public origin (STABLEFLOW_PUBLIC_URL, or the server's own address in development; never the request's
   * Host header): deliveries go over HTTP to {origin}/api/webhooks/dodo, as Dodo's would.
   */
  origin: string;
}

function assertEnabled(env: Env): void {
  if (!simulatorAllowed(env)) {
    throw new SimulatorError("SIMULATOR_DISABLED", "The checkout simulator is off (a Dodo API key is configured, or this is production).", 404);
  }
}

async function deliver(deps: SimulatorDeps, event: Record<string, unknown>): Promise<void> {
  const secret = await getWebhookSecret(deps.env);
  const delivery = signedDelivery(secret, event);
  let status: number;
  try {
    const response = await fetch(new URL("/api/webhooks/dodo", deps.origin), {
      method: "POST",
      headers: { ...delivery.headers, "user-agent": "StableFlow-Checkout-Simulator" },
      body: delivery.body,
    });
    status = response.status;
    await response.body?.cancel();
  } catch {
    throw new SimulatorError("SIMULATOR_DELIVERY_FAILED", "The simulator could not reach the webhook endpoint.", 502);
  }
  if (status !== 200) {
    throw new SimulatorError("SIMULATOR_DELIVERY_FAILED", `The webhook endpoint answered HTTP ${status}.`, 502);
  }
}

export async function simulatorCheckout(deps: Pick<SimulatorDeps, "prisma" | "env">, dodoSessionId: string) {
  assertEnabled(deps.env);
  const checkout = await getCheckoutByDodoSession(deps.prisma, dodoSessionId);
  if (!checkout) throw new SimulatorError("SIMULATOR_NOT_FOUND", "No such checkout session.", 404);
  return checkout;
}

/** The customer pays, is declined or gives up on the hosted page; returns where Dodo would send them. */
export async function completeSimulatedCheckout(deps: SimulatorDeps, dodoSessionId: string, outcome: CheckoutOutcome): Promise<string> {
  const checkout = await simulatorCheckout(deps, dodoSessionId);
  const { allowed, reason } = checkoutOutcomesAllowed(checkout.payment?.status ?? null);
  if (!allowed.includes(outcome)) {
    throw new SimulatorError("SIMULATOR_NOT_ALLOWED", reason ?? "That is not possible on this checkout.", 409);
  }
  const paymentId = checkout.payment?.dodoPaymentId ?? newDodoId("pay");
  const base = {
    paymentId,
    totalAmount: checkout.amountMinor,
    currency: checkout.currency,
    settlementAmount: checkout.amountMinor,
    settlementCurrency: checkout.currency,
    customerEmail: checkout.customerEmail,
    customerName: checkout.customerName,
    checkoutSessionId: dodoSessionId,
    metadata: { [STABLEFLOW_METADATA.checkoutId]: checkout.id, [STABLEFLOW_METADATA.organization]: checkout.organizationId },
  };
  const start = Date.now();
  await deliver(deps, paymentEvent({ ...base, status: "processing", timestamp: new Date(start).toISOString() }));
  const final = outcome === "pay" ? "succeeded" : outcome === "fail" ? "failed" : "cancelled";
  await deliver(deps, paymentEvent({ ...base, status: final, timestamp: new Date(start + 1).toISOString() }));
  const returnUrl = new URL("/checkout/success", deps.origin);
  returnUrl.searchParams.set("checkout", checkout.id);
  returnUrl.searchParams.set("payment_id", paymentId);
  returnUrl.searchParams.set("status", final);
  return returnUrl.pathname + returnUrl.search;
}

/** Dodo's refund notification for a recorded payment; the amount defaults to what is left to refund. */
export async function simulateRefund(deps: SimulatorDeps, dodoPaymentId: string, amountMinor?: bigint): Promise<void> {
  assertEnabled(deps.env);
  const payment = await findPaymentWithDisputes(deps.prisma, dodoPaymentId);
  if (!payment) throw new SimulatorError("SIMULATOR_NOT_FOUND", "No such payment.", 404);
  if (payment.status !== "succeeded") {
    throw new SimulatorError("SIMULATOR_NOT_ALLOWED", `Payment ${dodoPaymentId} is ${payment.status}: only a succeeded payment can be refunded.`, 409);
  }
  const left = payment.totalAmountMinor - payment.refundedAmountMinor;
  const amount = amountMinor ?? left;
  if (amount <= 0n || amount > left) throw new SimulatorError("SIMULATOR_INVALID", "Nothing (or not that much) is left to refund.", 400);
  await deliver(deps, refundEvent({ paymentId: dodoPaymentId, status: "succeeded", amount, currency: payment.currency }));
}

export type SimulatedDisputeStep = "opened" | "won" | "lost";

/** Opens a dispute, or resolves the payment's latest open one. */
export async function simulateDispute(deps: SimulatorDeps, dodoPaymentId: string, step: SimulatedDisputeStep): Promise<void> {
  assertEnabled(deps.env);
  const payment = await findPaymentWithDisputes(deps.prisma, dodoPaymentId);
  if (!payment) throw new SimulatorError("SIMULATOR_NOT_FOUND", "No such payment.", 404);
  if (payment.status !== "succeeded") {
    throw new SimulatorError("SIMULATOR_NOT_ALLOWED", `Payment ${dodoPaymentId} is ${payment.status}: only a succeeded payment can be disputed.`, 409);
  }
  const open = payment.disputes.find(isOpenDispute);
  if (step === "opened" && open) throw new SimulatorError("SIMULATOR_NOT_ALLOWED", "This payment already has an open dispute: resolve it first.", 409);
  if (step !== "opened" && !open) throw new SimulatorError("SIMULATOR_INVALID", "There is no open dispute to resolve.", 400);
  await deliver(
    deps,
    disputeEvent({
      paymentId: dodoPaymentId,
      disputeId: step === "opened" ? undefined : open!.dodoDisputeId,
      event: step,
      stage: "dispute",
      amount: payment.totalAmountMinor,
      currency: payment.currency,
    }),
  );
}
