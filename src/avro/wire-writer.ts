/**
 * Synchronous Confluent wire-format encoding for the capture's hot path: the encoder of a
 * registered schema is built once per schema id (event-encoder.ts), and records are written into large shared
 * chunks (an EncodeArena) instead of one small Buffer per record, which would cost an allocation,
 * a copy and garbage per event. Wire format: magic byte 0, the schema id as a 4-byte big-endian
 * int, the Avro body.
 */
import { RecordError } from "../core/errors.js";

export const WIRE_HEADER_BYTES = 5;

/** A registered schema ready to encode with: its id and an encoder of its Avro body. */
export interface WireWriter<T> {
  readonly schemaId: number;
  /** Writes `value` at `offset`; returns where it ends, beyond the buffer if it did not fit. */
  readonly encode: (buffer: Buffer, offset: number, value: T) => number;
}

const DEFAULT_CHUNK_BYTES = 256 * 1024;

/**
 * Bump allocation of encoded records: each record is a view into the current chunk, and a chunk
 * is freed once every record in it is (the flush that owns the arena is done).
 */
export class EncodeArena {
  #chunk: Buffer;
  #offset = 0;
  /** Bytes handed out so far. */
  bytes = 0;

  constructor(private readonly chunkBytes = DEFAULT_CHUNK_BYTES) {
    this.#chunk = Buffer.allocUnsafe(chunkBytes);
  }

  /** `value` encoded with `writer` in the wire format; throws a RecordError if it does not fit the schema. */
  write<T>(writer: WireWriter<T>, value: T): Buffer {
    for (;;) {
      const chunk = this.#chunk;
      const start = this.#offset;
      let needed = WIRE_HEADER_BYTES + 64;
      if (chunk.length - start > WIRE_HEADER_BYTES) {
        chunk[start] = 0;
        chunk.writeInt32BE(writer.schemaId, start + 1);
        let end: number;
        try {
          end = writer.encode(chunk, start + WIRE_HEADER_BYTES, value);
        } catch (error) {
          throw new RecordError(
            `value does not match schema ${writer.schemaId}: ${(error as Error).message}`,
            {
              code: "AVRO_INVALID",
              cause: error,
            },
          );
        }
        if (end <= chunk.length) {
          this.#offset = end;
          this.bytes += end - start;
          return chunk.subarray(start, end);
        }
        // It did not fit: `end` is where it would have ended.
        needed = end - start;
      }
      this.#chunk = Buffer.allocUnsafe(Math.max(this.chunkBytes, needed));
      this.#offset = 0;
    }
  }
}
