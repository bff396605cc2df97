// Unit and property tests of the money parser, formatter and USD-to-token conversion.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  distributableFromSettlement,
  formatMoney,
  formatCurrencyAmount,
  formatTokenAmount,
  currencyScale,
  MoneyError,
  parseMoney,
  U64_MAX,
  usdCentsToTokenUnits,
} from "./money";

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    if (error instanceof MoneyError) return error.code;
    throw error;
  }
  return undefined;
}

describe("parseMoney", () => {
  it("parses a decimal amount into minor units", () => {
    expect(parseMoney("12.34", { scale: 2 })).toBe(1234n);
    expect(parseMoney("12", { scale: 2 })).toBe(1200n);
    expect(parseMoney("12.3", { scale: 2 })).toBe(1230n);
    expect(parseMoney("0.000001", { scale: 6 })).toBe(1n);
    expect(parseMoney("  7.5 ", { scale: 6 })).toBe(7_500_000n);
    expect(parseMoney("42", { scale: 0 })).toBe(42n);
  });

  it("keeps leading zeros harmless and exact for large values", () => {
    expect(parseMoney("0007.10", { scale: 2 })).toBe(710n);
    expect(parseMoney("18446744073709551615", { scale: 0 })).toBe(U64_MAX);
  });

  it("error: empty text", () => {
    expect(codeOf(() => parseMoney("", { scale: 2 }))).toBe("MONEY_EMPTY");
    expect(codeOf(() => parseMoney("   ", { scale: 2 }))).toBe("MONEY_EMPTY");
  });

  it("error: exponent notation", () => {
    expect(codeOf(() => parseMoney("1e3", { scale: 2 }))).toBe("MONEY_EXPONENT");
    expect(codeOf(() => parseMoney("1.5E2", { scale: 2 }))).toBe("MONEY_EXPONENT");
  });

  it("error: more decimals than the scale", () => {
    expect(codeOf(() => parseMoney("12.345", { scale: 2 }))).toBe("MONEY_TOO_MANY_DECIMALS");
    expect(codeOf(() => parseMoney("1.0", { scale: 0 }))).toBe("MONEY_TOO_MANY_DECIMALS");
  });

  it("error: syntax that is not a plain decimal", () => {
    for (const text of ["+1", ".5", "5.", "1,000.00", "1 000", "0x10", "12.3.4", "--1", "abc", "1_000", "١٢", "Infinity", "NaN"]) {
      expect(codeOf(() => parseMoney(text, { scale: 2 })), text).toBe("MONEY_SYNTAX");
    }
  });

  it("error: negative unless allowed", () => {
    expect(codeOf(() => parseMoney("-1.00", { scale: 2 }))).toBe("MONEY_NEGATIVE");
    expect(parseMoney("-1.05", { scale: 2, allowNegative: true })).toBe(-105n);
    // minus zero is zero, not a negative amount
    expect(parseMoney("-0.00", { scale: 2 })).toBe(0n);
  });

  it("error: above the maximum", () => {
    expect(codeOf(() => parseMoney("18446744073709551616", { scale: 0 }))).toBe("MONEY_OUT_OF_RANGE");
    expect(codeOf(() => parseMoney("10.01", { scale: 2, max: 1000n }))).toBe("MONEY_OUT_OF_RANGE");
    expect(parseMoney("10.00", { scale: 2, max: 1000n })).toBe(1000n);
  });

  it("error: invalid scale", () => {
    expect(codeOf(() => parseMoney("1", { scale: -1 }))).toBe("MONEY_SCALE_INVALID");
    expect(codeOf(() => parseMoney("1", { scale: 1.5 }))).toBe("MONEY_SCALE_INVALID");
    expect(codeOf(() => parseMoney("1", { scale: 19 }))).toBe("MONEY_SCALE_INVALID");
  });

  it("round-trips with formatMoney for any amount and scale", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -U64_MAX, max: U64_MAX }), fc.integer({ min: 0, max: 18 }), (amount, scale) => {
        const text = formatMoney(amount, scale);
        expect(parseMoney(text, { scale, allowNegative: true })).toBe(amount);
      }),
      { numRuns: 3000 },
    );
  });
});

describe("formatMoney", () => {
  it("pads to the scale", () => {
    expect(formatMoney(1234n, 2)).toBe("12.34");
    expect(formatMoney(5n, 2)).toBe("0.05");
    expect(formatMoney(0n, 6)).toBe("0.000000");
    expect(formatMoney(-5n, 2)).toBe("-0.05");
    expect(formatMoney(42n, 0)).toBe("42");
    expect(formatMoney(1_000_000n, 6)).toBe("1.000000");
  });
});

describe("formatCurrencyAmount and formatTokenAmount", () => {
  it("groups thousands and uses the currency's ISO 4217 exponent", () => {
    expect(formatCurrencyAmount(123456789n, "USD")).toBe("1,234,567.89 USD");
    expect(formatCurrencyAmount(1500n, "JPY")).toBe("1,500 JPY");
    expect(formatCurrencyAmount(1234n, "KWD")).toBe("1.234 KWD");
    expect(formatCurrencyAmount(-99n, "EUR")).toBe("-0.99 EUR");
    expect(currencyScale("jpy")).toBe(0);
  });

  it("keeps every significant digit of a token amount and drops only zeros past the second decimal", () => {
    expect(formatTokenAmount(1_000_000_000_000n, 6, "sUSD")).toBe("1,000,000.00 sUSD");
    expect(formatTokenAmount(1n, 6, "sUSD")).toBe("0.000001 sUSD");
    expect(formatTokenAmount(1_230_000n, 6)).toBe("1.23");
    expect(formatTokenAmount(1_234_500n, 6)).toBe("1.2345");
    expect(formatTokenAmount(7n, 0)).toBe("7");
  });

  it("parses back to the same minor units (no float anywhere)", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: U64_MAX }), fc.integer({ min: 0, max: 18 }), (units, decimals) => {
        const text = formatTokenAmount(units, decimals).replaceAll(",", "");
        expect(parseMoney(text, { scale: decimals })).toBe(units);
      }),
    );
  });
});

describe("usdCentsToTokenUnits", () => {
  it("one cent is 10,000 base units of a 6-decimal token", () => {
    expect(usdCentsToTokenUnits(1n)).toBe(10_000n);
    expect(usdCentsToTokenUnits(1234n, 6)).toBe(12_340_000n);
    expect(usdCentsToTokenUnits(1234n, 2)).toBe(1234n);
    expect(usdCentsToTokenUnits(7n, 9)).toBe(70_000_000n);
  });

  it("error: a token with fewer than 2 decimals", () => {
    expect(codeOf(() => usdCentsToTokenUnits(1n, 1))).toBe("MONEY_DECIMALS_UNSUPPORTED");
    expect(codeOf(() => usdCentsToTokenUnits(1n, 0))).toBe("MONEY_DECIMALS_UNSUPPORTED");
    expect(codeOf(() => usdCentsToTokenUnits(1n, 2.5))).toBe("MONEY_DECIMALS_UNSUPPORTED");
  });

  it("error: negative cents", () => {
    expect(codeOf(() => usdCentsToTokenUnits(-1n))).toBe("MONEY_NEGATIVE");
  });

  it("agrees with parsing the same dollars at the token's scale", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 12n }), fc.integer({ min: 2, max: 18 }), (cents, decimals) => {
        const dollars = formatMoney(cents, 2);
        expect(usdCentsToTokenUnits(cents, decimals)).toBe(parseMoney(dollars, { scale: decimals, max: 10n ** 40n }));
      }),
      { numRuns: 2000 },
    );
  });
});

describe("distributableFromSettlement", () => {
  it("converts a USD settlement to token base units", () => {
    expect(distributableFromSettlement({ settlementAmount: 2500n, settlementCurrency: "USD" }, 6)).toEqual({ ok: 25_000_000n });
  });

  it("holds any other currency with a reason instead of guessing a rate", () => {
    for (const currency of ["EUR", "INR", "usd", "USDC"]) {
      const result = distributableFromSettlement({ settlementAmount: 2500n, settlementCurrency: currency }, 6);
      expect("held" in result && result.held.reason, currency).toBe("UNSUPPORTED_SETTLEMENT_CURRENCY");
    }
  });

  it("holds a payment whose settlement is not known yet", () => {
    const missingAmount = distributableFromSettlement({ settlementAmount: null, settlementCurrency: "USD" });
    const missingCurrency = distributableFromSettlement({ settlementAmount: 100n, settlementCurrency: undefined });
    expect("held" in missingAmount && missingAmount.held.reason).toBe("MISSING_SETTLEMENT");
    expect("held" in missingCurrency && missingCurrency.held.reason).toBe("MISSING_SETTLEMENT");
  });

  it("holds a negative or out-of-range amount", () => {
    const negative = distributableFromSettlement({ settlementAmount: -1n, settlementCurrency: "USD" });
    const huge = distributableFromSettlement({ settlementAmount: U64_MAX, settlementCurrency: "USD" });
    expect("held" in negative && negative.held.reason).toBe("INVALID_SETTLEMENT_AMOUNT");
    expect("held" in huge && huge.held.reason).toBe("INVALID_SETTLEMENT_AMOUNT");
  });
});
