// GET /login: the operators' sign-in form. POST: checks the e-mail and password (rate limited, the same
// answer whether or not the account exists), then starts a new session (a new token, the old one revoked).
import { data, redirect, type ActionFunctionArgs, type HeadersFunction, type LinksFunction, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, useActionData, useLoaderData, useNavigation } from "@remix-run/react";
import { CsrfInput, Field, FormAlert } from "~/components/console-form";
import { createSession } from "~/models/operator-sessions.server";
import { fieldErrors, LoginSchema, signIn } from "~/models/operators.server";
import consoleStyles from "~/styles/console.css?url";
import { getPrisma } from "~/utils/db.server";
import { describeWait } from "~/utils/rate-limit.server";
import { clientAddress, optionalOperator, pageCsrf, readSmallForm, requireSameSite, safeNext, sessionCookie, sessionToken } from "~/utils/session.server";

export const links: LinksFunction = () => [{ rel: "stylesheet", href: consoleStyles }];
// A refused sign-in's Retry-After reaches the document response too (Remix copies only Set-Cookie by itself).
export const headers: HeadersFunction = ({ actionHeaders }) => {
  const retryAfter = actionHeaders.get("Retry-After");
  return retryAfter ? { "Retry-After": retryAfter } : new Headers();
};
export const meta: MetaFunction = () => [{ title: "Sign in · StableFlow" }];
// The sign-in frame (root.tsx): the site's navigation below the form, which keeps the first Tab.
export const handle = { frame: "auth" };

export async function loader({ request }: LoaderFunctionArgs) {
  const next = safeNext(new URL(request.url).searchParams.get("next"));
  if (await optionalOperator(request)) throw redirect(next);
  const { csrf, headers } = pageCsrf(request);
  return data({ csrf, next }, { headers });
}

export async function action({ request, context }: ActionFunctionArgs) {
  const form = await readSmallForm(request);
  requireSameSite(request, form, context);
  const parsed = LoginSchema.safeParse({ email: form.get("email"), password: form.get("password") });
  const email = typeof form.get("email") === "string" ? String(form.get("email")).slice(0, 254) : "";
  if (!parsed.success) return data({ fieldErrors: fieldErrors(parsed.error), message: null, email }, { status: 400 });
  const prisma = await getPrisma();
  const result = await signIn(prisma, parsed.data, { address: clientAddress(context) });
  if (!result.ok) {
    if (result.code === "RATE_LIMITED") {
      return data(
        {
          fieldErrors: {} as Record<string, string>,
          message: `Too many sign-in attempts for this account or from this address. Wait ${describeWait(result.retryAfterSeconds)} and try again; an admin can reset your password meanwhile.`,
          email,
        },
        { status: 429, headers: { "Retry-After": String(result.retryAfterSeconds) } },
      );
    }
    return data({ fieldErrors: {} as Record<string, string>, message: "The e-mail address or the password is wrong (or the account is disabled).", email }, { status: 401 });
  }
  const session = await createSession(prisma, result.operatorId, {
    replacingToken: sessionToken(request),
    client: { ipAddress: clientAddress(context), userAgent: request.headers.get("user-agent") ?? undefined },
  });
  return redirect(safeNext(form.get("next")), { headers: { "Set-Cookie": sessionCookie(session.token) } });
}

export default function Login() {
  const { csrf, next } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const busy = useNavigation().state === "submitting";
  return (
    <main className="page narrow">
      <h1>Sign in</h1>
      <p className="muted">The StableFlow console, for your organization's operators.</p>
      <FormAlert message={result?.message} />
      <Form method="post" className="card stack" noValidate>
        <CsrfInput token={csrf} />
        <input type="hidden" name="next" value={next} />
        <Field name="email" label="E-mail address" type="email" autoComplete="username" defaultValue={result?.email} error={result?.fieldErrors.email} />
        <Field name="password" label="Password" type="password" autoComplete="current-password" error={result?.fieldErrors.password} />
        <button type="submit" disabled={busy}>
          Sign in
        </button>
      </Form>
      <p className="muted">
        No account? An admin of your organization invites you with a link. A new installation prints a one-time setup link
        on the server's console; <code>npm run operator -- create</code> makes an account from the command line.
      </p>
    </main>
  );
}
