/**
 * Postgres types → Tributary ColumnTypes, and the decoder that turns a value's text form into the
 * Row representation of change-event.ts. Pure: the catalog supplies PgType facts, and snapshot
 * and stream both hand the server's text output to the same decoder, so a value reads the same
 * whichever path delivered it. Every connection sets the session settings in `sessionSettings`
 * so that the text output itself is the same on both paths (time zone, date and interval style).
 */
import type { ColumnType } from "../../core/column-type.js";
import {
  type Decoder,
  decodeArray,
  decodeBoolean,
  decodeBytea,
  decodeDate,
  decodeDecimal,
  decodeFloat,
  decodeInt,
  decodeInt64,
  decodeText,
  decodeTime,
  decodeTimestamp,
  decodeTimestamptz,
} from "./values.js";

/** Startup options for every connection (libpq `options`): text output the decoders expect. */
export const sessionSettings =
  "-c TimeZone=UTC -c DateStyle=ISO,YMD -c IntervalStyle=iso_8601 -c bytea_output=hex";

/** What pg_type says about a type (see catalog.ts `loadType`). */
export interface PgType {
  readonly oid: number;
  readonly schema: string;
  readonly name: string;
  /** typtype: b base, d domain, e enum, c composite, r range, m multirange, p pseudo. */
  readonly kind: string;
  /** The element type of an array type (typcategory 'A'). */
  readonly element?: PgType;
  /** The base type of a domain. */
  readonly base?: PgType;
  /** The domain's own typmod on its base type (e.g. numeric(10,2) under a domain). */
  readonly baseTypmod?: number;
}

export interface MappedType {
  readonly type: ColumnType;
  readonly decode: Decoder;
  /** numeric(p,s) may hold NaN, which a decimal cannot: it decodes to null, so the column is nullable. */
  readonly forceNullable: boolean;
}

const VARHDRSZ = 4;

/** numeric's typmod packs precision and scale: ((p << 16) | s) + 4; -1 when unconstrained. */
export function numericTypmod(typmod: number): { precision: number; scale: number } | undefined {
  if (typmod < VARHDRSZ) return undefined;
  const packed = typmod - VARHDRSZ;
  const precision = (packed >> 16) & 0xffff;
  // The scale is an 11-bit signed value since Postgres 15 (negative scales round left of the point).
  const scale = ((packed & 0x7ff) ^ 1024) - 1024;
  return { precision, scale };
}

function characterLength(typmod: number): number | undefined {
  return typmod >= VARHDRSZ ? typmod - VARHDRSZ : undefined;
}

const textSemantics: Readonly<Record<string, string>> = {
  inet: "inet",
  cidr: "cidr",
  macaddr: "macaddr",
  macaddr8: "macaddr8",
  money: "money",
  bit: "bit",
  varbit: "bit",
  xml: "xml",
};

const plain = (type: ColumnType, decode: Decoder): MappedType => ({ type, decode, forceNullable: false });

function mapBase(type: PgType, typmod: number): MappedType {
  if (type.schema !== "pg_catalog") {
    // citext and other extension types: their text form is the value.
    if (type.name === "citext") return plain({ kind: "string" }, decodeText);
    return plain({ kind: "text", semantic: type.name }, decodeText);
  }
  switch (type.name) {
    case "bool":
      return plain({ kind: "boolean" }, decodeBoolean);
    case "int2":
      return plain({ kind: "int16" }, decodeInt);
    case "int4":
      return plain({ kind: "int32" }, decodeInt);
    case "int8":
      return plain({ kind: "int64" }, decodeInt64);
    case "oid":
      return plain({ kind: "int64" }, decodeInt64);
    case "float4":
      return plain({ kind: "float32" }, decodeFloat);
    case "float8":
      return plain({ kind: "float64" }, decodeFloat);
    case "numeric": {
      const constrained = numericTypmod(typmod);
      if (!constrained) return plain({ kind: "text", semantic: "numeric" }, decodeText);
      return { type: { kind: "decimal", ...constrained }, decode: decodeDecimal, forceNullable: true };
    }
    case "varchar":
    case "bpchar": {
      const maxLength = characterLength(typmod);
      return plain(maxLength === undefined ? { kind: "string" } : { kind: "string", maxLength }, decodeText);
    }
    case "text":
    case "name":
    case "char":
      return plain({ kind: "string" }, decodeText);
    case "bytea":
      return plain({ kind: "bytes" }, decodeBytea);
    case "uuid":
      return plain({ kind: "uuid" }, decodeText);
    case "json":
    case "jsonb":
      return plain({ kind: "json" }, decodeText);
    case "date":
      return plain({ kind: "date" }, decodeDate);
    case "time":
      return plain({ kind: "time" }, decodeTime);
    case "timetz":
      return plain({ kind: "timetz" }, decodeText);
    case "timestamp":
      return plain({ kind: "timestamp" }, decodeTimestamp);
    case "timestamptz":
      return plain({ kind: "timestamptz" }, decodeTimestamptz);
    case "interval":
      return plain({ kind: "interval" }, decodeText);
    default:
      return plain({ kind: "text", semantic: textSemantics[type.name] ?? type.name }, decodeText);
  }
}

/** The ColumnType of a column of `type` with `typmod` (atttypmod), and how to decode its values. */
export function mapType(type: PgType, typmod: number): MappedType {
  if (type.kind === "d" && type.base) {
    return mapType(type.base, typmod >= 0 ? typmod : (type.baseTypmod ?? -1));
  }
  if (type.kind === "e") return plain({ kind: "text", semantic: "enum" }, decodeText);
  if (type.element) {
    // An array column's typmod applies to its elements (numeric(10,2)[]).
    const items = mapType(type.element, typmod);
    // Arrays are separated by commas, except box (";"), which maps to text anyway.
    return plain({ kind: "array", items: items.type }, (text) => decodeArray(text, items.decode));
  }
  if (type.kind === "b") return mapBase(type, typmod);
  // Composite, range and multirange types: their text form.
  return plain({ kind: "text", semantic: type.name }, decodeText);
}
