// How much of a refund (or lost dispute) of a settled payment each recipient owes back: in proportion
// to the share of that payment the policy gave them, exactly, with the treasury bearing its own part.
// Pure; the model layer records the results as CLAWBACK entries that later runs net against.
import { LedgerError } from "./money";

export class ClawbackError extends LedgerError {
  readonly code = "CLAWBACK_INPUT_INVALID" as const;
}

export interface RecipientShare {
  recipientId: string;
  /** What the payment's run allocated to the recipient (token base units, >= 0). */
  share: bigint;
}

export interface ClawbackAllocation {
  recipientId: string;
  /** Owed back, token base units, > 0. */
  amount: bigint;
}

/**
 * Split `refunded` (token base units, at most `distributable`) over the recipients in proportion to
 * their shares of `distributable`: recipient i owes share_i * refunded / distributable. Together they
 * owe floor(sum(shares) * refunded / distributable); each owes the floor of its exact part, and the
 * units left go one each to the largest fractional parts, ties to the smaller recipient id (the same
 * largest-remainder rule as the compiler). Nobody owes more than its share; the treasury keeps the
 * rest of the refund. Output in recipient id order, amounts > 0 only.
 */
export function allocateClawback(args: { refunded: bigint; distributable: bigint; shares: readonly RecipientShare[] }): ClawbackAllocation[] {
  const { refunded, distributable, shares } = args;
  if (distributable < 0n || refunded < 0n || refunded > distributable) {
    throw new ClawbackError(`refunded must be in 0..distributable, got ${refunded} of ${distributable}`);
  }
  let shareTotal = 0n;
  const seen = new Set<string>();
  for (const { recipientId, share } of shares) {
    if (share < 0n) throw new ClawbackError(`recipient ${recipientId} has a negative share`);
    if (seen.has(recipientId)) throw new ClawbackError(`recipient ${recipientId} appears twice`);
    seen.add(recipientId);
    shareTotal += share;
  }
  if (shareTotal > distributable) throw new ClawbackError(`shares (${shareTotal}) exceed the distributable amount (${distributable})`);
  if (refunded === 0n || shareTotal === 0n) return [];

  const ordered = shares.slice().sort((a, b) => (a.recipientId < b.recipientId ? -1 : a.recipientId > b.recipientId ? 1 : 0));
  const quota = (shareTotal * refunded) / distributable;
  const parts = ordered.map(({ recipientId, share }) => {
    const scaled = share * refunded;
    return { recipientId, amount: scaled / distributable, fraction: scaled % distributable };
  });
  let left = quota - parts.reduce((sum, part) => sum + part.amount, 0n);
  if (left > 0n) {
    // Fewer units left than parts with a fraction: hand them out by fraction, then id (stable sort).
    const byFraction = parts
      .map((part, index) => ({ part, index }))
      .filter(({ part }) => part.fraction > 0n)
      .sort((a, b) => (a.part.fraction > b.part.fraction ? -1 : a.part.fraction < b.part.fraction ? 1 : a.index - b.index));
    for (const { part } of byFraction) {
      if (left === 0n) break;
      part.amount += 1n;
      left -= 1n;
    }
  }
  return parts.filter((part) => part.amount > 0n).map(({ recipientId, amount }) => ({ recipientId, amount }));
}
