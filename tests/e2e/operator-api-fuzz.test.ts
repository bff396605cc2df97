// A property-based fuzz (fast-check) over every operation of the OpenAPI document the server publishes:
// bodies drawn from the operation's own request schema (valid ones) and mutations of them (unknown fields,
// wrong types, missing fields, garbage, non-JSON), path parameters (the organization's own ids, unknown ids,
// junk), query parameters and headers (keys of every kind, content types, Idempotency-Keys). The server
// settles (an embedded chain, the organization's funded treasury, the settlement queue), so simulate,
// approve, execute and retry act for real; besides the random rounds every operation is sent once as a
// well-formed request with the organization's own ids and a write key, so each reaches its model. Whatever
// comes, the answer is never a 5xx (a 503 included), every JSON answer matches the document, and a refused
// request (4xx) changes nothing.
// Rounds per operation: API_FUZZ_RUNS (default 4 in CI; e.g. API_FUZZ_RUNS=200 for a long run), plus that one.
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useTestChain } from "../setup/chain";
import { databaseTargets } from "../setup/databases";
import { apiClient, apiOrganization, stateFingerprint, type ApiClient, type ApiOrganization } from "../setup/operator-api";
import { createSettlementWorld, serveSettlementWorld, type ServedSettlement, type SettlementWorld } from "../setup/settlement";

process.env.STABLEFLOW_API_RATE_LIMIT = "1000000";
delete process.env.DODO_PAYMENTS_API_KEY;
// A drawn webhook URL is registered without a DNS lookup (no request leaves loopback); nothing dispatches here.
process.env.STABLEFLOW_WEBHOOK_ALLOW_PRIVATE_URLS = "true";
const chain = useTestChain({ slotMs: 40 });

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

describe.each(databaseTargets())("operator API fuzz with settlement on $name", (target) => {
  let world: SettlementWorld;
  let served: ServedSettlement;
  let org: ApiOrganization;
  let api: ApiClient;

  beforeAll(async () => {
    world = await createSettlementWorld({ target, chain: chain.current, funding: 1_000_000_000n });
    served = await serveSettlementWorld(world);
    // The treasury's organization: its READY run is one the run actions can simulate, approve and queue.
    org = await apiOrganization(world.db, "Fuzzed", { organizationId: world.organizationId });
    await apiOrganization(world.db, "Bystander");
    api = await apiClient(served.server.url);
  }, 240_000);
  afterAll(async () => {
    await served?.close();
    await world?.destroy();
  });

  it("every operation: random parameters, headers and bodies never answer a 5xx, and a refused request changes nothing", async () => {
    const document = api.validator.document as unknown as { paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, Schema> } };
    const components = document.components.schemas;
    const ownIds: Record<string, () => string> = {
      recipientId: () => org.recipientIds[1]!,
      versionId: () => org.policyVersionId,
      paymentId: () => org.paymentId,
      runId: () => org.runId,
      endpointId: () => org.endpointId,
      deliveryId: () => org.deliveryId,
      kind: () => "payments",
    };
    const statuses: Record<string, number[]> = {};
    let requests = 0;
    // Deletions last: the operations after one in the document (an endpoint's deliveries) still find their rows.
    const operations = Object.entries(document.paths)
      .flatMap(([template, methods]) => Object.entries(methods).map(([method, operation]) => ({ template, method, operation })))
      .sort((x, y) => Number(x.method === "delete") - Number(y.method === "delete"));
    for (const { template, method, operation } of operations) {
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
      const bodySchema = operation.requestBody?.content["application/json"].schema;
      const body = bodies(bodySchema, components);
      // The well-formed request (fast-check counts examples among the runs: RUNS random rounds besides it):
      // own ids, a write key, JSON, a body drawn from the schema itself.
      const [validBody] = fc.sample(fromSchema(bodySchema, components), { numRuns: 1, seed: 15 });
      const wellFormed = [pathParams.map((p) => ownIds[p.name]?.() ?? ""), {}, "write", "application/json", undefined, { value: validBody }] as const;
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
          const before = await stateFingerprint(world.db);
          const answer = await api.call(method.toUpperCase(), url, {
            key: token,
            headers,
            rawBody: method === "post" ? (sent.raw ?? (sent.value === undefined ? undefined : JSON.stringify(sent.value))) : undefined,
          });
          requests++;
          (statuses[operation.operationId] ??= []).push(answer.status);
          expect(answer.status < 500, `${method.toUpperCase()} ${url}: ${answer.status} ${answer.text.slice(0, 300)}`).toBe(true);
          if (answer.status >= 400) expect(await stateFingerprint(world.db), `${method.toUpperCase()} ${url} refused with ${answer.status} but changed something`).toBe(before);
        }),
        { numRuns: RUNS + 1, endOnFailure: true, examples: [wellFormed as never] },
      );
    }
    expect(requests).toBe((RUNS + 1) * Object.values(document.paths).reduce((n, methods) => n + Object.keys(methods).length, 0));
    // The run actions reached settlement: the well-formed simulate read the chain, the approval queued the run, execute queued it again.
    expect(statuses.simulatePayoutRun, JSON.stringify(statuses)).toContain(200);
    expect(statuses.approvePayoutRun, JSON.stringify(statuses)).toContain(200);
    expect(statuses.executePayoutRun, JSON.stringify(statuses)).toContain(202);
  }, 600_000);
});
