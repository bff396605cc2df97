// The shapes the operator API shares across operations: money as decimal strings of minor units, ids,
// timestamps, cursor pagination and the error object. The OpenAPI document is generated from these.
import { z } from "zod";

/** An amount in minor units (token base units or currency minor units) as a decimal string: never a float. */
export const MoneyString = z.string().regex(/^-?(0|[1-9][0-9]*)$/).meta({ description: "an integer amount in minor units, as a decimal string", example: "1500000" });
export const Uuid = z.uuid();
export const Timestamp = z.iso.datetime({ offset: true }).meta({ description: "ISO 8601 date-time" });

export const ErrorBody = z
  .strictObject({
    error: z.strictObject({
      code: z.string().meta({ description: "stable, machine-readable: see the list in the API's description" }),
      message: z.string(),
      field: z.string().optional().meta({ description: "the input at fault: a body path (`rules.0.basisPoints`), a query or path parameter, or a header" }),
    }),
  })
  .meta({ id: "Error" });

export const LIMIT_DEFAULT = 25;
export const LIMIT_MAX = 100;

/** `limit`, `starting_after` and the date filters every list takes (query parameters, so strings). */
export const ListQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(LIMIT_MAX).default(LIMIT_DEFAULT).meta({ description: `1-${LIMIT_MAX}, default ${LIMIT_DEFAULT}` }),
  starting_after: Uuid.optional().meta({ description: "the id of the last item of the previous page" }),
  created_gte: Timestamp.optional().meta({ description: "only items created at or after this time" }),
  created_lt: Timestamp.optional().meta({ description: "only items created before this time" }),
});
export type ListQuery = z.infer<typeof ListQuery>;

/** A page of `item`, newest first. */
export function pageOf<T extends z.ZodType>(item: T) {
  return z.strictObject({
    data: z.array(item),
    has_more: z.boolean(),
    next_cursor: Uuid.nullable().meta({ description: "pass as `starting_after` for the next page; null on the last" }),
  });
}

export const EmptyBody = z.strictObject({});
