// /console/api: the operator API's reference, rendered on the server from the OpenAPI document itself
// (/api/v1/openapi.json), so the page cannot drift from what the handlers accept and answer. Readable
// without JavaScript; every operation has its parameters, body fields, responses and the scope it needs.
import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Link, useLoaderData } from "@remix-run/react";
import { openApiDocument } from "~/api/openapi.server";
import { requireOperator } from "~/utils/session.server";

export const meta: MetaFunction = () => [{ title: "Operator API · StableFlow console" }];

type Schema = { $ref?: string; type?: string | string[]; enum?: unknown[]; items?: Schema; anyOf?: Schema[]; properties?: Record<string, Schema>; required?: string[]; description?: string; format?: string };

interface FieldRow {
  name: string;
  type: string;
  required: boolean;
  description: string;
}

interface OperationView {
  id: string;
  method: string;
  path: string;
  summary: string;
  scope: string;
  tag: string;
  parameters: (FieldRow & { in: string })[];
  body: { name: string | null; fields: FieldRow[] } | null;
  responses: { status: string; description: string; type: string }[];
}

function refName(ref: string): string {
  return ref.split("/").pop()!;
}

/** A short type for people: `string (uuid)`, `PayoutRun`, `array of Recipient`, `"ACTIVE" | "PAUSED"`. */
function typeOf(schema: Schema | undefined): string {
  if (!schema) return "any";
  if (schema.$ref) return refName(schema.$ref);
  if (schema.enum) return schema.enum.map((v) => JSON.stringify(v)).join(" | ");
  if (schema.anyOf) {
    const parts = schema.anyOf.map(typeOf).filter((t) => t !== "any");
    return parts.length > 0 ? [...new Set(parts)].join(" or ") : "any";
  }
  if (schema.type === "array") return `array of ${typeOf(schema.items)}`;
  const type = Array.isArray(schema.type) ? schema.type.join(" or ") : (schema.type ?? "any");
  return schema.format ? `${type} (${schema.format})` : type;
}

function fieldsOf(schema: Schema | undefined, components: Record<string, Schema>): { name: string | null; fields: FieldRow[] } {
  const resolved = schema?.$ref ? components[refName(schema.$ref)] : schema;
  const required = new Set(resolved?.required ?? []);
  return {
    name: schema?.$ref ? refName(schema.$ref) : null,
    fields: Object.entries(resolved?.properties ?? {}).map(([name, field]) => ({ name, type: typeOf(field), required: required.has(name), description: field.description ?? "" })),
  };
}

export async function loader({ request }: LoaderFunctionArgs) {
  await requireOperator(request);
  const document = openApiDocument() as {
    info: { description: string };
    paths: Record<string, Record<string, Record<string, unknown>>>;
    components: { schemas: Record<string, Schema> };
  };
  const components = document.components.schemas;
  const operations: OperationView[] = [];
  for (const [path, methods] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(methods)) {
      const op = operation as {
        operationId: string;
        summary: string;
        tags: string[];
        "x-scope": string;
        parameters: { name: string; in: string; required: boolean; schema: Schema; description?: string }[];
        requestBody?: { content: Record<string, { schema: Schema }> };
        responses: Record<string, { description: string; content?: Record<string, { schema: Schema }> }>;
      };
      operations.push({
        id: op.operationId,
        method: method.toUpperCase(),
        path,
        summary: op.summary,
        scope: op["x-scope"],
        tag: op.tags[0] ?? "Other",
        parameters: op.parameters.map((p) => ({ name: p.name, in: p.in, type: typeOf(p.schema), required: p.required, description: p.description ?? "" })),
        body: op.requestBody ? fieldsOf(op.requestBody.content["application/json"]?.schema, components) : null,
        responses: Object.entries(op.responses).map(([status, r]) => {
          const [media, content] = Object.entries(r.content ?? {})[0] ?? [];
          return { status, description: r.description, type: media === "text/csv" ? "CSV" : typeOf(content?.schema) };
        }),
      });
    }
  }
  const models = Object.entries(components)
    .filter(([name]) => name !== "Error")
    .map(([name, schema]) => ({ fields: fieldsOf(schema, components).fields, name }));
  return { description: document.info.description, operations, models };
}

function FieldTable({ caption, rows, withIn = false }: { caption: string; rows: (FieldRow & { in?: string })[]; withIn?: boolean }) {
  return (
    <div className="scroll">
      <table>
        <caption>{caption}</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            {withIn ? <th scope="col">In</th> : null}
            <th scope="col">Type</th>
            <th scope="col">Required</th>
            <th scope="col">Notes</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={`${row.in ?? ""}${row.name}`}>
              <td>
                <code>{row.name}</code>
              </td>
              {withIn ? <td>{row.in}</td> : null}
              <td>{row.type}</td>
              <td>{row.required ? "yes" : "no"}</td>
              <td className="muted">{row.description}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export default function ApiReference() {
  const { description, operations, models } = useLoaderData<typeof loader>();
  const tags = [...new Set(operations.map((o) => o.tag))];
  return (
    <>
      <h1>Operator API</h1>
      {description.split("\n\n").map((paragraph, i) => (
        <p key={i}>{paragraph.replace(/\n/g, " ")}</p>
      ))}
      <p>
        The machine-readable document: <a href="/api/v1/openapi.json">/api/v1/openapi.json</a> (OpenAPI 3.1). Keys:{" "}
        <Link to="/console/api-keys">API keys</Link>.
      </p>
      <nav aria-label="Operations">
        <ul>
          {operations.map((o) => (
            <li key={o.id}>
              <a href={`#${o.id}`}>
                <code className="wrap">{`${o.method} ${o.path}`}</code>
              </a>{" "}
              <span className="muted">{o.summary}</span>
            </li>
          ))}
        </ul>
      </nav>
      {tags.map((tag) => (
        <section key={tag} aria-labelledby={`tag-${tag.replace(/\W+/g, "-")}`}>
          <h2 id={`tag-${tag.replace(/\W+/g, "-")}`}>{tag}</h2>
          {operations
            .filter((o) => o.tag === tag)
            .map((o) => (
              <article key={o.id} id={o.id} className="card" data-operation={o.id}>
                <h3>
                  <code className="wrap">{`${o.method} ${o.path}`}</code>
                </h3>
                <p>
                  {`${o.summary}. `}
                  <span className="muted">{`Needs a ${o.scope} key.`}</span>
                </p>
                {o.parameters.length > 0 ? <FieldTable caption="Parameters" rows={o.parameters} withIn /> : null}
                {o.body && o.body.fields.length > 0 ? <FieldTable caption="Body (application/json; unknown fields are refused)" rows={o.body.fields} /> : null}
                <div className="scroll">
                  <table>
                    <caption>Responses</caption>
                    <thead>
                      <tr>
                        <th scope="col">Status</th>
                        <th scope="col">Body</th>
                        <th scope="col">When</th>
                      </tr>
                    </thead>
                    <tbody>
                      {o.responses.map((r) => (
                        <tr key={r.status}>
                          <td>{r.status}</td>
                          <td>{r.type}</td>
                          <td className="muted">{r.description}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
              </article>
            ))}
        </section>
      ))}
      <h2 id="models-heading">Objects</h2>
      {models.map((m) => (
        <section key={m.name} id={`model-${m.name}`} aria-label={m.name}>
          <h3>{m.name}</h3>
          <FieldTable caption={`${m.name} fields`} rows={m.fields} />
        </section>
      ))}
    </>
  );
}
