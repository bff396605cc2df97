// Hand-written SQL on the driver itself, for the few hot paths where Prisma's per-statement cost is
// most of the work (the webhook's transaction: see docs/ingest-bench.md). The same statements run on
// PGlite and on PostgreSQL; values are always bound parameters, never text in the statement.

/** What a statement may bind. Objects are not accepted: JSON is passed as a string with a ::jsonb cast. */
export type SqlValue = string | number | boolean | bigint | Date | null;

export interface SqlStatement {
  text: string;
  values: (string | number | boolean | null)[];
  /** Stable per call site: a prepared statement's name on PostgreSQL (parsed once per connection). */
  name: string;
}

const texts = new WeakMap<TemplateStringsArray, { text: string; name: string }>();
// One count per process, not per copy of this module: a test serving the app's build over its own pool
// loads this module twice, and two copies counting alike would give different statements one name.
const COUNT_KEY = Symbol.for("stableflow.sqlStatementCount");
type CountHolder = { [COUNT_KEY]?: number };
const nextStatementNumber = () => ((globalThis as CountHolder)[COUNT_KEY] = ((globalThis as CountHolder)[COUNT_KEY] ?? 0) + 1);

/**
 * A statement from a tagged template: `sql\`SELECT ... WHERE id = ${id}::uuid\``. Each `${}` becomes a
 * `$n` parameter. Money (bigint) travels as its decimal text and dates as ISO-8601 text, so no amount
 * passes through a double and both drivers read them the same way; the SQL casts where the column does
 * not already say the type.
 */
export function sql(strings: TemplateStringsArray, ...values: SqlValue[]): SqlStatement {
  let cached = texts.get(strings);
  if (!cached) {
    let text = strings[0]!;
    for (let i = 1; i < strings.length; i++) text += `$${i}${strings[i]}`;
    cached = { text, name: `sf_${nextStatementNumber()}` };
    texts.set(strings, cached);
  }
  return { text: cached.text, name: cached.name, values: values.map(toParameter) };
}

function toParameter(value: SqlValue): string | number | boolean | null {
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw new TypeError("sql: an invalid Date cannot be bound");
    return value.toISOString();
  }
  if (value === undefined) throw new TypeError("sql: undefined cannot be bound (use null)");
  return value;
}

/** One open transaction on one connection (PostgreSQL) or on the embedded database (PGlite). */
export interface SqlTransaction {
  query<Row = Record<string, unknown>>(statement: SqlStatement): Promise<Row[]>;
}

/** Where a read may run: inside a transaction, or on the database itself (each statement on its own). */
export type SqlQueryable = SqlTransaction;
