// Products an organization sells through Dodo checkout, and the organizations a storefront can show.
import type { PrismaClient } from "~/generated/prisma/client";
import { currencyScale, formatMoney } from "~/ledger/money";

export interface ProductView {
  id: string;
  organizationId: string;
  dodoProductId: string;
  name: string;
  description: string;
  priceMinor: bigint;
  currency: string;
}

/** "12.34 USD": decimal string built from bigint minor units, never through a float. */
export function formatPrice(amountMinor: bigint, currency: string): string {
  return `${formatMoney(amountMinor, currencyScale(currency))} ${currency}`;
}

export async function findOrganizationBySlug(prisma: PrismaClient, slug: string): Promise<{ id: string; slug: string; name: string } | null> {
  return prisma.organization.findUnique({ where: { slug }, select: { id: true, slug: true, name: true } });
}

export async function listActiveProducts(prisma: PrismaClient, organizationId: string): Promise<ProductView[]> {
  return prisma.product.findMany({
    where: { organizationId, active: true },
    orderBy: [{ priceMinor: "asc" }, { name: "asc" }],
    select: { id: true, organizationId: true, dodoProductId: true, name: true, description: true, priceMinor: true, currency: true },
  });
}

export async function findActiveProduct(prisma: PrismaClient, organizationId: string, productId: string): Promise<ProductView | null> {
  return prisma.product.findFirst({
    where: { id: productId, organizationId, active: true },
    select: { id: true, organizationId: true, dodoProductId: true, name: true, description: true, priceMinor: true, currency: true },
  });
}

/**
 * Simulator mode only: a small demo catalogue so the storefront has something to buy. The Dodo product ids
 * are the simulator's own (`pdt_sim_*`); with a real API key products are created by operators instead.
 */
export async function ensureSimulatorCatalog(prisma: PrismaClient, organizationId: string): Promise<void> {
  await prisma.product.createMany({
    data: [
      { organizationId, dodoProductId: "pdt_sim_starter", name: "Starter plan", description: "One month of the starter plan.", priceMinor: 1900n, currency: "USD" },
      { organizationId, dodoProductId: "pdt_sim_team", name: "Team plan", description: "One month for a team of five.", priceMinor: 9900n, currency: "USD" },
      { organizationId, dodoProductId: "pdt_sim_ebook", name: "Field guide (e-book)", description: "A one-time download.", priceMinor: 1250n, currency: "USD" },
    ],
    skipDuplicates: true,
  });
}
