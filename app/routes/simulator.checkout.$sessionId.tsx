// The simulator's stand-in for Dodo's hosted checkout page: pay, be declined, or cancel.
import { redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, useActionData, useLoaderData } from "@remix-run/react";
import { SimulatorError, completeSimulatedCheckout, simulatorCheckout, type CheckoutOutcome } from "~/integrations/simulator.server";
import { formatPrice } from "~/models/products.server";
import { getPrisma } from "~/utils/db.server";
import { getEnv } from "~/utils/env.server";

export const meta: MetaFunction = () => [{ title: "Checkout (simulator) · StableFlow" }];

export async function loader({ params }: LoaderFunctionArgs) {
  try {
    const checkout = await simulatorCheckout({ prisma: await getPrisma(), env: getEnv() }, params.sessionId ?? "");
    return {
      sessionId: params.sessionId ?? "",
      product: checkout.productName ?? "Order",
      quantity: checkout.quantity,
      amount: formatPrice(checkout.amountMinor, checkout.currency),
      email: checkout.customerEmail,
      alreadyPaid: checkout.payment?.status === "succeeded",
    };
  } catch (error) {
    if (error instanceof SimulatorError) throw new Response(error.message, { status: error.status });
    throw error;
  }
}

const OUTCOMES = new Set<CheckoutOutcome>(["pay", "fail", "cancel"]);

export async function action({ request, params }: ActionFunctionArgs) {
  const outcome = String((await request.formData()).get("outcome") ?? "");
  if (!OUTCOMES.has(outcome as CheckoutOutcome)) return { error: "Choose pay, fail or cancel." };
  try {
    const to = await completeSimulatedCheckout(
      { prisma: await getPrisma(), env: getEnv(), origin: new URL(request.url).origin },
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
  const data = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  return (
    <main className="page">
      <p className="banner" role="status">
        Checkout simulator: this page stands in for Dodo Payments' hosted checkout. No card is charged and no real money
        moves. Each button sends a signed Standard Webhook, shaped like Dodo's, to this server's /api/webhooks/dodo.
      </p>
      <h1>Pay {data.amount}</h1>
      <div className="card">
        <p>
          {data.product} × {data.quantity} for <code>{data.email}</code>
        </p>
        <p className="muted">Session {data.sessionId}</p>
        {data.alreadyPaid && <p className="ok">This checkout is already paid.</p>}
      </div>
      {result?.error && (
        <p className="card bad" role="alert">
          {result.error}
        </p>
      )}
      <Form method="post" reloadDocument>
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
