// One visible identifier scheme for every page, table, export and log line people read: a payment is Dodo's
// id with our short id ("pay_2xk… · #1a2b3c4d"), so an operator can match the console, the ledger, the audit
// trail and Dodo's dashboard. Shared by server and browser code; other pages import these, never re-derive.

/** Our short id: the first 8 hex digits of a row's uuid (what the ledger shows for runs, batches, checkouts). */
export function shortId(uuid: string): string {
  return uuid.replace(/-/g, "").slice(0, 8);
}

/** A payment as people see it: Dodo's payment id with our short id. */
export function paymentLabel(payment: { dodoPaymentId: string; id: string }): string {
  return `${payment.dodoPaymentId} · #${shortId(payment.id)}`;
}

const ENTITY_WORDS: Record<string, string> = {
  payment: "payment",
  payout_run: "payout run",
  checkout_session: "checkout",
  payout_policy_version: "policy version",
  payout_window: "payout window",
  operator: "operator",
  refund: "refund",
  dispute: "dispute",
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * An audit row's subject in the same scheme: a payment by its label (when its Dodo id is known), our own rows
 * by their short id, Dodo's refunds and disputes by Dodo's id.
 */
export function entityLabel(entityType: string, entityId: string, dodoPaymentId?: string | null): string {
  const word = ENTITY_WORDS[entityType] ?? entityType.replace(/_/g, " ");
  if (entityType === "payment" && dodoPaymentId && UUID.test(entityId)) return `${word} ${paymentLabel({ dodoPaymentId, id: entityId })}`;
  return `${word} ${UUID.test(entityId) ? `#${shortId(entityId)}` : entityId.slice(0, 40)}`;
}
