// The simulator's stand-in for Dodo's hosted checkout page: pay, be declined, or cancel.
import { data, redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, useActionData, useLoaderData } from "@remix-run/react";
import { SimulatorError, completeSimulatedCheckout, simulatorCheckout, type CheckoutOutcome } from "~/integrations/simulator.server";
import { formatPrice } from "~/models/products.server";
import { getPrisma } from "~/utils/db.server";
import { CSRF_FIELD } from "~/utils/csrf";
import { CsrfError, issueCsrfToken, verifyCsrf } from "~/utils/csrf.server";
import { getEnv } from "~/utils/env.server";
import { publicOrigin } from "~/utils/public-url.server";

export const meta: MetaFunction = () => [{ title: "Checkout (simulator) · StableFlow" }];

export async function loader({ request, params }: LoaderFunctionArgs) {
  try {
    const env = getEnv();
    const checkout = await simulatorCheckout({ prisma: await getPrisma(), env }, params.sessionId ?? "");
    const csrf = issueCsrfToken(request, env);
    return data(
      {
        sessionId: params.sessionId ?? "",
        product: checkout.productName ?? "Order",
        quantity: checkout.quantity,
        amount: formatPrice(checkout.amountMinor, checkout.currency),
        email: checkout.customerEmail,
        alreadyPaid: checkout.payment?.status === "succeeded",
        csrf: csrf.token,
      },
      csrf.setCookie ? { headers: { "Set-Cookie": csrf.setCookie } } : undefined,
    );
  } catch (error) {
    if (error instanceof SimulatorError) throw new Response(error.message, { status: error.status });
    throw error;
  }
}

const OUTCOMES = new Set<CheckoutOutcome>(["pay", "fail", "cancel"]);

export async function action({ request, params, context }: ActionFunctionArgs) {
  const env = getEnv();
  const origin = publicOrigin(env, context);
  const form = await request.formData();
  try {
    // Paying sends signed webhooks that record money: only from this site's own page, never a cross-site post.
    verifyCsrf(request, form, env, origin);
  } catch (error) {
    if (error instanceof CsrfError) return data({ error: error.message }, { status: error.status });
    throw error;
  }
  const outcome = String(form.get("outcome") ?? "");
  if (!OUTCOMES.has(outcome as CheckoutOutcome)) return { error: "Choose pay, fail or cancel." };
  try {
    const to = await completeSimulatedCheckout(
      { prisma: await getPrisma(), env, origin },
      params.sessionId ?? "",
      outcome as CheckoutOutcome,
    );
    return redirect(to, 303);
  } catch (error) {
    if (error instanceof SimulatorError) return { error: error.message };
    throw error;
  }
}

export default function SimulatedCheckout() {
  const page = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  return (
    <main className="page">
      <p className="banner" role="status">
        Checkout simulator: this page stands in for Dodo Payments' hosted checkout. No card is charged and no real money
        moves. Each button sends a signed Standard Webhook, shaped like Dodo's, to this server's /api/webhooks/dodo.
      </p>
      <h1>Pay {page.amount}</h1>
      <div className="card">
        <p>
          {page.product} × {page.quantity} for <code>{page.email}</code>
        </p>
        <p className="muted">Session {page.sessionId}</p>
        {page.alreadyPaid && <p className="ok">This checkout is already paid.</p>}
      </div>
      {result?.error && (
        <p className="card bad" role="alert">
          {result.error}
        </p>
      )}
      <Form method="post" reloadDocument>
        <input type="hidden" name={CSRF_FIELD} value={page.csrf} />
        <button type="submit" name="outcome" value="pay">
          Pay (test card succeeds)
        </button>{" "}
        <button type="submit" name="outcome" value="fail" className="secondary">
          Card declined
        </button>{" "}
        <button type="submit" name="outcome" value="cancel" className="secondary">
          Cancel
        </button>
      </Form>
    </main>
  );
}
