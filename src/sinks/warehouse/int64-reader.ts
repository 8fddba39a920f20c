/**
 * The sink's Avro long for avsc: the values of src/avro's int64LongType (a number when it is a
 * safe integer, else a bigint), read straight from the zigzag varint by binary-decoder.ts's
 * cursor instead of through the 8-byte buffer and BigInt arithmetic of avsc's long hooks. Only
 * writer schemas the compiled decoders do not read still go through avsc (decode.ts). The sink
 * only reads with it; writing stays int64LongType's.
 */
import type avro from "avsc";
import { AvroCursor } from "../../avro/binary-decoder.js";
import { int64LongType, int64TypeHook } from "../../avro/long-type.js";

/** avsc's read cursor. */
interface Tap {
  readonly buf: Buffer;
  pos: number;
}

const cursor = new AvroCursor();

/** Throws on a truncated or invalid varint (avsc's decoders would read zeros past the end). */
export function readInt64(tap: Tap): number | bigint {
  cursor.start(tap.buf, tap.pos);
  try {
    const value = cursor.readLong();
    tap.pos = cursor.position;
    return value;
  } finally {
    cursor.detach();
  }
}

const sinkLongType: avro.Type = Object.create(int64LongType, { _read: { value: readInt64 } });

/** int64TypeHook for reading: the same long wherever it puts int64LongType. */
export function sinkInt64TypeHook(schema: avro.Schema): avro.Type | undefined {
  return int64TypeHook(schema) ? sinkLongType : undefined;
}
