// Recipients as rows: creation with a validated wallet and its token account, status changes, the
// wallet ownership challenge, and the ledger state (accrued balance, open clawbacks) the compiler reads.
import { randomBytes } from "node:crypto";
import type { Prisma, PrismaClient } from "~/generated/prisma/client";
import { LedgerError } from "~/ledger/money";
import type { RecipientState, RecipientStatus } from "~/ledger/policy";
import {
  buildWalletChallenge,
  deriveAssociatedTokenAccount,
  parseAccountAddress,
  parseWalletAddress,
  TOKEN_PROGRAM_ID,
  verifyWalletChallenge,
  type WalletKind,
} from "~/ledger/wallet";
import { isUniqueViolation } from "~/utils/db-errors.server";
import { sql, type SqlQueryable } from "~/utils/sql.server";

type Db = PrismaClient | Prisma.TransactionClient;

export type RecipientErrorCode =
  | "RECIPIENT_NAME_INVALID"
  | "RECIPIENT_WALLET_TAKEN"
  | "RECIPIENT_NOT_FOUND"
  | "RECIPIENT_REMOVED"
  | "RECIPIENT_WALLET_CANNOT_SIGN"
  | "CHALLENGE_NOT_FOUND"
  | "CHALLENGE_USED"
  | "CLAWBACK_AMOUNT_INVALID"
  | "RECIPIENT_MINT_UNKNOWN";

export class RecipientError extends LedgerError {
  readonly code: RecipientErrorCode;
  constructor(code: RecipientErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

export interface CreateRecipientInput {
  organizationId: string;
  name: string;
  walletAddress: string;
  walletKind?: WalletKind;
  /** The payout mint: the token account is the wallet's associated token account for it... */
  mint?: string | null;
  tokenProgram?: string;
  /** ...unless the operator names another token account explicitly. */
  tokenAccount?: string;
}

/** Create a recipient. Wallet problems throw WalletError; a wallet already used in the organization, RECIPIENT_WALLET_TAKEN. */
export async function createRecipient(db: Db, input: CreateRecipientInput) {
  const name = input.name.trim();
  if (name.length < 1 || name.length > 200) throw new RecipientError("RECIPIENT_NAME_INVALID", "name must be 1-200 characters");
  const wallet = parseWalletAddress(input.walletAddress, input.walletKind ?? "ED25519");
  const tokenProgram = input.tokenProgram ? parseAccountAddress(input.tokenProgram, "token program") : TOKEN_PROGRAM_ID;
  let tokenAccount: string;
  if (input.tokenAccount) tokenAccount = parseAccountAddress(input.tokenAccount, "token account").toBase58();
  else if (input.mint) tokenAccount = deriveAssociatedTokenAccount(wallet, parseAccountAddress(input.mint, "mint"), tokenProgram).toBase58();
  else throw new RecipientError("RECIPIENT_MINT_UNKNOWN", "no payout token is configured, so the token account cannot be derived: enter it explicitly");
  try {
    return await db.recipient.create({
      data: {
        organizationId: input.organizationId,
        name,
        walletAddress: wallet.address,
        walletKind: wallet.kind,
        tokenAccount,
        tokenAccountDerived: !input.tokenAccount,
      },
    });
  } catch (error) {
    if (isUniqueViolation(error)) {
      throw new RecipientError("RECIPIENT_WALLET_TAKEN", "another recipient of this organization already uses this wallet");
    }
    throw error;
  }
}

/** Pause, resume or remove a recipient. REMOVED is final: a removed recipient's rules must be edited out. */
export async function setRecipientStatus(db: Db, args: { organizationId: string; recipientId: string; status: RecipientStatus }) {
  const recipient = await db.recipient.findFirst({ where: { id: args.recipientId, organizationId: args.organizationId } });
  if (!recipient) throw new RecipientError("RECIPIENT_NOT_FOUND", "no such recipient in this organization");
  if (recipient.status === "REMOVED" && args.status !== "REMOVED") {
    throw new RecipientError("RECIPIENT_REMOVED", "a removed recipient cannot be reactivated; create a new one");
  }
  return db.recipient.update({ where: { id: recipient.id }, data: { status: args.status } });
}

/** Open a one-time wallet ownership challenge; the wallet signs the returned message. */
export async function issueWalletChallenge(db: Db, args: { organizationId: string; recipientId: string; now: Date; ttlMs?: number }) {
  const recipient = await db.recipient.findFirst({ where: { id: args.recipientId, organizationId: args.organizationId } });
  if (!recipient) throw new RecipientError("RECIPIENT_NOT_FOUND", "no such recipient in this organization");
  if (recipient.status === "REMOVED") throw new RecipientError("RECIPIENT_REMOVED", "the recipient was removed");
  if (recipient.walletKind !== "ED25519") {
    // A PDA has no private key: it can never sign, so under a policy that requires verified wallets
    // its shares stay held until an operator changes the policy.
    throw new RecipientError("RECIPIENT_WALLET_CANNOT_SIGN", "the recipient's wallet is a PDA owner, which cannot sign a challenge");
  }
  const expiresAt = new Date(args.now.getTime() + (args.ttlMs ?? 10 * 60_000));
  const nonce = randomBytes(16).toString("hex");
  const message = buildWalletChallenge(recipient.id, nonce, expiresAt);
  const challenge = await db.walletChallenge.create({ data: { recipientId: recipient.id, message, expiresAt } });
  return { challengeId: challenge.id, message, expiresAt };
}

/**
 * Check a signed challenge and mark the recipient's wallet verified. The challenge is consumed by a
 * conditional update, so two concurrent submissions of one signature verify once and fail once.
 */
export async function verifyRecipientWallet(
  prisma: PrismaClient,
  args: { organizationId: string; challengeId: string; signature: Uint8Array | string; now: Date },
) {
  return prisma.$transaction(async (tx) => {
    const challenge = await tx.walletChallenge.findUnique({ where: { id: args.challengeId }, include: { recipient: true } });
    if (!challenge || challenge.recipient.organizationId !== args.organizationId) {
      throw new RecipientError("CHALLENGE_NOT_FOUND", "no such wallet challenge");
    }
    if (challenge.usedAt) throw new RecipientError("CHALLENGE_USED", "this challenge was already used; request a new one");
    const recipient = challenge.recipient;
    if (recipient.status === "REMOVED") throw new RecipientError("RECIPIENT_REMOVED", "the recipient was removed");
    const wallet = parseWalletAddress(recipient.walletAddress, recipient.walletKind);
    verifyWalletChallenge({ wallet, message: challenge.message, expiresAt: challenge.expiresAt, signature: args.signature, now: args.now });
    const consumed = await tx.walletChallenge.updateMany({ where: { id: challenge.id, usedAt: null }, data: { usedAt: args.now } });
    if (consumed.count !== 1) throw new RecipientError("CHALLENGE_USED", "this challenge was already used; request a new one");
    return tx.recipient.update({ where: { id: recipient.id }, data: { walletVerifiedAt: args.now } });
  });
}

/** Record money a recipient owes back (a refund or lost dispute after settlement); later runs net it. */
export async function recordClawback(
  db: Db,
  args: {
    organizationId: string;
    recipientId: string;
    amount: bigint;
    tokenDecimals: number;
    paymentId?: string;
    refundId?: string;
    disputeId?: string;
    memo?: string;
  },
) {
  if (args.amount <= 0n) throw new RecipientError("CLAWBACK_AMOUNT_INVALID", "a clawback must be a positive amount");
  return db.recipientBalanceEntry.create({
    data: {
      organizationId: args.organizationId,
      recipientId: args.recipientId,
      kind: "CLAWBACK",
      amount: args.amount,
      tokenDecimals: args.tokenDecimals,
      paymentId: args.paymentId ?? null,
      refundId: args.refundId ?? null,
      disputeId: args.disputeId ?? null,
      memo: args.memo ?? null,
    },
  });
}

/**
 * A balance and a clawback as the compiler takes them (both >= 0). Either below zero (see
 * loadRecipientStates) folds both into their difference: the compiler nets a clawback against a balance
 * anyway (netted = min(owed, balance + share)), so the transfers are the same either way.
 */
export function netPosition(balance: bigint, clawbackOwed: bigint): { balance: bigint; clawbackOwed: bigint } {
  if (balance >= 0n && clawbackOwed >= 0n) return { balance, clawbackOwed };
  const net = balance - clawbackOwed;
  return net >= 0n ? { balance: net, clawbackOwed: 0n } : { balance: 0n, clawbackOwed: -net };
}

export interface RecipientRow {
  id: string;
  status: RecipientStatus;
  walletVerifiedAt: Date | null;
  tokenAccount: string;
}

/**
 * The compiler's view of recipients: status, verification, accrued balance (ACCRUAL - ACCRUAL_PAID)
 * and open clawbacks (CLAWBACK - CLAWBACK_NETTED - CLAWBACK_REVERSED), folded from the insert-only
 * balance entries, in one statement on the driver. The entries of a cancelled run do not count: it
 * never paid anything, so what it accrued, paid out of a balance or netted is void (decision 009).
 * Voiding can leave a balance below zero (a later run that already executed paid out what the cancelled
 * run had accrued) or a clawback below zero (reversed after it was netted); the two are then folded into
 * one net position: what the recipient owes (a clawback) or is owed (a balance). The Map iterates in
 * ascending id order, which lets the compiler merge instead of hashing.
 */
export async function loadRecipientStates(
  db: SqlQueryable,
  organizationId: string,
  recipientIds: readonly string[],
): Promise<{ states: Map<string, RecipientState>; rows: Map<string, RecipientRow> }> {
  const found = await db.query<{
    id: string;
    status: RecipientStatus;
    wallet_verified_at: Date | string | null;
    token_account: string;
    balance: string;
    clawback_owed: string;
  }>(sql`
    SELECT r.id, r.status::text AS status, r.wallet_verified_at, r.token_account,
           coalesce(b.balance, 0)::text AS balance, coalesce(b.clawback_owed, 0)::text AS clawback_owed
    FROM recipients r
    LEFT JOIN LATERAL (
      SELECT sum(CASE e.kind WHEN 'ACCRUAL' THEN e.amount WHEN 'ACCRUAL_PAID' THEN -e.amount ELSE 0 END) AS balance,
             sum(CASE e.kind WHEN 'CLAWBACK' THEN e.amount WHEN 'CLAWBACK_NETTED' THEN -e.amount
                             WHEN 'CLAWBACK_REVERSED' THEN -e.amount ELSE 0 END) AS clawback_owed
      FROM recipient_balance_entries e LEFT JOIN payout_runs pr ON pr.id = e.payout_run_id
      WHERE e.recipient_id = r.id AND e.organization_id = r.organization_id AND (pr.id IS NULL OR pr.status <> 'CANCELLED')
    ) b ON true
    WHERE r.organization_id = ${organizationId}::uuid
      AND r.id IN (SELECT jsonb_array_elements_text(${JSON.stringify(recipientIds)}::jsonb)::uuid)`);
  // Code-unit order, so the merge path never depends on a collation.
  found.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const states = new Map<string, RecipientState>();
  const rows = new Map<string, RecipientRow>();
  for (const row of found) {
    const walletVerifiedAt = row.wallet_verified_at === null ? null : new Date(row.wallet_verified_at);
    states.set(row.id, {
      id: row.id,
      status: row.status,
      walletVerified: walletVerifiedAt !== null,
      ...netPosition(BigInt(row.balance), BigInt(row.clawback_owed)),
    });
    rows.set(row.id, { id: row.id, status: row.status, walletVerifiedAt, tokenAccount: row.token_account });
  }
  return { states, rows };
}
