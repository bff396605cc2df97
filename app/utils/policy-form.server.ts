// The save of the policy editor, shared by /console/policies/new and /console/policies/:versionId: parse
// the form with the shared schema (amounts in the token's decimals), save a new draft version, and answer
// with the new version's page, field errors beside their fields, or the ledger's refusal as a sentence.
import { data, redirect } from "@remix-run/node";
import { saveEditedPolicyVersion } from "~/models/console-policies.server";
import { issuesByField } from "~/models/input-errors";
import type { Actor } from "~/models/operators.server";
import { DEFAULT_TOKEN_DECIMALS } from "~/models/payout-runs.server";
import { policyFormValues, policyVersionInputSchema } from "~/models/policy-input";
import { policyFailure, type FormActionResult } from "./console-errors.server";
import { getPrisma } from "./db.server";

export interface PolicySaveResult extends Omit<FormActionResult, "values"> {
  values?: ReturnType<typeof policyFormValues>;
}

export async function savePolicyFromForm(actor: Actor, form: FormData) {
  const values = policyFormValues(form);
  const parsed = policyVersionInputSchema(DEFAULT_TOKEN_DECIMALS).safeParse(values);
  if (!parsed.success) return data<PolicySaveResult>({ intent: "save", values, fieldErrors: issuesByField(parsed.error) }, { status: 400 });
  try {
    const version = await saveEditedPolicyVersion(await getPrisma(), actor, parsed.data);
    return redirect(`/console/policies/${version.id}?saved=1`);
  } catch (error) {
    const failure = policyFailure(error, { intent: "save" });
    return data<PolicySaveResult>({ ...failure.data, values }, { status: failure.init?.status ?? 409 });
  }
}
