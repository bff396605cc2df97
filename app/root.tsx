// The document shell shared by every page: the test-mode banner, the customer pages' navigation (the console
// has its own frame), a title on every page, and the one error boundary of the app.
import { isRouteErrorResponse, Links, Meta, Outlet, Scripts, ScrollRestoration, useMatches, useRouteLoaderData } from "@remix-run/react";
import type { LinksFunction, MetaFunction } from "@remix-run/node";
import stylesheet from "~/styles/app.css?url";
import { GeneralErrorBoundary } from "~/components/error-boundary";
import { SiteNav, TestModeBanner, type TestModeParts } from "~/components/site-chrome";
import { deploymentModes } from "~/models/health.server";
import { useNonce } from "~/utils/nonce";

export const links: LinksFunction = () => [
  { rel: "stylesheet", href: stylesheet },
  { rel: "icon", href: "/favicon.svg", type: "image/svg+xml" },
];

// The default title, for a page without its own (and for an error shown by the root).
export const meta: MetaFunction = ({ error }) => {
  if (!error) return [{ title: "StableFlow" }];
  const status = isRouteErrorResponse(error) ? error.status : 500;
  return [{ title: `${status === 404 ? "Page not found" : status === 403 ? "Not allowed" : "Something went wrong"} · StableFlow` }];
};

export async function loader() {
  const modes = deploymentModes();
  const testMode: TestModeParts = {
    simulator: modes.dodo === "simulator",
    dodoTestMode: modes.dodo === "test_mode",
    embeddedChain: modes.chain === "embedded",
  };
  return { testMode };
}

// The configuration does not change while the server runs.
export const shouldRevalidate = () => false;

/**
 * A route's frame, from its `handle`: the console (console.tsx) has its own navigation; the sign-in pages
 * (login, setup, invitation) keep the site's navigation below the form, so the first Tab lands on its first
 * field; every other page has it on top.
 */
export interface FrameHandle {
  frame?: "console" | "auth";
}

export function Layout({ children }: { children: React.ReactNode }) {
  // Remix's inline scripts carry the response's nonce: the CSP allows no other inline script.
  const nonce = useNonce();
  const root = useRouteLoaderData<typeof loader>("root");
  const frame = useMatches()
    .map((match) => (match.handle as FrameHandle | undefined)?.frame)
    .findLast((value) => value !== undefined);
  return (
    <html lang="en">
      <head>
        <meta charSet="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <Meta />
        <Links />
      </head>
      <body>
        {root && <TestModeBanner parts={root.testMode} />}
        {frame === undefined && <SiteNav />}
        {children}
        {frame === "auth" && <SiteNav placement="bottom" />}
        <ScrollRestoration nonce={nonce} />
        <Scripts nonce={nonce} />
      </body>
    </html>
  );
}

export default function App() {
  return <Outlet />;
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary />;
}
