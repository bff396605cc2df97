// CSV encoding against a real parser (csv-parse): what we write reads back field for field, RFC 4180's
// quoting holds for commas, quotes, CR and LF, and a cell a spreadsheet would run as a formula reads
// back with a leading apostrophe, while our own decimal amounts (also negative ones) stay numbers.
import { parse } from "csv-parse/sync";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { csvField, csvHeader, csvRecord, csvRows, neutraliseFormula, type CsvColumn } from "./csv";

const read = (text: string): string[][] => parse(text, { relax_column_count: false, record_delimiter: "\r\n" });

describe("csvField", () => {
  it("quotes only what RFC 4180 needs quoted and doubles quotes", () => {
    expect(csvField("plain")).toBe("plain");
    expect(csvField("a,b")).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField("line\nbreak")).toBe('"line\nbreak"');
    expect(csvField(null)).toBe("");
    expect(csvField(12345678901234567890n)).toBe("12345678901234567890");
  });

  it("neutralises formula starts but leaves plain decimal numbers alone", () => {
    for (const start of ["=", "+", "-", "@", "\t", "\r"]) expect(neutraliseFormula(`${start}cmd`)).toBe(`'${start}cmd`);
    expect(neutraliseFormula("-12.50")).toBe("-12.50");
    expect(neutraliseFormula("-1+2")).toBe("'-1+2");
    expect(neutraliseFormula("ok=1")).toBe("ok=1");
  });
});

describe("round trip through csv-parse", () => {
  interface Named {
    name: string;
    amount: string;
  }
  const columns: CsvColumn<Named>[] = [
    { header: "name", value: (r) => r.name },
    { header: "amount", value: (r) => r.amount },
  ];

  it("names with commas, quotes, newlines and formula prefixes", () => {
    const rows: Named[] = [
      { name: "Smith, Jane", amount: "12.34" },
      { name: 'The "Best" Shop', amount: "0.01" },
      { name: "two\nlines\r\nand CRLF", amount: "-5.00" },
      { name: '=HYPERLINK("http://evil.example","click")', amount: "1.00" },
      { name: "+1 555 0100", amount: "2.00" },
      { name: "-2+3", amount: "3.00" },
      { name: "@SUM(A1:A2)", amount: "4.00" },
      { name: "\tcmd", amount: "5.00" },
      { name: "", amount: "6.00" },
    ];
    const parsed = read(csvHeader(columns) + csvRows(columns, rows));
    expect(parsed[0]).toEqual(["name", "amount"]);
    expect(parsed).toHaveLength(rows.length + 1);
    rows.forEach((row, i) => {
      const formula = /^[=+\-@\t\r]/.test(row.name);
      expect(parsed[i + 1]).toEqual([formula ? `'${row.name}` : row.name, row.amount]);
    });
  });

  it("any text reads back as written, apostrophe-prefixed exactly when it starts like a formula", () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: "binary", maxLength: 40 }), { minLength: 1, maxLength: 6 }), (cells) => {
        const [record] = read(csvRecord(cells));
        expect(record).toEqual(cells.map((cell) => neutraliseFormula(cell)));
        expect(record!.map((cell, i) => (cell === cells[i] ? cell : cell.slice(1)))).toEqual(cells);
      }),
    );
  });
});
