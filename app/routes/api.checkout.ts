// POST /api/checkout: validate the customer's choice, start a Dodo hosted checkout, send the browser there.
// Forms get redirects (to Dodo, or back to the shop with a message); JSON callers get JSON.
import { redirect, type ActionFunctionArgs } from "@remix-run/node";
import { getDodoConnection } from "~/integrations/dodo.server";
import { CheckoutError, checkoutInputSchema, startCheckout } from "~/models/checkout.server";
import { findOrganizationBySlug } from "~/models/products.server";
import { getPrisma } from "~/utils/db.server";
import { getEnv } from "~/utils/env.server";
import { publicOrigin } from "~/utils/public-url.server";
import { log } from "~/utils/log.server";

function wantsJson(request: Request): boolean {
  return (request.headers.get("content-type") ?? "").toLowerCase().startsWith("application/json");
}

function shopUrl(slug: string, code: string): string {
  return `/shop?org=${encodeURIComponent(slug)}&checkout_error=${encodeURIComponent(code)}`;
}

export async function action({ request, context }: ActionFunctionArgs) {
  if (request.method !== "POST") return Response.json({ error: "method not allowed" }, { status: 405, headers: { allow: "POST" } });
  const json = wantsJson(request);
  let fields: Record<string, unknown>;
  try {
    fields = json ? ((await request.json()) as Record<string, unknown>) : Object.fromEntries(await request.formData());
    if (!fields || typeof fields !== "object" || Array.isArray(fields)) throw new TypeError("not an object");
  } catch {
    return json
      ? Response.json({ error: "CHECKOUT_INVALID_INPUT", message: "The request body could not be read." }, { status: 400 })
      : redirect(shopUrl("default", "CHECKOUT_INVALID_INPUT"), 303);
  }
  const slug = typeof fields.org === "string" && /^[a-z0-9-]{1,64}$/.test(fields.org) ? fields.org : "default";

  try {
    const prisma = await getPrisma();
    const organization = await findOrganizationBySlug(prisma, slug);
    if (!organization) throw new CheckoutError("CHECKOUT_PRODUCT_NOT_FOUND", "This shop does not exist.", 404);
    const parsed = checkoutInputSchema.safeParse({ ...fields, organizationId: organization.id });
    if (!parsed.success) {
      const message = parsed.error.issues.map((i) => i.message).join("; ");
      throw new CheckoutError("CHECKOUT_INVALID_INPUT", message, 422);
    }
    const env = getEnv();
    const dodo = await getDodoConnection(env);
    // The configured origin, never the Host header: Dodo sends the payer back to it after a real payment.
    const started = await startCheckout({ prisma, dodo }, parsed.data, publicOrigin(env, context));
    return json
      ? Response.json({ checkoutId: started.checkoutId, checkoutUrl: started.checkoutUrl }, { status: 201 })
      : redirect(started.checkoutUrl, 303);
  } catch (error) {
    if (error instanceof CheckoutError) {
      return json
        ? Response.json({ error: error.code, message: error.customerMessage, checkoutId: error.checkoutId ?? null }, { status: error.status })
        : redirect(shopUrl(slug, error.code), 303);
    }
    // Never a 500 page for a customer: log the fault, send them back with a plain message.
    log.error("checkout failed", { error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
    return json
      ? Response.json({ error: "CHECKOUT_UNAVAILABLE", message: "Checkout is unavailable right now; please try again." }, { status: 503 })
      : redirect(shopUrl(slug, "CHECKOUT_UNAVAILABLE"), 303);
  }
}

export async function loader() {
  return redirect("/shop");
}
