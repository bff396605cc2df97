// The storefront: an organization's products with Buy buttons that start a Dodo hosted checkout.
import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Form, useLoaderData } from "@remix-run/react";
import { dodoMode } from "~/integrations/dodo.server";
import { ensureDefaultOrganization } from "~/models/organizations.server";
import {
  ensureSimulatorCatalog,
  findOrganizationBySlug,
  formatPrice,
  listActiveProducts,
} from "~/models/products.server";
import { getPrisma } from "~/utils/db.server";
import { getEnv } from "~/utils/env.server";

export const meta: MetaFunction = () => [{ title: "Shop · StableFlow" }];

const CHECKOUT_ERROR_MESSAGES: Record<string, string> = {
  CHECKOUT_PROVIDER_FAILED: "The payment provider could not start your checkout. Nothing was charged; please try again in a minute.",
  CHECKOUT_INVALID_INPUT: "Please check your name and email address and try again.",
  CHECKOUT_PRODUCT_NOT_FOUND: "That product is not on sale any more.",
  CHECKOUT_UNAVAILABLE: "Checkout is unavailable right now; please try again in a minute.",
};

export async function loader({ request }: LoaderFunctionArgs) {
  const url = new URL(request.url);
  const requested = url.searchParams.get("org") ?? "default";
  const slug = /^[a-z0-9-]{1,64}$/.test(requested) ? requested : "default";
  const env = getEnv();
  const mode = dodoMode(env);
  const prisma = await getPrisma();
  let organization = await findOrganizationBySlug(prisma, slug);
  if (!organization && slug === "default") organization = await ensureDefaultOrganization(prisma);
  if (!organization) throw new Response("No such shop", { status: 404 });
  if (mode === "simulator") await ensureSimulatorCatalog(prisma, organization.id);
  const products = await listActiveProducts(prisma, organization.id);
  const code = url.searchParams.get("checkout_error");
  return {
    mode,
    organization: { slug: organization.slug, name: organization.name },
    products: products.map((p) => ({ id: p.id, name: p.name, description: p.description, price: formatPrice(p.priceMinor, p.currency) })),
    error: code ? (CHECKOUT_ERROR_MESSAGES[code] ?? CHECKOUT_ERROR_MESSAGES.CHECKOUT_UNAVAILABLE) : null,
  };
}

export default function Shop() {
  const { mode, organization, products, error } = useLoaderData<typeof loader>();
  return (
    <main className="page">
      <h1>{organization.name}</h1>
      {mode === "simulator" ? (
        <p className="banner" role="status">
          Checkout simulator in use: no Dodo account is configured, so "Buy" opens a local page that plays Dodo's hosted
          checkout. No real money moves. <a href="/simulator">Simulator controls</a>
        </p>
      ) : mode === "test_mode" ? (
        <p className="banner" role="status">Dodo test mode: use Dodo's test cards; no real money moves.</p>
      ) : null}
      {error && (
        <p className="card bad" role="alert">
          {error}
        </p>
      )}
      {products.length === 0 ? (
        <p className="muted">Nothing on sale yet.</p>
      ) : (
        products.map((product) => (
          <section className="card" key={product.id}>
            <h2>{product.name}</h2>
            <p className="muted">{product.description}</p>
            <p>
              <strong>{product.price}</strong>
            </p>
            <Form method="post" action="/api/checkout" reloadDocument>
              <input type="hidden" name="org" value={organization.slug} />
              <input type="hidden" name="productId" value={product.id} />
              <label>
                Name <input name="customerName" required maxLength={200} autoComplete="name" />
              </label>{" "}
              <label>
                Email <input name="customerEmail" type="email" required maxLength={320} autoComplete="email" />
              </label>{" "}
              <label>
                Qty <input name="quantity" type="number" min={1} max={20} defaultValue={1} className="qty" />
              </label>{" "}
              <button type="submit">Buy</button>
            </Form>
          </section>
        ))
      )}
    </main>
  );
}
