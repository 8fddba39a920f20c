/**
 * Which partition a keyed record goes to: Kafka's murmur2 (the Java client's default
 * partitioner) over the Avro body of the key, without the 5-byte wire header. The header holds
 * the key schema's id, which changes when the key schema gets a new version; hashing the body
 * keeps a row on its partition across such changes, so its events stay in order.
 */
import { WIRE_HEADER_BYTES } from "../avro/wire-writer.js";

const SEED = 0x9747b28c;
const M = 0x5bd1e995;

/** Kafka's murmur2, 32-bit signed, as org.apache.kafka.common.utils.Utils.murmur2. */
export function murmur2(data: Uint8Array, start = 0, end = data.length): number {
  const length = end - start;
  let h = SEED ^ length;
  const whole = start + length - (length % 4);
  for (let i = start; i < whole; i += 4) {
    let k =
      (data[i] as number) |
      ((data[i + 1] as number) << 8) |
      ((data[i + 2] as number) << 16) |
      ((data[i + 3] as number) << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  // The tail bytes, mixed in cascade (Java's switch falls through).
  const tail = length % 4;
  if (tail >= 3) h ^= (data[whole + 2] as number) << 16;
  if (tail >= 2) h ^= (data[whole + 1] as number) << 8;
  if (tail >= 1) {
    h ^= data[whole] as number;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** The partition of a record whose Confluent wire-format key is `buffer[start, end)`. */
export function partitionForKey(buffer: Uint8Array, start: number, end: number, partitions: number): number {
  return (murmur2(buffer, start + WIRE_HEADER_BYTES, end) & 0x7fffffff) % partitions;
}
