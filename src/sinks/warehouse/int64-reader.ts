/**
 * The sink's Avro long: the values of src/avro's int64LongType (a number when it is a safe
 * integer, else a bigint), read straight from the zigzag varint instead of through the 8-byte
 * buffer and BigInt arithmetic of avsc's long hooks: epoch micros, ids and versions make several
 * longs per record. The sink only reads with it; writing stays int64LongType's.
 */
import type avro from "avsc";
import { int64LongType, int64TypeHook } from "../../avro/long-type.js";

/** avsc's read cursor. */
interface Tap {
  readonly buf: Buffer;
  pos: number;
}

/**
 * The weight of a varint's 9th byte. Up to 8 bytes are summed in float arithmetic: each term is
 * exact, and so is every partial sum when the total is a safe integer (epoch micros are 8 bytes).
 */
const NINTH_BYTE_SCALE = 128 ** 8;

function readWide(tap: Tap): number | bigint {
  const { buf } = tap;
  let zigzag = 0n;
  let shift = 0n;
  let byte: number;
  do {
    byte = buf[tap.pos++] as number;
    zigzag |= BigInt(byte & 0x7f) << shift;
    shift += 7n;
  } while (byte & 0x80 && shift < 70n);
  const value = BigInt.asIntN(64, (zigzag >> 1n) ^ -(zigzag & 1n));
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(value)
    : value;
}

/** A truncated buffer reads as zeros past its end; avsc then reports it (its tap is invalid). */
export function readInt64(tap: Tap): number | bigint {
  const { buf } = tap;
  let pos = tap.pos;
  let byte = buf[pos++] as number;
  let zigzag = byte & 0x7f;
  let scale = 128;
  while (byte & 0x80) {
    if (scale === NINTH_BYTE_SCALE) return readWide(tap);
    byte = buf[pos++] as number;
    zigzag += (byte & 0x7f) * scale;
    scale *= 128;
  }
  if (zigzag > Number.MAX_SAFE_INTEGER) return readWide(tap);
  tap.pos = pos;
  return zigzag % 2 === 0 ? zigzag / 2 : -(zigzag + 1) / 2;
}

const sinkLongType: avro.Type = Object.create(int64LongType, { _read: { value: readInt64 } });

/** int64TypeHook for reading: the same long wherever it puts int64LongType. */
export function sinkInt64TypeHook(schema: avro.Schema): avro.Type | undefined {
  return int64TypeHook(schema) ? sinkLongType : undefined;
}
