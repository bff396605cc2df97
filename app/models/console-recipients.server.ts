// Recipients for the console: each with its wallet verification, what the ledger holds for it (the
// accrued balance and the clawbacks it owes, folded by loadRecipientStates exactly as the compiler reads
// them) and the policy rules that name it. One organization's rows; amounts as decimal strings.
import { formatTokenAmount } from "~/ledger/money";
import type { RecipientState } from "~/ledger/policy";
import type { Database } from "~/utils/db.server";
import { DEFAULT_TOKEN_DECIMALS } from "./payout-runs.server";
import { loadRecipientStates } from "./recipients.server";

const units = (amount: bigint) => formatTokenAmount(amount, DEFAULT_TOKEN_DECIMALS, "sUSD");

export interface RecipientListRow {
  id: string;
  name: string;
  walletAddress: string;
  walletKind: string;
  tokenAccount: string;
  status: string;
  walletVerifiedAt: string | null;
  accrued: string;
  clawbackOwed: string;
}

type RecipientRecord = Awaited<ReturnType<Database["prisma"]["recipient"]["findMany"]>>[number];

function rowView(r: RecipientRecord, state: RecipientState | undefined): RecipientListRow {
  return {
    id: r.id,
    name: r.name,
    walletAddress: r.walletAddress,
    walletKind: r.walletKind,
    tokenAccount: r.tokenAccount,
    status: r.status,
    walletVerifiedAt: r.walletVerifiedAt?.toISOString() ?? null,
    accrued: units(state?.balance ?? 0n),
    clawbackOwed: units(state?.clawbackOwed ?? 0n),
  };
}

export async function listRecipients(db: Database, organizationId: string, take = 200): Promise<RecipientListRow[]> {
  const rows = await db.prisma.recipient.findMany({ where: { organizationId }, orderBy: [{ createdAt: "asc" }, { id: "asc" }], take });
  const { states } = await loadRecipientStates(db, organizationId, rows.map((r) => r.id));
  return rows.map((r) => rowView(r, states.get(r.id)));
}

/** One recipient of the organization with its balances and the policy versions that name it, or null. */
export async function loadRecipient(db: Database, organizationId: string, recipientId: string) {
  const recipient = await db.prisma.recipient.findFirst({
    where: { id: recipientId, organizationId },
    include: {
      rules: {
        orderBy: { createdAt: "desc" },
        take: 20,
        select: { kind: true, basisPoints: true, fixedAmount: true, policyVersion: { select: { id: true, version: true, status: true, policy: { select: { name: true } } } } },
      },
    },
  });
  if (!recipient) return null;
  const { states } = await loadRecipientStates(db, organizationId, [recipient.id]);
  return {
    ...rowView(recipient, states.get(recipient.id)),
    tokenAccountDerived: recipient.tokenAccountDerived,
    createdAt: recipient.createdAt.toISOString(),
    rules: recipient.rules.map((rule) => ({
      versionId: rule.policyVersion.id,
      policy: `${rule.policyVersion.policy.name} v${rule.policyVersion.version}`,
      versionStatus: rule.policyVersion.status,
      share: rule.kind === "PERCENTAGE" ? `${rule.basisPoints} bps` : `${units(rule.fixedAmount ?? 0n)} fixed`,
    })),
  };
}
