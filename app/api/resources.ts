// The resources the operator API answers, as zod schemas: what handlers return is typed by them, tests
// check every response against the OpenAPI document generated from them. Amounts are decimal strings of
// minor units (token base units for payouts, currency minor units for payments), never numbers.
import { z } from "zod";
import { OUTBOUND_EVENT_TYPES } from "~/integrations/outbound-events";
import { MoneyString, Timestamp, Uuid } from "./schemas";

const Nullable = <T extends z.ZodType>(schema: T) => schema.nullable();

export const RECIPIENT_STATUSES = ["ACTIVE", "PAUSED", "REMOVED"] as const;
export const PAYMENT_STATUSES = ["PROCESSING", "SUCCEEDED", "FAILED", "CANCELLED"] as const;
export const RUN_STATUSES = ["READY", "APPROVED", "EXECUTING", "SETTLED", "PARTIAL", "FAILED", "CANCELLED"] as const;
export const POLICY_VERSION_STATUSES = ["DRAFT", "ACTIVE", "RETIRED"] as const;

export const Recipient = z
  .strictObject({
    id: Uuid,
    name: z.string(),
    walletAddress: z.string(),
    walletKind: z.enum(["ED25519", "PDA_OWNER"]),
    tokenAccount: z.string(),
    tokenAccountDerived: z.boolean(),
    status: z.enum(RECIPIENT_STATUSES),
    walletVerifiedAt: Nullable(Timestamp),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .meta({ id: "Recipient" });

export const PolicyRule = z
  .strictObject({
    id: Uuid,
    recipientId: Uuid,
    kind: z.enum(["PERCENTAGE", "FIXED"]),
    basisPoints: Nullable(z.int()),
    fixedAmount: Nullable(MoneyString),
    capPerPayment: Nullable(MoneyString),
    capPerPeriod: Nullable(MoneyString),
    periodDays: Nullable(z.int()),
    minPayout: Nullable(MoneyString),
    priority: z.int(),
  })
  .meta({ id: "PolicyRule" });

export const PolicyVersion = z
  .strictObject({
    id: Uuid,
    policyId: Uuid,
    policyName: z.string(),
    version: z.int(),
    status: z.enum(POLICY_VERSION_STATUSES),
    requireVerifiedRecipients: z.boolean(),
    payoutSchedule: z.enum(["INSTANT", "HOURLY", "DAILY", "WEEKLY"]),
    autoApproveBelow: Nullable(MoneyString),
    locked: z.boolean().meta({ description: "a run used this version: its terms never change" }),
    createdAt: Timestamp,
    rules: z.array(PolicyRule),
  })
  .meta({ id: "PolicyVersion" });

export const Payment = z
  .strictObject({
    id: Uuid,
    dodoPaymentId: z.string(),
    status: z.enum(PAYMENT_STATUSES),
    currency: z.string(),
    totalAmount: MoneyString,
    settlementAmount: Nullable(MoneyString),
    settlementCurrency: Nullable(z.string()),
    refundedAmount: MoneyString,
    netSettlementAmount: Nullable(MoneyString).meta({ description: "the payout basis: settlement net of refunds and lost disputes" }),
    disputeState: z.enum(["NONE", "OPEN", "WON", "LOST"]),
    payoutHold: Nullable(z.string()),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .meta({ id: "Payment" });

export const PaymentEvent = z
  .strictObject({
    webhookId: z.string(),
    type: z.string(),
    status: z.string(),
    receivedAt: Timestamp,
  })
  .meta({ id: "PaymentEvent" });

export const PaymentDetail = Payment.extend({
  events: z.array(PaymentEvent).meta({ description: "the Dodo webhook deliveries about this payment, oldest first" }),
  refunds: z.array(z.strictObject({ dodoRefundId: z.string(), status: z.string(), amount: Nullable(MoneyString), currency: Nullable(z.string()), createdAt: Timestamp })),
  disputes: z.array(z.strictObject({ dodoDisputeId: z.string(), status: z.string(), amount: Nullable(MoneyString), currency: Nullable(z.string()), createdAt: Timestamp })),
  payoutRuns: z.array(z.strictObject({ id: Uuid, status: z.enum(RUN_STATUSES) })),
}).meta({ id: "PaymentDetail" });

export const PayoutRun = z
  .strictObject({
    id: Uuid,
    kind: z.enum(["PAYMENT", "SWEEP", "ACCRUAL"]),
    status: z.enum(RUN_STATUSES),
    paymentId: Nullable(Uuid),
    policyVersionId: Nullable(Uuid),
    tokenDecimals: z.int(),
    distributable: MoneyString,
    totalTransfers: MoneyString,
    treasuryRemainder: MoneyString,
    holdReason: Nullable(z.string()),
    cancelReason: Nullable(z.string()),
    supersedesRunId: Nullable(Uuid),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .meta({ id: "PayoutRun" });

export const PayoutTransfer = z
  .strictObject({ id: Uuid, recipientId: Uuid, ruleId: Nullable(Uuid), tokenAccount: z.string(), amount: MoneyString, correctsId: Nullable(Uuid) })
  .meta({ id: "PayoutTransfer" });

export const SplitBatch = z
  .strictObject({
    id: Uuid,
    batchIndex: z.int(),
    recipientCount: z.int(),
    total: MoneyString,
    planHash: z.string(),
    transactionVersion: Nullable(z.enum(["LEGACY", "V0"])),
    supersedesId: Nullable(Uuid),
    status: Nullable(z.string()).meta({ description: "the newest event's status (SIGNED, SENT, CONFIRMED, ...); null before the first" }),
    signature: Nullable(z.string()),
    transferIds: z.array(Uuid),
  })
  .meta({ id: "SplitBatch" });

export const PayoutApproval = z
  .strictObject({
    decision: z.enum(["APPROVE", "REJECT"]),
    by: z.enum(["OPERATOR", "API_KEY", "SYSTEM"]),
    operatorId: Nullable(Uuid),
    apiKeyPrefix: Nullable(z.string()),
    comment: Nullable(z.string()),
    createdAt: Timestamp,
  })
  .meta({ id: "PayoutApproval" });

export const PayoutRunDetail = PayoutRun.extend({
  transfers: z.array(PayoutTransfer),
  batches: z.array(SplitBatch),
  approvals: z.array(PayoutApproval),
}).meta({ id: "PayoutRunDetail" });

export const RecipientBalance = z
  .strictObject({
    recipientId: Uuid,
    name: z.string(),
    status: z.enum(RECIPIENT_STATUSES),
    balance: MoneyString.meta({ description: "accrued and not yet paid, token base units" }),
    clawbackOwed: MoneyString.meta({ description: "owed back (refunds, lost disputes after settlement), netted by later runs" }),
    paid: MoneyString.meta({ description: "transferred by settled batches" }),
  })
  .meta({ id: "RecipientBalance" });

export const TreasuryStatus = z
  .strictObject({
    cluster: Nullable(z.string()),
    status: z.enum(["ready", "unavailable"]),
    programId: Nullable(z.string()),
    treasury: Nullable(z.string()),
    vault: Nullable(z.string()),
    mint: Nullable(z.string()),
    symbol: Nullable(z.string()),
    decimals: Nullable(z.int()),
    vaultBalance: Nullable(MoneyString),
    error: Nullable(z.string()),
  })
  .meta({ id: "TreasuryStatus" });

const SimulatedRecipient = z.strictObject({
  transferId: Uuid,
  recipientId: Uuid,
  recipientName: z.string(),
  tokenAccount: z.string(),
  amount: MoneyString,
  reason: z.string(),
});

export const RunSimulation = z
  .strictObject({
    runId: Uuid,
    status: z.string(),
    tokenDecimals: z.int(),
    totalTransfers: MoneyString,
    vault: z.strictObject({ address: z.string(), balance: Nullable(MoneyString) }),
    vaultShortBy: MoneyString,
    batches: z.array(
      z.strictObject({
        index: z.int(),
        version: z.enum(["LEGACY", "V0"]),
        recipients: z.int(),
        total: MoneyString,
        planHash: Nullable(z.string()),
        success: z.boolean(),
        computeUnits: Nullable(z.number()),
        computeUnitLimit: Nullable(z.number()),
        priorityMicroLamports: Nullable(MoneyString),
        feeLamports: Nullable(MoneyString),
        splitRecordRentLamports: MoneyString,
        error: Nullable(z.string()),
        note: Nullable(z.string()),
        heldOut: z.array(SimulatedRecipient),
        tokenAccountsCreated: z.array(SimulatedRecipient),
      }),
    ),
    setup: z.strictObject({ tokenAccounts: z.int(), tokenAccountRentLamports: MoneyString, tokenAccountFeeLamports: MoneyString, lookupTableAddresses: z.int() }),
    estimatedLamports: MoneyString,
    ok: z.boolean(),
    simulatedAt: Timestamp,
  })
  .meta({ id: "RunSimulation" });

export const WEBHOOK_ENDPOINT_STATUSES = ["ENABLED", "DISABLED"] as const;
export const WEBHOOK_DELIVERY_STATUSES = ["PENDING", "DELIVERED", "FAILED"] as const;

export const WebhookEndpoint = z
  .strictObject({
    id: Uuid,
    url: z.string(),
    description: Nullable(z.string()),
    eventTypes: z.array(z.enum(OUTBOUND_EVENT_TYPES)),
    status: z.enum(WEBHOOK_ENDPOINT_STATUSES),
    disabledReason: Nullable(z.string()),
    disabledAt: Nullable(Timestamp),
    disabledBySystem: z.boolean().meta({ description: "disabled by StableFlow after persistent failure (enable it again once the receiver is fixed)" }),
    lastSuccessAt: Nullable(Timestamp),
    pendingDeliveries: z.int(),
    failedDeliveries: z.int(),
    createdAt: Timestamp,
  })
  .meta({ id: "WebhookEndpoint" });

export const WebhookEndpointCreated = WebhookEndpoint.extend({
  secret: z.string().meta({ description: "the Standard Webhooks signing secret (whsec_...): answered here once, never again" }),
}).meta({ id: "WebhookEndpointCreated" });

export const WebhookEndpointDeleted = z.strictObject({ id: Uuid, deleted: z.literal(true) }).meta({ id: "WebhookEndpointDeleted" });

export const WebhookDelivery = z
  .strictObject({
    id: Uuid,
    endpointId: Uuid,
    webhookId: z.string().meta({ description: "the webhook-id header: the same on every attempt and redelivery" }),
    eventType: z.enum(OUTBOUND_EVENT_TYPES),
    status: z.enum(WEBHOOK_DELIVERY_STATUSES),
    attempts: z.int(),
    lastStatusCode: Nullable(z.int()),
    lastError: Nullable(z.string()),
    lastAttemptAt: Nullable(Timestamp),
    nextAttemptAt: Nullable(Timestamp),
    deliveredAt: Nullable(Timestamp),
    createdAt: Timestamp,
    attemptLog: z
      .array(
        z.strictObject({
          attempt: z.int(),
          manual: z.boolean().meta({ description: "sent again on demand" }),
          statusCode: Nullable(z.int()).meta({ description: "the receiver's HTTP status; null when it did not answer" }),
          error: Nullable(z.string()),
          startedAt: Timestamp,
          durationMs: z.int(),
        }),
      )
      .meta({ description: "every attempt, oldest first" }),
  })
  .meta({ id: "WebhookDelivery" });
