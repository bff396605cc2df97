// What an organization can subscribe an endpoint to, and the endpoint form's schema: shared by the console
// page (its field errors) and the server (the same parse), so the two cannot disagree.
import { z } from "zod";

/** The events StableFlow sends, each written by the database in the transaction of the change it announces. */
export const OUTBOUND_EVENT_TYPES = [
  "payment.recorded",
  "payout_run.ready",
  "payout_run.approved",
  "payout_run.settled",
  "payout_run.partial",
  "payout_run.failed",
  "recipient.held",
] as const;

export type OutboundEventType = (typeof OUTBOUND_EVENT_TYPES)[number];

export const OUTBOUND_EVENT_DESCRIPTIONS: Record<OutboundEventType, string> = {
  "payment.recorded": "a payment was recorded, or its status, refunds, dispute or hold changed",
  "payout_run.ready": "a payout run was compiled and waits for approval",
  "payout_run.approved": "a payout run was approved and queued for settlement",
  "payout_run.settled": "every batch of a payout run settled on chain",
  "payout_run.partial": "some batches of a payout run settled, the others failed",
  "payout_run.failed": "no batch of a payout run could settle",
  "recipient.held": "a recipient could not receive and was held out of a batch (its amount back in its balance)",
};

/**
 * A destination URL as far as its text goes: http(s), a host, no credentials, at most 2,048 characters.
 * Whether its address is public is checked on the server (webhook-sender.server.ts), at registration and
 * again on every attempt.
 */
export const EndpointUrlSchema = z
  .string({ error: "Enter the URL StableFlow should send events to." })
  .trim()
  .min(1, { error: "Enter the URL StableFlow should send events to." })
  .max(2048, { error: "The URL is longer than 2,048 characters." })
  .refine(
    (value) => {
      try {
        const url = new URL(value);
        return (url.protocol === "https:" || url.protocol === "http:") && url.hostname.length > 0;
      } catch {
        return false;
      }
    },
    { error: "Enter an http:// or https:// URL, like https://example.com/webhooks/stableflow." },
  )
  .refine((value) => !URL.canParse(value) || (!new URL(value).username && !new URL(value).password), {
    error: "Leave credentials out of the URL: verify the signature instead.",
  })
  .transform((value) => new URL(value).toString());

const DescriptionSchema = z.string().trim().max(200, { error: "Keep the description under 200 characters." });
const EventTypesSchema = z
  .array(z.enum(OUTBOUND_EVENT_TYPES, { error: "Choose events from the list." }))
  .min(1, { error: "Choose at least one event." })
  .transform((types) => [...new Set(types)]);

export const NewEndpointSchema = z.object({
  url: EndpointUrlSchema,
  description: DescriptionSchema.optional().transform((v) => v || undefined),
  eventTypes: EventTypesSchema,
});

/**
 * A change to an endpoint (the operator API's update): each field optional, the same rules as registering;
 * an empty description clears it; `enabled` disables it or enables it again (after the dispatcher stopped it too).
 */
export const EndpointChangesSchema = z.object({
  url: EndpointUrlSchema.optional(),
  description: DescriptionSchema.optional().transform((v) => (v === undefined ? undefined : v || null)),
  eventTypes: EventTypesSchema.optional(),
  enabled: z.boolean().optional(),
});

/** What a change takes (the schema's output; `description: null` clears it). */
export interface EndpointChanges {
  url?: string;
  description?: string | null;
  eventTypes?: OutboundEventType[];
  enabled?: boolean;
}

/** What registering takes (the schema's output, with the description optional). */
export interface NewEndpoint {
  url: string;
  description?: string;
  eventTypes: OutboundEventType[];
}
