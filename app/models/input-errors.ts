// Zod issues as the forms and the API show them: one message per field, keyed by its dotted path
// ("name", "rules.2.fixedAmount"), so that each sits beside its field.
import type { z } from "zod";

/** The first message of each field; issues without a path are under "form". */
export function issuesByField(error: z.ZodError): Record<string, string> {
  const out: Record<string, string> = {};
  for (const issue of error.issues) {
    const field = issue.path.length > 0 ? issue.path.map(String).join(".") : "form";
    out[field] ??= issue.message;
  }
  return out;
}
