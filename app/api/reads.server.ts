// The operator API's read operations: lists (cursor pages, filtered by status and creation time) and
// single resources, each scoped to the key's organization (another organization's id is a 404).
import { z } from "zod";
import { getRecipientView, getPaymentView, getPayoutRunView, getPolicyVersionView, listBalanceViews, listPaymentViews, listPayoutRunViews, listPolicyVersionViews, listRecipientViews, ApiViewError } from "~/models/api-views.server";
import { ApiError } from "./errors.server";
import { defineOperation, type ApiContext } from "./handler.server";
import * as R from "./resources";
import { ListQuery, pageOf, Uuid } from "./schemas";
import { treasuryStatus } from "./treasury.server";

function notFound(what: string): never {
  throw ApiError.of("NOT_FOUND", `no such ${what} in this organization`);
}

/** A list call, with a cursor of another list (or organization) refused as a 400 naming `starting_after`. */
export async function listing<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof ApiViewError) throw ApiError.of("VALIDATION_FAILED", error.message, "starting_after");
    throw error;
  }
}

const prismaOf = (ctx: ApiContext) => ctx.db.prisma;

export const listRecipients = defineOperation({
  operationId: "listRecipients",
  method: "GET",
  path: "/api/v1/recipients",
  summary: "List recipients",
  tag: "Recipients",
  scope: "READ",
  query: ListQuery.extend({ status: z.enum(R.RECIPIENT_STATUSES).optional() }),
  response: pageOf(R.Recipient),
  run: (ctx, { query }) => listing(() => listRecipientViews(prismaOf(ctx), ctx.organizationId, query)),
});

export const RecipientParams = z.strictObject({ recipientId: Uuid });

export const getRecipient = defineOperation({
  operationId: "getRecipient",
  method: "GET",
  path: "/api/v1/recipients/{recipientId}",
  summary: "Get a recipient",
  tag: "Recipients",
  scope: "READ",
  params: RecipientParams,
  response: R.Recipient,
  errors: [404],
  run: async (ctx, { params }) => (await getRecipientView(prismaOf(ctx), ctx.organizationId, params.recipientId)) ?? notFound("recipient"),
});

export const listPolicyVersions = defineOperation({
  operationId: "listPolicyVersions",
  method: "GET",
  path: "/api/v1/policy-versions",
  summary: "List payout policy versions with their rules",
  tag: "Policies",
  scope: "READ",
  query: ListQuery.extend({ status: z.enum(R.POLICY_VERSION_STATUSES).optional() }),
  response: pageOf(R.PolicyVersion),
  run: (ctx, { query }) => listing(() => listPolicyVersionViews(prismaOf(ctx), ctx.organizationId, query)),
});

export const VersionParams = z.strictObject({ versionId: Uuid });

export const getPolicyVersion = defineOperation({
  operationId: "getPolicyVersion",
  method: "GET",
  path: "/api/v1/policy-versions/{versionId}",
  summary: "Get a payout policy version",
  tag: "Policies",
  scope: "READ",
  params: VersionParams,
  response: R.PolicyVersion,
  errors: [404],
  run: async (ctx, { params }) => (await getPolicyVersionView(prismaOf(ctx), ctx.organizationId, params.versionId)) ?? notFound("policy version"),
});

export const listPayments = defineOperation({
  operationId: "listPayments",
  method: "GET",
  path: "/api/v1/payments",
  summary: "List payments",
  tag: "Payments",
  scope: "READ",
  query: ListQuery.extend({ status: z.enum(R.PAYMENT_STATUSES).optional() }),
  response: pageOf(R.Payment),
  run: (ctx, { query }) => listing(() => listPaymentViews(prismaOf(ctx), ctx.organizationId, query)),
});

export const getPayment = defineOperation({
  operationId: "getPayment",
  method: "GET",
  path: "/api/v1/payments/{paymentId}",
  summary: "Get a payment with its webhook events, refunds, disputes and payout runs",
  tag: "Payments",
  scope: "READ",
  params: z.strictObject({ paymentId: Uuid }),
  response: R.PaymentDetail,
  errors: [404],
  run: async (ctx, { params }) => (await getPaymentView(prismaOf(ctx), ctx.db, ctx.organizationId, params.paymentId)) ?? notFound("payment"),
});

export const listPayoutRuns = defineOperation({
  operationId: "listPayoutRuns",
  method: "GET",
  path: "/api/v1/payout-runs",
  summary: "List payout runs",
  tag: "Payout runs",
  scope: "READ",
  query: ListQuery.extend({ status: z.enum(R.RUN_STATUSES).optional() }),
  response: pageOf(R.PayoutRun),
  run: (ctx, { query }) => listing(() => listPayoutRunViews(prismaOf(ctx), ctx.organizationId, query)),
});

export const RunParams = z.strictObject({ runId: Uuid });

export const getPayoutRun = defineOperation({
  operationId: "getPayoutRun",
  method: "GET",
  path: "/api/v1/payout-runs/{runId}",
  summary: "Get a payout run with its transfers, batches and approvals",
  tag: "Payout runs",
  scope: "READ",
  params: RunParams,
  response: R.PayoutRunDetail,
  errors: [404],
  run: async (ctx, { params }) => (await getPayoutRunView(prismaOf(ctx), ctx.db, ctx.organizationId, params.runId)) ?? notFound("payout run"),
});

export const listBalances = defineOperation({
  operationId: "listBalances",
  method: "GET",
  path: "/api/v1/balances",
  summary: "Recipients' accrued balances, open clawbacks and settled totals",
  tag: "Balances",
  scope: "READ",
  query: ListQuery.extend({ status: z.enum(R.RECIPIENT_STATUSES).optional() }),
  response: pageOf(R.RecipientBalance),
  run: (ctx, { query }) => listing(() => listBalanceViews(prismaOf(ctx), ctx.db, ctx.organizationId, query)),
});

export const getTreasury = defineOperation({
  operationId: "getTreasury",
  method: "GET",
  path: "/api/v1/treasury",
  summary: "The organization's treasury on chain: vault balance, mint, program",
  tag: "Treasury",
  scope: "READ",
  response: R.TreasuryStatus,
  run: (ctx) => treasuryStatus(ctx.organizationId),
});
