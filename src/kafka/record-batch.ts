/**
 * Kafka record batches (magic 2), encoded in one pass into one exactly-sized buffer: the sizes
 * are summed first, then every record is written in place and the batch checksummed once. This
 * is the capture's hottest path after decoding, so no per-record objects or buffers.
 *
 * Layout: baseOffset int64 | batchLength int32 | partitionLeaderEpoch int32 | magic int8 |
 * crc uint32 (CRC-32C of everything after it) | attributes int16 | lastOffsetDelta int32 |
 * baseTimestamp int64 | maxTimestamp int64 | producerId int64 | producerEpoch int16 |
 * baseSequence int32 | recordCount int32 | records.
 * A record: length varint | attributes int8 | timestampDelta varlong | offsetDelta varint |
 * key (varint length, -1 for null) | value (likewise) | header count varint | headers.
 */
import { crc32c } from "./crc32c.js";

export interface BatchRecord {
  /** Null for records without a key. */
  readonly key: Buffer | null;
  /** Null for a tombstone. */
  readonly value: Buffer | null;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface BatchIdentity {
  readonly producerId: bigint;
  readonly producerEpoch: number;
  /** The sequence number of the batch's first record (idempotence). */
  readonly baseSequence: number;
  readonly transactional: boolean;
  /** CreateTime of every record, ms since the epoch. */
  readonly timestamp: number;
}

const HEADER_BYTES = 61;
const CRC_OFFSET = 17;
const ATTRIBUTES_OFFSET = 21;
const MAGIC = 2;
const TRANSACTIONAL = 0x10;
const NO_PARTITION_LEADER_EPOCH = -1;

/** Bytes of `value` as a zigzag varint (Kafka's signed varint). */
function varintBytes(value: number): number {
  let zigzag = ((value << 1) ^ (value >> 31)) >>> 0;
  let bytes = 1;
  while (zigzag >= 0x80) {
    zigzag >>>= 7;
    bytes++;
  }
  return bytes;
}

function writeVarint(buffer: Buffer, offset: number, value: number): number {
  let zigzag = ((value << 1) ^ (value >> 31)) >>> 0;
  while (zigzag >= 0x80) {
    buffer[offset++] = (zigzag & 0x7f) | 0x80;
    zigzag >>>= 7;
  }
  buffer[offset++] = zigzag;
  return offset;
}

function headerEntries(record: BatchRecord): [Buffer, Buffer][] {
  if (!record.headers) return [];
  return Object.entries(record.headers).map(([key, value]) => [Buffer.from(key), Buffer.from(value)]);
}

/** The record's bytes after its length prefix. */
function bodyBytes(record: BatchRecord, offsetDelta: number, headers: [Buffer, Buffer][]): number {
  const key = record.key;
  const value = record.value;
  let bytes =
    2 + // attributes, timestampDelta 0
    varintBytes(offsetDelta) +
    (key === null ? 1 : varintBytes(key.length) + key.length) +
    (value === null ? 1 : varintBytes(value.length) + value.length) +
    varintBytes(headers.length);
  for (const [name, text] of headers) {
    bytes += varintBytes(name.length) + name.length + varintBytes(text.length) + text.length;
  }
  return bytes;
}

function writeBytes(buffer: Buffer, offset: number, bytes: Buffer | null): number {
  if (bytes === null) return writeVarint(buffer, offset, -1);
  const at = writeVarint(buffer, offset, bytes.length);
  bytes.copy(buffer, at);
  return at + bytes.length;
}

/** Encodes `records[start, end)` as one record batch. */
export function encodeRecordBatch(
  records: readonly BatchRecord[],
  start: number,
  end: number,
  identity: BatchIdentity,
): Buffer {
  const count = end - start;
  const headers: ([Buffer, Buffer][] | undefined)[] = [];
  const bodies = new Int32Array(count);
  let size = HEADER_BYTES;
  for (let index = 0; index < count; index++) {
    const record = records[start + index] as BatchRecord;
    const recordHeaders = record.headers ? headerEntries(record) : undefined;
    headers.push(recordHeaders);
    const body = bodyBytes(record, index, recordHeaders ?? []);
    bodies[index] = body;
    size += varintBytes(body) + body;
  }

  const buffer = Buffer.allocUnsafe(size);
  buffer.writeBigInt64BE(0n, 0); // baseOffset: the broker assigns offsets
  buffer.writeInt32BE(size - 12, 8);
  buffer.writeInt32BE(NO_PARTITION_LEADER_EPOCH, 12);
  buffer.writeInt8(MAGIC, 16);
  buffer.writeInt16BE(identity.transactional ? TRANSACTIONAL : 0, ATTRIBUTES_OFFSET);
  buffer.writeInt32BE(count - 1, 23);
  buffer.writeBigInt64BE(BigInt(identity.timestamp), 27);
  buffer.writeBigInt64BE(BigInt(identity.timestamp), 35);
  buffer.writeBigInt64BE(identity.producerId, 43);
  buffer.writeInt16BE(identity.producerEpoch, 51);
  buffer.writeInt32BE(identity.baseSequence, 53);
  buffer.writeInt32BE(count, 57);

  let offset = HEADER_BYTES;
  for (let index = 0; index < count; index++) {
    const record = records[start + index] as BatchRecord;
    offset = writeVarint(buffer, offset, bodies[index] as number);
    buffer[offset++] = 0; // attributes
    buffer[offset++] = 0; // timestampDelta: every record has the batch's timestamp
    offset = writeVarint(buffer, offset, index);
    offset = writeBytes(buffer, offset, record.key);
    offset = writeBytes(buffer, offset, record.value);
    const recordHeaders = headers[index] ?? [];
    offset = writeVarint(buffer, offset, recordHeaders.length);
    for (const [name, text] of recordHeaders) {
      offset = writeBytes(buffer, offset, name);
      offset = writeBytes(buffer, offset, text);
    }
  }
  buffer.writeUInt32BE(crc32c(buffer, ATTRIBUTES_OFFSET, size), CRC_OFFSET);
  return buffer;
}

/** Bytes `record` takes in a batch, for sizing batches before encoding them. */
export function recordBytes(record: BatchRecord): number {
  // Generous for the varints; headers are rare (the offsets record) and small.
  return (record.key?.length ?? 0) + (record.value?.length ?? 0) + (record.headers ? 128 : 16);
}
