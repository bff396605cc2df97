// Domain errors of the console's recipient and policy forms as answers: a field error beside the field it
// concerns, or a sentence for the whole form, with the status that says what happened. A row that is not
// the operator's organization's is a 404 whose body says nothing was changed. Anything else is rethrown.
import { data } from "@remix-run/node";
import { MoneyError } from "~/ledger/money";
import { PolicyError, type PolicyIssueCode } from "~/ledger/policy";
import { WalletError } from "~/ledger/wallet";
import { PolicyModelError } from "~/models/policies.server";
import { RecipientError } from "~/models/recipients.server";

export interface FormActionResult {
  intent?: string;
  values?: Record<string, string>;
  fieldErrors?: Record<string, string>;
  message?: string;
  done?: string;
}

/** The ledger's messages start lower-case and end bare: a sentence for people. */
export function sentence(message: string): string {
  const text = message.charAt(0).toUpperCase() + message.slice(1);
  return /[.!?]$/.test(text) ? text : `${text}.`;
}

export function notInOrganization(what: string): Response {
  return new Response(`Your organization has no such ${what}; nothing was changed.`, { status: 404, statusText: "Not Found" });
}

const RECIPIENT_FIELD: Partial<Record<RecipientError["code"], string>> = {
  RECIPIENT_WALLET_TAKEN: "walletAddress",
  RECIPIENT_MINT_UNKNOWN: "tokenAccount",
  RECIPIENT_NAME_INVALID: "name",
};

export function recipientFailure(error: unknown, base: FormActionResult) {
  if (error instanceof RecipientError) {
    if (error.code === "RECIPIENT_NOT_FOUND") throw notInOrganization("recipient");
    const field = RECIPIENT_FIELD[error.code];
    if (field) return data<FormActionResult>({ ...base, fieldErrors: { [field]: sentence(error.message) } }, { status: 409 });
    return data<FormActionResult>({ ...base, message: sentence(error.message) }, { status: 409 });
  }
  if (error instanceof WalletError) return data<FormActionResult>({ ...base, fieldErrors: { walletAddress: sentence(error.message) } }, { status: 400 });
  throw error;
}

const POLICY_FIELD: Partial<Record<PolicyIssueCode, string>> = {
  RULE_BPS_OUT_OF_RANGE: "basisPoints",
  RULE_FIXED_AMOUNT_INVALID: "fixedAmount",
  RULE_CAP_INVALID: "capPerPeriod",
  RULE_MIN_PAYOUT_INVALID: "minPayout",
  RULE_PRIORITY_INVALID: "priority",
  RULE_RECIPIENT_UNKNOWN: "recipientId",
  RULE_RECIPIENT_REMOVED: "recipientId",
  RULE_RECIPIENT_DUPLICATE: "recipientId",
};

/** A policy save or activation that the ledger refused: rule issues beside their rule's field, the rest as a sentence. */
export function policyFailure(error: unknown, base: FormActionResult) {
  if (error instanceof PolicyError) {
    const fieldErrors: Record<string, string> = {};
    const sentences: string[] = [];
    for (const issue of error.issues) {
      const field = POLICY_FIELD[issue.code];
      if (field && issue.ruleIndex !== undefined) fieldErrors[`rules.${issue.ruleIndex}.${field}`] ??= sentence(issue.message.replace(/^rule #\d+ \([^)]*\) for recipient [^:]*: /, ""));
      else sentences.push(sentence(issue.message));
    }
    return data<FormActionResult>({ ...base, fieldErrors, message: sentences.join(" ") || "Fix the rules marked below." }, { status: 422 });
  }
  if (error instanceof PolicyModelError) {
    if (error.code === "POLICY_NOT_FOUND") throw notInOrganization("policy version");
    return data<FormActionResult>({ ...base, message: sentence(error.message) }, { status: 409 });
  }
  if (error instanceof MoneyError) return data<FormActionResult>({ ...base, message: sentence(error.message) }, { status: 400 });
  throw error;
}
