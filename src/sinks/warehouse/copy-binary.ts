/**
 * Staged rows as binary COPY data (postgres dialect): the server parses no timestamp or numeric
 * text, and Node builds none. A binary field must be exactly its column's type (an int4 into a
 * bigint column fails), so each column's writer is chosen from the table's actual types
 * (TableModel.warehouseTypes); a batch with any column this file does not encode exactly is loaded
 * as COPY text (copy-rows.ts) instead. Pure.
 *
 * The format: a 19-byte header; per row an int16 field count, then per field an int32 length (-1
 * for NULL) and the bytes of the type's send function; an int16 -1 after the last row.
 */
import type { ColumnType } from "../../core/column-type.js";
import type { StagedRow } from "./batch.js";
import { allDigits, BinaryCopyWriter } from "./binary-copy-writer.js";
import { copyStaged } from "./copy-text.js";
import { foldIdentifier, quoteIdentifier } from "./identifier.js";
import {
  batchConstantColumns,
  metadataColumns,
  type Statement,
  stagedColumnNames,
  stagingTableName,
  type TableModel,
} from "./sql.js";
import type { WarehouseType } from "./typemap.js";
import { toParameter } from "./values.js";

/** Postgres counts dates and timestamps from 2000-01-01. */
const PG_EPOCH_DAYS = 10_957;
const PG_EPOCH_MICROS = 946_684_800_000_000;
const PG_EPOCH_MICROS_BIG = 946_684_800_000_000n;
const INT32_MIN = -2_147_483_648;
const INT32_MAX = 2_147_483_647;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** Writes one value (null included) of a column. */
export type FieldWriter = (writer: BinaryCopyWriter, value: unknown) => void;

/** Integers as the row representation allows them: numbers, bigints, digit strings. */
function integerOf(value: unknown): number | bigint | undefined {
  if (typeof value === "number") {
    if (Number.isSafeInteger(value)) return value;
    return Number.isInteger(value) ? BigInt(value) : undefined;
  }
  if (typeof value === "bigint") return value;
  if (typeof value !== "string") return undefined;
  const digitsFrom = value.charCodeAt(0) === 45 /* - */ ? 1 : 0;
  if (value.length === digitsFrom || !allDigits(value, digitsFrom, value.length)) return undefined;
  const number = Number(value);
  return Number.isSafeInteger(number) ? number : BigInt(value);
}

function smallIntegerField(bytes: 2 | 4): FieldWriter {
  const max = bytes === 2 ? 32_767 : INT32_MAX;
  return (writer, value) => {
    const integer = value === null || value === undefined ? null : integerOf(value);
    if (integer === null) writer.null();
    else if (integer === undefined || integer < -max - 1 || integer > max) writer.refused();
    else if (bytes === 2) writer.int16(Number(integer));
    else writer.int32(Number(integer));
  };
}

const bigintField: FieldWriter = (writer, value) => {
  if (typeof value === "number" && Number.isSafeInteger(value)) {
    writer.int64(value);
    return;
  }
  const integer = value === null || value === undefined ? null : integerOf(value);
  if (integer === null) writer.null();
  else if (integer === undefined || integer < INT64_MIN || integer > INT64_MAX) writer.refused();
  else writer.int64(integer);
};

const integerFields: Readonly<Record<string, FieldWriter>> = {
  SMALLINT: smallIntegerField(2),
  INTEGER: smallIntegerField(4),
  BIGINT: bigintField,
};

const float32Field: FieldWriter = (writer, value) => {
  if (value === null || value === undefined) writer.null();
  else if (typeof value === "number") writer.float32(value);
  else writer.refused();
};

const float64Field: FieldWriter = (writer, value) => {
  if (value === null || value === undefined) writer.null();
  else if (typeof value === "number") writer.float64(value);
  else writer.refused();
};

const booleanField: FieldWriter = (writer, value) => {
  if (value === null || value === undefined) writer.null();
  else if (typeof value === "boolean") writer.boolean(value);
  else writer.refused();
};

/** Other values as String() gives them, as the COPY text does. */
const textField: FieldWriter = (writer, value) => {
  if (value === null || value === undefined) writer.null();
  else writer.text(typeof value === "string" ? value : String(value));
};

const numericField: FieldWriter = (writer, value) => {
  if (value === null || value === undefined) writer.null();
  else if (!writer.numeric(typeof value === "string" ? value : String(value))) writer.refused();
};

/** JSON and arrays as the COPY text writes them (toParameter's JSON text), in jsonb's format. */
function jsonbField(type: ColumnType): FieldWriter {
  return (writer, value) => {
    if (value === null || value === undefined) writer.null();
    else writer.jsonb(toParameter(type, value, "postgres") as string);
  };
}

/** Days since 1970-01-01 → int32 days since 2000-01-01; INT32_MIN and MAX would be ±infinity. */
const dateField: FieldWriter = (writer, value) => {
  const days = value === null || value === undefined ? null : integerOf(value);
  if (days === null) writer.null();
  else if (days === undefined) writer.refused();
  else {
    const shifted = Number(days) - PG_EPOCH_DAYS;
    if (shifted <= INT32_MIN || shifted >= INT32_MAX) writer.refused();
    else writer.int32(shifted);
  }
};

/** Microseconds since 1970 → int64 microseconds since 2000; INT64_MIN would be -infinity. */
const timestampField: FieldWriter = (writer, value) => {
  const micros = value === null || value === undefined ? null : integerOf(value);
  if (micros === null) writer.null();
  else if (micros === undefined) writer.refused();
  else if (typeof micros === "number" && Number.isSafeInteger(micros - PG_EPOCH_MICROS)) {
    writer.int64(micros - PG_EPOCH_MICROS);
  } else {
    const shifted = BigInt(micros) - PG_EPOCH_MICROS_BIG;
    if (shifted <= INT64_MIN || shifted > INT64_MAX) writer.refused();
    else writer.int64(shifted);
  }
};

/**
 * The fast path's shortcuts (direct-rows.ts) for values as event-decoder reads them from Avro for
 * the warehouse, each writing the very bytes of the column's FieldWriter without its checks of
 * what the value is: an int64 (a safe number, else a bigint) into BIGINT, and microseconds (a
 * number) into TIMESTAMP or TIMESTAMPTZ (writeMicros).
 */
export const NO_SHORTCUT = 0;
export const INT64_SHORTCUT = 1;
export const MICROS_SHORTCUT = 2;

export function avroShortcut(type: ColumnType, stored: WarehouseType | undefined): number {
  if (type.kind === "int64" && stored?.base === "BIGINT") return INT64_SHORTCUT;
  if (type.kind === "timestamp" && stored?.base === "TIMESTAMP") return MICROS_SHORTCUT;
  if (type.kind === "timestamptz" && stored?.base === "TIMESTAMPTZ") return MICROS_SHORTCUT;
  return NO_SHORTCUT;
}

/** timestampField's bytes for safe microseconds whose shift is safe too; false for the others. */
export function writeMicros(writer: BinaryCopyWriter, micros: number): boolean {
  const shifted = micros - PG_EPOCH_MICROS;
  if (!Number.isSafeInteger(micros) || !Number.isSafeInteger(shifted)) return false;
  writer.int64(shifted);
  return true;
}

function isText(stored: WarehouseType): boolean {
  return stored.base === "VARCHAR" || stored.base === "TEXT";
}

/**
 * The writer of values of `type` into a column of the warehouse's `stored` type, or undefined
 * when that pair is not encoded exactly here (UUID, BYTEA, TIME, INTERVAL, … stay on text).
 */
export function fieldWriter(type: ColumnType, stored: WarehouseType | undefined): FieldWriter | undefined {
  if (!stored) return undefined;
  switch (type.kind) {
    case "int16":
    case "int32":
    case "int64":
      return integerFields[stored.base];
    // A float64 into REAL would round twice (to double, then float), unlike float4's text input.
    case "float32":
      return stored.base === "REAL"
        ? float32Field
        : stored.base === "DOUBLE PRECISION"
          ? float64Field
          : undefined;
    case "float64":
      return stored.base === "DOUBLE PRECISION" ? float64Field : undefined;
    case "decimal":
      return stored.base === "DECIMAL" ? numericField : isText(stored) ? textField : undefined;
    case "string":
    case "text":
      return isText(stored) ? textField : undefined;
    case "boolean":
      return stored.base === "BOOLEAN" ? booleanField : undefined;
    case "date":
      return stored.base === "DATE" ? dateField : undefined;
    case "timestamp":
      return stored.base === "TIMESTAMP" ? timestampField : undefined;
    case "timestamptz":
      return stored.base === "TIMESTAMPTZ" ? timestampField : undefined;
    case "json":
    case "array":
      return stored.base === "JSONB" ? jsonbField(type) : undefined;
    default:
      return undefined;
  }
}

/** The values of the metadata columns (sql.ts metadataDefinitions) as column types. */
export const metadataTypes: Readonly<Record<(typeof metadataColumns)[number], ColumnType>> = {
  _tributary_version: { kind: "string" },
  _tributary_op: { kind: "string" },
  _tributary_deleted: { kind: "boolean" },
  _tributary_source_ts: { kind: "timestamptz" },
  _tributary_loaded_at: { kind: "timestamptz" },
  _tributary_topic: { kind: "string" },
  _tributary_partition: { kind: "int32" },
  _tributary_offset: { kind: "int64" },
};

/**
 * The writers of a staged row's fields (stagedColumnNames order), or undefined when a column is
 * not encoded exactly or its warehouse type is unknown: the batch then goes as COPY text.
 */
export function binaryFieldWriters(model: TableModel): FieldWriter[] | undefined {
  const stored = model.warehouseTypes;
  if (!stored) return undefined;
  const columns: [string, ColumnType][] = [
    ...model.columns.map((column): [string, ColumnType] => [column.name, column.type]),
    ...metadataColumns.map((name): [string, ColumnType] => [name, metadataTypes[name]]),
  ];
  const writers: FieldWriter[] = [];
  for (const [name, type] of columns) {
    const writer = fieldWriter(type, stored.get(foldIdentifier(name, "postgres")));
    if (!writer) return undefined;
    writers.push(writer);
  }
  return writers;
}

/** The pg_type OIDs of the warehouse types written here. */
const typeOids: Readonly<Record<string, number>> = {
  SMALLINT: 21,
  INTEGER: 23,
  BIGINT: 20,
  REAL: 700,
  "DOUBLE PRECISION": 701,
  DECIMAL: 1700,
  VARCHAR: 1043,
  TEXT: 25,
  BOOLEAN: 16,
  DATE: 1082,
  TIMESTAMP: 1114,
  TIMESTAMPTZ: 1184,
  JSONB: 3802,
};

/**
 * The staging table's columns and their type OIDs, in the transaction that created it. Without
 * parameters, so that it can go with other statements in one round trip: the staging table's
 * name is one of two constants (sql.ts stagingTableName), never a source's name.
 */
export function stagingColumnTypes(model: TableModel): Statement {
  const name = quoteIdentifier(stagingTableName(model, "postgres"), "postgres");
  return {
    text: `SELECT attname, atttypid::int AS oid FROM pg_attribute WHERE attrelid = '${name}'::regclass AND attnum > 0 AND NOT attisdropped`,
    values: [],
  };
}

/**
 * Whether the staging table (LIKE the target, created in this transaction, which keeps the target
 * from changing until it ends) has the types binaryFieldWriters chose the writers for. A column
 * changed by someone else to a type of the same width (INTEGER to REAL) would otherwise take
 * misread values without an error.
 */
export function stagingTypesMatch(
  model: TableModel,
  actual: readonly { readonly attname: string; readonly oid: number }[],
): boolean {
  const stored = model.warehouseTypes;
  if (!stored) return false;
  const oids = new Map(actual.map((column) => [column.attname, column.oid]));
  return stagedColumnNames(model).every((name) => {
    const folded = foldIdentifier(name, "postgres");
    const expected = typeOids[stored.get(folded)?.base ?? ""];
    return expected !== undefined && oids.get(folded) === expected;
  });
}

/** `COPY "_tributary_stage" (<staged columns>) FROM STDIN (FORMAT binary)` */
export function copyStagedBinary(model: TableModel): string {
  return `${copyStaged(model)} (FORMAT binary)`;
}

/** The fast path's COPY: the staged columns but the micro-batch's constants (batchConstantColumns). */
export function copyBatchRowsBinary(model: TableModel): string {
  const constants = new Set<string>(batchConstantColumns);
  const columns = stagedColumnNames(model).filter((name) => !constants.has(name));
  return `${copyStaged(model, columns)} (FORMAT binary)`;
}

/** Milliseconds since the epoch → microseconds; null when unknown (as msToTimestamptz). */
function sourceTsMicros(ms: number): number | bigint | null {
  if (!Number.isFinite(ms) || ms <= 0) return null;
  const micros = Math.trunc(ms) * 1000;
  return Number.isSafeInteger(micros) ? micros : BigInt(Math.trunc(ms)) * 1000n;
}

type MetadataWriters = [
  FieldWriter,
  FieldWriter,
  FieldWriter,
  FieldWriter,
  FieldWriter,
  FieldWriter,
  FieldWriter,
];

/** Encodes fields with their own writers, once, for copying into many rows. */
function fieldEncoder(): (write: (scratch: BinaryCopyWriter) => void) => Buffer {
  let scratch = new BinaryCopyWriter();
  return (write) => {
    // A few fields at a time: they never reach the end of the scratch's piece, so stay in it.
    if (scratch.rest().length > 64 * 1024) scratch = new BinaryCopyWriter();
    const from = scratch.rest().length;
    write(scratch);
    return Buffer.from(scratch.rest().subarray(from));
  };
}

/** The source_ts field; its writer is timestampField (binaryFieldWriters takes no other for it). */
function sourceTsFieldWriter(sourceTs: FieldWriter): (writer: BinaryCopyWriter, sourceTsMs: number) => void {
  return (writer, sourceTsMs) => {
    const micros = sourceTsMicros(sourceTsMs);
    if (typeof micros !== "number" || !writeMicros(writer, micros)) sourceTs(writer, micros);
  };
}

/**
 * Writes a staged row's metadata fields after `_tributary_version` (sql.ts metadataColumns) with
 * the metadata writers, the last 7 of binaryFieldWriters'. The caller writes the version before,
 * from its text with binaryFieldWriters' writer for it.
 */
export type MetadataFieldsWriter = (
  writer: BinaryCopyWriter,
  op: string,
  deleted: boolean,
  sourceTsMs: number,
  topic: string,
  partition: number,
  offset: string,
) => void;

export function metadataFieldsWriter(
  writers: readonly FieldWriter[],
  sourceCount: number,
  loadedAtMicros: number,
): MetadataFieldsWriter {
  const [op, deleted, sourceTs, loadedAt, topic, partition, offset] = writers.slice(
    sourceCount + 1,
  ) as MetadataWriters;
  // Op and deleted take a few values, mostly the same from row to row, and loaded_at, topic and
  // partition are one micro-batch's: their fields are encoded once, by their own writers, and
  // copied into each row.
  const encoded = fieldEncoder();
  const writeSourceTs = sourceTsFieldWriter(sourceTs);
  const opFields = new Map<string, Buffer>();
  let lastOp: string | undefined;
  let lastDeleted: boolean | undefined;
  let opAndDeleted: Buffer = Buffer.alloc(0);
  let originTopic: string | undefined;
  let originPartition: number | undefined;
  let originFields: Buffer = Buffer.alloc(0);
  return (writer, rowOp, rowDeleted, sourceTsMs, rowTopic, rowPartition, rowOffset) => {
    if (rowOp !== lastOp || rowDeleted !== lastDeleted) {
      lastOp = rowOp;
      lastDeleted = rowDeleted;
      const opKey = rowDeleted ? `${rowOp}t` : rowOp;
      let fields = opFields.get(opKey);
      if (fields === undefined) {
        fields = encoded((scratch) => {
          op(scratch, rowOp);
          deleted(scratch, rowDeleted);
        });
        opFields.set(opKey, fields);
      }
      opAndDeleted = fields;
    }
    writer.encoded(opAndDeleted);
    writeSourceTs(writer, sourceTsMs);
    if (rowTopic !== originTopic || rowPartition !== originPartition) {
      originTopic = rowTopic;
      originPartition = rowPartition;
      originFields = encoded((scratch) => {
        loadedAt(scratch, loadedAtMicros);
        topic(scratch, rowTopic);
        partition(scratch, rowPartition);
      });
    }
    writer.encoded(originFields);
    offset(writer, rowOffset);
  };
}

/** Fields per row of copyBatchRowsBinary's data, for `writers` of binaryFieldWriters. */
export function batchRowFields(writers: readonly FieldWriter[]): number {
  return writers.length - batchConstantColumns.length;
}

/**
 * The fast path's metadata fields after `_tributary_version`: op, source_ts and offset. The others
 * are the micro-batch's constants, the staging table's defaults (sql.ts stagingBatchDefaults).
 */
export type BatchRowMetadataWriter = (
  writer: BinaryCopyWriter,
  op: string,
  sourceTsMs: number,
  offset: string,
) => void;

export function batchRowMetadataWriter(
  writers: readonly FieldWriter[],
  sourceCount: number,
): BatchRowMetadataWriter {
  const [op, , sourceTs, , , , offset] = writers.slice(sourceCount + 1) as MetadataWriters;
  const encoded = fieldEncoder();
  const writeSourceTs = sourceTsFieldWriter(sourceTs);
  const opFields = new Map<string, Buffer>();
  let lastOp: string | undefined;
  let opField: Buffer = Buffer.alloc(0);
  return (writer, rowOp, sourceTsMs, rowOffset) => {
    if (rowOp !== lastOp) {
      lastOp = rowOp;
      let field = opFields.get(rowOp);
      if (field === undefined) {
        field = encoded((scratch) => op(scratch, rowOp));
        opFields.set(rowOp, field);
      }
      opField = field;
    }
    writer.encoded(opField);
    writeSourceTs(writer, sourceTsMs);
    offset(writer, rowOffset);
  };
}

/**
 * The binary COPY data of `rows` with `writers` (binaryFieldWriters of `model`), in pieces of
 * about 256 KB.
 */
export function* binaryCopyPieces(
  model: TableModel,
  writers: readonly FieldWriter[],
  rows: readonly StagedRow[],
  loadedAtMicros: number,
): Generator<Buffer> {
  const names = model.columns.map((column) => column.name);
  const sourceCount = names.length;
  const writeVersion = writers[sourceCount] as FieldWriter;
  const writeMetadata = metadataFieldsWriter(writers, sourceCount, loadedAtMicros);
  const writer = new BinaryCopyWriter();
  writer.header();
  for (const row of rows) {
    const { values, origin } = row;
    writer.row(writers.length);
    for (let index = 0; index < sourceCount; index++) {
      (writers[index] as FieldWriter)(writer, values[names[index] as string]);
    }
    writeVersion(writer, row.version);
    writeMetadata(writer, row.op, row.deleted, row.sourceTsMs, origin.topic, origin.partition, origin.offset);
    if (writer.hasFull) yield* writer.takeFull();
  }
  writer.trailer();
  yield* writer.takeFull();
  yield writer.rest();
}
