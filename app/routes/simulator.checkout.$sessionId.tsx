// The simulator's stand-in for Dodo's hosted checkout page: pay, be declined, or cancel.
import { data, redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, useActionData, useLoaderData } from "@remix-run/react";
import {
  SimulatorError,
  checkoutOutcomesAllowed,
  completeSimulatedCheckout,
  simulatorCheckout,
  type CheckoutOutcome,
} from "~/integrations/simulator.server";
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
        // Only the buttons the checkout's state allows (the action refuses the others with the same sentence).
        ...checkoutOutcomesAllowed(checkout.payment?.status ?? null),
        resultUrl: checkout.payment ? `/checkout/success?checkout=${checkout.id}` : null,
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
const OUTCOME_LABELS: Record<CheckoutOutcome, string> = { pay: "Pay (test card succeeds)", fail: "Card declined", cancel: "Cancel" };

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
  if (!OUTCOMES.has(outcome as CheckoutOutcome)) return data({ error: "Choose pay, decline or cancel." }, { status: 400 });
  try {
    const to = await completeSimulatedCheckout(
      { prisma: await getPrisma(), env, origin },
      params.sessionId ?? "",
      outcome as CheckoutOutcome,
    );
    return redirect(to, 303);
  } catch (error) {
    if (error instanceof SimulatorError) return data({ error: error.message }, { status: error.status });
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
        {page.reason && (
          <p className={page.allowed.length === 0 ? "ok" : "bad"} data-testid="checkout-state">
            {page.reason}
          </p>
        )}
        {page.resultUrl && (
          <p>
            <a href={page.resultUrl}>See the payment's result</a>
          </p>
        )}
      </div>
      {result?.error && (
        <p className="card bad" role="alert">
          {result.error}
        </p>
      )}
      {page.allowed.length > 0 ? (
        <Form method="post" reloadDocument>
          <input type="hidden" name={CSRF_FIELD} value={page.csrf} />
          {page.allowed.map((outcome) => (
            <span key={outcome}>
              <button type="submit" name="outcome" value={outcome} className={outcome === "pay" ? undefined : "secondary"}>
                {OUTCOME_LABELS[outcome]}
              </button>{" "}
            </span>
          ))}
        </Form>
      ) : (
        <p>
          <a href="/shop">Back to the shop</a>
        </p>
      )}
    </main>
  );
}
