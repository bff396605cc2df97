// The console's frame: who is signed in, into which organization, the sections, the sign-out form, and
// the viewer's time zone for every <LocalTime> inside.
import { Form, Link, NavLink, useLocation } from "@remix-run/react";
import type { ReactNode } from "react";
import { CsrfInput } from "./console-form";
import { TimeZoneProvider } from "./local-time";

export interface ShellOperator {
  name: string;
  email: string;
  role: "ADMIN" | "OPERATOR" | "VIEWER";
  organization: string;
}

const ROLE_LABEL = { ADMIN: "admin", OPERATOR: "operator", VIEWER: "viewer" } as const;

export function ConsoleShell({
  operator,
  csrf,
  timeZone,
  webhooksStopped = 0,
  children,
}: {
  operator: ShellOperator;
  csrf: string;
  timeZone: string;
  /** Webhook endpoints the dispatcher disabled after persistent failure: announced on every page but their own. */
  webhooksStopped?: number;
  children: ReactNode;
}) {
  const { pathname } = useLocation();
  return (
    <div className="console">
      <header className="console-header">
        <p className="console-org">
          <strong>{operator.organization}</strong> <span className="muted">StableFlow console</span>
        </p>
        <nav aria-label="Console">
          <ul className="console-nav">
            <li>
              <NavLink to="/console" end>
                Overview
              </NavLink>
            </li>
            <li>
              <NavLink to="/console/payments">Payments</NavLink>
            </li>
            <li>
              <NavLink to="/console/recipients">Recipients</NavLink>
            </li>
            <li>
              <NavLink to="/console/policies">Policies</NavLink>
            </li>
            <li>
              <NavLink to="/console/runs">Payout runs</NavLink>
            </li>
            <li>
              <NavLink to="/ledger">Ledger</NavLink>
            </li>
            <li>
              <NavLink to="/console/treasury">Treasury</NavLink>
            </li>
            <li>
              <NavLink to="/console/audit">Audit log</NavLink>
            </li>
            <li>
              <NavLink to="/console/exports">Exports</NavLink>
            </li>
            <li>
              <NavLink to="/console/team">Team</NavLink>
            </li>
            <li>
              <NavLink to="/console/webhooks">Webhooks</NavLink>
            </li>
            <li>
              <NavLink to="/console/api-keys">API keys</NavLink>
            </li>
            <li>
              <NavLink to="/console/api" end>
                API
              </NavLink>
            </li>
          </ul>
        </nav>
        <div className="console-who">
          <span>
            {operator.name} <span className="muted">({ROLE_LABEL[operator.role]})</span>
          </span>
          <Form method="post" action="/logout">
            <CsrfInput token={csrf} />
            <button type="submit" className="secondary">
              Sign out
            </button>
          </Form>
        </div>
      </header>
      <main className="page">
        {webhooksStopped > 0 && pathname !== "/console/webhooks" ? (
          <p className="banner" role="alert">
            {`${webhooksStopped === 1 ? "A webhook endpoint was" : `${webhooksStopped} webhook endpoints were`} disabled after failing for a whole retry schedule: your systems are not hearing of payments and payouts. `}
            <Link to="/console/webhooks">See Webhooks</Link>
          </p>
        ) : null}
        <TimeZoneProvider zone={timeZone}>{children}</TimeZoneProvider>
      </main>
    </div>
  );
}
