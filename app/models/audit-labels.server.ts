// Audit rows name their subject by our internal id; people match payments by Dodo's id. This resolves the
// payments among an organization's audit rows to the shared label (app/utils/identifiers.ts).
import type { PrismaClient } from "~/generated/prisma/client";
import { entityLabel } from "~/utils/identifiers";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Dodo's id of each of these payments of the organization (ids of other organizations resolve to nothing). */
export async function dodoPaymentIds(prisma: PrismaClient, organizationId: string, paymentIds: string[]): Promise<Map<string, string>> {
  const ids = [...new Set(paymentIds.filter((id) => UUID.test(id)))];
  if (ids.length === 0) return new Map();
  const rows = await prisma.payment.findMany({ where: { organizationId, id: { in: ids } }, select: { id: true, dodoPaymentId: true } });
  return new Map(rows.map((row) => [row.id, row.dodoPaymentId]));
}

/** The label of each audit row's subject, in the rows' order. */
export async function auditEntityLabels(
  prisma: PrismaClient,
  organizationId: string,
  rows: { entityType: string; entityId: string }[],
): Promise<string[]> {
  const dodoIds = await dodoPaymentIds(
    prisma,
    organizationId,
    rows.filter((row) => row.entityType === "payment").map((row) => row.entityId),
  );
  return rows.map((row) => entityLabel(row.entityType, row.entityId, row.entityType === "payment" ? dodoIds.get(row.entityId) : null));
}
