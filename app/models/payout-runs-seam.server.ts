// THE SEAM between ingestion and payouts: called once, inside the webhook's transaction, when a payment
// first becomes `succeeded`. It records a compile request (the outbox, payout_run_requests) that the
// payout-run worker (app/models/payout-run-worker.server.ts) turns into a run after the webhook commits.
import type { Prisma } from "~/generated/prisma/client";
import type { RecordedPayment } from "./payments.server";

export interface PayoutRunSeamResult {
  /** True when this call inserted the request; false when the payment already had one. */
  requested: boolean;
}

/**
 * Ask for the payout run of a payment that just succeeded.
 *
 * Contract: runs inside the caller's transaction `tx`, so the request commits or rolls back together
 * with the payment (nothing is lost on a crash after commit: the worker finds the row). Idempotent per
 * payment (payout_run_requests.payment_id is unique), one statement, no lock on the organization: the
 * compile and its per-organization lock happen in the worker, outside the webhook. Throws on failure so
 * the webhook answers 5xx and Dodo retries. Keep this the only place ingestion reaches into payouts.
 */
export async function requestPayoutRunForPayment(
  tx: Prisma.TransactionClient,
  payment: Pick<RecordedPayment, "id" | "organizationId">,
): Promise<PayoutRunSeamResult> {
  const inserted = await tx.$executeRaw`
    INSERT INTO payout_run_requests (organization_id, payment_id)
    VALUES (${payment.organizationId}::uuid, ${payment.id}::uuid)
    ON CONFLICT (payment_id) DO NOTHING`;
  return { requested: inserted > 0 };
}
