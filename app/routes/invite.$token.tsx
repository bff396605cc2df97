// GET /invite/:token: an invitation an admin made (a link shown to them once). The invited person picks a
// name and password and is signed in; the link is then spent.
import { data, redirect, type ActionFunctionArgs, type LinksFunction, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, useActionData, useLoaderData } from "@remix-run/react";
import { CsrfInput, Field, FormAlert } from "~/components/console-form";
import { createSession } from "~/models/operator-sessions.server";
import { AcceptInvitationSchema, acceptInvitation, fieldErrors, findOpenInvitation, OperatorError } from "~/models/operators.server";
import consoleStyles from "~/styles/console.css?url";
import { getPrisma } from "~/utils/db.server";
import { clientAddress, pageCsrf, readSmallForm, requireSameSite, sessionCookie, sessionToken } from "~/utils/session.server";

export const links: LinksFunction = () => [{ rel: "stylesheet", href: consoleStyles }];
export const meta: MetaFunction = () => [{ title: "Join · StableFlow" }];
// The sign-in frame (root.tsx): the site's navigation below the form, which keeps the first Tab.
export const handle = { frame: "auth" };

const SPENT = "This invitation was used already, withdrawn, or has expired. Ask the admin who invited you for a new link.";
const ROLE_WORDS = { ADMIN: "an admin", OPERATOR: "an operator", VIEWER: "a viewer" } as const;

export async function loader({ request, params }: LoaderFunctionArgs) {
  const invitation = await findOpenInvitation(await getPrisma(), params.token ?? "");
  if (!invitation) throw new Response(SPENT, { status: 404, statusText: "Not Found" });
  const { csrf, headers } = pageCsrf(request);
  return data({ csrf, email: invitation.email, role: invitation.role, organization: invitation.organization.name }, { headers });
}

export async function action({ request, params, context }: ActionFunctionArgs) {
  const form = await readSmallForm(request);
  requireSameSite(request, form, context);
  const values = { name: form.get("name") ?? undefined, password: form.get("password") ?? undefined, confirm: form.get("confirm") ?? undefined };
  const parsed = AcceptInvitationSchema.safeParse(values);
  const name = String(values.name ?? "");
  if (!parsed.success) return data({ fieldErrors: fieldErrors(parsed.error), message: null, name }, { status: 400 });
  const prisma = await getPrisma();
  try {
    const operator = await acceptInvitation(prisma, params.token ?? "", parsed.data);
    const session = await createSession(prisma, operator.id, {
      replacingToken: sessionToken(request),
      client: { ipAddress: clientAddress(context), userAgent: request.headers.get("user-agent") ?? undefined },
    });
    return redirect("/console", { headers: { "Set-Cookie": sessionCookie(session.token) } });
  } catch (error) {
    if (error instanceof OperatorError) {
      return data({ fieldErrors: {} as Record<string, string>, message: error.code === "TOKEN_INVALID" ? SPENT : error.message, name }, { status: 409 });
    }
    throw error;
  }
}

export default function AcceptInvitation() {
  const invitation = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const errors = result?.fieldErrors ?? {};
  return (
    <main className="page narrow">
      <h1>Join {invitation.organization}</h1>
      <p>
        You are invited as {ROLE_WORDS[invitation.role]} with the address <strong>{invitation.email}</strong>. Choose your name and a
        password; you will be signed in.
      </p>
      <FormAlert message={result?.message} />
      <Form method="post" className="card stack" noValidate>
        <CsrfInput token={invitation.csrf} />
        <Field name="name" label="Your name" autoComplete="name" defaultValue={result?.name} error={errors.name} />
        <Field name="password" label="Password" type="password" autoComplete="new-password" error={errors.password} hint="At least 12 characters." />
        <Field name="confirm" label="Repeat the password" type="password" autoComplete="new-password" error={errors.confirm} />
        <button type="submit">Join and sign in</button>
      </Form>
    </main>
  );
}
