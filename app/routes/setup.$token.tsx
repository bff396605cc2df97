// GET /setup/:token: the one-time link a fresh installation prints, to create the first admin. Single use,
// expiring, and refused as soon as any operator exists.
import { data, redirect, type ActionFunctionArgs, type LinksFunction, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, useActionData, useLoaderData } from "@remix-run/react";
import { CsrfInput, Field, FormAlert } from "~/components/console-form";
import { createSession } from "~/models/operator-sessions.server";
import { completeSetup, fieldErrors, OperatorError, SetupSchema, setupTokenUsable } from "~/models/operators.server";
import { ensureDefaultOrganization } from "~/models/organizations.server";
import consoleStyles from "~/styles/console.css?url";
import { getPrisma } from "~/utils/db.server";
import { clientAddress, pageCsrf, readSmallForm, requireSameSite, sessionCookie, sessionToken } from "~/utils/session.server";

export const links: LinksFunction = () => [{ rel: "stylesheet", href: consoleStyles }];
export const meta: MetaFunction = () => [{ title: "Set up StableFlow" }];
// The sign-in frame (root.tsx): the site's navigation below the form, which keeps the first Tab.
export const handle = { frame: "auth" };

const SPENT =
  "This setup link was used already or has expired. If nobody can sign in yet, restart the server: it prints a new link while no operator exists. Or create an admin with `npm run operator -- create`.";

export async function loader({ request, params }: LoaderFunctionArgs) {
  const prisma = await getPrisma();
  if (!(await setupTokenUsable(prisma, params.token ?? ""))) throw new Response(SPENT, { status: 404, statusText: "Not Found" });
  const organization = await ensureDefaultOrganization(prisma);
  const { csrf, headers } = pageCsrf(request);
  return data({ csrf, organizationName: organization.name }, { headers });
}

export async function action({ request, params, context }: ActionFunctionArgs) {
  const form = await readSmallForm(request);
  requireSameSite(request, form, context);
  const values = Object.fromEntries(["organizationName", "name", "email", "password", "confirm"].map((k) => [k, form.get(k) ?? undefined]));
  const echo = { organizationName: String(values.organizationName ?? ""), name: String(values.name ?? ""), email: String(values.email ?? "") };
  const parsed = SetupSchema.safeParse(values);
  if (!parsed.success) return data({ fieldErrors: fieldErrors(parsed.error), message: null, values: echo }, { status: 400 });
  const prisma = await getPrisma();
  try {
    const operator = await completeSetup(prisma, params.token ?? "", parsed.data);
    const session = await createSession(prisma, operator.id, {
      replacingToken: sessionToken(request),
      client: { ipAddress: clientAddress(context), userAgent: request.headers.get("user-agent") ?? undefined },
    });
    return redirect("/console", { headers: { "Set-Cookie": sessionCookie(session.token) } });
  } catch (error) {
    if (error instanceof OperatorError) {
      const status = error.code === "EMAIL_TAKEN" ? 409 : 410;
      return data({ fieldErrors: {} as Record<string, string>, message: error.code === "TOKEN_INVALID" ? SPENT : error.message, values: echo }, { status });
    }
    throw error;
  }
}

export default function Setup() {
  const { csrf, organizationName } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const errors = result?.fieldErrors ?? {};
  return (
    <main className="page narrow">
      <h1>Set up StableFlow</h1>
      <p>Nobody can sign in yet. Create the first admin: the account that invites everyone else. This link works once.</p>
      <FormAlert message={result?.message} />
      <Form method="post" className="card stack" noValidate>
        <CsrfInput token={csrf} />
        <Field name="organizationName" label="Organization name" defaultValue={result?.values.organizationName ?? organizationName} error={errors.organizationName} />
        <Field name="name" label="Your name" autoComplete="name" defaultValue={result?.values.name} error={errors.name} />
        <Field name="email" label="E-mail address" type="email" autoComplete="username" defaultValue={result?.values.email} error={errors.email} />
        <Field name="password" label="Password" type="password" autoComplete="new-password" error={errors.password} hint="At least 12 characters." />
        <Field name="confirm" label="Repeat the password" type="password" autoComplete="new-password" error={errors.confirm} />
        <button type="submit">Create the admin and sign in</button>
      </Form>
    </main>
  );
}
