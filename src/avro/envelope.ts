/**
 * ChangeEvent ↔ the Avro values of its key and envelope (schemas in envelope-schema.ts). The
 * capture runner encodes with toKeyValue(); a sink decodes with decodeEnvelope() and the layout
 * read from the writer schema (envelope-decoder.ts does both from a Kafka record).
 */
import type { ChangeEvent, ColumnSpec, Op, Row, SourceInfo, TableSpec } from "../core/change-event.js";
import type { ColumnType } from "../core/column-type.js";
import { RecordError } from "../core/errors.js";
import { fromAvroNullable, fromAvroValue, toAvroNullable, toAvroValue } from "./column-values.js";
import type { EnvelopeLayout } from "./envelope-schema.js";
import { fromSourceBlock, toSourceBlock } from "./source-block.js";

export interface EnvelopeValue {
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  source: ReturnType<typeof toSourceBlock>;
  op: Op;
  ts_ms: number;
  unavailable_columns: string[];
}

/** What a sink gets from one Kafka record's value. */
export interface DecodedEnvelope {
  readonly op: Op;
  readonly before: Row | null;
  readonly after: Row | null;
  readonly source: SourceInfo;
  /** When the capture processed the event, ms since the epoch. */
  readonly tsMs: number;
  readonly unavailableColumns: readonly string[];
  /** The table as the writer schema describes it: columns with their ColumnTypes, key columns. */
  readonly table: TableSpec;
  /** ColumnType by column name, for convenience. */
  readonly columnTypes: ReadonlyMap<string, ColumnType>;
}

const ops: ReadonlySet<string> = new Set(["c", "u", "d", "r", "t"]);

function rowToAvro(
  layout: EnvelopeLayout,
  row: Row | null,
  event: ChangeEvent,
): Record<string, unknown> | null {
  if (row === null) return null;
  const record: Record<string, unknown> = {};
  const columns = layout.table.columns;
  const fieldNames = layout.fieldNames;
  let index = 0;
  try {
    for (; index < columns.length; index++) {
      const column = columns[index] as ColumnSpec;
      record[fieldNames[index] as string] = toAvroNullable(column.type, row[column.name]);
    }
  } catch (error) {
    throw new RecordError(
      `${event.table.topic} column "${columns[index]?.name}" (version ${event.source.version}): ${(error as Error).message}`,
      { code: (error as RecordError).code ?? "VALUE_TYPE", cause: error },
    );
  }
  return record;
}

function rowFromAvro(layout: EnvelopeLayout, record: Record<string, unknown> | null): Row | null {
  if (record === null || record === undefined) return null;
  const row: Row = {};
  layout.table.columns.forEach((column, index) => {
    row[column.name] = fromAvroNullable(column.type, record[layout.fieldNames[index] as string]);
  });
  return row;
}

/** Index of each key column among the layout's columns, computed once per layout. */
const keyIndexes = new WeakMap<EnvelopeLayout, readonly number[]>();

function keyIndexesOf(layout: EnvelopeLayout): readonly number[] {
  let indexes = keyIndexes.get(layout);
  if (!indexes) {
    indexes = layout.table.keyColumns.map((name) =>
      layout.table.columns.findIndex((column) => column.name === name),
    );
    keyIndexes.set(layout, indexes);
  }
  return indexes;
}

/** The Avro key of the event's row (after, else before), or null for a keyless table or a truncate. */
export function toKey(layout: EnvelopeLayout, event: ChangeEvent): Record<string, unknown> | null {
  const row = event.after ?? event.before;
  if (event.op === "t" || row === null || layout.table.keyColumns.length === 0) return null;
  const key: Record<string, unknown> = {};
  const indexes = keyIndexesOf(layout);
  for (let position = 0; position < indexes.length; position++) {
    const index = indexes[position] as number;
    const name = layout.table.keyColumns[position] as string;
    const column = layout.table.columns[index];
    const value = row[name];
    if (!column || value === null || value === undefined) {
      throw new RecordError(
        `${event.table.topic}: key column "${name}" is null (version ${event.source.version})`,
        {
          code: "KEY_NULL",
        },
      );
    }
    key[layout.fieldNames[index] as string] = toAvroValue(column.type, value);
  }
  return key;
}

export function toEnvelopeValue(layout: EnvelopeLayout, event: ChangeEvent, nowMs: number): EnvelopeValue {
  return {
    before: rowToAvro(layout, event.before, event),
    after: rowToAvro(layout, event.after, event),
    source: toSourceBlock(event.source, event.table),
    op: event.op,
    ts_ms: nowMs,
    // avsc only reads it: no copy.
    unavailable_columns: event.unavailableColumns as string[],
  };
}

/** A decoded envelope value (from the registry's decode) as row values and column types. */
export function decodeEnvelope(layout: EnvelopeLayout, value: unknown): DecodedEnvelope {
  const envelope = value as Record<string, unknown>;
  const op = String(envelope.op);
  if (!ops.has(op)) throw new RecordError(`unknown op ${JSON.stringify(op)}`, { code: "ENVELOPE_OP" });
  return {
    op: op as Op,
    before: rowFromAvro(layout, envelope.before as Record<string, unknown> | null),
    after: rowFromAvro(layout, envelope.after as Record<string, unknown> | null),
    source: fromSourceBlock(envelope.source as Record<string, unknown>),
    tsMs: Number(envelope.ts_ms),
    unavailableColumns: ((envelope.unavailable_columns as string[] | undefined) ?? []).map(String),
    table: layout.table,
    columnTypes: new Map(layout.table.columns.map((column) => [column.name, column.type])),
  };
}

/** One key field: the column it carries and its Avro field name. */
export interface KeyField {
  readonly name: string;
  readonly fieldName: string;
  readonly type: ColumnType;
}

/** A decoded key value as row values by original column name. */
export function decodeKey(fields: readonly KeyField[], value: unknown): Row {
  const record = value as Record<string, unknown>;
  const row: Row = {};
  for (const field of fields) row[field.name] = fromAvroValue(field.type, record[field.fieldName]);
  return row;
}
