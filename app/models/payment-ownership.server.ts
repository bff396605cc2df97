// Whose payment is it? A delivery names our checkout in its metadata (or by Dodo's checkout session id);
// the payment then belongs to the organization that checkout belongs to, and completes it only when it
// matches (app/ledger/checkout-match.ts). Metadata alone never chooses an organization: a payment that
// names no checkout of ours (a Dodo payment link, a subscription renewal) belongs to the endpoint's.
import { checkoutMismatches, reviewReasonOf, type CheckoutMismatch } from "~/ledger/checkout-match";
import { stableflowLinkFromMetadata, type DodoWebhookEvent } from "~/integrations/dodo-events";
import { sql, type SqlQueryable } from "~/utils/sql.server";

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface Ownership {
  organizationId: string;
  /** Our checkout the payment is linked to (also when it does not match it). */
  checkoutSessionId: string | null;
  /** Why the payment needs an operator's review (its checkout does not match), or null. */
  reviewReason: string | null;
  /** The payment completes its checkout (linked, and every check passed). */
  completesCheckout: boolean;
}

interface CheckoutRow {
  id: string;
  organization_id: string;
  dodo_session_id: string | null;
  amount_minor: string;
  currency: string;
}

/**
 * The organization, checkout and review verdict of a delivery, read OUTSIDE the delivery's write (one
 * statement at most, none for a payment that names no checkout: the common case of the hot path).
 */
export async function resolveOwnership(db: SqlQueryable, event: DodoWebhookEvent, defaultOrganization: string): Promise<Ownership> {
  const none: Ownership = { organizationId: defaultOrganization, checkoutSessionId: null, reviewReason: null, completesCheckout: false };
  if (event.kind !== "payment" && event.kind !== "refund") return none;
  const link = stableflowLinkFromMetadata(event.data.metadata);
  const dodoSessionId = event.kind === "payment" ? (event.data.checkout_session_id ?? null) : null;
  let checkout: CheckoutRow | undefined;
  if (link.checkoutId && UUID_PATTERN.test(link.checkoutId)) {
    [checkout] = await db.query<CheckoutRow>(sql`
      SELECT id, organization_id, dodo_session_id, amount_minor::text AS amount_minor, currency
      FROM checkout_sessions WHERE id = ${link.checkoutId}::uuid`);
    if (!checkout) {
      // It claims a checkout of ours that does not exist: the endpoint's, and an operator looks at it.
      const unknown: CheckoutMismatch[] = ["CHECKOUT_UNKNOWN"];
      return { ...none, reviewReason: event.kind === "payment" ? reviewReasonOf(unknown) : null };
    }
  } else if (link.checkoutId) {
    return { ...none, reviewReason: event.kind === "payment" ? reviewReasonOf(["CHECKOUT_UNKNOWN"]) : null };
  } else if (dodoSessionId) {
    [checkout] = await db.query<CheckoutRow>(sql`
      SELECT id, organization_id, dodo_session_id, amount_minor::text AS amount_minor, currency
      FROM checkout_sessions WHERE dodo_session_id = ${dodoSessionId}`);
  }
  if (!checkout) return none;
  const owned = { organizationId: checkout.organization_id, checkoutSessionId: checkout.id };
  if (event.kind !== "payment") return { ...owned, reviewReason: null, completesCheckout: false };
  const mismatches = checkoutMismatches(
    { organizationId: checkout.organization_id, dodoSessionId: checkout.dodo_session_id, amountMinor: BigInt(checkout.amount_minor), currency: checkout.currency },
    {
      checkoutSessionId: dodoSessionId,
      totalAmount: event.data.total_amount,
      tax: event.data.tax ?? null,
      currency: event.data.currency,
      metadataOrganization: link.organization,
    },
  );
  return { ...owned, reviewReason: reviewReasonOf(mismatches), completesCheckout: mismatches.length === 0 };
}
