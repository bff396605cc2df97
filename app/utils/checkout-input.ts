// The customer's checkout fields: one zod schema for the shop's form and for POST /api/checkout, with one
// sentence per field that names the real limit (shown beside the field, and in the JSON answer).
import { z } from "zod";
import { CHECKOUT_FIELD_MESSAGES, CHECKOUT_LIMITS, isCheckoutField, type CheckoutFieldErrors } from "./checkout-fields";

export { CHECKOUT_FIELD_MESSAGES, CHECKOUT_LIMITS, isCheckoutField, type CheckoutField, type CheckoutFieldErrors } from "./checkout-fields";

const quantityError = { error: CHECKOUT_FIELD_MESSAGES.quantity };
const emailError = { error: CHECKOUT_FIELD_MESSAGES.customerEmail };
const nameError = { error: CHECKOUT_FIELD_MESSAGES.customerName };

export const checkoutInputSchema = z.object({
  organizationId: z.uuid(),
  productId: z.uuid({ error: CHECKOUT_FIELD_MESSAGES.productId }),
  quantity: z.coerce.number(quantityError).int(quantityError).min(1, quantityError).max(CHECKOUT_LIMITS.quantityMax, quantityError).default(1),
  customerEmail: z.email(emailError).max(CHECKOUT_LIMITS.emailMax, emailError),
  customerName: z.string(nameError).trim().min(1, nameError).max(CHECKOUT_LIMITS.nameMax, nameError),
});

/** The customer's fields, checked: the input, or each wrong field with its sentence. */
export function parseCheckoutInput(
  fields: Record<string, unknown>,
  organizationId: string,
): { ok: true; input: CheckoutInput } | { ok: false; fieldErrors: CheckoutFieldErrors; message: string } {
  const parsed = checkoutInputSchema.safeParse({ ...fields, organizationId });
  if (parsed.success) return { ok: true, input: parsed.data };
  const fieldErrors: CheckoutFieldErrors = {};
  for (const issue of parsed.error.issues) {
    const field = String(issue.path[0] ?? "");
    if (isCheckoutField(field)) fieldErrors[field] ??= CHECKOUT_FIELD_MESSAGES[field];
  }
  const message = Object.values(fieldErrors).join(" ") || "The checkout request is not valid.";
  return { ok: false, fieldErrors, message };
}

export type CheckoutInput = z.infer<typeof checkoutInputSchema>;
