// A property-based fuzz (fast-check) over every operation of the OpenAPI document the server publishes:
// bodies drawn from the operation's own request schema (valid ones) and mutations of them (unknown fields,
// wrong types, missing fields, garbage, non-JSON), path parameters (the organization's own ids, unknown ids,
// junk), query parameters and headers (keys of every kind, content types, Idempotency-Keys). Whatever comes,
// the answer is never a 5xx (save 503 SETTLEMENT_OFF: this server runs without settlement, which the
// document lists), every JSON answer matches the document, and a refused request (4xx) changes nothing.
// Rounds per operation: API_FUZZ_RUNS (default 4 in CI; e.g. API_FUZZ_RUNS=200 for a long run).
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { useServedApp } from "../setup/app-server";
import { databaseTargets } from "../setup/databases";
import { apiClient, apiOrganization, stateFingerprint, type ApiClient, type ApiOrganization } from "../setup/operator-api";

process.env.STABLEFLOW_API_RATE_LIMIT = "1000000";
delete process.env.DODO_PAYMENTS_API_KEY;

const RUNS = Number(process.env.API_FUZZ_RUNS ?? 4);

type Schema = {
  $ref?: string;
  type?: string;
  enum?: unknown[];
  anyOf?: Schema[];
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  minItems?: number;
  maxItems?: number;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  format?: string;
};
type Operation = {
  operationId: string;
  parameters: { name: string; in: string; schema: Schema }[];
  requestBody?: { content: { "application/json": { schema: Schema } } };
};

const json = fc.jsonValue({ maxDepth: 3 });
const junk = fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom("", "null", "-1", "0", "1e309", "' OR 1=1 --", "../../etc/passwd", "\u0000", "𝟘", "%00"));

/** Values a schema describes (or close to it): the valid side of the fuzz. */
function fromSchema(schema: Schema | undefined, components: Record<string, Schema>, depth = 0): fc.Arbitrary<unknown> {
  if (!schema || depth > 4) return json;
  if (schema.$ref) return fromSchema(components[schema.$ref.split("/").pop()!], components, depth + 1);
  if (schema.enum) return fc.constantFrom(...schema.enum);
  if (schema.anyOf) return fc.oneof(...schema.anyOf.map((s) => fromSchema(s, components, depth + 1)));
  switch (schema.type) {
    case "object": {
      const keys = Object.keys(schema.properties ?? {});
      const model: Record<string, fc.Arbitrary<unknown>> = {};
      for (const key of keys) model[key] = fromSchema(schema.properties![key], components, depth + 1);
      return fc.record(model, { requiredKeys: (schema.required ?? []).filter((k) => keys.includes(k)) });
    }
    case "array":
      return fc.array(fromSchema(schema.items, components, depth + 1), { minLength: schema.minItems ?? 0, maxLength: Math.min(schema.maxItems ?? 3, 3) });
    case "integer":
      return fc.integer({ min: Math.max(schema.minimum ?? -1_000, -1_000_000), max: Math.min(schema.maximum ?? 1_000_000, 1_000_000) });
    case "number":
      return fc.double({ noNaN: true, min: -1e6, max: 1e6 });
    case "boolean":
      return fc.boolean();
    case "string":
      if (schema.format === "uuid") return fc.uuid({ version: 4 });
      if (schema.format === "date-time") return fc.date({ min: new Date("2000-01-01"), max: new Date("2100-01-01"), noInvalidDate: true }).map((d) => d.toISOString());
      return fc.oneof(fc.string({ minLength: schema.minLength ?? 0, maxLength: Math.min(schema.maxLength ?? 60, 60) }), fc.stringMatching(/^[1-9][0-9]{0,12}$/));
    default:
      return json;
  }
}

/** A valid-looking body, or one broken in a way a client might break it. */
function bodies(schema: Schema | undefined, components: Record<string, Schema>): fc.Arbitrary<{ raw?: string; value?: unknown }> {
  const valid = fromSchema(schema, components);
  return fc.oneof(
    valid.map((value) => ({ value })),
    fc.tuple(valid, fc.string({ minLength: 1, maxLength: 12 }), json).map(([value, key, extra]) => ({
      value: value && typeof value === "object" && !Array.isArray(value) ? { ...(value as object), [`x_${key}`]: extra } : value,
    })),
    valid.map((value) => {
      if (!value || typeof value !== "object" || Array.isArray(value)) return { value };
      const [first] = Object.keys(value);
      const copy = { ...(value as Record<string, unknown>) };
      if (first) copy[first] = 12345;
      return { value: copy };
    }),
    json.map((value) => ({ value })),
    fc.oneof(fc.string({ maxLength: 80 }), fc.constantFrom("{", '{"a":', "[]", "null", "\u0000\u0001", '{"__proto__":{"polluted":1}}')).map((raw) => ({ raw })),
  );
}

describe.each(databaseTargets())("operator API fuzz on $name", (target) => {
  const app = useServedApp(target);
  let org: ApiOrganization;
  let api: ApiClient;

  beforeAll(async () => {
    org = await apiOrganization(app.db, "Fuzzed");
    await apiOrganization(app.db, "Bystander");
    api = await apiClient(app.server.url);
  });

  it("every operation: random parameters, headers and bodies never answer a 5xx, and a refused request changes nothing", async () => {
    const document = api.validator.document as unknown as { paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, Schema> } };
    const components = document.components.schemas;
    const ownIds: Record<string, () => string> = {
      recipientId: () => org.recipientIds[1]!,
      versionId: () => org.policyVersionId,
      paymentId: () => org.paymentId,
      runId: () => org.runId,
      kind: () => "payments",
    };
    let requests = 0;
    for (const [template, methods] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(methods)) {
        const pathParams = operation.parameters.filter((p) => p.in === "path");
        const queryParams = operation.parameters.filter((p) => p.in === "query");
        const pathValues = fc.tuple(
          ...pathParams.map((p) => fc.oneof(fc.constant(ownIds[p.name]?.() ?? ""), fromSchema(p.schema, components), fc.uuid({ version: 4 }), junk)),
        );
        const query = fc.record(
          Object.fromEntries([...queryParams.map((p) => [p.name, fc.oneof(fromSchema(p.schema, components), junk)]), ["unexpected", junk]]),
          { requiredKeys: [] },
        );
        const key = fc.constantFrom<"write" | "read" | "revoked" | "none" | "garbage">("write", "write", "write", "read", "revoked", "none", "garbage");
        const contentType = fc.constantFrom("application/json", "application/json; charset=utf-8", "text/plain", "application/x-www-form-urlencoded", undefined);
        const idempotencyKey = fc.option(fc.oneof(fc.uuid(), fc.string({ maxLength: 300 })), { nil: undefined });
        const body = bodies(operation.requestBody?.content["application/json"].schema, components);
        await fc.assert(
          fc.asyncProperty(pathValues, query, key, contentType, idempotencyKey, body, async (values, queryValues, who, type, idem, sent) => {
            let path = template;
            pathParams.forEach((p, i) => {
              path = path.replace(`{${p.name}}`, encodeURIComponent(String(values[i] ?? "")));
            });
            const search = new URLSearchParams();
            for (const [name, value] of Object.entries(queryValues)) if (value !== undefined) search.set(name, typeof value === "string" ? value : JSON.stringify(value));
            const url = search.size > 0 ? `${path}?${search}` : path;
            const headers: Record<string, string> = {};
            if (type) headers["content-type"] = type;
            if (idem !== undefined && /^[\x20-\x7e]*$/.test(idem)) headers["idempotency-key"] = idem;
            if (who === "garbage") headers.authorization = "Bearer sf_live_' OR '1'='1";
            const token = who === "write" ? org.keys.write : who === "read" ? org.keys.read : who === "revoked" ? org.keys.revoked : null;
            const before = await stateFingerprint(app.db);
            const answer = await api.call(method.toUpperCase(), url, {
              key: token,
              headers,
              rawBody: method === "post" ? (sent.raw ?? (sent.value === undefined ? undefined : JSON.stringify(sent.value))) : undefined,
            });
            requests++;
            const settlementOff = answer.status === 503 && answer.json?.error?.code === "SETTLEMENT_OFF";
            expect(answer.status >= 500 && !settlementOff, `${method.toUpperCase()} ${url}: ${answer.status} ${answer.text.slice(0, 300)}`).toBe(false);
            if (answer.status >= 400) expect(await stateFingerprint(app.db), `${method.toUpperCase()} ${url} refused with ${answer.status} but changed something`).toBe(before);
          }),
          { numRuns: RUNS, endOnFailure: true },
        );
      }
    }
    expect(requests).toBe(RUNS * Object.values(document.paths).reduce((n, methods) => n + Object.keys(methods).length, 0));
  }, 600_000);
});
