// /console/*: the operators' console. This layout signs the visitor in (or sends them to /login) and frames
// every page; each child still calls requireOperator / requireOperatorForm itself, because Remix runs the
// loaders of a layout and its children in parallel and an action runs without the layout's loader.
import { data, type LinksFunction, type LoaderFunctionArgs } from "@remix-run/node";
import { isRouteErrorResponse, Link, Outlet, useLoaderData, useRouteError } from "@remix-run/react";
import { ConsoleShell } from "~/components/console-shell";
import consoleStyles from "~/styles/console.css?url";
import { stoppedEndpointCount } from "~/models/outbound-webhooks.server";
import { getPrisma } from "~/utils/db.server";
import { pageCsrf, requireOperator } from "~/utils/session.server";
import { viewerTimeZone } from "~/utils/time-zone.server";

// The console frames its pages itself (root.tsx leaves out the customer navigation).
export const handle = { frame: "console" };

export const links: LinksFunction = () => [{ rel: "stylesheet", href: consoleStyles }];

export async function loader({ request }: LoaderFunctionArgs) {
  const auth = await requireOperator(request);
  const { csrf, headers } = pageCsrf(request);
  return data(
    {
      csrf,
      timeZone: viewerTimeZone(request),
      webhooksStopped: await stoppedEndpointCount(await getPrisma(), auth.actor.organizationId),
      operator: { name: auth.name, email: auth.email, role: auth.role, organization: auth.organization.name },
    },
    { headers },
  );
}

export default function ConsoleLayout() {
  const { operator, csrf, timeZone, webhooksStopped } = useLoaderData<typeof loader>();
  return (
    <ConsoleShell operator={operator} csrf={csrf} timeZone={timeZone} webhooksStopped={webhooksStopped}>
      <Outlet />
    </ConsoleShell>
  );
}

export function ErrorBoundary() {
  const error = useRouteError();
  const status = isRouteErrorResponse(error) ? error.status : 500;
  const detail = isRouteErrorResponse(error) && typeof error.data === "string" && error.data.length < 400 ? error.data : null;
  return (
    <main className="page narrow">
      <h1>{status === 403 ? "Not allowed" : status === 404 ? "Not found" : "Something went wrong"}</h1>
      <p>{detail ?? (status === 404 ? "There is nothing at this address in the console." : "The error was logged. Try again in a moment.")}</p>
      <p>
        <Link to="/console">Back to the console overview</Link> · <Link to="/login">Sign in as someone else</Link>
      </p>
    </main>
  );
}
