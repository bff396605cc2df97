// The shared error boundary: a plain message for the person, never a stack trace or internal detail.
import { isRouteErrorResponse, Link, useRouteError } from "@remix-run/react";

export function GeneralErrorBoundary() {
  const error = useRouteError();
  let title = "Something went wrong";
  let detail = "The error was logged. Try again in a moment.";
  if (isRouteErrorResponse(error)) {
    title = `${error.status} ${error.statusText || ""}`.trim();
    if (typeof error.data === "string" && error.data.length < 300) detail = error.data;
    else if (error.status === 404) detail = "There is nothing at this address.";
  }
  return (
    <main className="page">
      <h1>{title}</h1>
      <p>{detail}</p>
      <p>
        <Link to="/">Back to the start page</Link>
      </p>
    </main>
  );
}
