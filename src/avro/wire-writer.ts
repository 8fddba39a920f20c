/**
 * Synchronous Confluent wire-format encoding for the capture's hot path: the encoder of a
 * registered schema is built once per schema id (event-encoder.ts), and each record is written
 * into one reused scratch buffer, from which the producer's batch copies it: no Buffer per
 * record. Wire format: magic byte 0, the schema id as a 4-byte big-endian int, the Avro body.
 */
import { RecordError } from "../core/errors.js";

export const WIRE_HEADER_BYTES = 5;

/** The schema id of a wire-format buffer, or undefined when it has no magic byte 0 and id. */
export function wireSchemaId(bytes: Buffer | null): number | undefined {
  if (bytes === null || bytes.length < WIRE_HEADER_BYTES || bytes[0] !== 0) return undefined;
  return bytes.readInt32BE(1);
}

/** A registered schema ready to encode with: its id and an encoder of its Avro body. */
export interface WireWriter<T> {
  readonly schemaId: number;
  /** Writes `value` at `offset`; returns where it ends, beyond the buffer if it did not fit. */
  readonly encode: (buffer: Buffer, offset: number, value: T) => number;
}

const INITIAL_SCRATCH_BYTES = 64 * 1024;

export class WireScratch {
  #buffer = Buffer.allocUnsafe(INITIAL_SCRATCH_BYTES);

  /** The scratch bytes; valid until the next write that starts at or before what you read. */
  get buffer(): Buffer {
    return this.#buffer;
  }

  /**
   * Writes `value` in the wire format at `offset` (bytes before it are kept) and returns where it
   * ends. Throws a RecordError if the value does not fit the schema.
   */
  write<T>(writer: WireWriter<T>, value: T, offset: number): number {
    for (;;) {
      const buffer = this.#buffer;
      let end = offset + WIRE_HEADER_BYTES;
      if (end <= buffer.length) {
        buffer[offset] = 0;
        buffer.writeInt32BE(writer.schemaId, offset + 1);
        try {
          end = writer.encode(buffer, offset + WIRE_HEADER_BYTES, value);
        } catch (error) {
          throw new RecordError(
            `value does not match schema ${writer.schemaId}: ${(error as Error).message}`,
            {
              code: "AVRO_INVALID",
              cause: error,
            },
          );
        }
        if (end <= buffer.length) return end;
      }
      // It did not fit: `end` is where it would have ended.
      const grown = Buffer.allocUnsafe(Math.max(buffer.length * 2, end + 1024));
      buffer.copy(grown, 0, 0, offset);
      this.#buffer = grown;
    }
  }
}
