// One customer checkout request, from raw fields to an outcome, for both doors that take it: the shop's own
// form (field errors shown beside the fields) and POST /api/checkout (JSON callers, and plain form posts).
import { getDodoConnection } from "~/integrations/dodo.server";
import { getPrisma } from "~/utils/db.server";
import { getEnv } from "~/utils/env.server";
import { describeError, log } from "~/utils/log.server";
import { parseCheckoutInput, type CheckoutFieldErrors } from "~/utils/checkout-input";
import { CheckoutError, startCheckout, type CheckoutErrorCode } from "./checkout.server";
import { findOrganizationBySlug } from "./products.server";

export type CheckoutAttempt =
  | { ok: true; checkoutId: string; checkoutUrl: string }
  | {
      ok: false;
      code: CheckoutErrorCode | "CHECKOUT_UNAVAILABLE";
      status: 400 | 404 | 422 | 502 | 503;
      message: string;
      fieldErrors: CheckoutFieldErrors;
      checkoutId: string | null;
    };

export function shopSlugOf(fields: Record<string, unknown>): string {
  return typeof fields.org === "string" && /^[a-z0-9-]{1,64}$/.test(fields.org) ? fields.org : "default";
}

/** Validates, then starts the hosted checkout; never throws for anything a customer or the provider can cause. */
export async function attemptCheckout(fields: Record<string, unknown>, origin: string): Promise<CheckoutAttempt> {
  try {
    const prisma = await getPrisma();
    const organization = await findOrganizationBySlug(prisma, shopSlugOf(fields));
    if (!organization) throw new CheckoutError("CHECKOUT_PRODUCT_NOT_FOUND", "This shop does not exist.", 404);
    const parsed = parseCheckoutInput(fields, organization.id);
    if (!parsed.ok) throw new CheckoutError("CHECKOUT_INVALID_INPUT", parsed.message, 422, undefined, parsed.fieldErrors);
    const dodo = await getDodoConnection(getEnv());
    const started = await startCheckout({ prisma, dodo }, parsed.input, origin);
    return { ok: true, checkoutId: started.checkoutId, checkoutUrl: started.checkoutUrl };
  } catch (error) {
    if (error instanceof CheckoutError) {
      return {
        ok: false,
        code: error.code,
        status: error.status,
        message: error.customerMessage,
        fieldErrors: error.fieldErrors ?? {},
        checkoutId: error.checkoutId ?? null,
      };
    }
    // Never a 500 page for a customer: log what failed, answer with a plain sentence.
    log.error("checkout failed", { error: describeError(error) });
    return {
      ok: false,
      code: "CHECKOUT_UNAVAILABLE",
      status: 503,
      message: "Checkout is unavailable right now; please try again in a minute.",
      fieldErrors: {},
      checkoutId: null,
    };
  }
}
