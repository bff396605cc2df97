// CSV as RFC 4180 writes it (comma-separated, CRLF line ends, a field quoted when it holds a quote, a comma,
// CR or LF, quotes doubled), with cells neutralised against formula injection: a spreadsheet runs a cell
// that starts with = + - @ (or a tab or CR) as a formula, so such a cell gets a leading apostrophe.
// Pure: the exports (app/models/exports.server.ts) stream rows through it page by page.

export type CsvValue = string | bigint | number | boolean | null | undefined;

/** What starts a formula in Excel, LibreOffice and Google Sheets (OWASP's list). */
const FORMULA_START = /^[=+\-@\t\r]/;
/** A plain decimal number (an amount we wrote): it cannot be a formula, and "-12.50" must stay a number. */
const PLAIN_NUMBER = /^-?\d+(\.\d+)?$/;
const NEEDS_QUOTES = /[",\r\n]/;

/** The text a spreadsheet shows for `value`: formula starts get a leading apostrophe, numbers stay numbers. */
export function neutraliseFormula(text: string): string {
  return FORMULA_START.test(text) && !PLAIN_NUMBER.test(text) ? `'${text}` : text;
}

/** One field: null and undefined are empty, numbers and bigints as their decimal text. */
export function csvField(value: CsvValue): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "number" && !Number.isFinite(value)) throw new TypeError(`csvField: ${value} is not a finite number`);
  const text = neutraliseFormula(String(value));
  return NEEDS_QUOTES.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** One record, CRLF-terminated. */
export function csvRecord(values: readonly CsvValue[]): string {
  return `${values.map(csvField).join(",")}\r\n`;
}

export interface CsvColumn<Row> {
  header: string;
  value(row: Row): CsvValue;
}

export function csvHeader<Row>(columns: readonly CsvColumn<Row>[]): string {
  return csvRecord(columns.map((c) => c.header));
}

export function csvRows<Row>(columns: readonly CsvColumn<Row>[], rows: readonly Row[]): string {
  let out = "";
  for (const row of rows) out += csvRecord(columns.map((c) => c.value(row)));
  return out;
}
