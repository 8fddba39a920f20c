/**
 * Kafka record → ChangeEvent and key, through the capture side's EnvelopeDecoder
 * (src/avro/envelope-decoder.ts). This file only sorts its failures into what the sink does:
 * bytes that are not a Tributary record and schema ids the registry does not know are
 * RecordErrors (dead letter, the partition moves on); a registry that does not answer is a
 * retriable error (the sink waits).
 */
import { EnvelopeDecoder } from "../../avro/envelope-decoder.js";
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

const networkCodes: ReadonlySet<string> = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
]);

/** fetch() reports a refused connection as TypeError("fetch failed") with the errno in its cause. */
function isNetworkFailure(error: unknown, depth = 0): boolean {
  if (!(error instanceof Error) || depth > 5) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string" && networkCodes.has(code)) return true;
  if (error.message === "fetch failed") return true;
  return isNetworkFailure(error.cause, depth + 1);
}

function registryUnavailable(error: unknown): TributaryError {
  return new TributaryError(`the schema registry does not answer: ${(error as Error).message}`, {
    code: "REGISTRY_UNAVAILABLE",
    retriable: true,
    cause: error,
  });
}

export class RecordDecoder {
  readonly #registry: TributarySchemaRegistry;
  readonly #decoder: EnvelopeDecoder;

  constructor(registry: TributarySchemaRegistry) {
    this.#registry = registry;
    this.#decoder = new EnvelopeDecoder(registry);
  }

  /** The record's event and key, or null for a tombstone (the null value after each delete). */
  async decode(record: RawRecord): Promise<DecodedRecord | null> {
    if (record.value === null || record.value.length === 0) return null;
    const value = record.value;
    await this.#knownSchema(value, "value");
    const envelope = await this.#guard(() => this.#decoder.decodeValue(value), "value");
    let key: Row | null = null;
    if (record.key !== null && record.key.length > 0 && envelope.op !== "t") {
      const keyBytes = record.key;
      await this.#knownSchema(keyBytes, "key");
      key = await this.#guard(() => this.#decoder.decodeKey(keyBytes), "key");
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

  /** Checks the wire format and that the registry knows the schema id, before decoding. */
  async #knownSchema(buffer: Buffer, what: string): Promise<void> {
    if (buffer.length < 5 || buffer[0] !== 0) {
      throw new RecordError(
        `the record ${what} is not in the Confluent wire format (magic byte 0, schema id)`,
        {
          code: "RECORD_UNDECODABLE",
        },
      );
    }
    const schemaId = buffer.readInt32BE(1);
    try {
      await this.#registry.schemaById(schemaId);
    } catch (error) {
      if (error instanceof SchemaRegistryError && / 404 /.test(error.message)) {
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
  }

  async #guard<T>(decode: () => Promise<T>, what: string): Promise<T> {
    try {
      return await decode();
    } catch (error) {
      if (error instanceof RecordError) throw error;
      if (isNetworkFailure(error)) throw registryUnavailable(error);
      throw new RecordError(`the record ${what} cannot be decoded: ${(error as Error).message}`, {
        code: "RECORD_UNDECODABLE",
        cause: error,
      });
    }
  }
}
