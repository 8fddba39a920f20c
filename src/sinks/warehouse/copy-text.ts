/**
 * The postgres dialect loads the staging table with `COPY ... FROM STDIN` (text format) instead of
 * multi-row INSERTs: the server parses no SQL and binds no parameters, several times faster.
 * Redshift has no COPY FROM STDIN (its COPY reads S3), so it keeps the INSERTs. The values are the
 * same bind parameters (values.ts), rendered as COPY text, which goes through the same type input
 * functions as text parameters do. Pure.
 */
import { quoteIdentifier } from "./identifier.js";
import { stagedColumnNames, stagingTableName, type TableModel } from "./sql.js";

const special = /[\\\t\n\r]/;
const specialAll = /[\\\t\n\r]/g;
const escapes: Readonly<Record<string, string>> = { "\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r" };

/** One bind parameter as a COPY text field: `\N` for NULL, backslash escapes, bytea as `\\x<hex>`. */
export function copyField(value: unknown): string {
  if (value === null || value === undefined) return "\\N";
  if (typeof value === "string") {
    return special.test(value) ? value.replace(specialAll, (char) => escapes[char] as string) : value;
  }
  if (typeof value === "boolean") return value ? "t" : "f";
  if (Buffer.isBuffer(value)) return `\\\\x${value.toString("hex")}`;
  return String(value);
}

/** `COPY "_tributary_stage" (<staged columns, or `columns`>) FROM STDIN` (postgres dialect only). */
export function copyStaged(model: TableModel, columns: readonly string[] = stagedColumnNames(model)): string {
  const quoted = columns.map((name) => quoteIdentifier(name, "postgres"));
  const staging = quoteIdentifier(stagingTableName(model, "postgres"), "postgres");
  return `COPY ${staging} (${quoted.join(", ")}) FROM STDIN`;
}
