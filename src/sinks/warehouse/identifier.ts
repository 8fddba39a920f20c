/**
 * Warehouse identifiers: always double-quoted, folded to lower case, within the dialect's length.
 *
 * Redshift folds even quoted identifiers to lower case unless `enable_case_sensitive_identifier`
 * is on; folding here makes the table look the same whatever that setting is. Names longer than
 * the limit (Redshift 127 bytes, Postgres 63) are cut at a character boundary and end in `_` and 8
 * hex digits of the full name's SHA-256, so two long names that share a prefix stay distinct.
 */
import { createHash } from "node:crypto";
import type { Dialect } from "./typemap.js";

export const maxIdentifierBytes: Readonly<Record<Dialect, number>> = { redshift: 127, postgres: 63 };

const HASH_SUFFIX_LENGTH = 9; // "_" + 8 hex digits

function cutToBytes(text: string, maxBytes: number): string {
  let result = "";
  let bytes = 0;
  for (const character of text) {
    const size = Buffer.byteLength(character);
    if (bytes + size > maxBytes) break;
    result += character;
    bytes += size;
  }
  return result;
}

/** The identifier as the warehouse stores it (no quotes). */
export function foldIdentifier(name: string, dialect: Dialect): string {
  // Control characters (NUL above all) cannot appear in an identifier on either warehouse.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: that is the point
  const folded = name.toLowerCase().replace(/[\u0000-\u001f\u007f]/g, "_");
  const limit = maxIdentifierBytes[dialect];
  if (folded !== "" && Buffer.byteLength(folded) <= limit) return folded;
  const hash = createHash("sha256").update(folded).digest("hex").slice(0, 8);
  return `${cutToBytes(folded, limit - HASH_SUFFIX_LENGTH)}_${hash}`;
}

/** A quoted identifier, safe for quotes, semicolons, reserved words and any Unicode. */
export function quoteIdentifier(name: string, dialect: Dialect): string {
  return `"${foldIdentifier(name, dialect).replaceAll('"', '""')}"`;
}

/** `"schema"."table"` */
export function qualifiedName(schema: string, table: string, dialect: Dialect): string {
  return `${quoteIdentifier(schema, dialect)}.${quoteIdentifier(table, dialect)}`;
}
