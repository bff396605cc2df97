// The OpenAPI 3.1 document of the operator API, generated from the very zod schemas the handlers parse
// with and answer in (zod 4's JSON Schema output): a field added to a handler's schema is in the document.
// Schemas with an `id` (Recipient, PayoutRun, Error, ...) become components; the rest are inline.
import { z } from "zod";
import { API_ERROR_CODES } from "./errors.server";
import type { ApiOperation } from "./handler.server";
import { MAX_BODY_BYTES } from "./handler.server";
import { API_OPERATIONS } from "./operations.server";
import { ErrorBody } from "./schemas";

type JsonSchema = Record<string, unknown>;

const STATUS_TEXT: Record<number, string> = {
  400: "The request is malformed: a parameter, header or body field (named in `error.field`) is invalid or unknown",
  401: "No API key, or a key that is not valid or was revoked",
  403: "The key may not do this (a read key on a write operation), or the principal may not act on this run",
  404: "Nothing with this id in the key's organization",
  405: "The path does not answer this method",
  409: "The request conflicts with the current state (see `error.code`), or an Idempotency-Key was reused for another request",
  413: `The body is larger than ${MAX_BODY_BYTES} bytes`,
  415: "The body is not application/json",
  422: "The input is well-formed but the ledger refuses it (see `error.code` and `error.field`)",
  429: "Too many requests for this key: retry after the `Retry-After` seconds",
  500: "The request failed on our side",
};

/** Converts one schema, hoisting its named parts into `components` (refs rewritten to point there). */
function convert(schema: z.ZodType, io: "input" | "output", components: Record<string, JsonSchema>): JsonSchema {
  const json = z.toJSONSchema(schema, { target: "draft-2020-12", io, unrepresentable: "any", reused: "inline" }) as JsonSchema;
  const defs = (json.$defs ?? {}) as Record<string, JsonSchema>;
  delete json.$defs;
  delete json.$schema;
  const rewrite = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(rewrite);
    if (node && typeof node === "object") {
      const out: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(node)) {
        out[key] = key === "$ref" && typeof value === "string" ? value.replace("#/$defs/", "#/components/schemas/") : rewrite(value);
      }
      return out;
    }
    return node;
  };
  for (const [name, def] of Object.entries(defs)) components[name] = rewrite(def) as JsonSchema;
  // A schema that is itself named is answered by reference.
  const id = (z.globalRegistry.get(schema) as { id?: string } | undefined)?.id;
  const converted = rewrite(json) as JsonSchema;
  if (id) {
    // zod answers a named root as a reference to its own definition (hoisted above); otherwise as the schema itself.
    if (converted.$ref !== `#/components/schemas/${id}`) {
      delete converted.id;
      components[id] = converted;
    }
    return { $ref: `#/components/schemas/${id}` };
  }
  return converted;
}

function parametersOf(operation: ApiOperation, components: Record<string, JsonSchema>) {
  const parameters: JsonSchema[] = [];
  for (const [where, schema] of [["path", operation.params], ["query", operation.query]] as const) {
    if (!schema) continue;
    for (const [name, field] of Object.entries(schema.shape as Record<string, z.ZodType>)) {
      const json = convert(field, "input", components);
      const description = typeof json.description === "string" ? json.description : undefined;
      parameters.push({ name, in: where, required: where === "path" || !field.safeParse(undefined).success, schema: json, ...(description ? { description } : {}) });
    }
  }
  if (operation.method === "POST") {
    parameters.push({
      name: "Idempotency-Key",
      in: "header",
      required: false,
      description: "Any 1-255 printable ASCII characters (a UUID is fine). The same key with the same request answers the original response for 24 hours; with another request, 409 IDEMPOTENCY_KEY_REUSED.",
      schema: { type: "string", minLength: 1, maxLength: 255, pattern: "^[\\x21-\\x7e]+$" },
    });
  }
  return parameters;
}

function operationObject(operation: ApiOperation, components: Record<string, JsonSchema>): JsonSchema {
  const errorRef = convert(ErrorBody, "output", components);
  const statuses = new Set<number>([400, 401, 429, 500, ...(operation.errors ?? [])]);
  if (operation.scope === "WRITE") statuses.add(403);
  if (operation.method === "POST") statuses.add(409);
  // A DELETE takes no body, and refuses one as a POST does.
  if (operation.method !== "GET") for (const status of [413, 415]) statuses.add(status);
  const responses: Record<string, JsonSchema> = {};
  const success = operation.status ?? 200;
  responses[String(success)] =
    operation.produces === "text/csv"
      ? { description: "CSV, one row per line, with a header row", content: { "text/csv": { schema: { type: "string" } } } }
      : { description: "Success", content: { "application/json": { schema: convert(operation.response, "output", components) } } };
  for (const status of [...statuses].sort()) {
    responses[String(status)] = {
      description: STATUS_TEXT[status] ?? "Error",
      ...(status === 429 ? { headers: { "Retry-After": { schema: { type: "integer" }, description: "seconds to wait" } } } : {}),
      content: { "application/json": { schema: errorRef } },
    };
  }
  return {
    operationId: operation.operationId,
    summary: operation.summary,
    ...(operation.description ? { description: operation.description } : {}),
    tags: [operation.tag],
    "x-scope": operation.scope.toLowerCase(),
    parameters: parametersOf(operation, components),
    ...(operation.method === "POST"
      ? { requestBody: { required: false, content: { "application/json": { schema: convert(operation.body ?? z.strictObject({}), "input", components) } } } }
      : {}),
    responses,
  };
}

const DESCRIPTION = `Everything the console does, for the business's own systems. Authenticate with an API key of your
organization (\`Authorization: Bearer sf_live_...\`, created at /console/api-keys or with
\`npm run operator -- api-key create\`); \`read\` keys may call GET operations, \`write\` keys all of them.
Amounts are decimal strings of minor units (token base units for payouts, currency minor units for payments).
Lists are newest first: pass the last id as \`starting_after\` for the next page. Every POST takes an
\`Idempotency-Key\`. Unknown fields are refused. Errors are \`{ "error": { "code", "message", "field"? } }\`;
the API's own codes are ${Object.keys(API_ERROR_CODES).join(", ")}; the ledger's codes (RECIPIENT_WALLET_TAKEN,
RUN_NOT_READY, APPROVAL_DUPLICATE, RULE_BPS_SUM_EXCEEDED, ...) pass through as the models name them.`;

let cached: JsonSchema | undefined;

/** The document (built once per process: the schemas do not change while it runs). */
export function openApiDocument(operations: readonly ApiOperation[] = API_OPERATIONS): JsonSchema {
  if (cached && operations === API_OPERATIONS) return cached;
  const components: Record<string, JsonSchema> = {};
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const operation of operations) {
    (paths[operation.path] ??= {})[operation.method.toLowerCase()] = operationObject(operation, components);
  }
  const document = {
    openapi: "3.1.0",
    info: { title: "StableFlow operator API", version: "1", description: DESCRIPTION },
    servers: [{ url: "/" }],
    security: [{ apiKey: [] }],
    paths,
    components: { schemas: components, securitySchemes: { apiKey: { type: "http", scheme: "bearer", description: "an API key: sf_live_... or sf_test_..." } } },
  };
  if (operations === API_OPERATIONS) cached = document;
  return document;
}
