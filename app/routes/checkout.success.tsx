// Where Dodo sends the customer back: shows what the LEDGER says about the payment, not the query string.
import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { useLoaderData } from "@remix-run/react";
import { getCheckoutView } from "~/models/checkout.server";
import { formatPrice } from "~/models/products.server";
import { getPrisma } from "~/utils/db.server";

export const meta: MetaFunction = () => [{ title: "Your payment · StableFlow" }];

export async function loader({ request }: LoaderFunctionArgs) {
  const checkoutId = new URL(request.url).searchParams.get("checkout") ?? "";
  const view = await getCheckoutView(await getPrisma(), checkoutId);
  if (!view) throw new Response("We could not find that checkout.", { status: 404 });
  // Dodo appends ?status=... to the return URL; it is shown nowhere: only a signed webhook changes the ledger.
  const payment = view.payment;
  return {
    product: view.productName,
    quantity: view.quantity,
    amount: formatPrice(view.amountMinor, view.currency),
    status: payment?.status ?? "pending",
    // Only a succeeded payment charged anything: a declined or cancelled one carries the amount it asked for,
    // which is not money received, so it is never shown as a recorded payment.
    paid: payment?.status === "succeeded" ? formatPrice(payment.totalAmountMinor, payment.currency) : null,
    refunded:
      payment?.status === "succeeded" && payment.refundedAmountMinor > 0n ? formatPrice(payment.refundedAmountMinor, payment.currency) : null,
  };
}

const HEADLINES: Record<string, { title: string; tone: string; text: string }> = {
  succeeded: { title: "Payment received", tone: "ok", text: "Thank you. Your payment is recorded." },
  processing: { title: "Payment processing", tone: "muted", text: "Your bank is still confirming the payment. This page refreshes by itself." },
  pending: { title: "Waiting for confirmation", tone: "muted", text: "We have not heard from the payment provider yet. This page refreshes by itself." },
  failed: { title: "Payment failed", tone: "bad", text: "The payment did not go through and nothing was charged. You can try again from the shop." },
  cancelled: { title: "Payment cancelled", tone: "bad", text: "The checkout was cancelled and nothing was charged." },
};

export default function CheckoutSuccess() {
  const data = useLoaderData<typeof loader>();
  const headline = HEADLINES[data.status] ?? HEADLINES.pending!;
  const waiting = data.status === "pending" || data.status === "processing";
  return (
    <main className="page">
      {waiting && <meta httpEquiv="refresh" content="3" />}
      <h1 className={headline.tone} data-payment-status={data.status}>
        {headline.title}
      </h1>
      <p>{headline.text}</p>
      <div className="card">
        <p>
          {data.product ?? "Order"} × {data.quantity}: <strong>{data.amount}</strong>
        </p>
        {data.paid && <p className="muted">Recorded payment: {data.paid}</p>}
        {(data.status === "failed" || data.status === "cancelled") && <p className="muted">Charged: nothing.</p>}
        {data.refunded && <p className="muted">Refunded: {data.refunded}</p>}
      </div>
      <p>
        <a href="/shop">{data.status === "failed" || data.status === "cancelled" ? "Try again from the shop" : "Back to the shop"}</a>
      </p>
    </main>
  );
}
