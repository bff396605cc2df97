// Does a Dodo payment complete the checkout we started? Only when Dodo's checkout session id is the one we
// recorded, the amount and currency are the checkout's, and our metadata names the checkout's own
// organization. Pure; the webhook records every mismatch as the payment's review reason.

export type CheckoutMismatch =
  | "CHECKOUT_UNKNOWN"
  | "CHECKOUT_SESSION_MISMATCH"
  | "CHECKOUT_AMOUNT_MISMATCH"
  | "CHECKOUT_CURRENCY_MISMATCH"
  | "METADATA_ORGANIZATION_MISMATCH";

export interface RecordedCheckout {
  organizationId: string;
  /** The session id Dodo answered when we created the checkout (null: it never answered). */
  dodoSessionId: string | null;
  amountMinor: bigint;
  currency: string;
}

export interface PaymentAsReported {
  /** Dodo's `checkout_session_id` of the payment. */
  checkoutSessionId: string | null;
  totalAmount: bigint;
  /** Dodo's `tax` (the same currency), when it reports one: the checkout's price may be before tax. */
  tax: bigint | null;
  currency: string;
  /** The organization our metadata names, if any. */
  metadataOrganization: string | null;
}

/** Every way the payment differs from the checkout, in a fixed order; empty when it completes it. */
export function checkoutMismatches(checkout: RecordedCheckout, payment: PaymentAsReported): CheckoutMismatch[] {
  const found: CheckoutMismatch[] = [];
  if (checkout.dodoSessionId === null || payment.checkoutSessionId !== checkout.dodoSessionId) found.push("CHECKOUT_SESSION_MISMATCH");
  // A price before tax with the tax on top (total − tax) is the checkout's amount too.
  const amountMatches =
    payment.totalAmount === checkout.amountMinor || (payment.tax !== null && payment.tax > 0n && payment.totalAmount - payment.tax === checkout.amountMinor);
  if (!amountMatches) found.push("CHECKOUT_AMOUNT_MISMATCH");
  if (payment.currency !== checkout.currency) found.push("CHECKOUT_CURRENCY_MISMATCH");
  if (payment.metadataOrganization !== null && payment.metadataOrganization !== checkout.organizationId) {
    found.push("METADATA_ORGANIZATION_MISMATCH");
  }
  return found;
}

/** The review reason a payments row keeps: the mismatches, joined (bounded by the column's 200 characters). */
export function reviewReasonOf(mismatches: readonly CheckoutMismatch[]): string | null {
  return mismatches.length === 0 ? null : mismatches.join(",");
}
