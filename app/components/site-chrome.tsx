// The frame of the customer-facing pages (shop, checkout result, simulator, verification, explorer, sign-in):
// one navigation between them, and the test-mode banner every page shows, the console's included.
import { NavLink } from "@remix-run/react";

export interface TestModeParts {
  /** The local checkout simulator stands in for Dodo (no Dodo API key). */
  simulator: boolean;
  /** Dodo's own test mode (a test API key): test cards, no real money. */
  dodoTestMode: boolean;
  /** The embedded Solana chain with its demo stablecoin. */
  embeddedChain: boolean;
}

export function isTestMode(parts: TestModeParts): boolean {
  return parts.simulator || parts.dodoTestMode || parts.embeddedChain;
}

/** Like a payment dashboard's test-mode bar: what is simulated, and that no real money moves. */
export function TestModeBanner({ parts }: { parts: TestModeParts }) {
  if (!isTestMode(parts)) return null;
  const what = [
    parts.simulator && "payments go through the local checkout simulator",
    parts.dodoTestMode && "payments go through Dodo Payments' test mode",
    parts.embeddedChain && "payouts settle on the embedded Solana chain in a demo stablecoin",
  ].filter(Boolean);
  return (
    <div className="test-mode" role="note" aria-label="Test mode" data-testid="test-mode-banner">
      <strong>Test mode</strong> <span>{what.join("; ")}. Everything here is test data: no real money moves.</span>
    </div>
  );
}

const LINKS = [
  { to: "/shop", label: "Shop" },
  { to: "/verify", label: "Verify a payout" },
  { to: "/explorer", label: "Explorer" },
  { to: "/console", label: "Operators' console" },
] as const;

/** On top of the page (a header), or below a sign-in form (a footer) so that the form keeps the first Tab. */
export function SiteNav({ placement = "top" }: { placement?: "top" | "bottom" }) {
  const Frame = placement === "top" ? "header" : "footer";
  return (
    <Frame className={placement === "top" ? "site-header" : "site-header site-footer"}>
      <nav aria-label="Site">
        <ul className="site-nav">
          <li>
            <NavLink to="/" end className="site-home">
              StableFlow
            </NavLink>
          </li>
          {LINKS.map((link) => (
            <li key={link.to}>
              <NavLink to={link.to}>{link.label}</NavLink>
            </li>
          ))}
        </ul>
      </nav>
    </Frame>
  );
}
