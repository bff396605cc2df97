// THE SEAM between ingestion and payouts: called once, inside the webhook's transaction, when a payment
// first becomes `succeeded`. It hands the payment to the payout-run compiler (app/models/payout-runs.server.ts).
import type { Prisma } from "~/generated/prisma/client";
import type { RecordedPayment } from "./payments.server";
import { compilePayoutRunForPayment as compileRun } from "./payout-runs.server";

export interface PayoutRunSeamResult {
  /** The run compiled for the payment, or null when the compiler held it (its reason is audited there). */
  payoutRunId: string | null;
}

/**
 * Compile the payout run for a payment that just succeeded.
 *
 * Contract: runs inside the caller's transaction `tx` (commits or rolls back together with the payment),
 * idempotent per payment (payout_runs.payment_id is unique), no network, throws on failure so the webhook
 * answers 5xx and Dodo retries. Ingestion tests replace this module to count calls; keep it the only
 * place ingestion reaches into payouts.
 */
export async function compilePayoutRunForPayment(
  tx: Prisma.TransactionClient,
  payment: RecordedPayment,
): Promise<PayoutRunSeamResult> {
  const compiled = await compileRun(tx, payment);
  return { payoutRunId: compiled.payoutRunId };
}
