// The fields of a recipient (create and edit alike): name, wallet and its kind, an optional token account,
// each with the error the shared schema (app/models/recipient-input.ts) gave it.
import { Field, SelectField } from "./console-form";

export interface RecipientFieldValues {
  name?: string;
  walletAddress?: string;
  walletKind?: string;
  tokenAccount?: string;
}

export function RecipientFields({ values = {}, errors = {} }: { values?: RecipientFieldValues; errors?: Record<string, string> }) {
  return (
    <>
      <Field name="name" label="Name" defaultValue={values.name} error={errors.name} />
      <Field name="walletAddress" label="Wallet address" defaultValue={values.walletAddress} error={errors.walletAddress} autoComplete="off" />
      <SelectField
        name="walletKind"
        label="Kind of wallet"
        defaultValue={values.walletKind ?? "ED25519"}
        error={errors.walletKind}
        options={[
          { value: "ED25519", label: "Wallet (ed25519): can sign, can prove it is theirs" },
          { value: "PDA_OWNER", label: "PDA owner: a program's address, cannot sign" },
        ]}
      />
      <Field
        name="tokenAccount"
        label="Token account (optional)"
        required={false}
        defaultValue={values.tokenAccount}
        error={errors.tokenAccount}
        autoComplete="off"
        hint="Leave empty to pay the wallet's associated token account for the payout token."
      />
    </>
  );
}
