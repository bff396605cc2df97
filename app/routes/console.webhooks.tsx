// /console/webhooks: the organization's outbound webhook endpoints and each one's delivery log. Admins
// register (the signing secret shown once), disable, enable and delete endpoints; admins and operators send
// a delivery again; viewers read. A banner names every endpoint the dispatcher disabled after persistent
// failure. Every change is scoped to the signed-in operator's organization and audited (the models do both).
import { data, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData, useRouteLoaderData } from "@remix-run/react";
import { z } from "zod";
import { CsrfInput, Field, FormAlert, IntentButton } from "~/components/console-form";
import { LocalTime } from "~/components/local-time";
import { NewEndpointSchema, OUTBOUND_EVENT_DESCRIPTIONS, OUTBOUND_EVENT_TYPES } from "~/integrations/outbound-events";
import { createEndpoint, deleteEndpoint, deliveryLog, listEndpoints, redeliver, setEndpointEnabled, WebhookEndpointError } from "~/models/outbound-webhooks.server";
import { fieldErrors, roleAtLeast, type OperatorRole } from "~/models/operators.server";
import { webhookSettings } from "~/models/webhook-dispatcher.server";
import type { loader as consoleLoader } from "~/routes/console";
import { getPrisma } from "~/utils/db.server";
import { getEnv } from "~/utils/env.server";
import { forbidden, requireOperator, requireOperatorForm } from "~/utils/session.server";

export const meta: MetaFunction = () => [{ title: "Webhooks · StableFlow console" }];

const iso = (date: Date | null) => (date ? date.toISOString() : null);

export async function loader({ request }: LoaderFunctionArgs) {
  const auth = await requireOperator(request);
  const prisma = await getPrisma();
  const endpoints = await listEndpoints(prisma, auth.actor);
  const selected = new URL(request.url).searchParams.get("endpoint");
  let log = null;
  if (selected) {
    if (!z.uuid().safeParse(selected).success) throw new Response("There is no such webhook endpoint in your organization.", { status: 404 });
    try {
      log = await deliveryLog(prisma, auth.actor, selected);
    } catch (error) {
      if (error instanceof WebhookEndpointError) throw new Response(error.message, { status: 404 });
      throw error;
    }
  }
  return {
    role: auth.role,
    endpoints: endpoints.map((e) => ({ ...e, disabledAt: iso(e.disabledAt), lastSuccessAt: iso(e.lastSuccessAt), createdAt: iso(e.createdAt)! })),
    log: log && {
      endpoint: log.endpoint,
      deliveries: log.deliveries.map((d) => ({ ...d, lastAttemptAt: iso(d.lastAttemptAt), nextAttemptAt: iso(d.nextAttemptAt), createdAt: iso(d.createdAt)! })),
      attempts: log.attempts.map((a) => ({ ...a, startedAt: iso(a.startedAt)! })),
    },
  };
}

const INTENTS: Record<string, OperatorRole> = { create: "ADMIN", disable: "ADMIN", enable: "ADMIN", delete: "ADMIN", redeliver: "OPERATOR" };
const EndpointIdSchema = z.object({ endpointId: z.uuid({ error: "Choose an endpoint." }) });
const DeliveryIdSchema = z.object({ deliveryId: z.uuid({ error: "Choose a delivery." }) });

type ActionResult = { intent: string; fieldErrors?: Record<string, string>; message?: string; done?: string; secret?: string; url?: string };

export async function action({ request, context }: ActionFunctionArgs) {
  // CSRF and Origin first, then the session; the intent decides the role.
  const auth = await requireOperatorForm(request, context, { role: "VIEWER" });
  const { form, actor } = auth;
  const intent = String(form.get("intent") ?? "");
  const required = INTENTS[intent];
  if (!required) return data<ActionResult>({ intent, message: "Unknown action." }, { status: 400 });
  if (!roleAtLeast(auth.role, required)) throw forbidden(auth, required);
  const prisma = await getPrisma();
  try {
    if (intent === "create") {
      const parsed = NewEndpointSchema.safeParse({ url: form.get("url") ?? "", description: form.get("description") ?? "", eventTypes: form.getAll("eventTypes") });
      if (!parsed.success) return data<ActionResult>({ intent, fieldErrors: fieldErrors(parsed.error) }, { status: 400 });
      const created = await createEndpoint(prisma, actor, parsed.data, webhookSettings(getEnv()).policy);
      return data<ActionResult>({ intent, done: "Endpoint registered.", secret: created.secret, url: parsed.data.url });
    }
    if (intent === "redeliver") {
      const parsed = DeliveryIdSchema.safeParse({ deliveryId: form.get("deliveryId") });
      if (!parsed.success) return data<ActionResult>({ intent, message: "Choose a delivery." }, { status: 400 });
      await redeliver(prisma, actor, parsed.data.deliveryId);
      return data<ActionResult>({ intent, done: "The delivery will be sent again within a few seconds, with the same webhook-id." });
    }
    const parsed = EndpointIdSchema.safeParse({ endpointId: form.get("endpointId") });
    if (!parsed.success) return data<ActionResult>({ intent, message: "Choose an endpoint." }, { status: 400 });
    if (intent === "delete") await deleteEndpoint(prisma, actor, parsed.data.endpointId);
    else await setEndpointEnabled(prisma, actor, parsed.data.endpointId, intent === "enable");
    return data<ActionResult>({ intent, done: intent === "delete" ? "Endpoint deleted." : intent === "enable" ? "Endpoint enabled." : "Endpoint disabled." });
  } catch (error) {
    if (error instanceof WebhookEndpointError) {
      if (error.code === "DESTINATION_REFUSED") return data<ActionResult>({ intent, fieldErrors: { url: error.message } }, { status: 400 });
      const status = error.code === "NOT_ALLOWED" ? 403 : error.code === "ENDPOINT_NOT_ENABLED" ? 409 : 404;
      return data<ActionResult>({ intent, message: error.message }, { status });
    }
    throw error;
  }
}

/** An instant in the viewer's time zone, or a dash. */
function When({ value }: { value: string | null }) {
  return value ? <LocalTime value={value} /> : <>—</>;
}
const STATUS_CLASS = { DELIVERED: "ok", PENDING: "muted", FAILED: "bad" } as const;

export default function Webhooks() {
  const { role, endpoints, log } = useLoaderData<typeof loader>();
  const csrf = useRouteLoaderData<typeof consoleLoader>("routes/console")?.csrf ?? "";
  const result = useActionData<typeof action>();
  const isAdmin = role === "ADMIN";
  const mayRedeliver = role !== "VIEWER";
  const createErrors = result?.intent === "create" ? (result.fieldErrors ?? {}) : {};
  const stopped = endpoints.filter((e) => e.status === "DISABLED" && e.disabledBySystem);
  return (
    <>
      <h1>Webhooks</h1>
      <p>
        StableFlow tells your systems what happens — payments recorded, payout runs ready, approved and settled, recipients held — as signed{" "}
        <a href="https://www.standardwebhooks.com/">Standard Webhooks</a>. Each delivery is retried for about a day until your endpoint answers 2xx.
      </p>
      {stopped.map((e) => (
        <p key={e.id} className="banner url" role="alert">
          <strong>{`Deliveries to ${e.url} stopped`}</strong> on <When value={e.disabledAt} />
          {`: ${e.disabledReason}. Fix the receiver, then enable the endpoint again: its waiting deliveries go out then, and failed ones can be sent again from its delivery log.`}
        </p>
      ))}
      {!isAdmin ? (
        <p className="banner" role="status">
          You are {role === "VIEWER" ? "a viewer: you see the endpoints and their deliveries" : "an operator: you can send a delivery again"}; only admins change endpoints.
        </p>
      ) : null}
      <FormAlert message={result?.message} />
      {result?.done ? (
        <p className="card ok" role="status">
          {result.done}
        </p>
      ) : null}
      {result?.secret ? (
        <div className="card" role="status">
          <p>
            <strong>Copy the signing secret of {result.url} now.</strong> It is shown only once; verify every delivery with it (the README shows how).
          </p>
          <p>
            <label htmlFor="endpoint-secret">Signing secret</label>
            <input id="endpoint-secret" className="wide" readOnly value={result.secret} />
          </p>
        </div>
      ) : null}

      <h2 id="endpoints-heading">Endpoints</h2>
      {endpoints.length === 0 ? (
        <p className="muted">No endpoint yet.</p>
      ) : (
        <div className="scroll">
          <table aria-labelledby="endpoints-heading">
            <thead>
              <tr><th scope="col">URL</th><th scope="col">Events</th><th scope="col">Status</th><th scope="col">Waiting / failed</th><th scope="col">Last success</th><th scope="col">Actions</th></tr>
            </thead>
            <tbody>
              {endpoints.map((e) => (
                <tr key={e.id} data-endpoint={e.url}>
                  <td>
                    {e.url}
                    {e.description ? <span className="muted"> · {e.description}</span> : null}
                  </td>
                  <td>{e.eventTypes.join(", ")}</td>
                  <td>{e.status === "ENABLED" ? <span className="ok">enabled</span> : <span className="bad">disabled</span>}</td>
                  <td>
                    {e.pending} / {e.failed}
                  </td>
                  <td className="muted"><When value={e.lastSuccessAt} /></td>
                  <td>
                    <div className="row-actions">
                      <Link to={`?endpoint=${e.id}`} aria-label={`Delivery log of ${e.url}`}>
                        Delivery log
                      </Link>
                      {isAdmin ? (
                        <>
                          <IntentButton csrf={csrf} intent={e.status === "ENABLED" ? "disable" : "enable"} fields={{ endpointId: e.id }} label={e.status === "ENABLED" ? "Disable" : "Enable"} ariaLabel={`${e.status === "ENABLED" ? "Disable" : "Enable"} ${e.url}`} />
                          <IntentButton csrf={csrf} intent="delete" fields={{ endpointId: e.id }} label="Delete" ariaLabel={`Delete ${e.url}`} danger />
                        </>
                      ) : null}
                    </div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}

      {isAdmin ? (
        <section aria-labelledby="create-heading">
          <h2 id="create-heading">Register an endpoint</h2>
          <Form method="post" className="card stack" noValidate>
            <CsrfInput token={csrf} />
            <input type="hidden" name="intent" value="create" />
            <Field name="url" label="URL" hint="https://… on a public address; StableFlow POSTs JSON to it." error={createErrors.url} />
            <Field name="description" label="Description (optional)" required={false} error={createErrors.description} />
            <fieldset aria-describedby={createErrors.eventTypes ? "event-types-error" : undefined}>
              <legend>Events</legend>
              {OUTBOUND_EVENT_TYPES.map((type) => (
                <div key={type}>
                  <input type="checkbox" id={`event-${type}`} name="eventTypes" value={type} />{" "}
                  <label htmlFor={`event-${type}`}>
                    <code>{type}</code> <span className="muted">— {OUTBOUND_EVENT_DESCRIPTIONS[type]}</span>
                  </label>
                </div>
              ))}
              {createErrors.eventTypes ? (
                <p className="field-error" id="event-types-error">
                  {createErrors.eventTypes}
                </p>
              ) : null}
            </fieldset>
            <button type="submit">Register endpoint</button>
          </Form>
        </section>
      ) : null}

      {log ? <DeliveryLogSection log={log} csrf={csrf} mayRedeliver={mayRedeliver} /> : null}
    </>
  );
}

type Log = NonNullable<ReturnType<typeof useLoaderData<typeof loader>>["log"]>;

function DeliveryLogSection({ log, csrf, mayRedeliver }: { log: Log; csrf: string; mayRedeliver: boolean }) {
  return (
    <section aria-labelledby="log-heading">
      <h2 id="log-heading" className="url">{`Delivery log of ${log.endpoint.url}`}</h2>
      {log.deliveries.length === 0 ? (
        <p className="muted">Nothing sent to this endpoint yet.</p>
      ) : (
        <div className="scroll">
          <table aria-labelledby="log-heading">
            <thead>
              <tr><th scope="col">Created</th><th scope="col">Event</th><th scope="col">webhook-id</th><th scope="col">Status</th><th scope="col">Attempts</th><th scope="col">Last answer</th><th scope="col">Next attempt</th>{mayRedeliver ? <th scope="col">Send again</th> : null}</tr>
            </thead>
            <tbody>
              {log.deliveries.map((d) => (
                <tr key={d.id} data-delivery={d.webhookId}>
                  <td className="muted"><When value={d.createdAt} /></td>
                  <td><code>{d.eventType}</code></td>
                  <td><code>{d.webhookId}</code></td>
                  <td className={STATUS_CLASS[d.status]}>{d.status.toLowerCase()}</td>
                  <td>{d.attempts}</td>
                  <td>{d.lastError ?? (d.lastStatusCode !== null ? `HTTP ${d.lastStatusCode}` : "—")}</td>
                  <td className="muted">{d.status === "PENDING" ? <When value={d.nextAttemptAt} /> : "—"}</td>
                  {mayRedeliver ? (
                    <td>
                      <IntentButton csrf={csrf} intent="redeliver" fields={{ deliveryId: d.id }} label="Send again" ariaLabel={`Send ${d.webhookId} again`} />
                    </td>
                  ) : null}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <h3 id="attempts-heading">Attempts</h3>
      {log.attempts.length === 0 ? (
        <p className="muted">No attempt yet.</p>
      ) : (
        <div className="scroll">
          <table aria-labelledby="attempts-heading">
            <thead>
              <tr><th scope="col">Time</th><th scope="col">Event</th><th scope="col">webhook-id</th><th scope="col">Attempt</th><th scope="col">Response</th><th scope="col">Error</th><th scope="col">Took</th></tr>
            </thead>
            <tbody>
              {log.attempts.map((a) => (
                <tr key={`${a.deliveryId}-${a.attempt}`}>
                  <td className="muted"><When value={a.startedAt} /></td>
                  <td><code>{a.eventType}</code></td>
                  <td><code>{a.webhookId}</code></td>
                  <td>
                    {a.attempt}
                    {a.manual ? <span className="muted"> (sent again)</span> : null}
                  </td>
                  <td className={a.statusCode !== null && a.statusCode < 300 ? "ok" : "bad"}>{a.statusCode ?? "none"}</td>
                  <td>{a.error ?? "—"}</td>
                  <td className="muted">{a.durationMs} ms</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
