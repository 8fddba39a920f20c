/**
 * ColumnType ↔ Avro type schema. Standard logical types where Avro has one (decimal, date,
 * time-micros, timestamp-micros, local-timestamp-micros, uuid), so generic Avro consumers read
 * the values right; and the attribute `tributary.type` (plus `tributary.semantic`,
 * `tributary.maxLength`) on every type, so that columnTypeFromAvro() is the exact inverse: the
 * warehouse sink recovers each column's ColumnType from the writer schema alone.
 */
import type { ColumnKind, ColumnType } from "../core/column-type.js";
import { TributaryError } from "../core/errors.js";

/** An Avro type schema as JSON: a primitive name, a type object, or a union. */
export type AvroTypeSchema = string | AvroTypeObject | readonly AvroTypeSchema[];

export interface AvroTypeObject {
  readonly type: string;
  readonly [attribute: string]: unknown;
}

export const TYPE_ATTRIBUTE = "tributary.type";
export const SEMANTIC_ATTRIBUTE = "tributary.semantic";
export const MAX_LENGTH_ATTRIBUTE = "tributary.maxLength";

/** The Avro type of one column value, never null (callers wrap it in ["null", …]). */
export function columnAvroType(type: ColumnType): AvroTypeObject {
  const tag = { [TYPE_ATTRIBUTE]: type.kind };
  switch (type.kind) {
    case "boolean":
      return { type: "boolean", ...tag };
    case "int16":
    case "int32":
      return { type: "int", ...tag };
    case "int64":
      return { type: "long", ...tag };
    case "float32":
      return { type: "float", ...tag };
    case "float64":
      return { type: "double", ...tag };
    case "decimal":
      return { type: "bytes", logicalType: "decimal", precision: type.precision, scale: type.scale, ...tag };
    case "string":
      return type.maxLength === undefined
        ? { type: "string", ...tag }
        : { type: "string", ...tag, [MAX_LENGTH_ATTRIBUTE]: type.maxLength };
    case "bytes":
      return { type: "bytes", ...tag };
    case "uuid":
      return { type: "string", logicalType: "uuid", ...tag };
    case "date":
      return { type: "int", logicalType: "date", ...tag };
    case "time":
      return { type: "long", logicalType: "time-micros", ...tag };
    case "timestamp":
      return { type: "long", logicalType: "local-timestamp-micros", ...tag };
    case "timestamptz":
      return { type: "long", logicalType: "timestamp-micros", ...tag };
    case "json":
    case "timetz":
    case "interval":
      return { type: "string", ...tag };
    case "text":
      return { type: "string", ...tag, [SEMANTIC_ATTRIBUTE]: type.semantic };
    case "array":
      // Array elements may be NULL (Postgres arrays can hold them).
      return { type: "array", items: ["null", columnAvroType(type.items)], ...tag };
  }
}

function unreadable(schema: unknown, why: string): TributaryError {
  return new TributaryError(`cannot read a column type from Avro schema ${JSON.stringify(schema)}: ${why}`, {
    code: "AVRO_COLUMN_TYPE",
    hint: "the topic was not written by Tributary, or by an incompatible version of it",
  });
}

/** The non-null branch of an optional type (["null", T] → T); any other schema as it is. */
export function withoutNull(schema: AvroTypeSchema): AvroTypeSchema {
  if (!Array.isArray(schema)) return schema;
  const branches = (schema as readonly AvroTypeSchema[]).filter((branch) => branch !== "null");
  if (branches.length !== 1) throw unreadable(schema, "expected a union of null and one type");
  return branches[0] as AvroTypeSchema;
}

function numberAttribute(schema: AvroTypeObject, name: string): number {
  const value = schema[name];
  if (typeof value !== "number" || !Number.isInteger(value)) throw unreadable(schema, `no integer ${name}`);
  return value;
}

const simpleKinds: ReadonlySet<ColumnKind> = new Set<ColumnKind>([
  "boolean",
  "int16",
  "int32",
  "int64",
  "float32",
  "float64",
  "bytes",
  "uuid",
  "json",
  "date",
  "time",
  "timetz",
  "timestamp",
  "timestamptz",
  "interval",
]);

/** The inverse of columnAvroType (a ["null", T] union is accepted as T). */
export function columnTypeFromAvro(schema: AvroTypeSchema): ColumnType {
  const typeSchema = withoutNull(schema);
  if (typeof typeSchema !== "object" || Array.isArray(typeSchema)) {
    throw unreadable(schema, `no ${TYPE_ATTRIBUTE} attribute`);
  }
  const object = typeSchema as AvroTypeObject;
  const kind = object[TYPE_ATTRIBUTE];
  if (typeof kind !== "string") throw unreadable(schema, `no ${TYPE_ATTRIBUTE} attribute`);
  if (simpleKinds.has(kind as ColumnKind)) return { kind } as ColumnType;
  switch (kind) {
    case "decimal":
      return {
        kind,
        precision: numberAttribute(object, "precision"),
        scale: numberAttribute(object, "scale"),
      };
    case "string":
      return object[MAX_LENGTH_ATTRIBUTE] === undefined
        ? { kind }
        : { kind, maxLength: numberAttribute(object, MAX_LENGTH_ATTRIBUTE) };
    case "text": {
      const semantic = object[SEMANTIC_ATTRIBUTE];
      if (typeof semantic !== "string") throw unreadable(schema, `no ${SEMANTIC_ATTRIBUTE} attribute`);
      return { kind, semantic };
    }
    case "array":
      return { kind, items: columnTypeFromAvro(object.items as AvroTypeSchema) };
    default:
      throw unreadable(schema, `unknown ${TYPE_ATTRIBUTE} "${kind}"`);
  }
}
