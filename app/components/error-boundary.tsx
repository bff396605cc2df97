// The shared error boundary: a page that says what happened and what to do next, never a stack trace or an
// internal detail. 403s and 404s carry their own sentence (session.server.ts `forbidden`, routes' 404s).
import { isRouteErrorResponse, Link, useLocation, useRouteError } from "@remix-run/react";

function Next({ signIn }: { signIn: boolean }) {
  return (
    <ul>
      <li>
        <Link to="/">Go to the start page</Link>
      </li>
      <li>
        <Link to="/shop">Shop</Link> or <Link to="/verify">verify a payout</Link>
      </li>
      {signIn ? (
        <li>
          <Link to="/login">Sign in as another operator</Link>
        </li>
      ) : (
        <li>
          <Link to="/console">Operators' console</Link>
        </li>
      )}
    </ul>
  );
}

export function GeneralErrorBoundary() {
  const error = useRouteError();
  const { pathname } = useLocation();
  const status = isRouteErrorResponse(error) ? error.status : 500;
  const said = isRouteErrorResponse(error) && typeof error.data === "string" && error.data.length > 0 && error.data.length < 400 ? error.data : null;
  let title = "Something went wrong";
  let detail = said ?? "The error was logged. Try again in a moment; if it keeps happening, tell the site's operators.";
  if (status === 404) {
    title = "Page not found";
    detail = said && said !== "Not Found" ? said : `There is nothing at ${pathname}. Check the address, or start again from one of these pages.`;
  } else if (status === 403) {
    title = "Not allowed";
    detail = said ?? "Your account may not open this page. Ask an admin of your organization for the role it needs.";
  } else if (status === 413) {
    title = "Too large";
  } else if (status >= 400 && status < 500) {
    title = "This request could not be handled";
  }
  return (
    <main className="page" data-error-status={status}>
      <h1>{title}</h1>
      <p>{detail}</p>
      <Next signIn={status === 403} />
    </main>
  );
}
