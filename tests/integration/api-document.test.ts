// The OpenAPI document against the code: every route file under app/routes/api.v1.* serves exactly the
// operations the document lists at its path (a route missing from the document, or a documented operation
// no route serves, fails here), the document is OpenAPI 3.1 with resolvable references, and the validator
// the API tests use does refuse an answer that breaks its schema.
import { readdirSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { openApiDocument } from "~/api/openapi.server";
import { DocumentValidator } from "../setup/operator-api";

const ROUTES = path.resolve("app/routes");

/** `api.v1.payout-runs.$runId.approve.ts` -> `/api/v1/payout-runs/{runId}/approve` (Remix's flat-route naming). */
function pathOfRouteFile(file: string): string {
  const segments = file.replace(/\.tsx?$/, "").split(".");
  return `/${segments.map((segment) => (segment.startsWith("$") ? `{${segment.slice(1)}}` : segment.replace(/^\[(.*)\]$/, "$1"))).join("/")}`
    .replace("/[/]", ".")
    .replace(/\/\[\.\]/g, ".");
}

type Served = { operations?: { method: string; path: string; operationId: string }[] };

describe("the OpenAPI document and the route files", () => {
  const document = openApiDocument() as { openapi: string; paths: Record<string, Record<string, { operationId: string }>>; components: { schemas: Record<string, unknown> } };
  const files = readdirSync(ROUTES).filter((f) => /^api\.v1\..+\.tsx?$/.test(f) && !f.startsWith("api.v1.openapi"));

  it("is OpenAPI 3.1 and every $ref names a component", () => {
    expect(document.openapi).toBe("3.1.0");
    const refs = [...JSON.stringify(document).matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)].map((m) => m[1]!);
    expect(refs.length).toBeGreaterThan(10);
    for (const ref of refs) expect(document.components.schemas, ref).toHaveProperty(ref);
  });

  it("every route file serves exactly the documented operations of its path, and every documented path has a route", async () => {
    const served = new Set<string>();
    for (const file of files) {
      const route = (await import(pathToFileURL(path.join(ROUTES, file)).href)) as { loader?: Served; action?: Served };
      expect(route.loader?.operations, `${file} is not an apiRoute`).toBeDefined();
      const routePath = pathOfRouteFile(file);
      for (const operation of route.loader!.operations!) {
        expect(operation.path, `${file} serves ${operation.operationId}`).toBe(routePath);
        const documented = document.paths[routePath]?.[operation.method.toLowerCase()];
        expect(documented?.operationId, `${operation.method} ${routePath} (${file}) is missing from the document`).toBe(operation.operationId);
        served.add(`${operation.method.toLowerCase()} ${routePath}`);
      }
    }
    const documented = Object.entries(document.paths).flatMap(([p, methods]) => Object.keys(methods).map((m) => `${m} ${p}`));
    expect([...served].sort()).toEqual(documented.sort());
  });

  it("the route file naming maps as Remix does", () => {
    expect(pathOfRouteFile("api.v1.payout-runs.$runId.approve.ts")).toBe("/api/v1/payout-runs/{runId}/approve");
    expect(pathOfRouteFile("api.v1.recipients.ts")).toBe("/api/v1/recipients");
  });

  it("error: the response validator refuses an answer that breaks the document (a number for money, an unknown field, a missing one)", () => {
    const validator = new DocumentValidator(document as never);
    const recipient = {
      id: "5d6c3e2a-1b4f-4c8d-9e7a-0f1b2c3d4e5f",
      name: "A",
      walletAddress: "w",
      walletKind: "ED25519",
      tokenAccount: "t",
      tokenAccountDerived: true,
      status: "ACTIVE",
      walletVerifiedAt: null,
      createdAt: "2026-12-02T10:00:00.000Z",
      updatedAt: "2026-12-02T10:00:00.000Z",
    };
    expect(validator.problem("GET", `/api/v1/recipients/${recipient.id}`, 200, recipient)).toBeNull();
    expect(validator.problem("GET", `/api/v1/recipients/${recipient.id}`, 200, { ...recipient, status: "GONE" })).toMatch(/must be equal to one of/);
    expect(validator.problem("GET", `/api/v1/recipients/${recipient.id}`, 200, { ...recipient, extra: 1 })).toMatch(/additional properties/);
    const { name: _name, ...nameless } = recipient;
    expect(validator.problem("GET", `/api/v1/recipients/${recipient.id}`, 200, nameless)).toMatch(/required property 'name'/);
    const balance = { recipientId: recipient.id, name: "A", status: "ACTIVE", balance: 10, clawbackOwed: "0", paid: "0" };
    expect(validator.problem("GET", "/api/v1/balances", 200, { data: [balance], has_more: false, next_cursor: null })).toMatch(/must be string/);
    expect(validator.problem("GET", "/api/v1/balances", 418, {})).toMatch(/does not list/);
    expect(validator.problem("DELETE", "/api/v1/balances", 200, {})).toMatch(/not in the document/);
  });
});
