// Form pieces of the console and the sign-in pages: labelled fields whose error (from the same zod schema
// the server parses with) sits beside the field and is announced with it, and the CSRF token field.
import { Form } from "@remix-run/react";
import type { ReactNode } from "react";

/** A field's error, beside it and named by its aria-describedby (`<id>-error`). */
function FieldError({ id, error }: { id: string; error?: string }) {
  return error ? (
    <p className="field-error" id={`${id}-error`}>
      {error}
    </p>
  ) : null;
}

export function CsrfInput({ token }: { token: string }) {
  return <input type="hidden" name="csrf" value={token} />;
}

/**
 * A row action: a one-button form posting `intent` about one thing (`fields`, e.g. its id) with the CSRF
 * token. `ariaLabel` names what the button acts on, since a table repeats the same label on every row.
 */
export function IntentButton({
  csrf,
  intent,
  fields,
  label,
  ariaLabel,
  danger = false,
}: {
  csrf: string;
  intent: string;
  fields: Record<string, string>;
  label: string;
  ariaLabel?: string;
  danger?: boolean;
}) {
  return (
    <Form method="post" className="inline">
      <CsrfInput token={csrf} />
      <input type="hidden" name="intent" value={intent} />
      {Object.entries(fields).map(([name, value]) => (
        <input key={name} type="hidden" name={name} value={value} />
      ))}
      <button type="submit" className={danger ? "secondary danger" : "secondary"} aria-label={ariaLabel}>
        {label}
      </button>
    </Form>
  );
}

interface FieldProps {
  name: string;
  label: string;
  type?: "text" | "email" | "password" | "date" | "search";
  /** The keyboard a phone shows: "decimal" for amounts, "numeric" for whole numbers. */
  inputMode?: "decimal" | "numeric";
  autoComplete?: string;
  defaultValue?: string;
  error?: string;
  hint?: ReactNode;
  required?: boolean;
}

export function Field({ name, label, type = "text", autoComplete, defaultValue, error, hint, required = true, inputMode }: FieldProps) {
  const id = `field-${name}`;
  const described = [hint ? `${id}-hint` : null, error ? `${id}-error` : null].filter(Boolean).join(" ") || undefined;
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        name={name}
        type={type}
        autoComplete={autoComplete}
        defaultValue={defaultValue}
        inputMode={inputMode}
        required={required}
        aria-invalid={error ? true : undefined}
        aria-describedby={described}
      />
      {hint ? (
        <p className="hint muted" id={`${id}-hint`}>
          {hint}
        </p>
      ) : null}
      <FieldError id={id} error={error} />
    </div>
  );
}

export function RoleSelect({ name, label, defaultValue, error, id }: { name: string; label: string; defaultValue?: string; error?: string; id: string }) {
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <select id={id} name={name} defaultValue={defaultValue ?? "OPERATOR"} aria-invalid={error ? true : undefined} aria-describedby={error ? `${id}-error` : undefined}>
        <option value="ADMIN">Admin — manages the team and everything else</option>
        <option value="OPERATOR">Operator — runs payouts, cannot manage the team</option>
        <option value="VIEWER">Viewer — sees everything, changes nothing</option>
      </select>
      <FieldError id={id} error={error} />
    </div>
  );
}

/** A labelled select of `options` (value, label), its error beside it like Field's. */
export function SelectField({ name, label, options, defaultValue, error }: { name: string; label: string; options: readonly { value: string; label: string }[]; defaultValue?: string; error?: string }) {
  const id = `field-${name}`;
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <select id={id} name={name} defaultValue={defaultValue ?? ""} aria-invalid={error ? true : undefined} aria-describedby={error ? `${id}-error` : undefined}>
        {options.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
      <FieldError id={id} error={error} />
    </div>
  );
}

/** A sentence for the whole form (a refused sign-in, a spent link), announced when it appears. */
export function FormAlert({ message }: { message?: string | null }) {
  if (!message) return null;
  return (
    <p className="card bad" role="alert">
      {message}
    </p>
  );
}
