// Operators' decisions on what needs review: a refund or lost dispute flagged by the payment's assessment
// (INCLUDE it in the deduction, or EXCLUDE it for good), and a payment whose checkout did not match
// (release it). Each decision re-folds the payment's payout basis under the payment's lock, bumps its
// state version (so no webhook writer overwrites it unseen) and asks the payout-run worker to reconcile.
import { LedgerError } from "~/ledger/money";
import { assessPayment, reviewAllowsInclude, type ReviewDecision, type ReviewInputs, type ReviewReason } from "~/ledger/payment-assessment";
import { sql, type SqlStatement, type SqlTransaction } from "~/utils/sql.server";
import { loadPaymentState } from "./payments.server";
import { announcePayoutRunRequests } from "./payout-run-worker.server";

export type ReviewErrorCode = "REVIEW_NOT_FOUND" | "REVIEW_NOT_NEEDED" | "REVIEW_CANNOT_INCLUDE" | "REVIEW_ALREADY_DECIDED";

export class ReviewError extends LedgerError {
  readonly code: ReviewErrorCode;
  constructor(code: ReviewErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

export interface ReviewDatabase {
  transaction<T>(fn: (tx: SqlTransaction) => Promise<T>): Promise<T>;
  query<Row = Record<string, unknown>>(statement: SqlStatement): Promise<Row[]>;
}

type Target = { kind: "refund"; dodoRefundId: string } | { kind: "dispute"; dodoDisputeId: string } | { kind: "payment"; dodoPaymentId: string };

async function dodoPaymentIdOf(tx: SqlTransaction, target: Target): Promise<string | null> {
  if (target.kind === "payment") return target.dodoPaymentId;
  const [row] =
    target.kind === "refund"
      ? await tx.query<{ dodo_payment_id: string }>(sql`SELECT dodo_payment_id FROM refunds WHERE dodo_refund_id = ${target.dodoRefundId}`)
      : await tx.query<{ dodo_payment_id: string }>(sql`SELECT dodo_payment_id FROM disputes WHERE dodo_dispute_id = ${target.dodoDisputeId}`);
  return row?.dodo_payment_id ?? null;
}

/**
 * Records a decision and re-folds the payment: `decision` for a flagged refund or dispute, or the release
 * of a payment under review. `operator` is who decided (kept on the row and in the audit log).
 */
export async function decidePaymentReview(
  db: ReviewDatabase,
  args: { target: Target; decision: ReviewDecision | "RELEASE"; operator: string },
): Promise<{ netSettlementMinor: bigint | null; payoutHold: string | null }> {
  const result = await db.transaction(async (tx) => {
    const dodoPaymentId = await dodoPaymentIdOf(tx, args.target);
    if (!dodoPaymentId) throw new ReviewError("REVIEW_NOT_FOUND", "no such refund, dispute or payment");
    // The webhook's lock for this payment: its locked writers wait; its fast path loses on the version.
    await tx.query(sql`SELECT pg_advisory_xact_lock(hashtextextended(${dodoPaymentId}::text, 7))`);
    const loaded = await loadPaymentState(tx, dodoPaymentId);
    if (!loaded.payment) throw new ReviewError("REVIEW_NOT_FOUND", "the payment is not recorded yet");
    const refundDecisions: Record<string, ReviewDecision> = { ...loaded.reviews.refundDecisions };
    const disputeDecisions: Record<string, ReviewDecision> = { ...loaded.reviews.disputeDecisions };
    const reviews: ReviewInputs = { refundDecisions, disputeDecisions, paymentReview: loaded.reviews.paymentReview };
    const { target } = args;
    let entity: { type: string; id: string; reason: ReviewReason | string | null };
    if (target.kind === "payment") {
      if (args.decision !== "RELEASE") throw new ReviewError("REVIEW_NOT_NEEDED", "a payment under review is released, not included or excluded");
      const review = loaded.reviews.paymentReview;
      if (!review?.reason) throw new ReviewError("REVIEW_NOT_NEEDED", "the payment does not need review");
      if (review.released) throw new ReviewError("REVIEW_ALREADY_DECIDED", "the payment was released already");
      reviews.paymentReview = { reason: review.reason, released: true };
      await tx.query(sql`UPDATE payments SET review_released_at = now(), review_released_by = ${args.operator}
                         WHERE id = ${loaded.payment.id}::uuid`);
      entity = { type: "payment", id: loaded.payment.id, reason: review.reason };
    } else {
      if (args.decision === "RELEASE") throw new ReviewError("REVIEW_NOT_NEEDED", "a refund or dispute is included or excluded, not released");
      const id = target.kind === "refund" ? target.dodoRefundId : target.dodoDisputeId;
      const reason = (target.kind === "refund" ? loaded.assessment.refundReviews : loaded.assessment.disputeReviews)[id] ?? null;
      const decisions = target.kind === "refund" ? refundDecisions : disputeDecisions;
      if (!reason) throw new ReviewError("REVIEW_NOT_NEEDED", `the ${target.kind} does not need review`);
      if (decisions[id]) throw new ReviewError("REVIEW_ALREADY_DECIDED", `the ${target.kind} was decided already (${decisions[id]})`);
      if (args.decision === "INCLUDE" && !reviewAllowsInclude(reason)) {
        throw new ReviewError("REVIEW_CANNOT_INCLUDE", `a ${target.kind} flagged ${reason} cannot be counted; exclude it, or wait for Dodo to report it`);
      }
      decisions[id] = args.decision;
      if (target.kind === "refund") {
        await tx.query(sql`UPDATE refunds SET review_decision = ${args.decision}::review_decision, reviewed_by = ${args.operator},
                           reviewed_at = now(), updated_at = now() WHERE dodo_refund_id = ${id}`);
      } else {
        await tx.query(sql`UPDATE disputes SET review_decision = ${args.decision}::review_decision, reviewed_by = ${args.operator},
                           reviewed_at = now(), updated_at = now() WHERE dodo_dispute_id = ${id}`);
      }
      entity = { type: target.kind, id, reason };
    }
    const next = assessPayment(loaded.state, reviews);
    const payment = loaded.payment;
    const moved = payment.netSettlementMinor !== next.netSettlement || payment.payoutHold !== next.payoutHold;
    await tx.query(sql`
      WITH v AS (
        UPDATE payment_state_versions SET version = version + 1, updated_at = now() WHERE dodo_payment_id = ${dodoPaymentId}
        RETURNING 1),
      p AS (
        UPDATE payments SET net_settlement_minor = ${next.netSettlement}::bigint, payout_hold = ${next.payoutHold},
               dispute_state = ${next.disputeState}::payment_dispute_state, updated_at = now()
        WHERE id = ${payment.id}::uuid
        RETURNING organization_id),
      r AS (
        INSERT INTO payout_run_requests (organization_id, payment_id)
        SELECT ${payment.organizationId}::uuid, ${payment.id}::uuid WHERE ${moved && payment.status === "succeeded"}::boolean
        ON CONFLICT (payment_id) DO UPDATE SET completed_at = NULL, payout_run_id = NULL, hold_reason = NULL, attempts = 0,
               last_error = NULL, dead_at = NULL, available_at = now()
        RETURNING 1)
      INSERT INTO audit_log (organization_id, actor_type, actor_id, action, entity_type, entity_id, data)
      VALUES (${payment.organizationId}::uuid, 'OPERATOR', ${args.operator}, ${`review.${args.decision.toLowerCase()}`}, ${entity.type}, ${entity.id},
              jsonb_build_object('reason', ${entity.reason}::text, 'netSettlementMinor', ${next.netSettlement?.toString() ?? null}::text,
                                 'payoutHold', ${next.payoutHold}::text))`);
    return { netSettlementMinor: next.netSettlement, payoutHold: next.payoutHold, requested: moved };
  });
  if (result.requested) announcePayoutRunRequests(db);
  return { netSettlementMinor: result.netSettlementMinor, payoutHold: result.payoutHold };
}
