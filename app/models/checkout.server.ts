// Starting a Dodo hosted checkout: record our checkout session, ask Dodo for a hosted session carrying our
// ids in metadata, remember where it lives. Provider failures become a typed error and an audit row.
import { APIError } from "dodopayments";
import type { PrismaClient } from "~/generated/prisma/client";
import type { DodoConnection } from "~/integrations/dodo.server";
import { STABLEFLOW_METADATA } from "~/integrations/dodo-events";
import { findActiveProduct } from "./products.server";
import { findPaymentForCheckout, type PaymentView } from "./payment-views.server";
import type { CheckoutFieldErrors, CheckoutInput } from "~/utils/checkout-input";

export { checkoutInputSchema, parseCheckoutInput, type CheckoutInput } from "~/utils/checkout-input";

export type CheckoutErrorCode = "CHECKOUT_INVALID_INPUT" | "CHECKOUT_PRODUCT_NOT_FOUND" | "CHECKOUT_PROVIDER_FAILED";

export class CheckoutError extends Error {
  constructor(
    readonly code: CheckoutErrorCode,
    /** Safe to show the customer as is. */
    readonly customerMessage: string,
    readonly status: 400 | 404 | 422 | 502,
    readonly checkoutId?: string,
    /** For CHECKOUT_INVALID_INPUT: each wrong field and its sentence. */
    readonly fieldErrors?: CheckoutFieldErrors,
  ) {
    super(customerMessage);
    this.name = "CheckoutError";
  }
}


export interface StartedCheckout {
  checkoutId: string;
  checkoutUrl: string;
  dodoSessionId: string;
}

/** What we keep of a provider failure: status and class, never the provider's text (it may echo input). */
function describeProviderFailure(error: unknown): string {
  if (error instanceof APIError) return error.status ? `Dodo answered HTTP ${error.status}` : "Dodo could not be reached";
  return "Dodo request failed";
}

function checkedCheckoutUrl(raw: string | null | undefined, mode: DodoConnection["mode"]): string | null {
  if (!raw) return null;
  try {
    const url = new URL(raw);
    // A redirect target from the network: https, or plain http only on loopback (the simulator, or the
    // local Dodo double a test or demo points DODO_PAYMENTS_BASE_URL at).
    const loopback = url.hostname === "127.0.0.1" || url.hostname === "localhost" || url.hostname === "[::1]";
    if (url.protocol === "https:" || (url.protocol === "http:" && (mode === "simulator" || loopback))) return url.toString();
  } catch {
    // fall through
  }
  return null;
}

export async function startCheckout(
  deps: { prisma: PrismaClient; dodo: DodoConnection },
  input: CheckoutInput,
  /** Origin of our own site, for Dodo's return URL. */
  origin: string,
): Promise<StartedCheckout> {
  const { prisma, dodo } = deps;
  const product = await findActiveProduct(prisma, input.organizationId, input.productId);
  if (!product) throw new CheckoutError("CHECKOUT_PRODUCT_NOT_FOUND", "That product is not on sale any more.", 404);

  const checkout = await prisma.checkoutSession.create({
    data: {
      organizationId: input.organizationId,
      productId: product.id,
      quantity: input.quantity,
      amountMinor: product.priceMinor * BigInt(input.quantity),
      currency: product.currency,
      customerEmail: input.customerEmail,
      customerName: input.customerName,
    },
    select: { id: true },
  });
  const returnUrl = new URL(`/checkout/success?checkout=${checkout.id}`, origin).toString();

  let failure: string | null = null;
  let session: { session_id: string; checkout_url?: string | null } | null = null;
  try {
    session = await dodo.client.checkoutSessions.create({
      product_cart: [{ product_id: product.dodoProductId, quantity: input.quantity }],
      customer: { email: input.customerEmail, name: input.customerName },
      return_url: returnUrl,
      metadata: { [STABLEFLOW_METADATA.checkoutId]: checkout.id, [STABLEFLOW_METADATA.organization]: input.organizationId },
    });
  } catch (error) {
    failure = describeProviderFailure(error);
  }
  const checkoutUrl = session ? checkedCheckoutUrl(session.checkout_url, dodo.mode) : null;
  if (!failure && (!session || !checkoutUrl)) failure = "Dodo returned no usable checkout URL";

  if (failure || !session || !checkoutUrl) {
    await prisma.$transaction([
      prisma.checkoutSession.update({ where: { id: checkout.id }, data: { status: "FAILED", error: failure } }),
      prisma.auditLog.create({
        data: {
          organizationId: input.organizationId,
          actorType: "CUSTOMER",
          action: "checkout.provider_failed",
          entityType: "checkout_session",
          entityId: checkout.id,
          data: { reason: failure, dodoMode: dodo.mode },
        },
      }),
    ]);
    throw new CheckoutError(
      "CHECKOUT_PROVIDER_FAILED",
      "The payment provider could not start your checkout. Nothing was charged; please try again in a minute.",
      502,
      checkout.id,
    );
  }

  await prisma.$transaction([
    prisma.checkoutSession.update({
      where: { id: checkout.id },
      data: { status: "REDIRECTED", dodoSessionId: session.session_id, checkoutUrl },
    }),
    prisma.auditLog.create({
      data: {
        organizationId: input.organizationId,
        actorType: "CUSTOMER",
        action: "checkout.redirected",
        entityType: "checkout_session",
        entityId: checkout.id,
        data: { dodoSessionId: session.session_id, dodoMode: dodo.mode },
      },
    }),
  ]);
  return { checkoutId: checkout.id, checkoutUrl, dodoSessionId: session.session_id };
}

export interface CheckoutView {
  id: string;
  organizationId: string;
  status: "CREATED" | "REDIRECTED" | "FAILED" | "COMPLETED";
  amountMinor: bigint;
  currency: string;
  productName: string | null;
  customerEmail: string;
  customerName: string;
  quantity: number;
  dodoSessionId: string | null;
  payment: PaymentView | null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

async function toView(prisma: PrismaClient, row: {
  id: string; organizationId: string; status: CheckoutView["status"]; amountMinor: bigint; currency: string;
  customerEmail: string; customerName: string; quantity: number; dodoSessionId: string | null; product: { name: string } | null;
}): Promise<CheckoutView> {
  return {
    id: row.id,
    organizationId: row.organizationId,
    status: row.status,
    amountMinor: row.amountMinor,
    currency: row.currency,
    productName: row.product?.name ?? null,
    customerEmail: row.customerEmail,
    customerName: row.customerName,
    quantity: row.quantity,
    dodoSessionId: row.dodoSessionId,
    payment: await findPaymentForCheckout(prisma, row.id),
  };
}

const VIEW_SELECT = {
  id: true, organizationId: true, status: true, amountMinor: true, currency: true, customerEmail: true,
  customerName: true, quantity: true, dodoSessionId: true, product: { select: { name: true } },
} as const;

/** Our checkout and the payment the ledger holds for it (success page). */
export async function getCheckoutView(prisma: PrismaClient, checkoutId: string): Promise<CheckoutView | null> {
  if (!UUID.test(checkoutId)) return null;
  const row = await prisma.checkoutSession.findUnique({ where: { id: checkoutId }, select: VIEW_SELECT });
  return row ? toView(prisma, row) : null;
}

/** The checkout behind a Dodo session id (simulator's hosted page). */
export async function getCheckoutByDodoSession(prisma: PrismaClient, dodoSessionId: string): Promise<CheckoutView | null> {
  if (!/^[A-Za-z0-9_-]{1,128}$/.test(dodoSessionId)) return null;
  const row = await prisma.checkoutSession.findUnique({ where: { dodoSessionId }, select: VIEW_SELECT });
  return row ? toView(prisma, row) : null;
}
