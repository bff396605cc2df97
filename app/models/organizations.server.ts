// Organizations. A fresh install has one, created at first boot, which owns the webhook endpoint
// (payments that carry none of our metadata are recorded for it) until operators add more.
import type { PrismaClient } from "~/generated/prisma/client";
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
