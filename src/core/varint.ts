/**
 * Zigzag varints of 32-bit integers: the integer encoding Avro (int, and lengths) and Kafka's
 * record format (lengths, offset deltas) share. Small magnitudes, negative or not, take one byte.
 */

/** Writes `value` at `offset` and returns where it ends. */
export function writeZigzagVarint(buffer: Uint8Array, offset: number, value: number): number {
  let zigzag = ((value << 1) ^ (value >> 31)) >>> 0;
  while (zigzag >= 0x80) {
    buffer[offset++] = (zigzag & 0x7f) | 0x80;
    zigzag >>>= 7;
  }
  buffer[offset++] = zigzag;
  return offset;
}

/** Bytes writeZigzagVarint takes for `value`. */
export function zigzagVarintBytes(value: number): number {
  let zigzag = ((value << 1) ^ (value >> 31)) >>> 0;
  let bytes = 1;
  while (zigzag >= 0x80) {
    zigzag >>>= 7;
    bytes++;
  }
  return bytes;
}
