/**
 * ColumnType → warehouse column type, per dialect, and what a changed source type means for an
 * existing column (same, widen in place, or incompatible). Pure: no I/O.
 */
import type { ColumnType } from "../../core/column-type.js";

export type Dialect = "redshift" | "postgres";

/** A warehouse column type as data, so that an existing column can be compared with a wanted one. */
export interface WarehouseType {
  /** Canonical upper-case name: VARCHAR, TEXT, DECIMAL, BIGINT, SUPER, JSONB, TIMESTAMPTZ, … */
  readonly base: string;
  /** VARCHAR(n); absent means unlimited (Postgres VARCHAR without a length). */
  readonly length?: number;
  readonly precision?: number;
  readonly scale?: number;
}

/** Redshift VARCHAR lengths count bytes; 65535 is its maximum and holds any source text. */
export const REDSHIFT_MAX_VARCHAR = 65_535;
/** Redshift DECIMAL holds at most 38 digits; Postgres NUMERIC 1000. */
export const maxDecimalPrecision: Readonly<Record<Dialect, number>> = { redshift: 38, postgres: 1000 };
/** Redshift's VARBYTE maximum. */
const REDSHIFT_MAX_VARBYTE = 1_024_000;

const simple: Readonly<Record<string, WarehouseType>> = {
  boolean: { base: "BOOLEAN" },
  int16: { base: "SMALLINT" },
  int32: { base: "INTEGER" },
  int64: { base: "BIGINT" },
  float32: { base: "REAL" },
  float64: { base: "DOUBLE PRECISION" },
  date: { base: "DATE" },
  time: { base: "TIME" },
  timetz: { base: "TIMETZ" },
  timestamp: { base: "TIMESTAMP" },
  timestamptz: { base: "TIMESTAMPTZ" },
};

const redshiftText: WarehouseType = { base: "VARCHAR", length: REDSHIFT_MAX_VARCHAR };

export function warehouseType(type: ColumnType, dialect: Dialect): WarehouseType {
  const fixed = simple[type.kind];
  if (fixed) return fixed;
  switch (type.kind) {
    case "decimal":
      // Wider than the warehouse's DECIMAL: exact text rather than a rounded number.
      if (type.precision > maxDecimalPrecision[dialect] || type.precision < 1) {
        return dialect === "redshift" ? redshiftText : { base: "TEXT" };
      }
      return { base: "DECIMAL", precision: type.precision, scale: type.scale };
    case "string":
      // Redshift lengths are bytes and source lengths characters: always the maximum there.
      if (dialect === "redshift") return redshiftText;
      return type.maxLength !== undefined ? { base: "VARCHAR", length: type.maxLength } : { base: "TEXT" };
    case "bytes":
      return dialect === "redshift" ? { base: "VARBYTE", length: REDSHIFT_MAX_VARBYTE } : { base: "BYTEA" };
    case "uuid":
      return dialect === "redshift" ? { base: "VARCHAR", length: 36 } : { base: "UUID" };
    case "json":
    case "array":
      return dialect === "redshift" ? { base: "SUPER" } : { base: "JSONB" };
    case "interval":
      return dialect === "redshift" ? { base: "VARCHAR", length: 255 } : { base: "INTERVAL" };
    default:
      return dialect === "redshift" ? redshiftText : { base: "TEXT" };
  }
}

export function renderType(type: WarehouseType): string {
  if (type.base === "VARCHAR" || type.base === "VARBYTE") {
    return type.length === undefined ? type.base : `${type.base}(${type.length})`;
  }
  if (type.base === "DECIMAL") return `DECIMAL(${type.precision},${type.scale})`;
  return type.base;
}

/** information_schema.columns.data_type (Postgres and Redshift spellings) → canonical base. */
const informationSchemaBases: Readonly<Record<string, string>> = {
  boolean: "BOOLEAN",
  smallint: "SMALLINT",
  integer: "INTEGER",
  bigint: "BIGINT",
  real: "REAL",
  "double precision": "DOUBLE PRECISION",
  numeric: "DECIMAL",
  "character varying": "VARCHAR",
  character: "VARCHAR",
  text: "TEXT",
  bytea: "BYTEA",
  varbyte: "VARBYTE",
  "binary varying": "VARBYTE",
  uuid: "UUID",
  jsonb: "JSONB",
  super: "SUPER",
  date: "DATE",
  "time without time zone": "TIME",
  "time with time zone": "TIMETZ",
  "timestamp without time zone": "TIMESTAMP",
  "timestamp with time zone": "TIMESTAMPTZ",
  interval: "INTERVAL",
};

export interface InformationSchemaColumn {
  readonly data_type: string;
  readonly character_maximum_length: number | null;
  readonly numeric_precision: number | null;
  readonly numeric_scale: number | null;
}

export function fromInformationSchema(column: InformationSchemaColumn): WarehouseType {
  const base = informationSchemaBases[column.data_type.toLowerCase()] ?? column.data_type.toUpperCase();
  if (base === "VARCHAR" || base === "VARBYTE") {
    return column.character_maximum_length === null
      ? { base }
      : { base, length: column.character_maximum_length };
  }
  if (base === "DECIMAL") {
    return { base, precision: column.numeric_precision ?? 1000, scale: column.numeric_scale ?? 0 };
  }
  return { base };
}

export type TypeChange =
  | { readonly kind: "same" }
  | { readonly kind: "widen"; readonly to: WarehouseType }
  | { readonly kind: "incompatible"; readonly reason: string };

const integerRank: Readonly<Record<string, number>> = { SMALLINT: 1, INTEGER: 2, BIGINT: 3 };
const floatRank: Readonly<Record<string, number>> = { REAL: 1, "DOUBLE PRECISION": 2 };

function decimalChange(existing: WarehouseType, wanted: WarehouseType, dialect: Dialect): TypeChange {
  const existingScale = existing.scale ?? 0;
  const wantedScale = wanted.scale ?? 0;
  const existingDigits = (existing.precision ?? 0) - existingScale;
  const wantedDigits = (wanted.precision ?? 0) - wantedScale;
  if (wantedScale <= existingScale && wantedDigits <= existingDigits) return { kind: "same" };
  const scale = Math.max(existingScale, wantedScale);
  const precision = Math.max(existingDigits, wantedDigits) + scale;
  if (precision > maxDecimalPrecision[dialect]) {
    return {
      kind: "incompatible",
      reason: `needs DECIMAL(${precision},${scale}), wider than the warehouse allows (${maxDecimalPrecision[dialect]} digits)`,
    };
  }
  return { kind: "widen", to: { base: "DECIMAL", precision, scale } };
}

function rankedChange(
  ranks: Readonly<Record<string, number>>,
  existing: WarehouseType,
  wanted: WarehouseType,
): TypeChange | undefined {
  const from = ranks[existing.base];
  const to = ranks[wanted.base];
  if (from === undefined || to === undefined) return undefined;
  return to <= from ? { kind: "same" } : { kind: "widen", to: wanted };
}

function isText(type: WarehouseType): boolean {
  return type.base === "VARCHAR" || type.base === "TEXT";
}

function textChange(existing: WarehouseType, wanted: WarehouseType): TypeChange {
  if (existing.base === "TEXT" || existing.length === undefined) return { kind: "same" };
  if (wanted.base === "TEXT" || wanted.length === undefined) return { kind: "widen", to: wanted };
  return (wanted.length ?? 0) <= existing.length ? { kind: "same" } : { kind: "widen", to: wanted };
}

/**
 * What an existing column needs so that values of `wanted` fit. Redshift changes a column type in
 * place only for VARCHAR lengths; any other widening there is reported as incompatible (the
 * records go to the DLQ naming the column) rather than rewriting the table behind the user's back.
 */
export function typeChange(existing: WarehouseType, wanted: WarehouseType, dialect: Dialect): TypeChange {
  const render = `${renderType(existing)} → ${renderType(wanted)}`;
  let change: TypeChange | undefined;
  if (isText(existing) && isText(wanted)) change = textChange(existing, wanted);
  else if (existing.base === "DECIMAL" && wanted.base === "DECIMAL")
    change = decimalChange(existing, wanted, dialect);
  else change = rankedChange(integerRank, existing, wanted) ?? rankedChange(floatRank, existing, wanted);
  if (!change) {
    if (existing.base === wanted.base) return { kind: "same" };
    return { kind: "incompatible", reason: `type change ${render} is not a widening` };
  }
  if (change.kind === "widen" && dialect === "redshift" && change.to.base !== "VARCHAR") {
    return {
      kind: "incompatible",
      reason: `Redshift cannot change a column's type in place (${render}); add a new column or recreate the table`,
    };
  }
  return change;
}
