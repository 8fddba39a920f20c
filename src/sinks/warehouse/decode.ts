/**
 * Kafka record → the event as the sink needs it, and key. Each writer schema gets the compiled
 * decoders of src/avro/event-decoder.ts, or avsc and the capture side's envelope functions when
 * those do not read it (a schema of another shape). This file sorts the failures into what the
 * sink does:
 * bytes that are not a Tributary record and schema ids the registry does not know are
 * RecordErrors (dead letter, the partition moves on); a registry that does not answer is a
 * retriable error (the sink waits).
 */
import avro from "avsc";
import { fromAvroNullable } from "../../avro/column-values.js";
import { decodeKey, type KeyField } from "../../avro/envelope.js";
import {
  type AvroRecordSchema,
  type EnvelopeLayout,
  keyFieldsFromSchema,
  layoutFromValueSchema,
} from "../../avro/envelope-schema.js";
import {
  type BodyDecoder,
  compileEnvelopeScanner,
  compileImageValuesReader,
  compileKeyChecker,
  compileKeyDecoder,
  compileValueDecoder,
  type SinkEvent,
} from "../../avro/event-decoder.js";
import { SchemaRegistryError, type TributarySchemaRegistry } from "../../avro/registry.js";
import { WIRE_HEADER_BYTES, wireSchemaId } from "../../avro/wire-writer.js";
import type { ColumnSpec, Op, Row } from "../../core/change-event.js";
import { RecordError, TributaryError } from "../../core/errors.js";
import type { DirectReaders } from "./direct-rows.js";
import { sinkInt64TypeHook } from "./int64-reader.js";

export type { SinkEvent } from "../../avro/event-decoder.js";

export interface DecodedRecord {
  readonly event: SinkEvent;
  /** The decoded Kafka key (the key columns by name); null for a truncate. */
  readonly key: Row | null;
}

export interface RawRecord {
  readonly key: Buffer | null;
  readonly value: Buffer | null;
}

function registryUnavailable(error: unknown): TributaryError {
  return new TributaryError(`the schema registry does not answer: ${(error as Error).message}`, {
    code: "REGISTRY_UNAVAILABLE",
    retriable: true,
    cause: error,
  });
}

/**
 * A writer schema as the sink uses it: its Avro type, and how its values or keys are read, chosen
 * on first use (a schema of another kind then fails as a RecordError, every time it is used).
 */
interface WriterSchema {
  readonly type: avro.Type;
  readonly json: AvroRecordSchema;
  value?: BodyDecoder<SinkEvent>;
  key?: BodyDecoder<Row>;
  /** The fast path's readers of its values (direct-rows.ts); null when it has none. */
  direct?: Pick<DirectReaders, "scanner" | "image"> | null;
  /** The fast path's check of its keys; null when it has none. */
  keyCheck?: BodyDecoder<void> | null;
}

const ops: ReadonlySet<string> = new Set(["c", "u", "d", "r", "t"]);

/**
 * The value writer schema without what the sink never reads (the envelope's ts_ms, every source
 * field but version and ts_ms): Avro schema resolution skips those bytes instead of building
 * strings and objects of them. The writer schema itself when its source block is not inline.
 */
function readerSchemaOf(writer: AvroRecordSchema): AvroRecordSchema {
  const source = writer.fields.find((field) => field.name === "source")?.type as AvroRecordSchema | undefined;
  const kept = (source?.fields ?? []).filter((field) => field.name === "version" || field.name === "ts_ms");
  if (source?.type !== "record" || kept.length !== 2) return writer;
  const fields = writer.fields
    .filter((field) => field.name !== "ts_ms")
    .map((field) => (field.name === "source" ? { ...field, type: { ...source, fields: kept } } : field));
  return { ...writer, fields };
}

/**
 * The avsc decoder of envelope values: for writer schemas the compiled one does not read, and the
 * reference its tests compare with. Schema resolution skips what readerSchemaOf leaves out.
 */
class AvscValueDecoder implements BodyDecoder<SinkEvent> {
  readonly #layout: EnvelopeLayout;
  readonly #type: avro.Type;
  readonly #resolver: avro.Resolver | undefined;

  constructor(json: AvroRecordSchema, writer: avro.Type, layout: EnvelopeLayout) {
    this.#layout = layout;
    const readerJson = readerSchemaOf(json);
    this.#type =
      readerJson === json
        ? writer
        : avro.Type.forSchema(readerJson as avro.Schema, { typeHook: sinkInt64TypeHook });
    this.#resolver = readerJson === json ? undefined : this.#type.createResolver(writer);
  }

  decode(buffer: Buffer, offset: number): SinkEvent {
    const value = this.#type.fromBuffer(buffer.subarray(offset), this.#resolver);
    return eventOf(this.#layout, value as Record<string, unknown>);
  }
}

/** The avsc decoder of keys (decodeKey of avsc's record), as AvscValueDecoder for values. */
class AvscKeyDecoder implements BodyDecoder<Row> {
  readonly #fields: readonly KeyField[];
  readonly #type: avro.Type;

  constructor(fields: readonly KeyField[], type: avro.Type) {
    this.#fields = fields;
    this.#type = type;
  }

  decode(buffer: Buffer, offset: number): Row {
    return decodeKey(this.#fields, this.#type.fromBuffer(buffer.subarray(offset)));
  }
}

/** The Avro type the sink reads a writer schema with (longs by int64-reader.ts). */
export function writerTypeOf(json: AvroRecordSchema): avro.Type {
  return avro.Type.forSchema(json as avro.Schema, { typeHook: sinkInt64TypeHook });
}

export function avscValueDecoder(json: AvroRecordSchema, type = writerTypeOf(json)): BodyDecoder<SinkEvent> {
  return new AvscValueDecoder(json, type, layoutFromValueSchema(json));
}

export function avscKeyDecoder(json: AvroRecordSchema, type = writerTypeOf(json)): BodyDecoder<Row> {
  return new AvscKeyDecoder(keyFieldsFromSchema(json), type);
}

function valueDecoderOf(schema: WriterSchema): BodyDecoder<SinkEvent> {
  const layout = layoutFromValueSchema(schema.json);
  return compileValueDecoder(schema.json, layout) ?? new AvscValueDecoder(schema.json, schema.type, layout);
}

function keyDecoderOf(schema: WriterSchema): BodyDecoder<Row> {
  const fields = keyFieldsFromSchema(schema.json);
  return compileKeyDecoder(schema.json, fields) ?? new AvscKeyDecoder(fields, schema.type);
}

function rowOf(layout: EnvelopeLayout, record: Record<string, unknown> | null | undefined): Row | null {
  if (record === null || record === undefined) return null;
  const row: Row = {};
  const { columns } = layout.table;
  for (let index = 0; index < columns.length; index++) {
    const column = columns[index] as ColumnSpec;
    row[column.name] = fromAvroNullable(column.type, record[layout.fieldNames[index] as string]);
  }
  return row;
}

function eventOf(layout: EnvelopeLayout, value: Record<string, unknown>): SinkEvent {
  const op = String(value.op);
  if (!ops.has(op)) throw new RecordError(`unknown op ${JSON.stringify(op)}`, { code: "ENVELOPE_OP" });
  const source = value.source as Record<string, unknown>;
  const unavailable = (value.unavailable_columns as unknown[] | undefined) ?? [];
  return {
    table: layout.table,
    op: op as Op,
    image: rowOf(layout, (op === "d" ? value.before : value.after) as Record<string, unknown> | null),
    version: String(source.version),
    sourceTsMs: Number(source.ts_ms),
    unavailableColumns: unavailable.length === 0 ? [] : unavailable.map(String),
  };
}

/**
 * Decodes with the table layout and key fields of each writer schema (envelope-schema.ts),
 * synchronously once the record's schema ids are known: the decoders are built once per schema
 * id, so a record costs no registry call, no promise and no closure.
 */
export class RecordDecoder {
  readonly #registry: TributarySchemaRegistry;
  readonly #schemas = new Map<number, WriterSchema>();

  constructor(registry: TributarySchemaRegistry) {
    this.#registry = registry;
  }

  /** The record's event and key, or null for a tombstone (the null value after each delete). */
  async decode(record: RawRecord): Promise<DecodedRecord | null> {
    const { key, value } = record;
    if (value !== null && value.length > 0 && !this.#schemas.has(schemaIdOf(value, "value"))) {
      await this.#load(value, "value");
    }
    const known = this.decodeKnown(record);
    if (known !== undefined) return known;
    // The value decoded: what is missing is the key's schema.
    await this.#load(key as Buffer, "key");
    return this.decodeKnown(record) ?? null;
  }

  /**
   * Loads the record's schemas that are not loaded yet (as decode() does, without decoding): the
   * fast path needs both before it can read a record. Throws RecordError for a schema id the
   * registry does not know and for bytes not in the wire format.
   */
  async loadSchemas(record: RawRecord): Promise<void> {
    for (const [buffer, what] of [
      [record.value, "value"],
      [record.key, "key"],
    ] as const) {
      if (buffer === null || buffer.length === 0) continue;
      if (!this.#schemas.has(schemaIdOf(buffer, what))) await this.#load(buffer, what);
    }
  }

  /**
   * decode() without waiting: undefined when a schema of the record is not loaded yet (then
   * decode() loads it).
   */
  decodeKnown(record: RawRecord): DecodedRecord | null | undefined {
    if (record.value === null || record.value.length === 0) return null;
    const value = record.value;
    const valueSchema = this.#schemas.get(schemaIdOf(value, "value"));
    if (!valueSchema) return undefined;
    let event: SinkEvent;
    try {
      valueSchema.value ??= valueDecoderOf(valueSchema);
      event = valueSchema.value.decode(value, WIRE_HEADER_BYTES);
    } catch (error) {
      throw undecodable(error, "value");
    }
    if (record.key === null || record.key.length === 0 || event.op === "t") return { event, key: null };
    const keyBytes = record.key;
    const keySchema = this.#schemas.get(schemaIdOf(keyBytes, "key"));
    if (!keySchema) return undefined;
    let key: Row;
    try {
      keySchema.key ??= keyDecoderOf(keySchema);
      key = keySchema.key.decode(keyBytes, WIRE_HEADER_BYTES);
    } catch (error) {
      throw undecodable(error, "key");
    }
    return { event, key };
  }

  /**
   * The fast path's readers of records written with these schemas (direct-rows.ts), or undefined
   * when a schema is not loaded yet or has no compiled reader.
   */
  directReaders(valueSchemaId: number, keySchemaId: number): DirectReaders | undefined {
    const valueSchema = this.#schemas.get(valueSchemaId);
    const keySchema = this.#schemas.get(keySchemaId);
    if (!valueSchema || !keySchema) return undefined;
    if (valueSchema.direct === undefined) {
      valueSchema.direct = null;
      try {
        const layout = layoutFromValueSchema(valueSchema.json);
        const scanner = compileEnvelopeScanner(valueSchema.json, layout);
        const image = compileImageValuesReader(valueSchema.json, layout);
        if (scanner && image) valueSchema.direct = { scanner, image };
      } catch {
        // not an envelope: the general path says so, record by record
      }
    }
    if (!valueSchema.direct) return undefined;
    if (keySchema.keyCheck === undefined) {
      try {
        keySchema.keyCheck = compileKeyChecker(keySchema.json, keyFieldsFromSchema(keySchema.json)) ?? null;
      } catch {
        keySchema.keyCheck = null; // not a key: the general path says so, record by record
      }
    }
    if (!keySchema.keyCheck) return undefined;
    return { ...valueSchema.direct, key: keySchema.keyCheck, valueSchemaId, keySchemaId };
  }

  /** Fetches the writer schema of `buffer` from the registry. */
  async #load(buffer: Buffer, what: string): Promise<WriterSchema> {
    const schemaId = schemaIdOf(buffer, what);
    let json: AvroRecordSchema;
    try {
      json = (await this.#registry.schemaById(schemaId)) as AvroRecordSchema;
    } catch (error) {
      if (error instanceof SchemaRegistryError && error.status === 404) {
        throw new RecordError(
          `the record ${what}'s schema id ${schemaId} is unknown to the schema registry`,
          {
            code: "SCHEMA_UNKNOWN",
            cause: error,
          },
        );
      }
      throw registryUnavailable(error);
    }
    let type: avro.Type;
    try {
      type = writerTypeOf(json);
    } catch (error) {
      throw undecodable(error, what);
    }
    const schema: WriterSchema = { type, json };
    this.#schemas.set(schemaId, schema);
    return schema;
  }
}

/** The schema id of a Confluent wire-format buffer (magic byte 0, 4-byte id). */
function schemaIdOf(buffer: Buffer, what: string): number {
  const schemaId = wireSchemaId(buffer);
  if (schemaId === undefined) {
    throw new RecordError(
      `the record ${what} is not in the Confluent wire format (magic byte 0, schema id)`,
      {
        code: "RECORD_UNDECODABLE",
      },
    );
  }
  return schemaId;
}

/** A RecordError as it is; any other failure to decode as the RecordError of undecodable bytes. */
function undecodable(error: unknown, what: string): RecordError {
  if (error instanceof RecordError) return error;
  return new RecordError(`the record ${what} cannot be decoded: ${(error as Error).message}`, {
    code: "RECORD_UNDECODABLE",
    cause: error,
  });
}
