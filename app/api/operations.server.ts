// Every operation of the operator API, in the order the document lists them: what /api/v1/openapi.json
// describes and what the route files serve (a test checks that the two agree).
import type { ApiOperation } from "./handler.server";
import * as reads from "./reads.server";
import * as webhooks from "./webhooks.server";
import * as writes from "./writes.server";

export const API_OPERATIONS: readonly ApiOperation[] = [
  reads.listRecipients,
  writes.createRecipientOperation,
  reads.getRecipient,
  writes.setRecipientStatusOperation,
  reads.listPolicyVersions,
  writes.createPolicyVersionOperation,
  reads.getPolicyVersion,
  writes.activatePolicyVersionOperation,
  reads.listPayments,
  reads.getPayment,
  reads.listPayoutRuns,
  reads.getPayoutRun,
  writes.simulatePayoutRunOperation,
  writes.approvePayoutRunOperation,
  writes.rejectPayoutRunOperation,
  writes.cancelPayoutRunOperation,
  writes.executePayoutRunOperation,
  writes.retryPayoutRunOperation,
  reads.listBalances,
  reads.getTreasury,
  writes.exportCsvOperation,
  webhooks.listWebhookEndpoints,
  webhooks.createWebhookEndpoint,
  webhooks.getWebhookEndpoint,
  webhooks.updateWebhookEndpoint,
  webhooks.deleteWebhookEndpoint,
  webhooks.listWebhookDeliveries,
  webhooks.redeliverWebhookDelivery,
] as unknown as readonly ApiOperation[];
