// The storefront: an organization's products with Buy buttons that start a Dodo hosted checkout.
import { data, redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, useActionData, useLoaderData } from "@remix-run/react";
import type { InputHTMLAttributes } from "react";
import { dodoMode } from "~/integrations/dodo.server";
import { attemptCheckout } from "~/models/checkout-request.server";
import { CHECKOUT_FIELD_MESSAGES, CHECKOUT_LIMITS, isCheckoutField, type CheckoutFieldErrors } from "~/utils/checkout-fields";
import { ensureDefaultOrganization } from "~/models/organizations.server";
import {
  ensureSimulatorCatalog,
  findOrganizationBySlug,
  formatPrice,
  listActiveProducts,
} from "~/models/products.server";
import { getPrisma } from "~/utils/db.server";
import { getEnv } from "~/utils/env.server";
import { publicOrigin } from "~/utils/public-url.server";

export const meta: MetaFunction = () => [{ title: "Shop · StableFlow" }];

const CHECKOUT_ERROR_MESSAGES: Record<string, string> = {
  CHECKOUT_PROVIDER_FAILED: "The payment provider could not start your checkout. Nothing was charged; please try again in a minute.",
  CHECKOUT_INVALID_INPUT: "Please correct the fields marked below and try again.",
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
  // A plain form post to /api/checkout comes back here naming the wrong fields; their sentences are the schema's.
  const fieldErrors: CheckoutFieldErrors = {};
  for (const name of (url.searchParams.get("fields") ?? "").split(",")) if (isCheckoutField(name)) fieldErrors[name] = CHECKOUT_FIELD_MESSAGES[name];
  return {
    fieldErrors,
    mode,
    organization: { slug: organization.slug, name: organization.name },
    products: products.map((p) => ({ id: p.id, name: p.name, description: p.description, price: formatPrice(p.priceMinor, p.currency) })),
    error: code ? (CHECKOUT_ERROR_MESSAGES[code] ?? CHECKOUT_ERROR_MESSAGES.CHECKOUT_UNAVAILABLE) : null,
  };
}

// The shop's own form posts here: wrong fields come back beside the fields, with what was typed kept.
export async function action({ request, context }: ActionFunctionArgs) {
  const form = Object.fromEntries(await request.formData());
  const fields: Record<string, string> = {};
  for (const [key, value] of Object.entries(form)) if (typeof value === "string") fields[key] = value;
  const attempt = await attemptCheckout(fields, publicOrigin(getEnv(), context));
  if (attempt.ok) return redirect(attempt.checkoutUrl, 303);
  const invalid = attempt.code === "CHECKOUT_INVALID_INPUT";
  return data(
    {
      productId: fields.productId ?? null,
      message: invalid ? CHECKOUT_ERROR_MESSAGES.CHECKOUT_INVALID_INPUT! : (CHECKOUT_ERROR_MESSAGES[attempt.code] ?? attempt.message),
      fieldErrors: attempt.fieldErrors,
      values: { customerName: fields.customerName ?? "", customerEmail: fields.customerEmail ?? "", quantity: fields.quantity ?? "1" },
    },
    { status: attempt.status },
  );
}

export default function Shop() {
  const loaded = useLoaderData<typeof loader>();
  const { mode, organization, products } = loaded;
  const result = useActionData<typeof action>();
  const error = result?.message ?? loaded.error;
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
            <ProductForm
              org={organization.slug}
              productId={product.id}
              // Errors and typed values belong to the product whose form was sent (or to every form after a
              // plain post to /api/checkout, which does not say which one).
              fieldErrors={result ? (result.productId === product.id ? result.fieldErrors : {}) : loaded.fieldErrors}
              values={result?.productId === product.id ? result.values : undefined}
            />
          </section>
        ))
      )}
    </main>
  );
}

function ShopField({ id, label, error, input }: { id: string; label: string; error?: string; input: InputHTMLAttributes<HTMLInputElement> }) {
  return (
    <div className="shop-field">
      <label htmlFor={id}>{label}</label>
      <input id={id} {...input} aria-invalid={error ? true : undefined} aria-describedby={error ? `${id}-error` : undefined} />
      {error && (
        <p className="field-error" id={`${id}-error`}>
          {error}
        </p>
      )}
    </div>
  );
}

function ProductForm(props: {
  org: string;
  productId: string;
  fieldErrors: CheckoutFieldErrors;
  values?: { customerName: string; customerEmail: string; quantity: string };
}) {
  const { org, productId, fieldErrors, values } = props;
  const id = (field: string) => `${field}-${productId}`;
  return (
    <Form method="post" reloadDocument className="shop-form">
      <input type="hidden" name="org" value={org} />
      <input type="hidden" name="productId" value={productId} />
      <ShopField
        id={id("customerName")}
        label="Name"
        error={fieldErrors.customerName}
        input={{ name: "customerName", required: true, maxLength: CHECKOUT_LIMITS.nameMax, autoComplete: "name", defaultValue: values?.customerName }}
      />
      <ShopField
        id={id("customerEmail")}
        label="Email"
        error={fieldErrors.customerEmail}
        input={{ name: "customerEmail", type: "email", required: true, maxLength: CHECKOUT_LIMITS.emailMax, autoComplete: "email", defaultValue: values?.customerEmail }}
      />
      <ShopField
        id={id("quantity")}
        label="Quantity"
        error={fieldErrors.quantity}
        input={{ name: "quantity", type: "number", min: 1, max: CHECKOUT_LIMITS.quantityMax, defaultValue: values?.quantity ?? 1, className: "qty" }}
      />
      {fieldErrors.productId && <p className="field-error">{fieldErrors.productId}</p>}
      <button type="submit">Buy</button>
    </Form>
  );
}
