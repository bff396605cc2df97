// The editor of a policy version: its terms and one fieldset per rule (plus spare rows for new rules),
// each field with the error the shared schema (app/models/policy-input.ts) or the ledger gave it. Saving
// always creates a new draft version; `basedOnVersion` is the newest version the operator saw.
import { Form } from "@remix-run/react";
import { CsrfInput, Field, FormAlert, SelectField } from "./console-form";

export interface EditorRule {
  recipientId?: string;
  kind?: string;
  basisPoints?: string;
  fixedAmount?: string;
  capPerPayment?: string;
  capPerPeriod?: string;
  periodDays?: string;
  minPayout?: string;
  priority?: string;
}

export interface EditorValues {
  policyName?: string;
  payoutSchedule?: string;
  requireVerifiedRecipients?: boolean;
  rules: EditorRule[];
}

const SPARE_ROWS = 2;

export function PolicyEditor({
  csrf,
  basedOnVersion,
  values,
  errors = {},
  message,
  recipients,
  nameEditable,
  tokenSymbol,
}: {
  csrf: string;
  basedOnVersion: number;
  values: EditorValues;
  errors?: Record<string, string>;
  message?: string;
  recipients: readonly { id: string; name: string; status: string }[];
  nameEditable: boolean;
  tokenSymbol: string;
}) {
  const rows: EditorRule[] = [...values.rules, ...Array.from({ length: SPARE_ROWS }, () => ({}))];
  const recipientOptions = [{ value: "", label: "— no rule —" }, ...recipients.map((r) => ({ value: r.id, label: r.status === "ACTIVE" ? r.name : `${r.name} (${r.status.toLowerCase()})` }))];
  return (
    <Form method="post" className="card stack" noValidate aria-label="Edit the policy as a new version">
      <CsrfInput token={csrf} />
      <input type="hidden" name="intent" value="save" />
      <input type="hidden" name="basedOnVersion" value={basedOnVersion} />
      <FormAlert message={message ?? errors.rules ?? errors.form} />
      {nameEditable ? (
        <Field name="policyName" label="Policy name" defaultValue={values.policyName} error={errors.policyName} />
      ) : (
        <input type="hidden" name="policyName" value={values.policyName} />
      )}
      <SelectField
        name="payoutSchedule"
        label="Payouts"
        defaultValue={values.payoutSchedule ?? "INSTANT"}
        error={errors.payoutSchedule}
        options={[
          { value: "INSTANT", label: "Instant: each payment is its own run" },
          { value: "HOURLY", label: "Hourly: shares accrue, swept at each hour's close" },
          { value: "DAILY", label: "Daily: swept at each day's close (organization time zone)" },
          { value: "WEEKLY", label: "Weekly: swept at each week's close" },
        ]}
      />
      <div className="check">
        <input id="field-requireVerifiedRecipients" type="checkbox" name="requireVerifiedRecipients" defaultChecked={values.requireVerifiedRecipients} />
        <label htmlFor="field-requireVerifiedRecipients">Pay only recipients whose wallet is verified (others accrue)</label>
      </div>
      <p className="muted">
        Shares in basis points (100 = 1 %); amounts in {tokenSymbol}, up to 6 decimals. Empty rows are ignored; choose “— no rule —” to remove a rule.
      </p>
      {rows.map((rule, index) => {
        const name = (field: string) => `rules.${index}.${field}`;
        const error = (field: string) => errors[name(field)];
        return (
          <fieldset key={index} className="rule" data-rule-row={index}>
            <legend>{index < values.rules.length ? `Rule ${index + 1}` : `New rule`}</legend>
            <SelectField name={name("recipientId")} label="Recipient" defaultValue={rule.recipientId ?? ""} error={error("recipientId")} options={recipientOptions} />
            <SelectField
              name={name("kind")}
              label="Kind"
              defaultValue={rule.kind ?? "PERCENTAGE"}
              error={error("kind")}
              options={[
                { value: "PERCENTAGE", label: "Percentage" },
                { value: "FIXED", label: "Fixed amount" },
              ]}
            />
            <Field name={name("basisPoints")} label="Basis points" inputMode="numeric" required={false} defaultValue={rule.basisPoints} error={error("basisPoints")} />
            <Field name={name("fixedAmount")} label={`Fixed amount (${tokenSymbol})`} inputMode="decimal" required={false} defaultValue={rule.fixedAmount} error={error("fixedAmount")} />
            <Field name={name("capPerPayment")} label="Cap per payment" inputMode="decimal" required={false} defaultValue={rule.capPerPayment} error={error("capPerPayment")} />
            <Field name={name("capPerPeriod")} label="Cap per period" inputMode="decimal" required={false} defaultValue={rule.capPerPeriod} error={error("capPerPeriod")} />
            <Field name={name("periodDays")} label="Period (days)" inputMode="numeric" required={false} defaultValue={rule.periodDays} error={error("periodDays")} />
            <Field name={name("minPayout")} label="Minimum payout" inputMode="decimal" required={false} defaultValue={rule.minPayout} error={error("minPayout")} />
            <Field name={name("priority")} label="Priority (fixed rules)" inputMode="numeric" required={false} defaultValue={rule.priority} error={error("priority")} />
          </fieldset>
        );
      })}
      <button type="submit">Save as a new draft version</button>
    </Form>
  );
}

/** What the operator sent (policyFormValues' shape), to fill the editor again after a refusal. */
export function echoedValues(values: { rules: Record<string, string>[] } & Record<string, unknown>): EditorValues {
  const text = (value: unknown) => (typeof value === "string" ? value : undefined);
  return {
    policyName: text(values.policyName),
    payoutSchedule: text(values.payoutSchedule),
    requireVerifiedRecipients: values.requireVerifiedRecipients === "on",
    rules: values.rules,
  };
}
