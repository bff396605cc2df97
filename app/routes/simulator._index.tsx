// Simulator controls: send Dodo's later notifications (refunds, disputes) for payments already recorded.
import { data, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, useActionData, useLoaderData } from "@remix-run/react";
import { simulatorAllowed } from "~/integrations/dodo.server";
import {
  SimulatorError,
  paymentActionsAllowed,
  simulateDispute,
  simulateRefund,
  type SimulatedDisputeStep,
} from "~/integrations/simulator.server";
import { listRecentPayments } from "~/models/payment-views.server";
import { ensureDefaultOrganization } from "~/models/organizations.server";
import { findOrganizationBySlug, formatPrice } from "~/models/products.server";
import { getPrisma } from "~/utils/db.server";
import { CSRF_FIELD } from "~/utils/csrf";
import { CsrfError, issueCsrfToken, verifyCsrf } from "~/utils/csrf.server";
import { getEnv } from "~/utils/env.server";
import { publicOrigin } from "~/utils/public-url.server";

export const meta: MetaFunction = () => [{ title: "Checkout simulator · StableFlow" }];

export async function loader({ request }: LoaderFunctionArgs) {
  const env = getEnv();
  if (!simulatorAllowed(env)) throw new Response("The checkout simulator is off.", { status: 404 });
  const csrf = issueCsrfToken(request, env);
  const prisma = await getPrisma();
  const slug = new URL(request.url).searchParams.get("org") ?? "default";
  const organization = (await findOrganizationBySlug(prisma, slug)) ?? (await ensureDefaultOrganization(prisma));
  const payments = await listRecentPayments(prisma, organization.id);
  return data(
    {
      organization: organization.name,
      csrf: csrf.token,
      payments: payments.map((p) => ({
        id: p.dodoPaymentId,
        status: p.status,
        amount: formatPrice(p.totalAmountMinor, p.currency),
        refunded: formatPrice(p.refundedAmountMinor, p.currency),
        // The buttons this payment's state allows; the action refuses the rest with a sentence.
        can: paymentActionsAllowed({ ...p, disputeOpen: p.disputeState === "OPEN" }),
      })),
    },
    csrf.setCookie ? { headers: { "Set-Cookie": csrf.setCookie } } : undefined,
  );
}

const DISPUTE_STEPS = new Set<SimulatedDisputeStep>(["opened", "won", "lost"]);

export async function action({ request, context }: ActionFunctionArgs) {
  const env = getEnv();
  const origin = publicOrigin(env, context);
  const form = await request.formData();
  try {
    // Each button sends a signed webhook that moves money in the ledger: only from this site's own page.
    verifyCsrf(request, form, env, origin);
  } catch (error) {
    if (error instanceof CsrfError) return data({ error: error.message }, { status: error.status });
    throw error;
  }
  const paymentId = String(form.get("paymentId") ?? "");
  const intent = String(form.get("intent") ?? "");
  const deps = { prisma: await getPrisma(), env, origin };
  try {
    if (intent === "refund") {
      await simulateRefund(deps, paymentId);
      return { ok: `Refund sent for ${paymentId}.` };
    }
    if (intent.startsWith("dispute-") && DISPUTE_STEPS.has(intent.slice(8) as SimulatedDisputeStep)) {
      await simulateDispute(deps, paymentId, intent.slice(8) as SimulatedDisputeStep);
      return { ok: `Dispute ${intent.slice(8)} sent for ${paymentId}.` };
    }
    return data({ error: "Choose refund, open dispute, dispute won or dispute lost." }, { status: 400 });
  } catch (error) {
    if (error instanceof SimulatorError) return data({ error: error.message }, { status: error.status });
    throw error;
  }
}

export default function SimulatorControls() {
  const { organization, payments, csrf } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  return (
    <main className="page">
      <p className="banner" role="status">
        Checkout simulator in use: these buttons send signed webhooks shaped like Dodo's to this server. No real money moves.
      </p>
      <h1>Simulator: {organization}</h1>
      {result && "ok" in result && <p className="card ok" role="status">{result.ok}</p>}
      {result && "error" in result && <p className="card bad" role="alert">{result.error}</p>}
      {payments.length === 0 ? (
        <p className="muted">
          No payments yet. Buy something in the <a href="/shop">shop</a>.
        </p>
      ) : (
        <table>
          <thead>
            <tr>
              <th>Payment</th>
              <th>Status</th>
              <th className="num">Amount</th>
              <th className="num">Refunded</th>
              <th>Send</th>
            </tr>
          </thead>
          <tbody>
            {payments.map((p) => (
              <tr key={p.id}>
                <td><code>{p.id}</code></td>
                <td>{p.status}</td>
                <td className="num">{p.amount}</td>
                <td className="num">{p.refunded}</td>
                <td>
                  <Form method="post" reloadDocument className="inline">
                    <input type="hidden" name={CSRF_FIELD} value={csrf} />
                    <input type="hidden" name="paymentId" value={p.id} />
                    {p.can.refund && <button type="submit" name="intent" value="refund" className="secondary">Refund rest</button>}{" "}
                    {p.can.disputeOpen && <button type="submit" name="intent" value="dispute-opened" className="secondary">Open dispute</button>}{" "}
                    {p.can.disputeResolve && (
                      <>
                        <button type="submit" name="intent" value="dispute-won" className="secondary">Dispute won</button>{" "}
                        <button type="submit" name="intent" value="dispute-lost" className="secondary">Dispute lost</button>
                      </>
                    )}
                    {!p.can.refund && !p.can.disputeOpen && !p.can.disputeResolve && <span className="muted">nothing to send</span>}
                  </Form>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </main>
  );
}
