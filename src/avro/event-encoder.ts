/**
 * The capture's encoders of an event's Kafka key and value: the Avro bodies of keySchema() and
 * valueSchema() written straight from the ChangeEvent, with no intermediate Avro objects (a
 * record per row, a source block per event were most of the capture's garbage). The bytes are
 * exactly those of encoding toKey() / toEnvelopeValue() with the registered schemas; the tests
 * hold the two to that.
 */
import type { ChangeEvent, Row, SourceInfo, TableSpec } from "../core/change-event.js";
import { RecordError } from "../core/errors.js";
import {
  compileEncoder,
  type Encode,
  writeBigLong,
  writeInt,
  writeLong,
  writeString,
} from "./binary-encoder.js";
import { columnAvroType } from "./column-avro.js";
import { toAvroValue } from "./column-values.js";
import type { EnvelopeLayout } from "./envelope-schema.js";

export type EventEncode = (buffer: Buffer, offset: number, event: ChangeEvent) => number;

function writeNullableString(buffer: Buffer, offset: number, text: string | null | undefined): number {
  if (text === null || text === undefined) {
    buffer[offset] = 0;
    return offset + 1;
  }
  buffer[offset] = 2;
  return writeString(buffer, offset + 1, text);
}

function writeNullableLong(buffer: Buffer, offset: number, value: number | null | undefined): number {
  if (value === null || value === undefined) {
    buffer[offset] = 0;
    return offset + 1;
  }
  buffer[offset] = 2;
  return Number.isSafeInteger(value)
    ? writeLong(buffer, offset + 1, value)
    : writeBigLong(buffer, offset + 1, BigInt(value));
}

/** The source block in the field order of source-block.ts's schema. */
function writeSource(buffer: Buffer, offset: number, info: SourceInfo, table: TableSpec): number {
  let at = writeString(buffer, offset, info.version);
  at = writeString(buffer, at, info.connector);
  at = writeString(buffer, at, table.source);
  at = writeLong(buffer, at, info.tsMs);
  buffer[at++] = info.snapshot ? 1 : 0;
  at = writeString(buffer, at, info.db);
  at = writeNullableString(buffer, at, table.namespace === "" ? null : table.namespace);
  at = writeNullableString(buffer, at, table.name);
  at = writeNullableString(buffer, at, info.lsn);
  at = writeNullableLong(buffer, at, info.txId);
  at = writeNullableString(buffer, at, info.file);
  at = writeNullableLong(buffer, at, info.pos);
  at = writeNullableString(buffer, at, info.gtid);
  at = writeNullableString(buffer, at, info.cursor);
  at = writeNullableLong(buffer, at, info.uidValidity);
  return writeNullableLong(buffer, at, info.uid);
}

interface ColumnWriter {
  readonly name: string;
  readonly type: TableSpec["columns"][number]["type"];
  readonly encode: Encode;
}

function columnWriters(layout: EnvelopeLayout, names: readonly string[]): ColumnWriter[] {
  return names.map((name) => {
    const column = layout.table.columns.find((candidate) => candidate.name === name);
    if (!column) throw new Error(`column ${name} is not in the layout of ${layout.table.topic}`);
    return { name, type: column.type, encode: compileEncoder(columnAvroType(column.type)) };
  });
}

function valueError(event: ChangeEvent, column: string, error: unknown): RecordError {
  return new RecordError(
    `${event.table.topic} column "${column}" (version ${event.source.version}): ${(error as Error).message}`,
    { code: (error as RecordError).code ?? "VALUE_TYPE", cause: error },
  );
}

/** A row as the nullable union of the row record: 0, or 2 and every column as a nullable union. */
function rowWriter(columns: readonly ColumnWriter[]) {
  return (buffer: Buffer, offset: number, row: Row | null, event: ChangeEvent): number => {
    if (row === null) {
      buffer[offset] = 0;
      return offset + 1;
    }
    buffer[offset] = 2;
    let at = offset + 1;
    for (const column of columns) {
      const value = row[column.name];
      if (value === null || value === undefined) {
        buffer[at++] = 0;
        continue;
      }
      buffer[at++] = 2;
      try {
        at = column.encode(buffer, at, toAvroValue(column.type, value));
      } catch (error) {
        throw valueError(event, column.name, error);
      }
    }
    return at;
  };
}

/**
 * The envelope of valueSchema(layout.table): before, after, source, op, ts_ms (from `clock`, the
 * time the capture processed the event), unavailable_columns.
 */
export function eventValueEncoder(layout: EnvelopeLayout, clock: () => number = Date.now): EventEncode {
  const writeRow = rowWriter(
    columnWriters(
      layout,
      layout.table.columns.map((column) => column.name),
    ),
  );
  return (buffer, offset, event) => {
    let at = writeRow(buffer, offset, event.before, event);
    at = writeRow(buffer, at, event.after, event);
    at = writeSource(buffer, at, event.source, event.table);
    at = writeString(buffer, at, event.op);
    at = writeLong(buffer, at, clock());
    const unavailable = event.unavailableColumns;
    if (unavailable.length > 0) {
      at = writeInt(buffer, at, unavailable.length);
      for (const name of unavailable) at = writeString(buffer, at, name);
    }
    buffer[at] = 0; // end of the array's blocks
    return at + 1;
  };
}

/**
 * The key of keySchema(layout.table) from the event's row (after, else before), or undefined
 * for a table without key columns. Only for events that have a key (not truncates).
 */
export function eventKeyEncoder(layout: EnvelopeLayout): EventEncode | undefined {
  if (layout.table.keyColumns.length === 0) return undefined;
  const columns = columnWriters(layout, layout.table.keyColumns);
  return (buffer, offset, event) => {
    const row = event.after ?? event.before;
    let at = offset;
    for (const column of columns) {
      const value = row?.[column.name];
      if (value === null || value === undefined) {
        throw new RecordError(
          `${event.table.topic}: key column "${column.name}" is null (version ${event.source.version})`,
          { code: "KEY_NULL" },
        );
      }
      try {
        at = column.encode(buffer, at, toAvroValue(column.type, value));
      } catch (error) {
        throw valueError(event, column.name, error);
      }
    }
    return at;
  };
}
