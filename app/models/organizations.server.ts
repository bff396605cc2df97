// Organizations. A fresh install has one, created at first boot, which owns the webhook endpoint
// (payments that carry none of our metadata are recorded for it) until operators add more.
import type { PrismaClient } from "~/generated/prisma/client";
import { assertTimeZone } from "~/ledger/payout-schedule";
import { isUniqueViolation } from "~/utils/db-errors.server";

export const DEFAULT_ORGANIZATION_SLUG = "default";

/** Returns the default organization, creating it once; safe when several processes boot at once. */
export async function ensureDefaultOrganization(prisma: PrismaClient) {
  const existing = await prisma.organization.findUnique({ where: { slug: DEFAULT_ORGANIZATION_SLUG } });
  if (existing) return existing;
  try {
    return await prisma.organization.create({ data: { slug: DEFAULT_ORGANIZATION_SLUG, name: "StableFlow Demo" } });
  } catch (error) {
    if (isUniqueViolation(error)) {
      return prisma.organization.findUniqueOrThrow({ where: { slug: DEFAULT_ORGANIZATION_SLUG } });
    }
    throw error;
  }
}

/**
 * The IANA time zone in which the organization's payout schedule windows (hourly, daily, weekly) open and
 * close; ScheduleError (SCHEDULE_TIME_ZONE_INVALID) for a zone the runtime does not know. Windows already
 * opened keep the zone they were opened in; the next ones use the new one.
 */
export async function setOrganizationTimeZone(prisma: PrismaClient, args: { organizationId: string; timeZone: string }) {
  const timeZone = assertTimeZone(args.timeZone.trim());
  return prisma.organization.update({ where: { id: args.organizationId }, data: { timeZone } });
}
