// The operator API's write operations. Each parses with the schema the console's forms use (recipient-input,
// policy-input, made strict: unknown fields are refused at every level) and calls the model function the
// console calls (recipients, policies, run-actions, exports): the API holds no rule of its own.
import { z } from "zod";
import type { Prisma } from "~/generated/prisma/client";
import type { ApiPrincipal } from "~/models/api-keys.server";
import { getPayoutRunView, getPolicyVersionView, getRecipientView, runInOrganization } from "~/models/api-views.server";
import { csvExportResponse, EXPORT_KINDS, ExportRangeSchema } from "~/models/exports.server";
import { activatePolicyVersion, createPolicyVersion } from "~/models/policies.server";
import { policyRuleSchema, policyVersionInputSchema } from "~/models/policy-input";
import { RecipientCreateSchema, RecipientStatusSchema } from "~/models/recipient-input";
import { createRecipient, setRecipientStatus } from "~/models/recipients.server";
import { approveRun, cancelRun, executeRun, previewRun, rejectRun, retryRun, runActionDeps, type RunPrincipal } from "~/models/run-actions.server";
import { getChainRuntime } from "~/settlement/chain-runtime.server";
import type { RunSimulation, SimulatedRecipient } from "~/settlement/run-simulation.server";
import { ApiError } from "./errors.server";
import { defineOperation, type ApiContext } from "./handler.server";
import * as R from "./resources";
import { RecipientParams, RunParams, VersionParams } from "./reads.server";

const principalOf = (principal: ApiPrincipal): RunPrincipal => ({
  organizationId: principal.organizationId,
  actor: { type: "API_KEY", apiKeyId: principal.apiKeyId, prefix: principal.prefix },
});

/** An audit row naming the key (actor_id: its public prefix), in the caller's transaction where there is one. */
async function auditAsKey(
  db: Pick<Prisma.TransactionClient, "auditLog">,
  ctx: ApiContext,
  action: string,
  entityType: string,
  entityId: string,
  data: Record<string, string | number | boolean | null>,
) {
  await db.auditLog.create({
    data: { organizationId: ctx.organizationId, actorType: "API_KEY", actorId: ctx.principal.prefix, action, entityType, entityId, data },
  });
}

async function loaded<T>(value: Promise<T | null>, what: string): Promise<T> {
  const found = await value;
  if (!found) throw ApiError.of("NOT_FOUND", `no such ${what} in this organization`);
  return found;
}

// ------------------------------------------------------------------ recipients

export const createRecipientOperation = defineOperation({
  operationId: "createRecipient",
  method: "POST",
  path: "/api/v1/recipients",
  summary: "Create a recipient (its token account defaults to the wallet's associated account for the payout mint)",
  tag: "Recipients",
  scope: "WRITE",
  body: RecipientCreateSchema.strict(),
  response: R.Recipient,
  status: 201,
  errors: [422],
  async run(ctx, { body }) {
    // The token account is given, or derived for the deployment's payout mint (none configured: RECIPIENT_MINT_UNKNOWN, 422).
    const mint = body.tokenAccount ? null : (getChainRuntime()?.treasury?.mint.toBase58() ?? null);
    const recipient = await ctx.db.prisma.$transaction(async (tx) => {
      const created = await createRecipient(tx, {
        organizationId: ctx.organizationId,
        name: body.name,
        walletAddress: body.walletAddress,
        walletKind: body.walletKind,
        tokenAccount: body.tokenAccount,
        mint,
      });
      await auditAsKey(tx, ctx, "recipient.created", "recipient", created.id, { name: created.name, wallet: created.walletAddress, tokenAccount: created.tokenAccount });
      return created;
    });
    return loaded(getRecipientView(ctx.db.prisma, ctx.organizationId, recipient.id), "recipient");
  },
});

export const setRecipientStatusOperation = defineOperation({
  operationId: "setRecipientStatus",
  method: "POST",
  path: "/api/v1/recipients/{recipientId}/status",
  summary: "Pause or resume a recipient",
  tag: "Recipients",
  scope: "WRITE",
  params: RecipientParams,
  body: RecipientStatusSchema.strict(),
  response: R.Recipient,
  errors: [404],
  async run(ctx, { params, body }) {
    const before = await loaded(getRecipientView(ctx.db.prisma, ctx.organizationId, params.recipientId), "recipient");
    const updated = await ctx.db.prisma.$transaction(async (tx) => {
      const changed = await setRecipientStatus(tx, { organizationId: ctx.organizationId, recipientId: params.recipientId, status: body.status });
      await auditAsKey(tx, ctx, body.status === "PAUSED" ? "recipient.paused" : "recipient.resumed", "recipient", changed.id, { from: before.status, to: changed.status });
      return changed;
    });
    return loaded(getRecipientView(ctx.db.prisma, ctx.organizationId, updated.id), "recipient");
  },
});

// ------------------------------------------------------------------ policies

/** The console's version schema in base units (scale 0), strict, with a JSON boolean instead of a checkbox. */
const PolicyVersionBody = policyVersionInputSchema(0)
  .safeExtend({
    requireVerifiedRecipients: z.boolean().default(false),
    rules: z.array(policyRuleSchema(0).strict()).min(1, { error: "Add at least one rule." }).max(1_000),
  })
  .strict();

export const createPolicyVersionOperation = defineOperation({
  operationId: "createPolicyVersion",
  method: "POST",
  path: "/api/v1/policy-versions",
  summary: "Create a DRAFT version of a payout policy (the policy is created on first use); amounts in token base units",
  tag: "Policies",
  scope: "WRITE",
  body: PolicyVersionBody,
  response: R.PolicyVersion,
  status: 201,
  errors: [422],
  async run(ctx, { body }) {
    const version = await createPolicyVersion(ctx.db.prisma, {
      organizationId: ctx.organizationId,
      policyName: body.policyName,
      requireVerifiedRecipients: body.requireVerifiedRecipients,
      payoutSchedule: body.payoutSchedule,
      rules: body.rules,
      // A stale edit (another version saved since the one the client read) is refused: POLICY_VERSION_CONFLICT, 409.
      basedOnVersion: body.basedOnVersion,
      // Audited in the version's own transaction, as the key.
      actorType: "API_KEY",
      actorId: ctx.principal.prefix,
    });
    return loaded(getPolicyVersionView(ctx.db.prisma, ctx.organizationId, version.id), "policy version");
  },
});

export const activatePolicyVersionOperation = defineOperation({
  operationId: "activatePolicyVersion",
  method: "POST",
  path: "/api/v1/policy-versions/{versionId}/activate",
  summary: "Make a DRAFT version the organization's active one (the active version before it is retired)",
  tag: "Policies",
  scope: "WRITE",
  params: VersionParams,
  response: R.PolicyVersion,
  errors: [404],
  async run(ctx, { params }) {
    await activatePolicyVersion(ctx.db.prisma, { organizationId: ctx.organizationId, versionId: params.versionId, actorType: "API_KEY", actorId: ctx.principal.prefix });
    return loaded(getPolicyVersionView(ctx.db.prisma, ctx.organizationId, params.versionId), "policy version");
  },
});

// ------------------------------------------------------------------ payout runs

const runDetail = (ctx: ApiContext, runId: string) => loaded(getPayoutRunView(ctx.db.prisma, ctx.db, ctx.organizationId, runId), "payout run");

const text = (amount: bigint) => amount.toString();
const textOrNull = (amount: bigint | null) => (amount === null ? null : amount.toString());
const recipientOf = (r: SimulatedRecipient) => ({ ...r, amount: text(r.amount) });

/** The simulation field by field (amounts as decimal strings): the answer is its schema, whatever else the model grows. */
function simulationView(s: RunSimulation): z.input<typeof R.RunSimulation> {
  return {
    runId: s.runId,
    status: s.status,
    tokenDecimals: s.tokenDecimals,
    totalTransfers: text(s.totalTransfers),
    vault: { address: s.vault.address, balance: textOrNull(s.vault.balance) },
    vaultShortBy: text(s.vaultShortBy),
    batches: s.batches.map((b) => ({
      index: b.index,
      version: b.version,
      recipients: b.recipients,
      total: text(b.total),
      planHash: b.planHash,
      success: b.success,
      computeUnits: b.computeUnits,
      computeUnitLimit: b.computeUnitLimit,
      priorityMicroLamports: textOrNull(b.priorityMicroLamports),
      feeLamports: textOrNull(b.feeLamports),
      splitRecordRentLamports: text(b.splitRecordRentLamports),
      error: b.error,
      note: b.note,
      heldOut: b.heldOut.map(recipientOf),
      tokenAccountsCreated: b.tokenAccountsCreated.map(recipientOf),
    })),
    setup: {
      tokenAccounts: s.setup.tokenAccounts,
      tokenAccountRentLamports: text(s.setup.tokenAccountRentLamports),
      tokenAccountFeeLamports: text(s.setup.tokenAccountFeeLamports),
      lookupTableAddresses: s.setup.lookupTableAddresses,
    },
    estimatedLamports: text(s.estimatedLamports),
    ok: s.ok,
    simulatedAt: s.simulatedAt,
  };
}

/** Another organization's run is a 404 before anything else is asked (settlement being off included). */
async function ownRun(ctx: ApiContext, runId: string): Promise<void> {
  if (!(await runInOrganization(ctx.db.prisma, ctx.organizationId, runId))) throw ApiError.of("NOT_FOUND", "no such payout run in this organization");
}

const Comment = z.string().trim().max(1000);

export const simulatePayoutRunOperation = defineOperation({
  operationId: "simulatePayoutRun",
  method: "POST",
  path: "/api/v1/payout-runs/{runId}/simulate",
  summary: "Simulate the run's batches on chain as the executor would send them (reads only; nothing is signed or written)",
  tag: "Payout runs",
  scope: "READ",
  params: RunParams,
  response: R.RunSimulation,
  errors: [404, 409, 503],
  async run(ctx, { params }) {
    await ownRun(ctx, params.runId);
    return simulationView(await previewRun(await runActionDeps(), principalOf(ctx.principal), { runId: params.runId }));
  },
});

/**
 * A run action (the console's run-actions.server.ts call) as a write operation: the run must be the key's
 * organization's (404 first), the action acts as the key, and the answer is the run as it is afterwards.
 */
function runAction<B extends z.ZodType>(spec: {
  action: "approve" | "reject" | "cancel" | "execute" | "retry";
  summary: string;
  body?: B;
  status?: 200 | 202;
  errors: readonly number[];
  act(ctx: ApiContext, principal: RunPrincipal, runId: string, body: z.infer<B>): Promise<unknown>;
}) {
  return defineOperation({
    operationId: `${spec.action}PayoutRun`,
    method: "POST",
    path: `/api/v1/payout-runs/{runId}/${spec.action}`,
    summary: spec.summary,
    tag: "Payout runs",
    scope: "WRITE",
    params: RunParams,
    body: spec.body,
    response: R.PayoutRunDetail,
    status: spec.status,
    errors: spec.errors,
    async run(ctx, { params, body }) {
      await ownRun(ctx, params.runId);
      await spec.act(ctx, principalOf(ctx.principal), params.runId, body as z.infer<B>);
      return runDetail(ctx, params.runId);
    },
  });
}

export const approvePayoutRunOperation = runAction({
  action: "approve",
  summary: "Approve a READY run as this key: above the approval threshold a second, different principal (an operator or another key) must approve too",
  body: z.strictObject({ comment: Comment.optional() }),
  errors: [403, 404, 409, 503],
  act: async (_ctx, principal, runId, body) => approveRun(await runActionDeps(), principal, { runId, comment: body.comment }),
});

export const rejectPayoutRunOperation = runAction({
  action: "reject",
  summary: "Reject a READY run: it can no longer be approved, only cancelled",
  body: z.strictObject({ comment: Comment.min(1) }),
  errors: [403, 404, 409],
  act: (ctx, principal, runId, body) => rejectRun({ db: ctx.db }, principal, { runId, comment: body.comment }),
});

export const cancelPayoutRunOperation = runAction({
  action: "cancel",
  summary: "Cancel a READY or FAILED run",
  body: z.strictObject({ reason: Comment.min(1) }),
  errors: [403, 404, 409],
  act: (ctx, principal, runId, body) => cancelRun({ db: ctx.db }, principal, { runId, reason: body.reason }),
});

export const executePayoutRunOperation = runAction({
  action: "execute",
  summary: "Send an APPROVED or EXECUTING run to the executors again (its open batches are queued; a batch is never paid twice)",
  status: 202,
  errors: [403, 404, 409, 503],
  act: async (_ctx, principal, runId) => executeRun(await runActionDeps(), principal, { runId }),
});

export const retryPayoutRunOperation = runAction({
  action: "retry",
  summary: "Retry a PARTIAL or FAILED run's failed batches (settled batches are never touched)",
  status: 202,
  errors: [403, 404, 409, 503],
  act: async (_ctx, principal, runId) => retryRun(await runActionDeps(), principal, { runId }),
});

// ------------------------------------------------------------------ exports

export const exportCsvOperation = defineOperation({
  operationId: "exportCsv",
  method: "GET",
  path: "/api/v1/exports/{kind}",
  summary: "Payments or payout transfers of a date range (both days included, in the organization's time zone) as CSV",
  tag: "Exports",
  scope: "READ",
  params: z.strictObject({ kind: z.enum(EXPORT_KINDS) }),
  query: ExportRangeSchema.strict(),
  response: z.string(),
  produces: "text/csv",
  async run(ctx, { params, query }) {
    const organization = await ctx.db.prisma.organization.findUniqueOrThrow({ where: { id: ctx.organizationId }, select: { timeZone: true } });
    return csvExportResponse(ctx.db, params.kind, ctx.organizationId, new URLSearchParams(query), organization.timeZone);
  },
});
