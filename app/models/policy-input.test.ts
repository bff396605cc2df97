import { describe, expect, it } from "vitest";
import { policyFormValues, policyPreviewSchema, policyVersionInputSchema } from "./policy-input";
import { issuesByField } from "./input-errors";

const A = "0b7c6f5e-1d2a-4c3b-9e8f-7a6b5c4d3e2f";
const B = "1c8d7a6f-2e3b-4d4c-8f9a-8b7c6d5e4f3a";

function form(fields: Record<string, string>): FormData {
  const data = new FormData();
  for (const [key, value] of Object.entries(fields)) data.append(key, value);
  return data;
}

describe("policyVersionInputSchema", () => {
  it("parses a form's decimals at the token's scale into exact base units, and drops rows without a recipient", () => {
    const values = policyFormValues(
      form({
        policyName: " default ",
        basedOnVersion: "3",
        payoutSchedule: "DAILY",
        requireVerifiedRecipients: "on",
        "rules.0.recipientId": A,
        "rules.0.kind": "PERCENTAGE",
        "rules.0.basisPoints": "2500",
        "rules.0.capPerPayment": "12.345678",
        "rules.1.recipientId": "",
        "rules.1.kind": "PERCENTAGE",
        "rules.1.basisPoints": "500",
        "rules.2.recipientId": B,
        "rules.2.kind": "FIXED",
        "rules.2.fixedAmount": "18446744073709.551615",
        "rules.2.capPerPeriod": "100",
        "rules.2.periodDays": "30",
      }),
    );
    const parsed = policyVersionInputSchema(6).parse(values);
    expect(parsed).toEqual({
      policyName: "default",
      basedOnVersion: 3,
      payoutSchedule: "DAILY",
      requireVerifiedRecipients: true,
      rules: [
        { recipientId: A, kind: "PERCENTAGE", basisPoints: 2500, capPerPayment: 12_345_678n },
        { recipientId: B, kind: "FIXED", fixedAmount: 18_446_744_073_709_551_615n, capPerPeriod: 100_000_000n, periodDays: 30 },
      ],
    });
    // The same schema at scale 0 takes base units, as a client of the API writes them.
    const api = policyVersionInputSchema(0).parse({ policyName: "p", rules: [{ recipientId: A, kind: "FIXED", fixedAmount: "2500000" }] });
    expect(api.rules[0]!.fixedAmount).toBe(2_500_000n);
    expect(api.requireVerifiedRecipients).toBe(false);
    expect(api.payoutSchedule).toBe("INSTANT");
  });

  it("error: each mistake is reported beside its field, by row", () => {
    const result = policyVersionInputSchema(6).safeParse(
      policyFormValues(
        form({
          policyName: "",
          "rules.0.recipientId": A,
          "rules.0.kind": "PERCENTAGE",
          "rules.0.basisPoints": "10001",
          "rules.1.recipientId": A,
          "rules.1.kind": "FIXED",
          "rules.1.fixedAmount": "1.0000001",
          "rules.2.recipientId": B,
          "rules.2.kind": "FIXED",
          "rules.2.fixedAmount": "0",
          "rules.2.capPerPeriod": "5",
        }),
      ),
    );
    expect(result.success).toBe(false);
    const errors = issuesByField(result.error!);
    expect(errors).toMatchObject({
      policyName: "Enter the policy's name.",
      "rules.0.basisPoints": "Enter basis points from 1 to 10000 (100 = 1 %).",
      "rules.1.fixedAmount": "Use at most 6 decimals.",
      "rules.2.fixedAmount": "The amount must be more than zero.",
      "rules.2.periodDays": "A period cap needs both its amount and its length in days.",
    });
  });

  it("error: two rules for one recipient, and percentages over 100 %, are refused with a sentence", () => {
    const result = policyVersionInputSchema(6).safeParse({
      policyName: "p",
      rules: [
        { recipientId: A, kind: "PERCENTAGE", basisPoints: 6000 },
        { recipientId: B, kind: "PERCENTAGE", basisPoints: 4001 },
        { recipientId: A, kind: "PERCENTAGE", basisPoints: 1 },
      ],
    });
    const errors = issuesByField(result.error!);
    expect(errors["rules.2.recipientId"]).toBe("This recipient already has a rule above: one rule per recipient.");
    expect(errors.rules).toBe("The percentage rules add up to 10002 basis points; at most 10000 (100 %).");
    expect(issuesByField(policyVersionInputSchema(6).safeParse({ policyName: "p", rules: [] }).error!).rules).toBe("Add at least one rule.");
  });
});

describe("policyPreviewSchema", () => {
  it("takes the sample as a decimal in the currency and answers minor units; refuses what is not exact", () => {
    expect(policyPreviewSchema(2).parse({ versionId: A, sampleAmount: "99.99" }).sampleAmount).toBe(9_999n);
    const bad = policyPreviewSchema(2).safeParse({ versionId: "nope", sampleAmount: "9.999" });
    expect(issuesByField(bad.error!)).toEqual({ versionId: "Choose a policy version.", sampleAmount: "Use at most 2 decimals." });
    expect(issuesByField(policyPreviewSchema(2).safeParse({ versionId: A, sampleAmount: "" }).error!).sampleAmount).toBe("Enter a sample amount.");
  });
});
