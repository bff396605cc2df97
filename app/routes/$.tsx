// Every address no other route serves: a real 404 page (with the site's frame and title), not the framework's
// "No route matches URL". Throwing a Response keeps it out of the error log: nobody's fault but the link's.
import type { MetaFunction } from "@remix-run/node";
import { GeneralErrorBoundary } from "~/components/error-boundary";

export const meta: MetaFunction = () => [{ title: "Page not found · StableFlow" }];

function notFound(): never {
  throw new Response(null, { status: 404, statusText: "Not Found" });
}

export const loader = notFound;
export const action = notFound;

export default function NotFound() {
  return null;
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary />;
}
