// The one naming scheme people see: a payment is Dodo's id with our short id, wherever it is shown.
import { describe, expect, it } from "vitest";
import { entityLabel, paymentLabel, shortId } from "./identifiers";

const UUID = "1a2b3c4d-5e6f-4a0b-8c9d-0e1f2a3b4c5d";

describe("identifiers", () => {
  it("a payment's label is its Dodo id with the first 8 hex digits of our id, as runs are shown", () => {
    expect(shortId(UUID)).toBe("1a2b3c4d");
    expect(paymentLabel({ dodoPaymentId: "pay_2xkQ", id: UUID })).toBe("pay_2xkQ · #1a2b3c4d");
  });

  it("an audit line's subject: a payment by its label, our rows by short id, Dodo's refunds and disputes by Dodo's id", () => {
    expect(entityLabel("payment", UUID, "pay_2xkQ")).toBe("payment pay_2xkQ · #1a2b3c4d");
    // A payment whose Dodo id is unknown here (another organization's, or gone) still shows only our short id.
    expect(entityLabel("payment", UUID, null)).toBe("payment #1a2b3c4d");
    expect(entityLabel("payout_run", UUID)).toBe("payout run #1a2b3c4d");
    expect(entityLabel("refund", "rfnd_9z")).toBe("refund rfnd_9z");
    expect(entityLabel("some_new_kind", "x".repeat(60))).toBe(`some new kind ${"x".repeat(40)}`);
  });
});
