// THE SEAM between ingestion and payouts: called once, inside the webhook's transaction, when a payment
// first becomes `succeeded`. It does nothing yet; app/models/payout-runs.server.ts will replace its body.
import type { Prisma } from "~/generated/prisma/client";
import type { RecordedPayment } from "./payments.server";

export interface PayoutRunSeamResult {
  /** The run compiled for the payment, or null while the compiler is not wired in. */
  payoutRunId: string | null;
}

/**
 * Compile the payout run for a payment that just succeeded.
 *
 * Contract for the implementer: runs inside the caller's transaction `tx` (commit or roll back together
 * with the payment), must be idempotent per payment (payout_runs.payment_id is unique), must not call
 * the network, and must throw on failure so the webhook answers 5xx and Dodo retries.
 *
 * Placeholder: intentionally does nothing and returns `{ payoutRunId: null }` until the policy compiler
 * (app/ledger/policy-compiler.ts) and app/models/payout-runs.server.ts exist.
 */
export async function compilePayoutRunForPayment(
  _tx: Prisma.TransactionClient,
  _payment: RecordedPayment,
): Promise<PayoutRunSeamResult> {
  return { payoutRunId: null };
}
