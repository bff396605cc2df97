// The operator API for tests: two organizations with keys of every kind (write, read, revoked), a few rows
// of each resource, a client that sends JSON with a key and checks every JSON answer against the OpenAPI
// document the server publishes (ajv, draft 2020-12), and a fingerprint of everything a request could change.
import { createHash, randomUUID } from "node:crypto";
import { Keypair } from "@solana/web3.js";
import Ajv2020 from "ajv/dist/2020.js";
import { createApiKey, revokeApiKey } from "~/models/api-keys.server";
import { createEndpoint } from "~/models/outbound-webhooks.server";
import type { TestDatabase } from "./databases";
import { createTestOperator, createTestOrganization } from "./operators";

export interface ApiOrganization {
  id: string;
  slug: string;
  adminId: string;
  keys: { write: string; read: string; revoked: string; write2: string };
  recipientIds: string[];
  policyVersionId: string;
  paymentId: string;
  runId: string;
  /** An outbound webhook endpoint (on loopback's discard port: nothing leaves the machine) and its delivery of the run's payout_run.ready. */
  endpointId: string;
  endpointSecret: string;
  deliveryId: string;
}

export interface ApiAnswer {
  status: number;
  headers: Headers;
  text: string;
  json: any;
}

const wallet = () => Keypair.generate().publicKey.toBase58();

/**
 * An organization with keys, two recipients, a DRAFT policy version, a payment with a delivery, a READY run,
 * and a webhook endpoint with that run's delivery; `organizationId` fills an existing organization instead
 * (a settlement world's, whose treasury the run actions use).
 */
export async function apiOrganization(db: TestDatabase, name: string, options: { organizationId?: string } = {}): Promise<ApiOrganization> {
  const prisma = db.prisma;
  const organization = options.organizationId
    ? await prisma.organization.findUniqueOrThrow({ where: { id: options.organizationId } })
    : await createTestOrganization(prisma, name);
  const admin = await createTestOperator(prisma, { organizationId: organization.id, role: "ADMIN" });
  const key = (scope: "READ" | "WRITE", label: string) => createApiKey(prisma, { organizationId: organization.id, name: label, scope, createdById: admin.id, kind: "test" });
  const write = await key("WRITE", "write");
  const write2 = await key("WRITE", "second write");
  const read = await key("READ", "read");
  const revoked = await key("WRITE", "revoked");
  await revokeApiKey(prisma, { id: revoked.id, organizationId: organization.id, revokedById: admin.id });
  const recipients = await Promise.all(
    [0, 1].map((i) => prisma.recipient.create({ data: { organizationId: organization.id, name: `${name} recipient ${i}`, walletAddress: wallet(), tokenAccount: wallet() } })),
  );
  const policy = await prisma.payoutPolicy.create({ data: { organizationId: organization.id, name: `${name} policy` } });
  const version = await prisma.payoutPolicyVersion.create({ data: { policyId: policy.id, organizationId: organization.id, version: 1 } });
  await prisma.payoutRule.create({ data: { policyVersionId: version.id, recipientId: recipients[0]!.id, kind: "PERCENTAGE", basisPoints: 5000 } });
  const dodoPaymentId = `pay_${randomUUID().replaceAll("-", "")}`;
  const payment = await prisma.payment.create({
    data: {
      organizationId: organization.id,
      dodoPaymentId,
      status: "SUCCEEDED",
      totalAmountMinor: 12_345n,
      currency: "USD",
      settlementAmountMinor: 12_000n,
      settlementCurrency: "USD",
      netSettlementMinor: 12_000n,
      lastEventAt: new Date(),
    },
  });
  await prisma.webhookEvent.create({
    data: {
      organizationId: organization.id,
      webhookId: `msg_${randomUUID()}`,
      eventType: "payment.succeeded",
      webhookTimestamp: new Date(),
      rawBody: JSON.stringify({ type: "payment.succeeded", data: { payment_id: dodoPaymentId, total_amount: 12345 } }),
      headers: {},
      status: "PROCESSED",
    },
  });
  // Listening before the run exists: the run's insert queues its payout_run.ready to the endpoint (migration 0010).
  const endpoint = await createEndpoint(
    prisma,
    { operatorId: admin.id, organizationId: organization.id, role: "ADMIN" },
    { url: `http://127.0.0.1:9/hooks/${organization.slug}`, eventTypes: ["payout_run.ready"] },
    { allowPrivate: true },
  );
  // Through Prisma, not the sql tag: the served build names its prepared statements with a counter of its own,
  // and two counters on one PostgreSQL connection would collide.
  const [run] = await prisma.$queryRaw<{ id: string }[]>`
    INSERT INTO payout_runs (organization_id, kind, status, policy_version_id, token_decimals, distributable, total_transfers, treasury_remainder)
    VALUES (${organization.id}::uuid, 'SWEEP', 'READY', ${version.id}::uuid, 6, 3000000, 2500000, 500000) RETURNING id::text`;
  await prisma.payoutTransfer.create({ data: { runId: run!.id, recipientId: recipients[0]!.id, tokenAccount: recipients[0]!.tokenAccount, amount: 2_500_000n } });
  const delivery = await prisma.webhookDelivery.findFirstOrThrow({ where: { endpointId: endpoint.id } });
  return {
    id: organization.id,
    slug: organization.slug,
    adminId: admin.id,
    keys: { write: write.key, read: read.key, revoked: revoked.key, write2: write2.key },
    recipientIds: recipients.map((r) => r.id),
    policyVersionId: version.id,
    paymentId: payment.id,
    runId: run!.id,
    endpointId: endpoint.id,
    endpointSecret: endpoint.secret,
    deliveryId: delivery.id,
  };
}

type Document = { paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, unknown> }> }>> };

/** Checks answers against the document's response schemas; unknown paths and statuses are failures too. */
export class DocumentValidator {
  private readonly ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: false });
  private readonly templates: { method: string; template: string; pattern: RegExp }[] = [];
  constructor(readonly document: Document) {
    this.ajv.addSchema(document as object, "openapi");
    for (const [template, methods] of Object.entries(document.paths)) {
      const pattern = new RegExp(`^${template.replace(/\{[^}]+\}/g, "[^/]+")}$`);
      for (const method of Object.keys(methods)) this.templates.push({ method, template, pattern });
    }
  }

  /** Null when `body` is what the document says `method path` answers with `status`, else why not. */
  problem(method: string, path: string, status: number, body: unknown): string | null {
    // A trailing slash reaches the same route (Remix), so the same operation.
    const pathname = path.split("?")[0]!.replace(/(.)\/$/, "$1");
    const found = this.templates.find((t) => t.method === method.toLowerCase() && t.pattern.test(pathname));
    if (!found) return `${method} ${pathname} is not in the document`;
    const responses = this.document.paths[found.template]![found.method]!.responses;
    if (!responses[String(status)]) return `${method} ${found.template} answered ${status}, which the document does not list`;
    const pointer = ["paths", found.template, found.method, "responses", String(status), "content", "application/json", "schema"]
      .map((part) => part.replaceAll("~", "~0").replaceAll("/", "~1"))
      .join("/");
    const validate = this.ajv.getSchema(`openapi#/${pointer}`);
    if (!validate) return `${method} ${found.template} ${status} has no JSON schema`;
    return validate(body) ? null : `${method} ${found.template} ${status}: ${this.ajv.errorsText(validate.errors)}`;
  }
}

export interface ApiClient {
  validator: DocumentValidator;
  /** Sends a request; a JSON answer must match the document (the test fails otherwise). */
  call(method: string, path: string, options?: { key?: string | null; body?: unknown; rawBody?: string; headers?: Record<string, string> }): Promise<ApiAnswer>;
}

export async function apiClient(baseUrl: string): Promise<ApiClient> {
  const document = (await (await fetch(`${baseUrl}/api/v1/openapi.json`)).json()) as Document;
  const validator = new DocumentValidator(document);
  return {
    validator,
    async call(method, path, options = {}) {
      const headers: Record<string, string> = { ...options.headers };
      if (options.key) headers.authorization = `Bearer ${options.key}`;
      let body: string | undefined = options.rawBody;
      if (options.body !== undefined) {
        body = JSON.stringify(options.body);
        headers["content-type"] ??= "application/json";
      }
      const response = await fetch(`${baseUrl}${path}`, { method, headers, body });
      const text = await response.text();
      const isJson = (response.headers.get("content-type") ?? "").startsWith("application/json");
      const json = isJson ? JSON.parse(text) : undefined;
      if (isJson && response.status !== 405) {
        const problem = validator.problem(method, path, response.status, json);
        if (problem) throw new Error(`response does not match the OpenAPI document: ${problem}\n${text.slice(0, 500)}`);
      }
      return { status: response.status, headers: response.headers, text, json };
    },
  };
}

/**
 * A digest of everything an API request could change (recipients, policies, rules, runs with their transfers,
 * batches and batch events, approvals, holds, webhook endpoints and deliveries, the audit trail, keys'
 * revocation), leaving aside what merely being asked touches (a key's last use, idempotency rows).
 */
export async function stateFingerprint(db: TestDatabase): Promise<string> {
  const rows = await db.prisma.$queryRaw<{ part: string | null }[]>`
    SELECT concat_ws('|',
      (SELECT string_agg(concat_ws(',', id, name, status, wallet_address, token_account), ';' ORDER BY id) FROM recipients),
      (SELECT string_agg(concat_ws(',', id, status, version), ';' ORDER BY id) FROM payout_policy_versions),
      (SELECT count(*) FROM payout_rules),
      (SELECT string_agg(concat_ws(',', id, status, cancel_reason), ';' ORDER BY id) FROM payout_runs),
      (SELECT count(*) FROM payout_approvals),
      (SELECT string_agg(concat_ws(',', id, run_id, amount, token_account), ';' ORDER BY id) FROM payout_transfers),
      (SELECT string_agg(concat_ws(',', id, run_id, total, supersedes_id), ';' ORDER BY id) FROM split_batches),
      (SELECT count(*) FROM split_batch_events),
      (SELECT count(*) FROM transfer_holds),
      (SELECT string_agg(concat_ws(',', id, url, description, array_to_string(event_types, ' '), status, disabled_at, deleted_at), ';' ORDER BY id) FROM webhook_endpoints),
      (SELECT string_agg(concat_ws(',', id, status, schedule_from, next_attempt_at), ';' ORDER BY id) FROM webhook_deliveries),
      (SELECT count(*) FROM audit_log),
      (SELECT string_agg(concat_ws(',', id, revoked_at), ';' ORDER BY id) FROM api_keys)) AS part`;
  return createHash("sha256").update(rows[0]!.part ?? "").digest("hex");
}
