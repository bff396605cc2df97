// /console/team: the organization's operators, their roles and live sessions, open invitations. Admins
// invite (a link shown once), change roles, disable, and end sessions; everyone can end their own
// sessions everywhere. Every change is scoped to the signed-in operator's organization and audited.
import { data, redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, useActionData, useLoaderData, useRouteLoaderData } from "@remix-run/react";
import { z } from "zod";
import { CsrfInput, Field, FormAlert, RoleSelect, IntentButton } from "~/components/console-form";
import { isOwnSession, revokeAllSessions, revokeOperatorSessionsInOrganization, revokeSessionInOrganization } from "~/models/operator-sessions.server";
import {
  ChangeRoleSchema,
  changeRole,
  disableOperator,
  fieldErrors,
  InvitationSchema,
  inviteOperator,
  listTeam,
  OperatorError,
  OperatorIdSchema,
  revokeInvitation,
  roleAtLeast,
  type OperatorRole,
} from "~/models/operators.server";
import type { loader as consoleLoader } from "~/routes/console";
import { getPrisma } from "~/utils/db.server";
import { getEnv } from "~/utils/env.server";
import { publicOrigin } from "~/utils/public-url.server";
import { clearedSessionCookie, forbidden, requireOperator, requireOperatorForm } from "~/utils/session.server";

export const meta: MetaFunction = () => [{ title: "Team · StableFlow console" }];

export async function loader({ request }: LoaderFunctionArgs) {
  const auth = await requireOperator(request);
  const team = await listTeam(await getPrisma(), auth.actor);
  return {
    me: { id: auth.operatorId, role: auth.role, sessionId: auth.sessionId },
    operators: team.operators.map((o) => ({
      id: o.id,
      email: o.email,
      name: o.name,
      role: o.role,
      disabled: o.disabledAt !== null,
      sessions: o.sessions.map((s) => ({ id: s.id, lastSeenAt: s.lastSeenAt.toISOString(), createdAt: s.createdAt.toISOString(), ipAddress: s.ipAddress, userAgent: s.userAgent })),
    })),
    invitations: team.invitations.map((i) => ({ id: i.id, email: i.email, role: i.role, expiresAt: i.expiresAt.toISOString(), invitedBy: i.invitedBy.email })),
  };
}

const INTENTS: Record<string, OperatorRole> = {
  invite: "ADMIN",
  "change-role": "ADMIN",
  disable: "ADMIN",
  "revoke-invitation": "ADMIN",
  "revoke-operator-sessions": "ADMIN",
  "revoke-session": "VIEWER",
  "logout-everywhere": "VIEWER",
};

type ActionResult = { intent: string; fieldErrors?: Record<string, string>; message?: string; invitationUrl?: string; done?: string };

export async function action({ request, context }: ActionFunctionArgs) {
  // Any signed-in operator gets this far (CSRF and Origin checked first); the intent decides the role.
  const auth = await requireOperatorForm(request, context, { role: "VIEWER" });
  const { form, actor } = auth;
  const intent = String(form.get("intent") ?? "");
  const required = INTENTS[intent];
  if (!required) return data<ActionResult>({ intent, message: "Unknown action." }, { status: 400 });
  if (!roleAtLeast(auth.role, required)) throw forbidden(auth, required);
  const prisma = await getPrisma();
  try {
    switch (intent) {
      case "invite": {
        const parsed = InvitationSchema.safeParse({ email: form.get("email"), role: form.get("role") });
        if (!parsed.success) return data<ActionResult>({ intent, fieldErrors: fieldErrors(parsed.error) }, { status: 400 });
        const { invitation, token } = await inviteOperator(prisma, actor, parsed.data);
        const invitationUrl = `${publicOrigin(getEnv(), context)}/invite/${token}`;
        return data<ActionResult>({ intent, invitationUrl, done: `Invitation for ${invitation.email} created.` });
      }
      case "change-role": {
        const parsed = ChangeRoleSchema.safeParse({ operatorId: form.get("operatorId"), role: form.get("role") });
        if (!parsed.success) return data<ActionResult>({ intent, fieldErrors: fieldErrors(parsed.error) }, { status: 400 });
        await changeRole(prisma, actor, parsed.data);
        return data<ActionResult>({ intent, done: "Role changed." });
      }
      case "disable": {
        const parsed = OperatorIdSchema.safeParse({ operatorId: form.get("operatorId") });
        if (!parsed.success) return data<ActionResult>({ intent, fieldErrors: fieldErrors(parsed.error) }, { status: 400 });
        await disableOperator(prisma, actor, parsed.data.operatorId);
        return data<ActionResult>({ intent, done: "Operator disabled and signed out everywhere." });
      }
      case "revoke-invitation": {
        const parsed = z.object({ invitationId: z.uuid() }).safeParse({ invitationId: form.get("invitationId") });
        if (!parsed.success) return data<ActionResult>({ intent, message: "Choose an invitation." }, { status: 400 });
        await revokeInvitation(prisma, actor, parsed.data.invitationId);
        return data<ActionResult>({ intent, done: "Invitation withdrawn." });
      }
      case "revoke-operator-sessions": {
        const parsed = OperatorIdSchema.safeParse({ operatorId: form.get("operatorId") });
        if (!parsed.success) return data<ActionResult>({ intent, message: "Choose an operator." }, { status: 400 });
        const count = await revokeOperatorSessionsInOrganization(prisma, actor.organizationId, parsed.data.operatorId);
        if (count === null) throw new OperatorError("NOT_IN_ORGANIZATION", "There is no such operator in your organization.");
        if (parsed.data.operatorId === auth.operatorId) return redirect("/login", { headers: { "Set-Cookie": clearedSessionCookie() } });
        return data<ActionResult>({ intent, done: `${count} session${count === 1 ? "" : "s"} ended.` });
      }
      case "revoke-session": {
        const parsed = z.object({ sessionId: z.uuid() }).safeParse({ sessionId: form.get("sessionId") });
        if (!parsed.success) return data<ActionResult>({ intent, message: "Choose a session." }, { status: 400 });
        // Anyone may end their own sessions; only admins those of others (still within the organization).
        const own = await isOwnSession(prisma, auth.operatorId, parsed.data.sessionId);
        if (!own && !roleAtLeast(auth.role, "ADMIN")) throw forbidden(auth, "ADMIN");
        const ended = await revokeSessionInOrganization(prisma, actor.organizationId, parsed.data.sessionId);
        if (!ended) return data<ActionResult>({ intent, message: "That session had ended already or is not in your organization." }, { status: 404 });
        if (parsed.data.sessionId === auth.sessionId) return redirect("/login", { headers: { "Set-Cookie": clearedSessionCookie() } });
        return data<ActionResult>({ intent, done: "Session ended." });
      }
      case "logout-everywhere": {
        await revokeAllSessions(prisma, auth.operatorId);
        return redirect("/login", { headers: { "Set-Cookie": clearedSessionCookie() } });
      }
    }
  } catch (error) {
    if (error instanceof OperatorError) {
      const status = error.code === "NOT_IN_ORGANIZATION" ? 404 : 409;
      return data<ActionResult>({ intent, message: error.message }, { status });
    }
    throw error;
  }
  return data<ActionResult>({ intent, message: "Unknown action." }, { status: 400 });
}

const ROLE_LABEL = { ADMIN: "admin", OPERATOR: "operator", VIEWER: "viewer" } as const;
const time = (iso: string) => iso.replace("T", " ").slice(0, 16) + " UTC";

export default function Team() {
  const { me, operators, invitations } = useLoaderData<typeof loader>();
  const layout = useRouteLoaderData<typeof consoleLoader>("routes/console");
  const csrf = layout?.csrf ?? "";
  const result = useActionData<typeof action>();
  const isAdmin = me.role === "ADMIN";
  const inviteErrors = result?.intent === "invite" ? (result.fieldErrors ?? {}) : {};
  return (
    <>
      <h1>Team</h1>
      {!isAdmin ? (
        <p className="banner" role="status">
          You are {me.role === "VIEWER" ? "a viewer" : "an operator"}: you see the team, and only admins change it.
        </p>
      ) : null}
      <FormAlert message={result?.message} />
      {result?.done ? (
        <p className="card ok" role="status">
          {result.done}
        </p>
      ) : null}
      {result?.invitationUrl ? (
        <div className="card" role="status">
          <p>
            <strong>Send this link to the person you invited.</strong> It is shown only now, works once, and expires in 72 hours.
          </p>
          <p>
            <label htmlFor="invitation-url">Invitation link</label>
            <input id="invitation-url" className="wide" readOnly value={result.invitationUrl} />
          </p>
        </div>
      ) : null}

      <h2 id="operators-heading">Operators</h2>
      <div className="scroll">
        <table aria-labelledby="operators-heading">
          <thead>
            <tr><th scope="col">Name</th><th scope="col">E-mail</th><th scope="col">Role</th><th scope="col">Sessions</th>{isAdmin ? <th scope="col">Manage</th> : null}</tr>
          </thead>
          <tbody>
            {operators.map((o) => (
              <tr key={o.id} data-operator={o.email}>
                <td>
                  {o.name}
                  {o.id === me.id ? <span className="muted"> (you)</span> : null}
                </td>
                <td>{o.email}</td>
                <td>{o.disabled ? <span className="bad">disabled</span> : ROLE_LABEL[o.role]}</td>
                <td>{o.sessions.length}</td>
                {isAdmin ? (
                  <td>
                    {o.disabled ? null : (
                      <div className="row-actions">
                        <Form method="post" className="inline">
                          <CsrfInput token={csrf} />
                          <input type="hidden" name="intent" value="change-role" />
                          <input type="hidden" name="operatorId" value={o.id} />
                          <label htmlFor={`role-${o.id}`} className="visually-hidden">
                            Role of {o.email}
                          </label>
                          <select id={`role-${o.id}`} name="role" defaultValue={o.role}>
                            <option value="ADMIN">admin</option>
                            <option value="OPERATOR">operator</option>
                            <option value="VIEWER">viewer</option>
                          </select>
                          <button type="submit" className="secondary">
                            Change role
                          </button>
                        </Form>
                        {o.id !== me.id ? (
                          <>
                            <IntentButton csrf={csrf} intent="revoke-operator-sessions" fields={{ operatorId: o.id }} label="Sign out everywhere" ariaLabel={`Sign ${o.email} out everywhere`} />
                            <IntentButton csrf={csrf} intent="disable" fields={{ operatorId: o.id }} label="Disable" ariaLabel={`Disable ${o.email}`} danger />
                          </>
                        ) : null}
                      </div>
                    )}
                  </td>
                ) : null}
              </tr>
            ))}
          </tbody>
        </table>
      </div>

      {isAdmin ? (
        <section aria-labelledby="invite-heading">
          <h2 id="invite-heading">Invite an operator</h2>
          <Form method="post" className="card stack" noValidate>
            <CsrfInput token={csrf} />
            <input type="hidden" name="intent" value="invite" />
            <Field name="email" label="E-mail address" type="email" error={inviteErrors.email} />
            <RoleSelect id="invite-role" name="role" label="Role" error={inviteErrors.role} />
            <button type="submit">Create invitation link</button>
          </Form>
        </section>
      ) : null}

      <h2 id="invitations-heading">Open invitations</h2>
      {invitations.length === 0 ? (
        <p className="muted">No open invitation.</p>
      ) : (
        <div className="scroll">
          <table aria-labelledby="invitations-heading">
            <thead>
              <tr><th scope="col">E-mail</th><th scope="col">Role</th><th scope="col">Invited by</th><th scope="col">Expires</th>{isAdmin ? <th scope="col">Withdraw</th> : null}</tr>
            </thead>
            <tbody>
              {invitations.map((i) => (
                <tr key={i.id} data-invitation={i.email}>
                  <td>{i.email}</td>
                  <td>{ROLE_LABEL[i.role]}</td>
                  <td>{i.invitedBy}</td>
                  <td className="muted">{time(i.expiresAt)}</td>
                  {isAdmin ? (
                    <td>
                      <IntentButton csrf={csrf} intent="revoke-invitation" fields={{ invitationId: i.id }} label="Withdraw" ariaLabel={`Withdraw the invitation of ${i.email}`} />
                    </td>
                  ) : null}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}

      <h2 id="sessions-heading">Your sessions</h2>
      <div className="scroll">
        <table aria-labelledby="sessions-heading">
          <thead>
            <tr><th scope="col">Started</th><th scope="col">Last used</th><th scope="col">From</th><th scope="col">End</th></tr>
          </thead>
          <tbody>
            {(operators.find((o) => o.id === me.id)?.sessions ?? []).map((s) => (
              <tr key={s.id}>
                <td className="muted">{time(s.createdAt)}</td>
                <td className="muted">{time(s.lastSeenAt)}</td>
                <td>
                  {s.ipAddress ?? "unknown address"}
                  {s.id === me.sessionId ? <span className="muted"> (this browser)</span> : null}
                  {s.userAgent ? <span className="muted"> · {s.userAgent.slice(0, 60)}</span> : null}
                </td>
                <td>
                  <IntentButton csrf={csrf} intent="revoke-session" fields={{ sessionId: s.id }} label="End session" />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <Form method="post" className="card">
        <CsrfInput token={csrf} />
        <input type="hidden" name="intent" value="logout-everywhere" />
        <p>Lost a laptop, or signed in somewhere you should not have? End every session of your account, this one included.</p>
        <button type="submit">Log out everywhere</button>
      </Form>
    </>
  );
}
