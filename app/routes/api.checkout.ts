// POST /api/checkout: validate the customer's choice, start a Dodo hosted checkout, send the browser there.
// Forms get redirects (to Dodo, or back to the shop with the fields to correct); JSON callers get JSON.
// The body is bounded by the server before this runs (app/utils/body-limits.server.ts).
import { redirect, type ActionFunctionArgs } from "@remix-run/node";
import { attemptCheckout, shopSlugOf } from "~/models/checkout-request.server";
import { getEnv } from "~/utils/env.server";
import { publicOrigin } from "~/utils/public-url.server";

function wantsJson(request: Request): boolean {
  return (request.headers.get("content-type") ?? "").toLowerCase().startsWith("application/json");
}

function shopUrl(slug: string, code: string, fields: string[] = []): string {
  const query = new URLSearchParams({ org: slug, checkout_error: code });
  if (fields.length > 0) query.set("fields", fields.join(","));
  return `/shop?${query}`;
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
      ? Response.json({ error: "CHECKOUT_INVALID_INPUT", message: "The request body is not a JSON object of checkout fields." }, { status: 400 })
      : redirect(shopUrl("default", "CHECKOUT_INVALID_INPUT"), 303);
  }
  // The configured origin, never the Host header: Dodo sends the payer back to it after a real payment.
  const attempt = await attemptCheckout(fields, publicOrigin(getEnv(), context));
  if (attempt.ok) {
    return json
      ? Response.json({ checkoutId: attempt.checkoutId, checkoutUrl: attempt.checkoutUrl }, { status: 201 })
      : redirect(attempt.checkoutUrl, 303);
  }
  return json
    ? Response.json(
        { error: attempt.code, message: attempt.message, fieldErrors: attempt.fieldErrors, checkoutId: attempt.checkoutId },
        { status: attempt.status },
      )
    : redirect(shopUrl(shopSlugOf(fields), attempt.code, Object.keys(attempt.fieldErrors)), 303);
}

export async function loader() {
  return redirect("/shop");
}
