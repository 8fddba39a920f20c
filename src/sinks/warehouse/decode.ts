/**
 * Kafka record → ChangeEvent and key, with the capture side's envelope functions (src/avro). This
 * file sorts the failures into what the sink does:
 * bytes that are not a Tributary record and schema ids the registry does not know are
 * RecordErrors (dead letter, the partition moves on); a registry that does not answer is a
 * retriable error (the sink waits).
 */
import avro from "avsc";
import { decodeEnvelope, decodeKey, type KeyField } from "../../avro/envelope.js";
import {
  type AvroRecordSchema,
  type EnvelopeLayout,
  keyFieldsFromSchema,
  layoutFromValueSchema,
} from "../../avro/envelope-schema.js";
import { int64TypeHook } from "../../avro/long-type.js";
import { SchemaRegistryError, type TributarySchemaRegistry } from "../../avro/registry.js";
import type { ChangeEvent, Row } from "../../core/change-event.js";
import { RecordError, TributaryError } from "../../core/errors.js";

export interface DecodedRecord {
  readonly event: ChangeEvent;
  /** The decoded Kafka key (the key columns by name); null for a truncate. */
  readonly key: Row | null;
}

export interface RawRecord {
  readonly topic: string;
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

/** A writer schema as the sink uses it: its Avro type, and what it says about the table. */
interface WriterSchema {
  readonly type: avro.Type;
  readonly json: AvroRecordSchema;
  layout?: EnvelopeLayout;
  keyFields?: KeyField[];
}

/**
 * Decodes with the capture side's pure envelope functions (envelope.ts, envelope-schema.ts), the
 * same steps as its EnvelopeDecoder, but synchronously once a schema id is known: the Avro type
 * is built once per schema id, so a record costs no registry call and no promise.
 */
export class RecordDecoder {
  readonly #registry: TributarySchemaRegistry;
  readonly #schemas = new Map<number, WriterSchema>();

  constructor(registry: TributarySchemaRegistry) {
    this.#registry = registry;
  }

  /** The record's event and key, or null for a tombstone (the null value after each delete). */
  async decode(record: RawRecord): Promise<DecodedRecord | null> {
    if (record.value === null || record.value.length === 0) return null;
    const value = record.value;
    const valueSchema = this.#schemas.get(schemaIdOf(value, "value")) ?? (await this.#load(value, "value"));
    const envelope = guard(() => {
      valueSchema.layout ??= layoutFromValueSchema(valueSchema.json);
      return decodeEnvelope(valueSchema.layout, valueSchema.type.fromBuffer(value.subarray(5)));
    }, "value");
    let key: Row | null = null;
    if (record.key !== null && record.key.length > 0 && envelope.op !== "t") {
      const keyBytes = record.key;
      const keySchema = this.#schemas.get(schemaIdOf(keyBytes, "key")) ?? (await this.#load(keyBytes, "key"));
      key = guard(() => {
        keySchema.keyFields ??= keyFieldsFromSchema(keySchema.json);
        return decodeKey(keySchema.keyFields, keySchema.type.fromBuffer(keyBytes.subarray(5)));
      }, "key");
    }
    const event: ChangeEvent = {
      table: envelope.table,
      op: envelope.op,
      before: envelope.before,
      after: envelope.after,
      source: envelope.source,
      unavailableColumns: envelope.unavailableColumns,
    };
    return { event, key };
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
    const type = guard(() => avro.Type.forSchema(json as avro.Schema, { typeHook: int64TypeHook }), what);
    const schema: WriterSchema = { type, json };
    this.#schemas.set(schemaId, schema);
    return schema;
  }
}

/** The schema id of a Confluent wire-format buffer (magic byte 0, 4-byte id). */
function schemaIdOf(buffer: Buffer, what: string): number {
  if (buffer.length < 5 || buffer[0] !== 0) {
    throw new RecordError(
      `the record ${what} is not in the Confluent wire format (magic byte 0, schema id)`,
      {
        code: "RECORD_UNDECODABLE",
      },
    );
  }
  return buffer.readInt32BE(1);
}

function guard<T>(decode: () => T, what: string): T {
  try {
    return decode();
  } catch (error) {
    if (error instanceof RecordError) throw error;
    throw new RecordError(`the record ${what} cannot be decoded: ${(error as Error).message}`, {
      code: "RECORD_UNDECODABLE",
      cause: error,
    });
  }
}
