/**
 * The sink's decoders of a Kafka record's value and key, compiled once per writer schema: the
 * Avro body read straight into what the sink keeps (op, the source block's version and ts_ms,
 * the row image, the unavailable columns) while every other field is skipped, with no Avro
 * objects in between (avsc's objects, copied again into rows, were most of the sink's garbage).
 * The results are exactly those of reading with avsc and converting with column-values.ts's
 * fromAvroValue; the tests hold the two to that. A writer schema of another shape than
 * envelope-schema.ts writes gets no compiled decoder (undefined), and the caller uses avsc.
 */
import type { Op, Row, TableSpec } from "../core/change-event.js";
import type { ColumnType } from "../core/column-type.js";
import { RecordError } from "../core/errors.js";
import {
  AvroCursor,
  type AvroObjectSchema,
  type AvroSchema,
  AvroSchemaUnsupported,
  AvroTypes,
  fieldsOf,
  innerNamespace,
  type Skip,
  typeNameOf,
} from "./binary-decoder.js";
import { columnAvroType } from "./column-avro.js";
import { decimalText, twosComplementToBigint } from "./decimal.js";
import type { KeyField } from "./envelope.js";
import type { AvroRecordSchema, EnvelopeLayout } from "./envelope-schema.js";

/** What the sink needs of a change event: no more is decoded. */
export interface SinkEvent {
  readonly table: TableSpec;
  readonly op: Op;
  /** The row the event leaves (after), or for a delete the row it removes (before). */
  readonly image: Row | null;
  readonly version: string;
  readonly sourceTsMs: number;
  readonly unavailableColumns: readonly string[];
}

/** Decodes the Avro body that starts at `offset` and ends with the buffer. */
export interface BodyDecoder<T> {
  decode(buffer: Buffer, offset: number): T;
}

type ReadValue = (cursor: AvroCursor) => unknown;

const readBoolean: ReadValue = (cursor) => cursor.readBoolean();
const readInt: ReadValue = (cursor) => cursor.readInt();
const readLong: ReadValue = (cursor) => cursor.readLong();
/** Where a string's or bytes' length starts; the value skipped. */
const readBytesPosition: ReadValue = (cursor) => {
  const position = cursor.position;
  cursor.skipBytes();
  return position;
};
const readInt64: ReadValue = (cursor) => {
  const value = cursor.readLong();
  return typeof value === "bigint" ? value : BigInt(value);
};
/** Number() of a bigint rounds, as fromAvroValue does for micros beyond 2^53. */
const readMicros: ReadValue = (cursor) => Number(cursor.readLong());
const readFloat: ReadValue = (cursor) => cursor.readFloat();
const readDouble: ReadValue = (cursor) => cursor.readDouble();
const readString: ReadValue = (cursor) => cursor.readString();
const readBytes: ReadValue = (cursor) => cursor.readBytes();

/** decimal.ts's decimalText for a safe integer, without a bigint. */
function safeDecimalText(unscaled: number, scale: number): string {
  const negative = unscaled < 0;
  const digits = String(negative ? -unscaled : unscaled).padStart(scale + 1, "0");
  const whole = digits.slice(0, digits.length - scale);
  const fraction = scale > 0 ? `.${digits.slice(digits.length - scale)}` : "";
  return `${negative ? "-" : ""}${whole}${fraction}`;
}

/** bytesToDecimal of the bytes in place; up to 6 bytes (47 bits and a sign) as a number. */
function decimalReader(scale: number): ReadValue {
  return (cursor) => {
    const length = cursor.readLength();
    const start = cursor.position;
    cursor.position = start + length;
    if (length === 0) return safeDecimalText(0, scale);
    if (length <= 6) return safeDecimalText(cursor.buffer.readIntBE(start, length), scale);
    return decimalText(twosComplementToBigint(cursor.buffer.subarray(start, start + length)), scale);
  };
}

/** The items of an array column: each a ["null", T] union. */
function arrayReader(readItem: ReadValue): ReadValue {
  return (cursor) => {
    const items: unknown[] = [];
    for (let count = cursor.readBlockCount(); count !== 0; count = cursor.readBlockCount()) {
      for (let index = 0; index < count; index++) {
        items.push(cursor.readPresent() ? readItem(cursor) : null);
      }
    }
    return items;
  };
}

/** ["null", T] → T; anything else is not what envelope-schema.ts writes for a nullable value. */
function nullableBranch(schema: AvroSchema, what: string): AvroSchema {
  if (!Array.isArray(schema) || schema.length !== 2 || schema[0] !== "null") {
    throw new AvroSchemaUnsupported(`${what} is not a ["null", T] union`);
  }
  return schema[1] as AvroSchema;
}

/**
 * How values are read: as rows hold them (fromAvroValue's representation), or for writing them
 * straight into the warehouse, where an int64 may stay a number (no BigInt per value) and text
 * and decimals stay where their bytes are (ImageValuesReader).
 */
type Representation = "row" | "warehouse";

/** The reader of one non-null column value written as `writer`. */
function valueReader(
  type: ColumnType,
  writer: AvroSchema,
  what: string,
  representation: Representation = "row",
): ReadValue {
  const expected = columnAvroType(type).type;
  if (typeNameOf(writer) !== expected) {
    throw new AvroSchemaUnsupported(`${what}: a ${type.kind} column written as ${JSON.stringify(writer)}`);
  }
  switch (type.kind) {
    case "boolean":
      return readBoolean;
    case "int16":
    case "int32":
    case "date":
      return readInt;
    case "int64":
      return representation === "row" ? readInt64 : readLong;
    case "time":
    case "timestamp":
    case "timestamptz":
      return readMicros;
    case "float32":
      return readFloat;
    case "float64":
      return readDouble;
    case "decimal":
      return representation === "warehouse" ? readBytesPosition : decimalReader(type.scale);
    case "bytes":
      return readBytes;
    case "array": {
      const items = nullableBranch((writer as AvroObjectSchema).items as AvroSchema, `${what} items`);
      return arrayReader(valueReader(type.items, items, `${what} items`));
    }
    default:
      return representation === "warehouse" && readsTextAsPosition(type) ? readBytesPosition : readString;
  }
}

/**
 * Whether the warehouse representation of a column of `type` is where its Avro string starts
 * (length, then UTF-8) instead of a string: text without a maximum length is copied into the
 * warehouse's binary COPY as the very bytes, with nothing to check.
 */
export function readsTextAsPosition(type: ColumnType): boolean {
  return (type.kind === "string" && type.maxLength === undefined) || type.kind === "text";
}

/** Reads a present row image (the record after its union branch). */
/** Record fields into an object by column name, in column order (as decode.ts's rowOf builds it). */
class RowReader {
  /** A copy of it is one allocation per row, and the stores then change no shape. */
  readonly #template: Row = {};
  readonly #names: readonly string[];
  readonly #readers: readonly ReadValue[];
  readonly #nullable: boolean;

  /** `nullable`: every field a ["null", T] union (rows), else T itself (keys). */
  constructor(names: readonly string[], readers: readonly ReadValue[], nullable: boolean) {
    for (const name of names) this.#template[name] = null;
    this.#names = names;
    this.#readers = readers;
    this.#nullable = nullable;
  }

  read(cursor: AvroCursor): Row {
    const row: Row = { ...this.#template };
    const names = this.#names;
    const readers = this.#readers;
    const nullable = this.#nullable;
    for (let index = 0; index < readers.length; index++) {
      if (nullable && !cursor.readPresent()) continue;
      row[names[index] as string] = (readers[index] as ReadValue)(cursor);
    }
    return row;
  }

  /** The fields' values into `values`, in column order (null for an absent one): no object. */
  readValues(cursor: AvroCursor, values: unknown[]): void {
    const readers = this.#readers;
    const nullable = this.#nullable;
    for (let index = 0; index < readers.length; index++) {
      values[index] = nullable && !cursor.readPresent() ? null : (readers[index] as ReadValue)(cursor);
    }
  }
}

/** The row record of the envelope: its fields must be the layout's columns, each ["null", T]. */
function rowReaderOf(
  layout: EnvelopeLayout,
  record: AvroObjectSchema,
  representation: Representation = "row",
): RowReader {
  const fields = fieldsOf(record);
  const { columns } = layout.table;
  if (fields.length !== columns.length) throw new AvroSchemaUnsupported("the row is not the layout's");
  const readers = columns.map((column, index) => {
    const field = fields[index] as (typeof fields)[number];
    if (field.name !== layout.fieldNames[index])
      throw new AvroSchemaUnsupported("the row is not the layout's");
    return valueReader(column.type, nullableBranch(field.type, field.name), field.name, representation);
  });
  return new RowReader(
    columns.map((column) => column.name),
    readers,
    true,
  );
}

const ops: ReadonlySet<string> = new Set(["c", "u", "d", "r", "t"]);
/** Each one-letter op by its character code: the op string without decoding one. */
const opByCode: (Op | undefined)[] = [];
for (const op of ops) opByCode[op.charCodeAt(0)] = op as Op;

function readOp(cursor: AvroCursor): string {
  const { buffer, position } = cursor;
  // Length 1 is the zigzag byte 2.
  if (buffer[position] === 2 && position + 2 <= cursor.end) {
    const op = opByCode[buffer[position + 1] as number];
    if (op !== undefined) {
      cursor.position = position + 2;
      return op;
    }
  }
  return cursor.readString();
}

/** Frozen: one shared list for the events without unavailable columns. */
const NO_COLUMNS: readonly string[] = Object.freeze([]);

function readNames(cursor: AvroCursor): readonly string[] {
  let names: string[] | undefined;
  for (let count = cursor.readBlockCount(); count !== 0; count = cursor.readBlockCount()) {
    names ??= [];
    for (let index = 0; index < count; index++) names.push(cursor.readString());
  }
  return names ?? NO_COLUMNS;
}

/** What the value decoder does with each field of the envelope, source fields included. */
const SKIP = 0;
const BEFORE = 1;
const AFTER = 2;
const VERSION = 3;
const SOURCE_TS_MS = 4;
const OP = 5;
const UNAVAILABLE = 6;

interface Step {
  readonly action: number;
  readonly skip: Skip;
}

/** The row record of an image field (["null", row]), resolved through its name. */
function imageRecord(types: AvroTypes, type: AvroSchema | undefined, namespace: string | undefined) {
  const row = types.resolve(nullableBranch(type ?? "null", "an image"), namespace) as AvroObjectSchema;
  if (typeNameOf(row) !== "record") throw new AvroSchemaUnsupported("an image is not a record");
  return row;
}

/**
 * Where an envelope's parts are in its bytes, as EnvelopeWalker finds them. One per decoder,
 * reused from record to record.
 */
class EnvelopeParts {
  op = "";
  /** Where the before and after fields (["null", row] unions) start. */
  before = -1;
  after = -1;
  /** Where the image the event leaves (after; before for a delete) starts; -1 for none. */
  image = -1;
  /** The source version's UTF-8 bytes are [versionStart, versionEnd). */
  versionStart = 0;
  versionEnd = 0;
  sourceTsMs = 0;
  /** Where unavailable_columns starts; -1 when the schema has no such field. */
  unavailable = -1;
}

/**
 * Walks an envelope's fields in writer order, the source block's inline (its bytes are), noting
 * where each part the sink uses is and skipping the rest: the decoder and the scanner read their
 * parts from there.
 */
class EnvelopeWalker {
  readonly table: TableSpec;
  /** The row record of the images. */
  readonly row: AvroObjectSchema;
  readonly #steps: Step[] = [];

  constructor(schema: AvroRecordSchema, layout: EnvelopeLayout) {
    const types = new AvroTypes(schema as unknown as AvroSchema);
    const namespace = innerNamespace(schema, undefined);
    const typeOf = (name: string) => schema.fields.find((field) => field.name === name)?.type as AvroSchema;
    this.row = imageRecord(types, typeOf("before"), namespace);
    if (imageRecord(types, typeOf("after"), namespace) !== this.row) {
      throw new AvroSchemaUnsupported("before and after are different records");
    }
    this.table = layout.table;
    const step = (action: number, type: AvroSchema) =>
      this.#steps.push({ action, skip: types.skip(type, namespace) });
    for (const field of fieldsOf(schema as unknown as AvroObjectSchema)) {
      switch (field.name) {
        case "before":
          step(BEFORE, field.type);
          break;
        case "after":
          step(AFTER, field.type);
          break;
        case "source":
          this.#sourceSteps(types, types.resolve(field.type, namespace), namespace);
          break;
        case "op":
          if (typeNameOf(field.type) !== "string") throw new AvroSchemaUnsupported("op is not a string");
          step(OP, field.type);
          break;
        case "unavailable_columns":
          if (!isStringArray(field.type))
            throw new AvroSchemaUnsupported("unavailable_columns of another type");
          step(UNAVAILABLE, field.type);
          break;
        default:
          step(SKIP, field.type);
      }
    }
    const actions = new Set(this.#steps.map((candidate) => candidate.action));
    if (!actions.has(VERSION) || !actions.has(SOURCE_TS_MS) || !actions.has(OP)) {
      throw new AvroSchemaUnsupported("the envelope has no op, source version or source ts_ms");
    }
  }

  #sourceSteps(types: AvroTypes, source: AvroSchema, namespace: string | undefined): void {
    if (typeNameOf(source) !== "record") throw new AvroSchemaUnsupported("the source is not a record");
    const inner = innerNamespace(source as AvroObjectSchema, namespace);
    for (const field of fieldsOf(source as AvroObjectSchema)) {
      const type = typeNameOf(field.type);
      const action =
        field.name === "version" && type === "string"
          ? VERSION
          : field.name === "ts_ms" && type === "long"
            ? SOURCE_TS_MS
            : SKIP;
      this.#steps.push({ action, skip: types.skip(field.type, inner) });
    }
  }

  /**
   * From the cursor's position to the envelope's end, noting the parts' places in `parts`; the
   * cursor is left at the end.
   */
  walk(cursor: AvroCursor, parts: EnvelopeParts): void {
    parts.unavailable = -1;
    const steps = this.#steps;
    for (let index = 0; index < steps.length; index++) {
      const step = steps[index] as Step;
      switch (step.action) {
        case BEFORE:
          parts.before = cursor.position;
          step.skip(cursor);
          break;
        case AFTER:
          parts.after = cursor.position;
          step.skip(cursor);
          break;
        case VERSION: {
          const length = cursor.readLength();
          parts.versionStart = cursor.position;
          cursor.position += length;
          parts.versionEnd = cursor.position;
          break;
        }
        case SOURCE_TS_MS:
          parts.sourceTsMs = Number(cursor.readLong());
          break;
        case OP:
          parts.op = readOp(cursor);
          break;
        case UNAVAILABLE:
          parts.unavailable = cursor.position;
          step.skip(cursor);
          break;
        default:
          step.skip(cursor);
      }
    }
    const end = cursor.position;
    // The image the event leaves (after), or for a delete the one it removes (before).
    cursor.position = parts.op === "d" ? parts.before : parts.after;
    parts.image = cursor.readPresent() ? cursor.position : -1;
    cursor.position = end;
  }
}

function checkedOp(op: string): Op {
  if (!ops.has(op)) throw new RecordError(`unknown op ${JSON.stringify(op)}`, { code: "ENVELOPE_OP" });
  return op as Op;
}

/** The envelope with its image as a row: the general path's decoder. */
class EnvelopeDecoder implements BodyDecoder<SinkEvent> {
  readonly #cursor = new AvroCursor();
  readonly #walker: EnvelopeWalker;
  readonly #rows: RowReader;
  readonly #parts = new EnvelopeParts();

  constructor(schema: AvroRecordSchema, layout: EnvelopeLayout) {
    this.#walker = new EnvelopeWalker(schema, layout);
    this.#rows = rowReaderOf(layout, this.#walker.row);
  }

  decode(buffer: Buffer, offset: number): SinkEvent {
    const cursor = this.#cursor;
    const parts = this.#parts;
    cursor.start(buffer, offset);
    this.#walker.walk(cursor, parts);
    const end = cursor.position;
    let image: Row | null = null;
    if (parts.image >= 0) {
      cursor.position = parts.image;
      image = this.#rows.read(cursor);
    }
    let unavailableColumns = NO_COLUMNS;
    if (parts.unavailable >= 0) {
      cursor.position = parts.unavailable;
      unavailableColumns = readNames(cursor);
    }
    cursor.position = end;
    cursor.finish();
    return {
      table: this.#walker.table,
      op: checkedOp(parts.op),
      image,
      version: buffer.toString("utf8", parts.versionStart, parts.versionEnd),
      sourceTsMs: parts.sourceTsMs,
      unavailableColumns,
    };
  }
}

/**
 * The fast path's view of an envelope (direct-rows.ts): where its image and version are in the
 * record's bytes, nothing decoded. One per scanner, valid until its next scan.
 */
export interface EnvelopeScan {
  readonly op: Op;
  /** Where the image (after; before for a delete) starts, -1 for none: ImageValuesReader reads it. */
  readonly image: number;
  /** The source version's UTF-8 bytes are [versionStart, versionEnd) of the record. */
  readonly versionStart: number;
  readonly versionEnd: number;
  readonly sourceTsMs: number;
  /** Whether the event names unavailable (unchanged TOAST) columns. */
  readonly anyUnavailable: boolean;
}

export interface EnvelopeScanner {
  readonly table: TableSpec;
  /** The envelope that starts at `offset` and ends with the buffer; throws as decode() does. */
  scan(buffer: Buffer, offset: number): EnvelopeScan;
}

class ScanResult implements EnvelopeScan {
  op: Op = "c";
  image = -1;
  versionStart = 0;
  versionEnd = 0;
  sourceTsMs = 0;
  anyUnavailable = false;
}

class Scanner implements EnvelopeScanner {
  readonly table: TableSpec;
  readonly #cursor = new AvroCursor();
  readonly #walker: EnvelopeWalker;
  readonly #parts = new EnvelopeParts();
  readonly #scan = new ScanResult();

  constructor(schema: AvroRecordSchema, layout: EnvelopeLayout) {
    this.#walker = new EnvelopeWalker(schema, layout);
    this.table = this.#walker.table;
  }

  scan(buffer: Buffer, offset: number): EnvelopeScan {
    const cursor = this.#cursor;
    const parts = this.#parts;
    const scan = this.#scan;
    cursor.start(buffer, offset);
    this.#walker.walk(cursor, parts);
    cursor.finish();
    // An empty array is its block count 0, one zero byte; any other count starts with another.
    scan.anyUnavailable = parts.unavailable >= 0 && buffer[parts.unavailable] !== 0;
    scan.op = checkedOp(parts.op);
    scan.image = parts.image;
    scan.versionStart = parts.versionStart;
    scan.versionEnd = parts.versionEnd;
    scan.sourceTsMs = parts.sourceTsMs;
    return scan;
  }
}

function isStringArray(type: AvroSchema): boolean {
  return (
    typeNameOf(type) === "array" && typeNameOf((type as AvroObjectSchema).items as AvroSchema) === "string"
  );
}

/** The readers of a key's fields: the writer's fields must be `fields`, in order. */
function keyReadersOf(schema: AvroRecordSchema, fields: readonly KeyField[]): ReadValue[] {
  const writerFields = fieldsOf(schema as unknown as AvroObjectSchema);
  if (writerFields.length !== fields.length) throw new AvroSchemaUnsupported("the key is not its fields'");
  return fields.map((field, index) => {
    const writer = writerFields[index] as (typeof writerFields)[number];
    if (writer.name !== field.fieldName) throw new AvroSchemaUnsupported("the key is not its fields'");
    return valueReader(field.type, writer.type, field.fieldName);
  });
}

class KeyDecoder implements BodyDecoder<Row> {
  readonly #cursor = new AvroCursor();
  readonly #fields: RowReader;

  constructor(schema: AvroRecordSchema, fields: readonly KeyField[]) {
    this.#fields = new RowReader(
      fields.map((field) => field.name),
      keyReadersOf(schema, fields),
      false,
    );
  }

  decode(buffer: Buffer, offset: number): Row {
    const cursor = this.#cursor;
    cursor.start(buffer, offset);
    const key = this.#fields.read(cursor);
    cursor.finish();
    return key;
  }
}

/** Checks that a key decodes, skipping its fields instead of reading them (no row, no values). */
class KeyChecker implements BodyDecoder<void> {
  readonly #cursor = new AvroCursor();
  readonly #skip: Skip;

  constructor(schema: AvroRecordSchema, fields: readonly KeyField[]) {
    keyReadersOf(schema, fields); // the key decoder's checks of the schema
    const types = new AvroTypes(schema as unknown as AvroSchema);
    this.#skip = types.skip(schema as unknown as AvroSchema, undefined);
  }

  decode(buffer: Buffer, offset: number): void {
    const cursor = this.#cursor;
    cursor.start(buffer, offset);
    this.#skip(cursor);
    cursor.finish();
  }
}

function unlessUnsupported<T>(compile: () => T): T | undefined {
  try {
    return compile();
  } catch (error) {
    if (error instanceof AvroSchemaUnsupported) return undefined;
    throw error;
  }
}

/** The compiled decoder of envelope values written with `schema`, or undefined (then use avsc). */
export function compileValueDecoder(
  schema: AvroRecordSchema,
  layout: EnvelopeLayout,
): BodyDecoder<SinkEvent> | undefined {
  return unlessUnsupported(() => new EnvelopeDecoder(schema, layout));
}

/**
 * The compiled decoder of envelope values whose image is only where it starts in the buffer
 * (skipped, not read), or undefined: for reading the image later with compileImageValuesReader's
 * reader, straight into what the warehouse gets.
 */
export function compileEnvelopeScanner(
  schema: AvroRecordSchema,
  layout: EnvelopeLayout,
): EnvelopeScanner | undefined {
  return unlessUnsupported(() => new Scanner(schema, layout));
}

/** Reads the column values of a row image found by an envelope scanner. */
export interface ImageValuesReader {
  /**
   * The image starting at `position` of `buffer`, into `values` in the layout's column order, as
   * rows hold them except int64s (a number when it is a safe integer), text without a maximum
   * length (where its Avro string starts in `buffer`: readsTextAsPosition) and decimals (where
   * their Avro bytes start: the unscaled integer's length, then its two's complement).
   */
  read(buffer: Buffer, position: number, values: unknown[]): void;
}

/** The image reader of envelopes written with `schema` (values as the decoded rows hold them). */
export function compileImageValuesReader(
  schema: AvroRecordSchema,
  layout: EnvelopeLayout,
): ImageValuesReader | undefined {
  return unlessUnsupported(() => {
    const types = new AvroTypes(schema as unknown as AvroSchema);
    const namespace = innerNamespace(schema, undefined);
    const after = schema.fields.find((field) => field.name === "after")?.type as AvroSchema;
    const rows = rowReaderOf(layout, imageRecord(types, after, namespace), "warehouse");
    const cursor = new AvroCursor();
    return {
      read(buffer: Buffer, position: number, values: unknown[]): void {
        cursor.start(buffer, position);
        rows.readValues(cursor, values);
        cursor.detach();
      },
    };
  });
}

/** Whether keys written with `schema` decode, without decoding them; undefined as the decoder. */
export function compileKeyChecker(
  schema: AvroRecordSchema,
  fields: readonly KeyField[],
): BodyDecoder<void> | undefined {
  return unlessUnsupported(() => new KeyChecker(schema, fields));
}

/** The compiled decoder of keys written with `schema` (decodeKey's row), or undefined. */
export function compileKeyDecoder(
  schema: AvroRecordSchema,
  fields: readonly KeyField[],
): BodyDecoder<Row> | undefined {
  return unlessUnsupported(() => new KeyDecoder(schema, fields));
}
