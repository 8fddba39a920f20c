/**
 * Kafka record batches (magic 2), built as records arrive: each record is copied once, framed,
 * into the batch buffer of its partition, and a batch is sealed (header and CRC-32C written in
 * place) only when it is sent, once the producer id, epoch and sequence are known. This is the
 * capture's hottest path after decoding, so there are no per-record objects or buffers.
 *
 * Layout: baseOffset int64 | batchLength int32 | partitionLeaderEpoch int32 | magic int8 |
 * crc uint32 (CRC-32C of everything after it) | attributes int16 | lastOffsetDelta int32 |
 * baseTimestamp int64 | maxTimestamp int64 | producerId int64 | producerEpoch int16 |
 * baseSequence int32 | recordCount int32 | records.
 * A record: length varint | attributes int8 | timestampDelta varlong | offsetDelta varint |
 * key (varint length, -1 for null) | value (likewise) | header count varint | headers.
 */
import { zigzagVarintBytes as varintBytes, writeZigzagVarint as writeVarint } from "../core/varint.js";
import { crc32c } from "./crc32c.js";

export interface BatchIdentity {
  readonly producerId: bigint;
  readonly producerEpoch: number;
  readonly transactional: boolean;
  /** CreateTime of every record, ms since the epoch. */
  readonly timestamp: number;
}

/** A record's header: name and value, as bytes. */
export type RecordHeader = readonly [Uint8Array, Uint8Array];

const HEADER_BYTES = 61;
const CRC_OFFSET = 17;
const ATTRIBUTES_OFFSET = 21;
const MAGIC = 2;
const TRANSACTIONAL = 0x10;
const NO_PARTITION_LEADER_EPOCH = -1;
const INITIAL_BATCH_BYTES = 16 * 1024;
/** Below the broker's default message.max.bytes (1 MiB), which bounds one partition's batch. */
const DEFAULT_MAX_BATCH_BYTES = 768 * 1024;

function lengthBytes(length: number): number {
  return length < 0 ? 1 : varintBytes(length) + length;
}

interface OpenBatch {
  buffer: Buffer;
  /** Bytes used, header space included. */
  length: number;
  count: number;
}

/** One partition's records of a flush, as record batches of at most `maxBatchBytes` each. */
export class PartitionBatches {
  readonly #maxBatchBytes: number;
  readonly #batches: OpenBatch[] = [];
  #records = 0;

  constructor(maxBatchBytes = DEFAULT_MAX_BATCH_BYTES) {
    this.#maxBatchBytes = maxBatchBytes;
  }

  get recordCount(): number {
    return this.#records;
  }

  /**
   * Appends one record whose key is `source[keyStart, keyStart + keyLength)` and value likewise
   * (a length of -1 for null), copying them.
   */
  append(
    source: Buffer,
    keyStart: number,
    keyLength: number,
    valueStart: number,
    valueLength: number,
    headers: readonly RecordHeader[] = [],
  ): void {
    let batch = this.#batches[this.#batches.length - 1];
    let body = this.#bodyBytes(batch?.count ?? 0, keyLength, valueLength, headers);
    let bytes = varintBytes(body) + body;
    if (!batch || (batch.count > 0 && batch.length + bytes > this.#maxBatchBytes)) {
      batch = {
        buffer: Buffer.allocUnsafe(Math.max(INITIAL_BATCH_BYTES, HEADER_BYTES + bytes)),
        length: HEADER_BYTES,
        count: 0,
      };
      this.#batches.push(batch);
      body = this.#bodyBytes(0, keyLength, valueLength, headers);
      bytes = varintBytes(body) + body;
    }
    if (batch.length + bytes > batch.buffer.length) {
      const grown = Buffer.allocUnsafe(Math.max(batch.buffer.length * 2, batch.length + bytes));
      batch.buffer.copy(grown, 0, 0, batch.length);
      batch.buffer = grown;
    }
    const buffer = batch.buffer;
    let at = writeVarint(buffer, batch.length, body);
    buffer[at++] = 0; // attributes
    buffer[at++] = 0; // timestampDelta: every record has the batch's timestamp
    at = writeVarint(buffer, at, batch.count);
    at = writeVarint(buffer, at, keyLength);
    if (keyLength > 0) at += source.copy(buffer, at, keyStart, keyStart + keyLength);
    at = writeVarint(buffer, at, valueLength);
    if (valueLength > 0) at += source.copy(buffer, at, valueStart, valueStart + valueLength);
    at = writeVarint(buffer, at, headers.length);
    for (const [name, value] of headers) {
      at = writeVarint(buffer, at, name.length);
      buffer.set(name, at);
      at = writeVarint(buffer, at + name.length, value.length);
      buffer.set(value, at);
      at += value.length;
    }
    batch.length = at;
    batch.count++;
    this.#records++;
  }

  #bodyBytes(offsetDelta: number, keyLength: number, valueLength: number, headers: readonly RecordHeader[]) {
    let bytes = 2 + varintBytes(offsetDelta) + lengthBytes(keyLength) + lengthBytes(valueLength);
    bytes += varintBytes(headers.length);
    for (const [name, value] of headers) bytes += lengthBytes(name.length) + lengthBytes(value.length);
    return bytes;
  }

  /**
   * The batches, sealed for sending: header written, checksummed. `baseSequence` is the
   * sequence number of the first record; each batch continues where the previous one ended.
   */
  seal(identity: BatchIdentity, baseSequence: number): Buffer[] {
    let sequence = baseSequence;
    return this.#batches.map((batch) => {
      const buffer = batch.buffer;
      buffer.writeBigInt64BE(0n, 0); // baseOffset: the broker assigns offsets
      buffer.writeInt32BE(batch.length - 12, 8);
      buffer.writeInt32BE(NO_PARTITION_LEADER_EPOCH, 12);
      buffer.writeInt8(MAGIC, 16);
      buffer.writeInt16BE(identity.transactional ? TRANSACTIONAL : 0, ATTRIBUTES_OFFSET);
      buffer.writeInt32BE(batch.count - 1, 23);
      buffer.writeBigInt64BE(BigInt(identity.timestamp), 27);
      buffer.writeBigInt64BE(BigInt(identity.timestamp), 35);
      buffer.writeBigInt64BE(identity.producerId, 43);
      buffer.writeInt16BE(identity.producerEpoch, 51);
      buffer.writeInt32BE(sequence, 53);
      buffer.writeInt32BE(batch.count, 57);
      buffer.writeUInt32BE(crc32c(buffer, ATTRIBUTES_OFFSET, batch.length), CRC_OFFSET);
      // Sequence numbers wrap at 2^31 like the Java client's.
      sequence = (sequence + batch.count) % 2_147_483_648;
      return buffer.subarray(0, batch.length);
    });
  }
}

/** A record given as buffers (the offsets record; the hot path appends from a scratch buffer). */
export interface BatchRecord {
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers?: Readonly<Record<string, string>>;
}

export function appendRecord(batches: PartitionBatches, record: BatchRecord): void {
  const key = record.key ?? Buffer.alloc(0);
  const value = record.value ?? Buffer.alloc(0);
  const headers = Object.entries(record.headers ?? {}).map(
    ([name, text]): RecordHeader => [Buffer.from(name), Buffer.from(text)],
  );
  batches.append(
    Buffer.concat([key, value]),
    0,
    record.key === null ? -1 : key.length,
    key.length,
    record.value === null ? -1 : value.length,
    headers,
  );
}
