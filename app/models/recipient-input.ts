// The input schemas of recipients, shared by the console's forms and the operator API: one parse, one set
// of messages, whichever door the input comes through. Wallet addresses are checked by the ledger's own
// parser (app/ledger/wallet.ts), so what passes here is what createRecipient accepts.
import { z } from "zod";
import { parseAccountAddress, parseWalletAddress, WalletError, type WalletKind } from "~/ledger/wallet";

export const WALLET_KINDS = ["ED25519", "PDA_OWNER"] as const satisfies readonly WalletKind[];
/** The statuses an operator sets by hand; REMOVED is not offered (it is final, and rules must be edited first). */
export const SETTABLE_RECIPIENT_STATUSES = ["ACTIVE", "PAUSED"] as const;

const WALLET_MESSAGES: Partial<Record<WalletError["code"], string>> = {
  WALLET_NOT_BASE58: "This is not a Solana address: use the base58 text your wallet shows.",
  WALLET_WRONG_LENGTH: "A Solana address is 32 bytes (32 to 44 base58 characters); check that nothing is missing.",
  WALLET_OFF_CURVE: "This address is a program-derived address (it cannot sign): choose “PDA owner” if that is intended.",
  WALLET_NOT_PDA: "This is an ordinary wallet, not a program-derived address: choose “Wallet (ed25519)”.",
};

function walletMessage(error: WalletError, what: string): string {
  return WALLET_MESSAGES[error.code]?.replace("Solana address", `Solana ${what}`) ?? `${error.message}.`;
}

/** Empty form fields mean "not given". */
const blankToUndefined = (value: unknown) => (typeof value === "string" && value.trim() === "" ? undefined : value);

const RecipientName = z
  .string({ error: "Enter the recipient's name." })
  .trim()
  .min(1, { error: "Enter the recipient's name." })
  .max(200, { error: "Use at most 200 characters." });

const Address = z
  .string({ error: "Enter the address." })
  .trim()
  .min(1, { error: "Enter the address." })
  .max(64, { error: "A Solana address has at most 44 characters." });

const RecipientFields = z
  .object({
    name: RecipientName,
    walletAddress: Address,
    walletKind: z.preprocess(blankToUndefined, z.enum(WALLET_KINDS, { error: "Choose a wallet or a PDA owner." }).default("ED25519")),
    /** Another token account than the wallet's associated one (rare: a custodian's, or a Token-2022 account). */
    tokenAccount: z.preprocess(blankToUndefined, Address.optional()),
  })
  .superRefine((value, ctx) => {
    try {
      parseWalletAddress(value.walletAddress, value.walletKind);
    } catch (error) {
      if (!(error instanceof WalletError)) throw error;
      ctx.addIssue({ code: "custom", path: ["walletAddress"], message: walletMessage(error, "address") });
    }
    if (value.tokenAccount !== undefined) {
      try {
        parseAccountAddress(value.tokenAccount, "token account");
      } catch (error) {
        if (!(error instanceof WalletError)) throw error;
        ctx.addIssue({ code: "custom", path: ["tokenAccount"], message: walletMessage(error, "token account address") });
      }
    }
  });

export const RecipientIdSchema = z.uuid({ error: "Choose a recipient." });

/** A new recipient. Its token account defaults to the wallet's associated token account for the payout mint. */
export const RecipientCreateSchema = RecipientFields;
export type RecipientCreateInput = z.infer<typeof RecipientCreateSchema>;

/** An edit of a recipient: the same fields (a changed wallet must prove its ownership again). */
export const RecipientUpdateSchema = RecipientFields;
export type RecipientUpdateInput = z.infer<typeof RecipientUpdateSchema>;

export const RecipientStatusSchema = z.object({
  status: z.enum(SETTABLE_RECIPIENT_STATUSES, { error: "Choose active or paused." }),
});
export type RecipientStatusInput = z.infer<typeof RecipientStatusSchema>;
