// What the console's overview shows of one organization: its payments and payout runs counted by state,
// its team, and the newest lines of its audit trail. Scoped to the organization passed in, always.
import type { PaymentStatus, PayoutRunStatus, PrismaClient } from "~/generated/prisma/client";
import { auditEntityLabels } from "./audit-labels.server";

export const PAYMENT_STATUSES = ["PROCESSING", "SUCCEEDED", "FAILED", "CANCELLED"] as const satisfies readonly PaymentStatus[];
export const RUN_STATUSES = ["READY", "APPROVED", "EXECUTING", "SETTLED", "PARTIAL", "FAILED", "CANCELLED"] as const satisfies readonly PayoutRunStatus[];

export interface ConsoleOverview {
  payments: { status: PaymentStatus; count: number }[];
  runs: { status: PayoutRunStatus; count: number }[];
  operators: number;
  openInvitations: number;
  audit: { id: string; action: string; entity: string; actor: string; createdAt: string }[];
}

export async function loadConsoleOverview(prisma: PrismaClient, organizationId: string, now: Date = new Date()): Promise<ConsoleOverview> {
  const [payments, runs, operators, openInvitations, audit] = await Promise.all([
    prisma.payment.groupBy({ by: ["status"], where: { organizationId }, _count: { _all: true } }),
    prisma.payoutRun.groupBy({ by: ["status"], where: { organizationId }, _count: { _all: true } }),
    prisma.operator.count({ where: { organizationId, disabledAt: null } }),
    prisma.operatorInvitation.count({ where: { organizationId, acceptedAt: null, revokedAt: null, expiresAt: { gt: now } } }),
    prisma.auditLog.findMany({ where: { organizationId }, orderBy: { id: "desc" }, take: 15 }),
  ]);
  const auditLabels = await auditEntityLabels(prisma, organizationId, audit);
  const paymentCounts = new Map(payments.map((row) => [row.status, row._count._all]));
  const runCounts = new Map(runs.map((row) => [row.status, row._count._all]));
  return {
    payments: PAYMENT_STATUSES.map((status) => ({ status, count: paymentCounts.get(status) ?? 0 })),
    runs: RUN_STATUSES.map((status) => ({ status, count: runCounts.get(status) ?? 0 })),
    operators,
    openInvitations,
    audit: audit.map((line, index) => ({
      id: line.id.toString(),
      action: line.action,
      entity: auditLabels[index]!,
      actor: line.actorType.toLowerCase(),
      createdAt: line.createdAt.toISOString(),
    })),
  };
}
