// Changes an operator makes to recipients (console or API): create, edit, pause and resume, each within the
// operator's organization and audited in the same transaction. Input is parsed first (recipient-input.ts);
// a recipient of another organization is RECIPIENT_NOT_FOUND, exactly as one that does not exist.
import type { Prisma, PrismaClient } from "~/generated/prisma/client";
import { deriveAssociatedTokenAccount, parseAccountAddress, parseWalletAddress, type WalletKind } from "~/ledger/wallet";
import type { PublicKey } from "@solana/web3.js";
import { isUniqueViolation } from "~/utils/db-errors.server";
import type { Actor } from "./operators.server";
import type { RecipientCreateInput, RecipientStatusInput, RecipientUpdateInput } from "./recipient-input";
import { createRecipient, RecipientError, setRecipientStatus } from "./recipients.server";

async function audit(tx: Prisma.TransactionClient, actor: Actor, action: string, recipientId: string, data: Prisma.InputJsonObject) {
  await tx.auditLog.create({
    data: { organizationId: actor.organizationId, actorType: "OPERATOR", actorId: actor.operatorId, action, entityType: "recipient", entityId: recipientId, data },
  });
}

export async function createRecipientAsOperator(prisma: PrismaClient, actor: Actor, input: RecipientCreateInput, mint: PublicKey | null) {
  return prisma.$transaction(async (tx) => {
    const recipient = await createRecipient(tx, {
      organizationId: actor.organizationId,
      name: input.name,
      walletAddress: input.walletAddress,
      walletKind: input.walletKind,
      mint: mint?.toBase58() ?? null,
      tokenAccount: input.tokenAccount,
    });
    await audit(tx, actor, "recipient.created", recipient.id, { name: recipient.name, wallet: recipient.walletAddress, tokenAccount: recipient.tokenAccount });
    return recipient;
  });
}

/**
 * Edit a recipient's name, wallet or token account. A changed wallet (or kind) is no longer verified: its
 * new holder must sign a challenge again. A removed recipient cannot be edited.
 */
export async function updateRecipientAsOperator(prisma: PrismaClient, actor: Actor, recipientId: string, input: RecipientUpdateInput, mint: PublicKey | null) {
  return prisma.$transaction(async (tx) => {
    const current = await tx.recipient.findFirst({ where: { id: recipientId, organizationId: actor.organizationId } });
    if (!current) throw new RecipientError("RECIPIENT_NOT_FOUND", "there is no such recipient in your organization");
    if (current.status === "REMOVED") throw new RecipientError("RECIPIENT_REMOVED", "a removed recipient cannot be edited; create a new one");
    const wallet = parseWalletAddress(input.walletAddress, input.walletKind as WalletKind);
    const walletChanged = wallet.address !== current.walletAddress || wallet.kind !== current.walletKind;
    let tokenAccount: string;
    if (input.tokenAccount) tokenAccount = parseAccountAddress(input.tokenAccount, "token account").toBase58();
    else if (!walletChanged && current.tokenAccountDerived) tokenAccount = current.tokenAccount;
    else if (mint) tokenAccount = deriveAssociatedTokenAccount(wallet, mint).toBase58();
    else throw new RecipientError("RECIPIENT_MINT_UNKNOWN", "no payout token is configured, so the token account cannot be derived: enter it explicitly");
    let updated;
    try {
      updated = await tx.recipient.update({
        where: { id: current.id },
        data: {
          name: input.name,
          walletAddress: wallet.address,
          walletKind: wallet.kind,
          tokenAccount,
          tokenAccountDerived: !input.tokenAccount,
          ...(walletChanged ? { walletVerifiedAt: null } : {}),
        },
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw new RecipientError("RECIPIENT_WALLET_TAKEN", "another recipient of this organization already uses this wallet");
      throw error;
    }
    const changed = (["name", "walletAddress", "walletKind", "tokenAccount"] as const).filter((field) => current[field] !== updated[field]);
    await audit(tx, actor, "recipient.updated", current.id, { changed: [...changed], walletVerificationCleared: walletChanged && current.walletVerifiedAt !== null });
    return updated;
  });
}

export async function setRecipientStatusAsOperator(prisma: PrismaClient, actor: Actor, recipientId: string, input: RecipientStatusInput) {
  return prisma.$transaction(async (tx) => {
    const before = await tx.recipient.findFirst({ where: { id: recipientId, organizationId: actor.organizationId }, select: { status: true } });
    const updated = await setRecipientStatus(tx, { organizationId: actor.organizationId, recipientId, status: input.status });
    await audit(tx, actor, input.status === "PAUSED" ? "recipient.paused" : "recipient.resumed", recipientId, { from: before?.status ?? null, to: updated.status });
    return updated;
  });
}
