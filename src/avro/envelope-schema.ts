/**
 * The Avro schemas of a table's topic: the key (its key columns, non-null) and the value (the
 * Debezium-shaped envelope). Every row field is nullable with default null, so adding or dropping
 * a column stays BACKWARD compatible. Attributes keep what Avro names cannot hold (original
 * table and column names, source types, nullability, key columns), so that tableFromValueSchema()
 * rebuilds the TableSpec exactly from a writer schema read back from the registry.
 */
import type { ColumnSpec, TableSpec } from "../core/change-event.js";
import type { ColumnType } from "../core/column-type.js";
import { TributaryError } from "../core/errors.js";
import { avroName, avroNamespace } from "./avro-names.js";
import { type AvroTypeSchema, columnAvroType, columnTypeFromAvro } from "./column-avro.js";
import { sourceBlockSchema } from "./source-block.js";

export const COLUMN_ATTRIBUTE = "tributary.column";
const SOURCE_TYPE_ATTRIBUTE = "tributary.sourceType";
const NULLABLE_ATTRIBUTE = "tributary.nullable";

export interface AvroField {
  readonly name: string;
  readonly type: AvroTypeSchema | AvroRecordSchema;
  readonly default?: unknown;
  readonly [attribute: string]: unknown;
}

export interface AvroRecordSchema {
  readonly type: "record";
  readonly name: string;
  readonly namespace?: string;
  readonly fields: readonly AvroField[];
  readonly [attribute: string]: unknown;
}

/** Avro field names of `columns`, in order; refuses two columns that would share one. */
export function fieldNamesOf(table: TableSpec, columns: readonly ColumnSpec[] = table.columns): string[] {
  const names = columns.map((column) => avroName(column.name));
  const seen = new Map<string, string>();
  columns.forEach((column, index) => {
    const name = names[index] as string;
    const other = seen.get(name);
    if (other !== undefined) {
      throw new TributaryError(
        `columns "${other}" and "${column.name}" of ${table.topic} map to one Avro name`,
        {
          code: "AVRO_NAME_CLASH",
          hint: "rename one of the columns in the source",
        },
      );
    }
    seen.set(name, column.name);
  });
  return names;
}

function columnField(column: ColumnSpec, name: string, optional: boolean): AvroField {
  const type = columnAvroType(column.type);
  return {
    name,
    type: optional ? ["null", type] : type,
    ...(optional ? { default: null } : {}),
    [COLUMN_ATTRIBUTE]: column.name,
    [SOURCE_TYPE_ATTRIBUTE]: column.sourceType,
    [NULLABLE_ATTRIBUTE]: column.nullable,
  };
}

function keyColumnsOf(table: TableSpec): ColumnSpec[] {
  return table.keyColumns.map((name) => {
    const column = table.columns.find((candidate) => candidate.name === name);
    if (!column) {
      throw new TributaryError(`key column "${name}" is not a column of ${table.topic}`, {
        code: "KEY_COLUMN_MISSING",
      });
    }
    return column;
  });
}

/** The key schema, or undefined for a table without key columns (its records have a null key). */
export function keySchema(table: TableSpec): AvroRecordSchema | undefined {
  const columns = keyColumnsOf(table);
  if (columns.length === 0) return undefined;
  const names = fieldNamesOf(table, columns);
  return {
    type: "record",
    name: "Key",
    namespace: avroNamespace(table.topic),
    fields: columns.map((column, index) => columnField(column, names[index] as string, false)),
  };
}

export function rowSchema(table: TableSpec): AvroRecordSchema {
  const names = fieldNamesOf(table);
  return {
    type: "record",
    name: "Value",
    fields: table.columns.map((column, index) => columnField(column, names[index] as string, true)),
  };
}

export function valueSchema(table: TableSpec): AvroRecordSchema {
  return {
    type: "record",
    name: "Envelope",
    namespace: avroNamespace(table.topic),
    "tributary.topic": table.topic,
    "tributary.source": table.source,
    "tributary.namespace": table.namespace,
    "tributary.table": table.name,
    "tributary.keyColumns": [...table.keyColumns],
    fields: [
      { name: "before", type: ["null", rowSchema(table)], default: null },
      { name: "after", type: ["null", "Value"], default: null },
      { name: "source", type: sourceBlockSchema as unknown as AvroRecordSchema },
      { name: "op", type: "string" },
      { name: "ts_ms", type: "long" },
      { name: "unavailable_columns", type: { type: "array", items: "string" }, default: [] },
    ],
  };
}

function notAnEnvelope(why: string): TributaryError {
  return new TributaryError(`not a Tributary envelope schema: ${why}`, {
    code: "AVRO_NOT_ENVELOPE",
    hint: "the topic was not written by Tributary's capture",
  });
}

function stringAttribute(schema: AvroRecordSchema, name: string): string {
  const value = schema[name];
  if (typeof value !== "string") throw notAnEnvelope(`no ${name} attribute`);
  return value;
}

/** What a value schema says about its table, and the Avro field name of each column. */
export interface EnvelopeLayout {
  readonly table: TableSpec;
  readonly fieldNames: readonly string[];
}

export function layoutOf(table: TableSpec): EnvelopeLayout {
  return { table, fieldNames: fieldNamesOf(table) };
}

/** The inverse of valueSchema(): the table (with every column's ColumnType) from a writer schema. */
export function layoutFromValueSchema(schema: AvroRecordSchema): EnvelopeLayout {
  const before = schema.fields?.find((field) => field.name === "before");
  const row = Array.isArray(before?.type) ? (before.type as AvroRecordSchema[])[1] : undefined;
  if (schema.type !== "record" || row?.type !== "record") throw notAnEnvelope("no before record");
  const columns: ColumnSpec[] = row.fields.map((field) => ({
    name: typeof field[COLUMN_ATTRIBUTE] === "string" ? (field[COLUMN_ATTRIBUTE] as string) : field.name,
    type: columnTypeFromAvro(field.type as AvroTypeSchema),
    nullable: field[NULLABLE_ATTRIBUTE] !== false,
    sourceType:
      typeof field[SOURCE_TYPE_ATTRIBUTE] === "string" ? (field[SOURCE_TYPE_ATTRIBUTE] as string) : "",
  }));
  const keyColumns = schema["tributary.keyColumns"];
  const table: TableSpec = {
    source: stringAttribute(schema, "tributary.source"),
    namespace: stringAttribute(schema, "tributary.namespace"),
    name: stringAttribute(schema, "tributary.table"),
    topic: stringAttribute(schema, "tributary.topic"),
    columns,
    keyColumns: Array.isArray(keyColumns) ? keyColumns.map(String) : [],
  };
  return { table, fieldNames: row.fields.map((field) => field.name) };
}

/** The key fields of a key writer schema (see keySchema()). */
export function keyFieldsFromSchema(
  schema: AvroRecordSchema,
): { name: string; fieldName: string; type: ColumnType }[] {
  return schema.fields.map((field) => ({
    name: typeof field[COLUMN_ATTRIBUTE] === "string" ? (field[COLUMN_ATTRIBUTE] as string) : field.name,
    fieldName: field.name,
    type: columnTypeFromAvro(field.type as AvroTypeSchema),
  }));
}
