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
import { PieceWriter } from "./copy-rows.js";
import { copyStaged } from "./copy-text.js";
import { foldIdentifier, quoteIdentifier } from "./identifier.js";
import {
  metadataColumns,
  type Statement,
  stagedColumnNames,
  stagingTableName,
  type TableModel,
} from "./sql.js";
import type { WarehouseType } from "./typemap.js";

/** The signature "PGCOPY\n\377\r\n\0", then int32 flags 0 and int32 header extension length 0. */
const HEADER = Buffer.concat([Buffer.from("PGCOPY\n\xff\r\n\0", "latin1"), Buffer.alloc(8)]);

/** Postgres counts dates and timestamps from 2000-01-01. */
const PG_EPOCH_DAYS = 10_957;
const PG_EPOCH_MICROS = 946_684_800_000_000;
const PG_EPOCH_MICROS_BIG = 946_684_800_000_000n;
const INT32_MIN = -2_147_483_648;
const INT32_MAX = 2_147_483_647;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const MIN_SAFE_BIGINT = BigInt(Number.MIN_SAFE_INTEGER);
const MAX_SAFE_BIGINT = BigInt(Number.MAX_SAFE_INTEGER);
const TWO_TO_32 = 2 ** 32;

/** Strings up to this many UTF-16 units are tried as ASCII first (BinaryCopyWriter.text). */
const SHORT_TEXT = 64;

const NUMERIC_POSITIVE = 0x0000;
const NUMERIC_NEGATIVE = 0x4000;
/** The most digits after the point a numeric carries (NUMERIC_DSCALE_MASK). */
const NUMERIC_MAX_DSCALE = 0x3fff;
/** More bytes than any fixed-width type written here takes; a zero numeric with one left over. */
const REFUSED_FIELD = Buffer.alloc(9);

const ZERO = 48;
const NINE = 57;

function allDigits(text: string, from: number, to: number): boolean {
  for (let index = from; index < to; index++) {
    const code = text.charCodeAt(index);
    if (code < ZERO || code > NINE) return false;
  }
  return true;
}

/** The base-10000 digit of text[from, from + 4), positions outside [first, end) counting as 0. */
function digitGroup(text: string, from: number, first: number, end: number): number {
  let group = 0;
  for (let index = from; index < from + 4; index++) {
    group = group * 10 + (index >= first && index < end ? text.charCodeAt(index) - ZERO : 0);
  }
  return group;
}

/** Binary COPY data in pieces: the fields' encodings (each type's send function in Postgres). */
export class BinaryCopyWriter extends PieceWriter {
  header(): void {
    this.reserve(HEADER.length);
    this.length += HEADER.copy(this.buffer, this.length);
  }

  /** After the last row. */
  trailer(): void {
    this.reserve(2);
    this.length = this.buffer.writeInt16BE(-1, this.length);
  }

  /** A row of `fields` fields begins. */
  row(fields: number): void {
    this.reserve(2);
    this.length = this.buffer.writeInt16BE(fields, this.length);
  }

  null(): void {
    this.reserve(4);
    this.length = this.buffer.writeInt32BE(-1, this.length);
  }

  int16(value: number): void {
    this.reserve(6);
    this.length = this.buffer.writeInt16BE(value, this.buffer.writeInt32BE(2, this.length));
  }

  int32(value: number): void {
    this.reserve(8);
    this.length = this.buffer.writeInt32BE(value, this.buffer.writeInt32BE(4, this.length));
  }

  /** `value`: a safe integer, or a bigint within int64. */
  int64(value: number | bigint): void {
    this.reserve(12);
    const at = this.buffer.writeInt32BE(8, this.length);
    if (typeof value === "bigint") {
      if (value < MIN_SAFE_BIGINT || value > MAX_SAFE_BIGINT) {
        this.length = this.buffer.writeBigInt64BE(value, at);
        return;
      }
      // Int64 keys and offsets are bigints that mostly fit a number: no BigInt arithmetic then.
      value = Number(value);
    }
    // Two 32-bit halves: exact for safe integers, without a BigInt per value.
    const high = Math.floor(value / TWO_TO_32);
    this.buffer.writeInt32BE(high, at);
    this.length = this.buffer.writeUInt32BE(value - high * TWO_TO_32, at + 4);
  }

  float32(value: number): void {
    this.reserve(8);
    this.length = this.buffer.writeFloatBE(value, this.buffer.writeInt32BE(4, this.length));
  }

  float64(value: number): void {
    this.reserve(12);
    this.length = this.buffer.writeDoubleBE(value, this.buffer.writeInt32BE(8, this.length));
  }

  boolean(value: boolean): void {
    this.reserve(5);
    this.length = this.buffer.writeUInt8(value ? 1 : 0, this.buffer.writeInt32BE(1, this.length));
  }

  /** UTF-8, as the text and varchar receive functions take it. */
  text(value: string): void {
    const { length } = value;
    this.reserve(4 + length * 3);
    const start = this.length + 4;
    let bytes = 0;
    if (length <= SHORT_TEXT) {
      // Codes, keys, versions, topic names: short ASCII, copied faster than a native call does.
      const buffer = this.buffer;
      while (bytes < length) {
        const code = value.charCodeAt(bytes);
        if (code >= 0x80) break;
        buffer[start + bytes] = code;
        bytes++;
      }
    }
    if (bytes < length) bytes = this.buffer.write(value, start);
    this.buffer.writeInt32BE(bytes, this.length);
    this.length = start + bytes;
  }

  /**
   * Decimal text ([-+]digits[.digits]) as a numeric: base-10000 digits aligned at the point,
   * without leading or trailing zero digits, the weight of the first, and the digits after the
   * point as written (dscale). False, with nothing written, when `text` is no such number.
   */
  numeric(text: string): boolean {
    const end = text.length;
    const sign = text.charCodeAt(0);
    const start = sign === 45 /* - */ || sign === 43 /* + */ ? 1 : 0;
    const dot = text.indexOf(".", start);
    const integerEnd = dot === -1 ? end : dot;
    const fractionStart = dot === -1 ? end : dot + 1;
    const dscale = end - fractionStart;
    if (integerEnd - start + dscale === 0 || dscale > NUMERIC_MAX_DSCALE) return false;
    if (!allDigits(text, start, integerEnd) || !allDigits(text, fractionStart, end)) return false;
    let integerStart = start;
    while (integerStart < integerEnd && text.charCodeAt(integerStart) === ZERO) integerStart++;
    let fractionEnd = end;
    while (fractionEnd > fractionStart && text.charCodeAt(fractionEnd - 1) === ZERO) fractionEnd--;
    const integerGroups = Math.ceil((integerEnd - integerStart) / 4);
    // Below 1: the fraction's leading zero groups are left out, each lowering the weight.
    let fractionFrom = fractionStart;
    if (integerGroups === 0) {
      while (fractionFrom + 4 <= fractionEnd && text.startsWith("0000", fractionFrom)) fractionFrom += 4;
    }
    const fractionGroups = Math.ceil((fractionEnd - fractionFrom) / 4);
    const weight = integerGroups > 0 ? integerGroups - 1 : -1 - (fractionFrom - fractionStart) / 4;
    if (weight > 0x7fff || integerGroups + fractionGroups > 0x7fff) return false;
    this.reserve(12 + 2 * (integerGroups + fractionGroups));
    const digitsAt = this.length + 12;
    let at = digitsAt;
    let significantEnd = digitsAt; // after the last non-zero digit: trailing zero digits are left out
    for (let from = integerEnd - integerGroups * 4; from < integerEnd; from += 4) {
      const group = digitGroup(text, from, integerStart, integerEnd);
      at = this.buffer.writeInt16BE(group, at);
      if (group !== 0) significantEnd = at;
    }
    for (let from = fractionFrom; from < fractionEnd; from += 4) {
      const group = digitGroup(text, from, fractionFrom, fractionEnd);
      at = this.buffer.writeInt16BE(group, at);
      if (group !== 0) significantEnd = at;
    }
    const digits = (significantEnd - digitsAt) / 2;
    let header = this.buffer.writeInt32BE(8 + 2 * digits, this.length);
    header = this.buffer.writeInt16BE(digits, header);
    header = this.buffer.writeInt16BE(digits === 0 ? 0 : weight, header);
    header = this.buffer.writeUInt16BE(
      sign === 45 && digits > 0 ? NUMERIC_NEGATIVE : NUMERIC_POSITIVE,
      header,
    );
    this.buffer.writeInt16BE(dscale, header);
    this.length = significantEnd;
    return true;
  }

  /**
   * A field every column type written here refuses as "incorrect binary data format" (22P03):
   * longer than the fixed-width types, a zero numeric with a byte left over. For a value that
   * cannot be encoded: the binary load fails, and COPY text of the rows decides (apply.ts), as it
   * did before binary COPY.
   */
  refused(): void {
    this.reserve(4 + REFUSED_FIELD.length);
    this.length = this.buffer.writeInt32BE(REFUSED_FIELD.length, this.length);
    this.length += REFUSED_FIELD.copy(this.buffer, this.length);
  }
}

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

function isText(stored: WarehouseType): boolean {
  return stored.base === "VARCHAR" || stored.base === "TEXT";
}

/**
 * The writer of values of `type` into a column of the warehouse's `stored` type, or undefined
 * when that pair is not encoded exactly here (JSONB, UUID, BYTEA, TIME, INTERVAL, … stay on text).
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
    default:
      return undefined;
  }
}

/** The values of the metadata columns (sql.ts metadataDefinitions) as column types. */
const metadataTypes: Readonly<Record<(typeof metadataColumns)[number], ColumnType>> = {
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
};

/** The staging table's columns and their type OIDs, in the transaction that created it. */
export function stagingColumnTypes(model: TableModel): Statement {
  return {
    text: "SELECT attname, atttypid::int AS oid FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped",
    values: [quoteIdentifier(stagingTableName(model, "postgres"), "postgres")],
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
  FieldWriter,
];

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
  const [version, op, deleted, sourceTs, loadedAt, topic, partition, offset] = writers.slice(
    sourceCount,
  ) as MetadataWriters;
  const writer = new BinaryCopyWriter();
  writer.header();
  for (const row of rows) {
    const { values, origin } = row;
    writer.row(writers.length);
    for (let index = 0; index < sourceCount; index++) {
      (writers[index] as FieldWriter)(writer, values[names[index] as string]);
    }
    version(writer, row.version);
    op(writer, row.op);
    deleted(writer, row.deleted);
    sourceTs(writer, sourceTsMicros(row.sourceTsMs));
    loadedAt(writer, loadedAtMicros);
    topic(writer, origin.topic);
    partition(writer, origin.partition);
    offset(writer, origin.offset);
    if (writer.hasFull) yield* writer.takeFull();
  }
  writer.trailer();
  yield* writer.takeFull();
  yield writer.rest();
}
