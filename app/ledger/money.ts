// Money in integer minor units: the one parser from user text, the formatter, and the USD-cents-to-token conversion.
// Every amount in StableFlow is a bigint of the smallest unit; `number` never holds money.

/** Base of the ledger's typed domain errors: routes map `code` to a status, never the message. */
export abstract class LedgerError extends Error {
  abstract readonly code: string;
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

export type MoneyErrorCode =
  | "MONEY_EMPTY"
  | "MONEY_SYNTAX"
  | "MONEY_EXPONENT"
  | "MONEY_TOO_MANY_DECIMALS"
  | "MONEY_NEGATIVE"
  | "MONEY_OUT_OF_RANGE"
  | "MONEY_SCALE_INVALID"
  | "MONEY_DECIMALS_UNSUPPORTED";

export class MoneyError extends LedgerError {
  readonly code: MoneyErrorCode;
  constructor(code: MoneyErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

/** The largest amount an SPL token account (u64) can hold; the default upper bound of `parseMoney`. */
export const U64_MAX = (1n << 64n) - 1n;

/** Largest scale we accept: beyond 18 decimals no currency or mint we settle exists. */
const MAX_SCALE = 18;

export interface ParseMoneyOptions {
  /** Decimal places of the unit (2 for USD cents, 6 for sUSD base units). */
  scale: number;
  /** Accept a leading "-" (for corrections typed by an operator); off by default. */
  allowNegative?: boolean;
  /** Inclusive bound on the magnitude in minor units; defaults to u64::MAX. */
  max?: bigint;
}

// Digits, optionally one "." followed by at least one digit. No "+", no ".5", no "5.", no separators.
const MONEY_TEXT = /^(-?)(\d+)(?:\.(\d+))?$/;

function checkScale(scale: number): void {
  if (!Number.isInteger(scale) || scale < 0 || scale > MAX_SCALE) {
    throw new MoneyError("MONEY_SCALE_INVALID", `scale must be an integer in 0..${MAX_SCALE}, got ${String(scale)}`);
  }
}

/**
 * Parse an amount typed by a person ("12.34") into minor units (1234n at scale 2).
 * Strict on purpose: an ambiguous amount is refused, never rounded or guessed. Surrounding
 * whitespace is ignored; anything else that is not `-?digits(.digits)?` is an error.
 */
export function parseMoney(text: string, options: ParseMoneyOptions): bigint {
  const { scale, allowNegative = false, max = U64_MAX } = options;
  checkScale(scale);
  const trimmed = text.trim();
  if (trimmed === "") throw new MoneyError("MONEY_EMPTY", "amount is empty");
  if (/[eE]/.test(trimmed)) {
    throw new MoneyError("MONEY_EXPONENT", `amount "${trimmed}" uses an exponent; write the digits out`);
  }
  const match = MONEY_TEXT.exec(trimmed);
  if (!match) {
    throw new MoneyError("MONEY_SYNTAX", `amount "${trimmed}" is not a plain decimal number like 12.34`);
  }
  const [, sign, whole, fraction = ""] = match;
  if (fraction.length > scale) {
    throw new MoneyError(
      "MONEY_TOO_MANY_DECIMALS",
      `amount "${trimmed}" has ${fraction.length} decimals; at most ${scale} allowed`,
    );
  }
  const magnitude = BigInt(whole + fraction.padEnd(scale, "0"));
  if (magnitude > max) {
    throw new MoneyError("MONEY_OUT_OF_RANGE", `amount "${trimmed}" exceeds the maximum ${formatMoney(max, scale)}`);
  }
  if (sign === "-" && magnitude !== 0n) {
    if (!allowNegative) throw new MoneyError("MONEY_NEGATIVE", `amount "${trimmed}" is negative`);
    return -magnitude;
  }
  return magnitude;
}

/** Render minor units as a plain decimal string with exactly `scale` decimals (1234n, 2 -> "12.34"). */
export function formatMoney(amount: bigint, scale: number): string {
  checkScale(scale);
  const negative = amount < 0n;
  const digits = (negative ? -amount : amount).toString();
  if (scale === 0) return negative ? `-${digits}` : digits;
  const padded = digits.padStart(scale + 1, "0");
  const body = `${padded.slice(0, -scale)}.${padded.slice(-scale)}`;
  return negative ? `-${body}` : body;
}

/** ISO 4217 exponents that are not 2 (every other currency code has two decimals). */
const CURRENCY_EXPONENTS: Readonly<Record<string, number>> = {
  BIF: 0, CLP: 0, DJF: 0, GNF: 0, ISK: 0, JPY: 0, KMF: 0, KRW: 0, PYG: 0, RWF: 0, UGX: 0, UYI: 0, VND: 0, VUV: 0, XAF: 0, XOF: 0, XPF: 0,
  BHD: 3, IQD: 3, JOD: 3, KWD: 3, LYD: 3, OMR: 3, TND: 3,
  CLF: 4, UYW: 4,
};

/** Decimal places of a currency's minor unit (ISO 4217): 2 for USD cents, 0 for JPY, 3 for KWD. */
export function currencyScale(currency: string): number {
  return CURRENCY_EXPONENTS[currency.toUpperCase()] ?? 2;
}

/** "1234567.89" -> "1,234,567.89": thousands separators on the whole part of a decimal string. */
export function groupThousands(decimal: string): string {
  const negative = decimal.startsWith("-");
  const [whole, fraction] = (negative ? decimal.slice(1) : decimal).split(".");
  const grouped = whole!.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return `${negative ? "-" : ""}${grouped}${fraction === undefined ? "" : `.${fraction}`}`;
}

/** An amount of a currency for people: "1,234.56 USD", "1,500 JPY" (exact, from minor units). */
export function formatCurrencyAmount(amountMinor: bigint, currency: string): string {
  return `${groupThousands(formatMoney(amountMinor, currencyScale(currency)))} ${currency}`;
}

/**
 * An amount of a token for people, exact: "1,000,000.00 sUSD", "0.000001 sUSD". Trailing zeros past
 * the second decimal are dropped (they carry no value); every digit that does is kept.
 */
export function formatTokenAmount(units: bigint, decimals: number, symbol?: string): string {
  let text = formatMoney(units, decimals);
  if (decimals > 2) text = text.replace(/(\.\d\d\d*?)0+$/, "$1");
  const grouped = groupThousands(text);
  return symbol ? `${grouped} ${symbol}` : grouped;
}

/**
 * Convert USD cents to a USD-pegged token's base units (1 cent = 10^(decimals-2) units; 10,000 for 6 decimals).
 * A mint with fewer than 2 decimals cannot represent a cent exactly, so it is refused rather than rounded.
 */
export function usdCentsToTokenUnits(cents: bigint, tokenDecimals = 6): bigint {
  if (!Number.isInteger(tokenDecimals) || tokenDecimals < 2 || tokenDecimals > MAX_SCALE) {
    throw new MoneyError(
      "MONEY_DECIMALS_UNSUPPORTED",
      `a token with ${String(tokenDecimals)} decimals cannot hold USD cents exactly (need 2..${MAX_SCALE})`,
    );
  }
  if (cents < 0n) throw new MoneyError("MONEY_NEGATIVE", `cents must not be negative, got ${cents}`);
  return cents * 10n ** BigInt(tokenDecimals - 2);
}

export type SettlementHoldReason = "UNSUPPORTED_SETTLEMENT_CURRENCY" | "MISSING_SETTLEMENT" | "INVALID_SETTLEMENT_AMOUNT";

export type DistributableResult =
  | { ok: bigint }
  | { held: { reason: SettlementHoldReason; message: string } };

/** The settlement currencies we can pay out in a USD-pegged token. Anything else is held, never converted at a guessed rate. */
const PAYABLE_SETTLEMENT_CURRENCIES = new Set(["USD"]);

/**
 * What a payment contributes to payouts, in token base units, from Dodo's `settlement_amount` /
 * `settlement_currency`. A currency we cannot convert without an exchange rate yields a hold with a
 * reason for the operator; so does a missing or out-of-range amount.
 */
export function distributableFromSettlement(
  settlement: { settlementAmount: bigint | null | undefined; settlementCurrency: string | null | undefined },
  tokenDecimals = 6,
): DistributableResult {
  const { settlementAmount, settlementCurrency } = settlement;
  if (settlementAmount === null || settlementAmount === undefined || !settlementCurrency) {
    return { held: { reason: "MISSING_SETTLEMENT", message: "the payment has no settlement amount or currency yet" } };
  }
  if (!PAYABLE_SETTLEMENT_CURRENCIES.has(settlementCurrency)) {
    return {
      held: {
        reason: "UNSUPPORTED_SETTLEMENT_CURRENCY",
        message: `settlement currency ${settlementCurrency} has no exact conversion to the payout token; held for an operator`,
      },
    };
  }
  if (settlementAmount < 0n) {
    return { held: { reason: "INVALID_SETTLEMENT_AMOUNT", message: `settlement amount ${settlementAmount} is negative` } };
  }
  const units = usdCentsToTokenUnits(settlementAmount, tokenDecimals);
  if (units > U64_MAX) {
    return { held: { reason: "INVALID_SETTLEMENT_AMOUNT", message: `settlement amount ${settlementAmount} exceeds u64 in token units` } };
  }
  return { ok: units };
}
