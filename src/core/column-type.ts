/**
 * The column types Tributary carries, independent of any source or warehouse. Sources map their
 * native types to these (src/sources/<name>/types.ts), the Avro layer encodes them
 * (src/avro/column-avro.ts), the warehouse maps them to DDL (src/sinks/warehouse/typemap.ts).
 */
export type ColumnType =
  | { readonly kind: "boolean" }
  | { readonly kind: "int16" }
  | { readonly kind: "int32" }
  | { readonly kind: "int64" }
  | { readonly kind: "float32" }
  | { readonly kind: "float64" }
  /** Exact decimal with a declared precision (≤ 38 for the warehouse) and scale. */
  | { readonly kind: "decimal"; readonly precision: number; readonly scale: number }
  /** Text; `maxLength` when the source declares one (varchar(n), char(n)). */
  | { readonly kind: "string"; readonly maxLength?: number }
  | { readonly kind: "bytes" }
  | { readonly kind: "uuid" }
  /** JSON text (Postgres json/jsonb, MySQL JSON): the warehouse stores it as SUPER. */
  | { readonly kind: "json" }
  | { readonly kind: "date" }
  | { readonly kind: "time" }
  /** Time with a UTC offset, as ISO text ("13:45:00+02"): Avro has no such type. */
  | { readonly kind: "timetz" }
  /** A wall-clock timestamp without a time zone. */
  | { readonly kind: "timestamp" }
  /** An instant, carried as UTC. */
  | { readonly kind: "timestamptz" }
  /** ISO 8601 duration text ("P1Y2M3DT4H5M6.5S"). */
  | { readonly kind: "interval" }
  | { readonly kind: "array"; readonly items: ColumnType }
  /**
   * Text with a meaning the warehouse may care about: unconstrained numeric (with NaN/Infinity),
   * enum labels, inet/cidr/macaddr, money, bit strings, xml, …; `semantic` names which.
   */
  | { readonly kind: "text"; readonly semantic: string };

export type ColumnKind = ColumnType["kind"];
