// /console/api-keys: the organization's keys to the operator API. Everyone sees them (name, prefix, scope,
// creator, last use, revocation); admins create one (the key is shown once, only in the answer to the
// form) and revoke them. Scoped to the signed-in operator's organization, audited by the model.
import { data, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData, useRouteLoaderData } from "@remix-run/react";
import { z } from "zod";
import { CsrfInput, Field, FormAlert, IntentButton } from "~/components/console-form";
import { LocalTime } from "~/components/local-time";
import { apiKeyKind, ApiKeyError, createApiKey, listApiKeys, NewApiKeySchema, revokeApiKey } from "~/models/api-keys.server";
import { fieldErrors, roleAtLeast } from "~/models/operators.server";
import type { loader as consoleLoader } from "~/routes/console";
import { getPrisma } from "~/utils/db.server";
import { getEnv } from "~/utils/env.server";
import { forbidden, requireOperator, requireOperatorForm } from "~/utils/session.server";

export const meta: MetaFunction = () => [{ title: "API keys · StableFlow console" }];

export async function loader({ request }: LoaderFunctionArgs) {
  const auth = await requireOperator(request);
  const keys = await listApiKeys(await getPrisma(), auth.actor.organizationId);
  return {
    isAdmin: roleAtLeast(auth.role, "ADMIN"),
    keys: keys.map((k) => ({
      id: k.id,
      name: k.name,
      prefix: k.prefix,
      scope: k.scope,
      createdBy: k.createdBy,
      createdAt: k.createdAt.toISOString(),
      lastUsedAt: k.lastUsedAt?.toISOString() ?? null,
      revokedAt: k.revokedAt?.toISOString() ?? null,
    })),
  };
}

type ActionResult = { intent: string; fieldErrors?: Record<string, string>; message?: string; created?: { key: string; prefix: string; name: string; scope: string }; done?: string };

export async function action({ request, context }: ActionFunctionArgs) {
  const auth = await requireOperatorForm(request, context, { role: "VIEWER" });
  if (!roleAtLeast(auth.role, "ADMIN")) throw forbidden(auth, "ADMIN");
  const { form, actor } = auth;
  const intent = String(form.get("intent") ?? "");
  const prisma = await getPrisma();
  if (intent === "create") {
    const parsed = NewApiKeySchema.safeParse({ name: form.get("name"), scope: form.get("scope") });
    if (!parsed.success) return data<ActionResult>({ intent, fieldErrors: fieldErrors(parsed.error) }, { status: 400 });
    const created = await createApiKey(prisma, { organizationId: actor.organizationId, ...parsed.data, createdById: actor.operatorId, kind: apiKeyKind(getEnv()) });
    // The one time the key leaves the server: never cached, never stored.
    return data<ActionResult>(
      { intent, created: { key: created.key, prefix: created.prefix, name: created.name, scope: created.scope } },
      { headers: { "cache-control": "no-store" } },
    );
  }
  if (intent === "revoke") {
    const parsed = z.object({ keyId: z.uuid() }).safeParse({ keyId: form.get("keyId") });
    if (!parsed.success) return data<ActionResult>({ intent, message: "Choose a key." }, { status: 400 });
    try {
      const revoked = await revokeApiKey(prisma, { id: parsed.data.keyId, organizationId: actor.organizationId, revokedById: actor.operatorId });
      return data<ActionResult>({ intent, done: `Key ${revoked.prefix}… revoked: requests with it are refused from now on.` });
    } catch (error) {
      if (error instanceof ApiKeyError) {
        return data<ActionResult>({ intent, message: error.code === "API_KEY_NOT_FOUND" ? "There is no such key in your organization." : `${error.message}.` }, { status: error.code === "API_KEY_NOT_FOUND" ? 404 : 409 });
      }
      throw error;
    }
  }
  return data<ActionResult>({ intent, message: "Unknown action." }, { status: 400 });
}

const SCOPE_LABEL = { READ: "read", WRITE: "write" } as const;

export default function ApiKeys() {
  const { isAdmin, keys } = useLoaderData<typeof loader>();
  const layout = useRouteLoaderData<typeof consoleLoader>("routes/console");
  const csrf = layout?.csrf ?? "";
  const result = useActionData<typeof action>();
  const createErrors = result?.intent === "create" ? (result.fieldErrors ?? {}) : {};
  return (
    <>
      <h1>API keys</h1>
      <p>
        Keys let your own systems use the <Link to="/console/api">operator API</Link>: send one as <code>Authorization: Bearer sf_…</code>. A{" "}
        <strong>read</strong> key may only read; a <strong>write</strong> key may also create recipients and policies and approve, cancel or retry
        payout runs. Above the approval threshold a run needs two different principals: a key and an operator, or two keys.
      </p>
      {!isAdmin ? (
        <p className="banner" role="status">
          Only admins create and revoke keys.
        </p>
      ) : null}
      <FormAlert message={result?.message} />
      {result?.done ? (
        <p className="card ok" role="status">
          {result.done}
        </p>
      ) : null}
      {result?.created ? (
        <div className="card" role="status">
          <p>
            <strong>Copy the key “{result.created.name}” now.</strong> It is shown only this once; StableFlow keeps only its hash. If it is lost, revoke it
            and create another.
          </p>
          <p>
            <label htmlFor="new-api-key">New {SCOPE_LABEL[result.created.scope as "READ" | "WRITE"]} key</label>
            <input id="new-api-key" className="wide" readOnly value={result.created.key} data-testid="new-api-key" />
          </p>
        </div>
      ) : null}

      <h2 id="keys-heading">Keys</h2>
      {keys.length === 0 ? (
        <p className="muted">No key yet.</p>
      ) : (
        <div className="scroll">
          <table aria-labelledby="keys-heading">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Key</th>
                <th scope="col">Scope</th>
                <th scope="col">Created</th>
                <th scope="col">Last used</th>
                <th scope="col">State</th>
                {isAdmin ? <th scope="col">Revoke</th> : null}
              </tr>
            </thead>
            <tbody>
              {keys.map((k) => (
                <tr key={k.id} data-api-key={k.prefix}>
                  <td>{k.name}</td>
                  <td>
                    <code>{k.prefix}…</code>
                  </td>
                  <td>{SCOPE_LABEL[k.scope]}</td>
                  <td className="muted">
                    <LocalTime value={k.createdAt} />
                    {k.createdBy ? ` by ${k.createdBy}` : " by the operator CLI"}
                  </td>
                  <td className="muted">{k.lastUsedAt ? <LocalTime value={k.lastUsedAt} /> : "never"}</td>
                  <td>
                    {k.revokedAt ? (
                      <span className="bad">
                        revoked <LocalTime value={k.revokedAt} />
                      </span>
                    ) : (
                      "active"
                    )}
                  </td>
                  {isAdmin ? (
                    <td>
                      {k.revokedAt ? null : (
                        <IntentButton csrf={csrf} intent="revoke" fields={{ keyId: k.id }} label="Revoke" ariaLabel={`Revoke the key ${k.name} (${k.prefix})`} danger />
                      )}
                    </td>
                  ) : null}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}

      {isAdmin ? (
        <section aria-labelledby="create-heading">
          <h2 id="create-heading">Create a key</h2>
          <Form method="post" className="card stack" noValidate>
            <CsrfInput token={csrf} />
            <input type="hidden" name="intent" value="create" />
            <Field name="name" label="Name (what uses it)" hint="For example “CRM sync” or “signup flow”." error={createErrors.name} />
            <div className="field">
              <label htmlFor="key-scope">Scope</label>
              <select id="key-scope" name="scope" defaultValue="READ" aria-invalid={createErrors.scope ? true : undefined} aria-describedby={createErrors.scope ? "key-scope-error" : undefined}>
                <option value="READ">Read — lists and reads everything, changes nothing</option>
                <option value="WRITE">Write — also creates, approves, cancels and retries</option>
              </select>
              {createErrors.scope ? (
                <p className="field-error" id="key-scope-error">
                  {createErrors.scope}
                </p>
              ) : null}
            </div>
            <button type="submit">Create key</button>
          </Form>
        </section>
      ) : null}
    </>
  );
}
