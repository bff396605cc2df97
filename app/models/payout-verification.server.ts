// What the public verification page may know about an address: every settled split that paid it, through
// the recipients whose wallet it is or the token account it is. Each payout carries its batch's whole
// published transfer list (token accounts and amounts, in instruction order: what the plan hash commits
// to, and public on chain anyway) and nothing else of other recipients; no recipient names, no payments,
// no customers. Scoped by the address alone: an organization appears only through a payout to it.
import type { PrismaClient } from "~/generated/prisma/client";
import type { Database } from "~/utils/db.server";
import { loadRecipientStates } from "./recipients.server";
import { uuidBytes } from "./settlement.server";

export interface PublishedTransfer {
  tokenAccount: string;
  /** Token base units. */
  amount: bigint;
}

export interface SettledPayout {
  /** The split batch (the proof's key in URLs). */
  batchId: string;
  organizationName: string;
  /** For deriving the organization's treasury on the server; never shown. */
  organizationId: string;
  /** The payout run's UUID; on chain its 16 bytes (`runIdBytes`). */
  runId: string;
  batchIndex: number;
  /** The treasury whose SplitRecord the batch wrote, as the batch recorded it (null before migration 0008). */
  treasury: string | null;
  /** The token account this address was paid through, and how much. */
  tokenAccount: string;
  amount: bigint;
  decimals: number;
  /** This payout's entry in `transfers`. */
  position: number;
  signature: string;
  slot: bigint;
  /** When the executor recorded the confirmation. */
  confirmedAt: Date;
  transfers: PublishedTransfer[];
}

export interface SettledPayoutPage {
  payouts: SettledPayout[];
  /** How many settled payouts the address has in all. */
  total: number;
}

/** The 16 bytes a run's UUID is on chain (the run id of its SplitRecords and plan hashes): the executor's own mapping. */
export const runIdBytes: (runId: string) => Uint8Array = uuidBytes;

/** Batch items that paid `address` in a batch the chain confirmed. */
function paidItems(address: string) {
  return {
    transfer: { OR: [{ tokenAccount: address }, { recipient: { walletAddress: address } }] },
    batch: { events: { some: { status: "CONFIRMED" as const } } },
  };
}

const PAYOUT_SELECT = {
  batchId: true,
  position: true,
  transfer: { select: { tokenAccount: true, amount: true } },
  batch: {
    select: {
      batchIndex: true,
      treasury: true,
      run: { select: { id: true, organizationId: true, tokenDecimals: true, organization: { select: { name: true } } } },
      events: {
        where: { status: "CONFIRMED" as const },
        orderBy: { seq: "desc" as const },
        take: 1,
        select: { signature: true, slot: true, createdAt: true },
      },
    },
  },
} as const;

async function withTransferLists(
  prisma: PrismaClient,
  items: Awaited<ReturnType<typeof findItems>>,
): Promise<SettledPayout[]> {
  const batchIds = [...new Set(items.map((item) => item.batchId))];
  const lists = new Map<string, PublishedTransfer[]>();
  if (batchIds.length > 0) {
    const rows = await prisma.splitBatchItem.findMany({
      where: { batchId: { in: batchIds } },
      orderBy: [{ batchId: "asc" }, { position: "asc" }],
      select: { batchId: true, transfer: { select: { tokenAccount: true, amount: true } } },
    });
    for (const row of rows) {
      const list = lists.get(row.batchId) ?? [];
      list.push({ tokenAccount: row.transfer.tokenAccount, amount: row.transfer.amount });
      lists.set(row.batchId, list);
    }
  }
  return items.map((item) => {
    const confirmed = item.batch.events[0];
    return {
      batchId: item.batchId,
      organizationName: item.batch.run.organization.name,
      organizationId: item.batch.run.organizationId,
      runId: item.batch.run.id,
      batchIndex: item.batch.batchIndex,
      treasury: item.batch.treasury,
      tokenAccount: item.transfer.tokenAccount,
      amount: item.transfer.amount,
      decimals: item.batch.run.tokenDecimals,
      position: item.position,
      // A CONFIRMED event always has both (split_batch_events CHECKs).
      signature: confirmed.signature!,
      slot: confirmed.slot!,
      confirmedAt: confirmed.createdAt,
      transfers: lists.get(item.batchId) ?? [],
    };
  });
}

function findItems(prisma: PrismaClient, where: ReturnType<typeof paidItems> & { batchId?: string }, page?: { skip: number; take: number }) {
  return prisma.splitBatchItem.findMany({
    where,
    orderBy: [{ batch: { createdAt: "desc" } }, { batchId: "asc" }, { position: "asc" }],
    select: PAYOUT_SELECT,
    ...(page ?? {}),
  });
}

/**
 * The settled payouts to `address` (a wallet or a token account; canonical base58, parsed by the caller),
 * newest batch first, `take` of them from `skip`.
 */
export async function findSettledPayouts(
  prisma: PrismaClient,
  address: string,
  page: { skip?: number; take: number },
): Promise<SettledPayoutPage> {
  const where = paidItems(address);
  const [total, items] = await Promise.all([
    prisma.splitBatchItem.count({ where }),
    findItems(prisma, where, { skip: page.skip ?? 0, take: page.take }),
  ]);
  return { payouts: await withTransferLists(prisma, items), total };
}

/** The one settled payout of batch `batchId` to `address`, or null when that batch did not pay it. */
export async function findSettledPayout(prisma: PrismaClient, address: string, batchId: string): Promise<SettledPayout | null> {
  const items = await findItems(prisma, { ...paidItems(address), batchId }, { skip: 0, take: 1 });
  const [payout] = await withTransferLists(prisma, items);
  return payout ?? null;
}

// ------------------------------------------------------------------ held-back balances (wallet-signed)

export interface BalanceEntryView {
  kind: "ACCRUAL" | "ACCRUAL_PAID" | "CLAWBACK" | "CLAWBACK_NETTED" | "CLAWBACK_REVERSED";
  /** Token base units, positive; the kind gives the direction. */
  amount: bigint;
  decimals: number;
  at: Date;
  /** Why, in a sentence built from the entry's codes (free-text memos are never shown). */
  reason: string;
  /** Its run was cancelled: the entry no longer counts. */
  void: boolean;
}

export interface HeldBalance {
  organizationName: string;
  decimals: number;
  /** Owed to the wallet, paid by a later run. */
  balance: bigint;
  /** Owed back by the wallet, netted against its later shares. */
  clawbackOwed: bigint;
  /** The newest entries, newest first. */
  entries: BalanceEntryView[];
}

const HOLD_REASONS: Record<string, string> = {
  BELOW_MIN_PAYOUT: "your share was below your minimum payout: it is kept until your balance reaches it",
  SCHEDULED: "the organization pays on a schedule: it is paid when the current window closes",
  PAUSED: "the organization paused payouts to you: it is kept until they resume",
  UNVERIFIED: "the organization pays verified wallets only: it is kept until you prove this wallet is yours",
};

function explainEntry(entry: { kind: BalanceEntryView["kind"]; memo: string | null; holdReason?: string; refund: boolean; dispute: boolean }): string {
  switch (entry.kind) {
    case "ACCRUAL":
      if (entry.holdReason) return `your token account could not receive it (${entry.holdReason}): it was returned to your balance for a later run`;
      return (entry.memo && HOLD_REASONS[entry.memo]) ?? "kept in your balance for a later run";
    case "ACCRUAL_PAID":
      return entry.memo === "netted against a clawback" ? "taken from your balance to settle a clawback" : "paid out of your balance by a run";
    case "CLAWBACK":
      return entry.dispute
        ? "a payment you were paid a share of was lost in a dispute: the share is owed back, netted against your later shares"
        : entry.refund
          ? "a payment you were paid a share of was refunded: the share is owed back, netted against your later shares"
          : "a share you were paid is owed back (a refund or a lost dispute), netted against your later shares";
    case "CLAWBACK_NETTED":
      return "kept from a later share to settle what you owed";
    case "CLAWBACK_REVERSED":
      return "no longer owed: the payment's basis rose again";
  }
}

/**
 * What the organizations that pay `wallet` hold back for it: the accrued balance and the clawback owed
 * (folded as the compiler folds them, cancelled runs void), and the newest entries with their reasons.
 * Only for a wallet whose holder signed a lookup: the caller checks that.
 */
export async function findHeldBalances(db: Database, wallet: string, options: { entriesPerOrganization?: number } = {}): Promise<HeldBalance[]> {
  const take = options.entriesPerOrganization ?? 20;
  const recipients = await db.prisma.recipient.findMany({
    where: { walletAddress: wallet },
    orderBy: { createdAt: "asc" },
    select: { id: true, organizationId: true, organization: { select: { name: true } } },
  });
  const held: HeldBalance[] = [];
  for (const recipient of recipients) {
    const { states } = await loadRecipientStates(db, recipient.organizationId, [recipient.id]);
    const state = states.get(recipient.id);
    const entries = await db.prisma.recipientBalanceEntry.findMany({
      where: { recipientId: recipient.id, organizationId: recipient.organizationId },
      orderBy: { createdAt: "desc" },
      take,
      select: {
        kind: true,
        amount: true,
        tokenDecimals: true,
        createdAt: true,
        memo: true,
        refundId: true,
        disputeId: true,
        payoutRun: { select: { status: true } },
        hold: { select: { reason: true } },
      },
    });
    held.push({
      organizationName: recipient.organization.name,
      decimals: entries[0]?.tokenDecimals ?? 6,
      balance: state?.balance ?? 0n,
      clawbackOwed: state?.clawbackOwed ?? 0n,
      entries: entries.map((e) => ({
        kind: e.kind,
        amount: e.amount,
        decimals: e.tokenDecimals,
        at: e.createdAt,
        reason: explainEntry({ kind: e.kind, memo: e.memo, holdReason: e.hold?.reason, refund: e.refundId !== null, dispute: e.disputeId !== null }),
        void: e.payoutRun?.status === "CANCELLED",
      })),
    });
  }
  return held;
}
