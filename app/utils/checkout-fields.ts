// The checkout form's limits and its one sentence per field, without zod, so the shop's browser bundle does
// not carry the schema (app/utils/checkout-input.ts) that reports them.

/** What a customer may buy at once, and how long a name and an address may be: the form and the server agree. */
export const CHECKOUT_LIMITS = { quantityMax: 20, nameMax: 200, emailMax: 320 } as const;

/**
 * One sentence per field, naming the real limit: the schema reports them, the JSON answer carries them, and the
 * shop shows them beside the field (also when a plain form post to /api/checkout is sent back to the shop).
 */
export const CHECKOUT_FIELD_MESSAGES = {
  productId: "Choose a product from the shop.",
  quantity: `Choose a quantity from 1 to ${CHECKOUT_LIMITS.quantityMax}.`,
  customerEmail: `Enter a valid email address (like name@example.com), at most ${CHECKOUT_LIMITS.emailMax} characters.`,
  customerName: `Enter your name, at most ${CHECKOUT_LIMITS.nameMax} characters.`,
} as const;

export type CheckoutField = keyof typeof CHECKOUT_FIELD_MESSAGES;
export type CheckoutFieldErrors = Partial<Record<CheckoutField, string>>;

export function isCheckoutField(name: string): name is CheckoutField {
  return Object.hasOwn(CHECKOUT_FIELD_MESSAGES, name);
}

