/**
 * Decodes the record batches kafkajs 2.2.4 fetches without its per-record garbage. The release
 * reads each record through a new Decoder over a slice of it, and computes each record's offset
 * and timestamp with BigInts parsed again from the batch's strings (kafkajs/src/utils/long.js):
 * about 1.4 KB allocated per record, three quarters of all a sink allocates (bench/RESULTS.md).
 * This reads the records where they lie, with numbers while those are safe integers, and builds
 * the very objects the release builds. A record it cannot read so (a timestamp delta of more than
 * 7 bytes, an offset or timestamp beyond 2^53, a record that overruns its length, any other
 * oddity) goes through the release's own record decoder, and comes out as the release has it.
 *
 * kafkajs loads its fetch response decoders on the first fetch and they keep the record batch
 * decoder they require: importing this module before that puts this one in its place, for every
 * consumer of the process. Another kafkajs release, or a process that already fetched, keeps the
 * release's decoder (`kafkajsRecordBatchReplaced` says which).
 */
import { isPatchedKafkajs, kafkajsRequire } from "./kafkajs-release.js";

/** The kafkajs Decoder methods used here (kafkajs/src/protocol/decoder.js). */
interface KafkaDecoder {
  buffer: Buffer;
  offset: number;
  readInt8(): number;
  readInt16(): number;
  readInt32(): number;
  readInt64(): { toString(): string };
  readVarIntBytes(): Buffer | null;
  readAll(): Buffer;
  slice(size: number): KafkaDecoder;
  forward(size: number): void;
}

/** What the release passes each record as `batchContext`: its record batch's header. */
export interface RecordBatchContext {
  readonly firstOffset: string;
  readonly firstTimestamp: string;
  readonly partitionLeaderEpoch: number;
  readonly inTransaction: boolean;
  readonly isControlBatch: boolean;
  readonly lastOffsetDelta: number;
  readonly producerId: string;
  readonly producerEpoch: number;
  readonly firstSequence: number;
  readonly maxTimestamp: string;
  readonly timestampType: number;
  readonly magicByte: number;
}

/** A record as kafkajs's record decoder gives it. */
export interface FetchedRecord {
  readonly magicByte: number;
  readonly attributes: number;
  readonly timestamp: string;
  readonly offset: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: Record<string, unknown>;
  readonly isControlRecord: boolean;
  readonly batchContext: RecordBatchContext;
}

export type DecodedRecordBatch = Omit<RecordBatchContext, "magicByte"> & {
  readonly records: FetchedRecord[];
};

export type RecordBatchDecoder = (fetchDecoder: unknown) => Promise<DecodedRecordBatch>;

interface Codec {
  decompress(buffer: Buffer): Promise<Buffer>;
}

/** The kafkajs parts the decoder is made of, so that it behaves as the release's. */
interface KafkajsParts {
  readonly Decoder: new (buffer: Buffer) => KafkaDecoder;
  readonly PartialMessageError: new (message: string) => Error;
  readonly lookupCodecByAttributes: (attributes: number) => Codec | null;
  readonly decodeReleasedRecord: (decoder: KafkaDecoder, context: RecordBatchContext) => FetchedRecord;
  readonly LOG_APPEND_TIME: number;
  readonly CREATE_TIME: number;
}

const TIMESTAMP_TYPE_FLAG_MASK = 0x8;
const TRANSACTIONAL_FLAG_MASK = 0x10;
const CONTROL_FLAG_MASK = 0x20;
/** A varlong of up to 7 bytes holds at most 49 bits: exact as a number. */
const MAX_NUMBER_VARLONG_BYTES = 7;

function safeInteger(text: string): number | undefined {
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : undefined;
}

/** The release's fold of a record's headers into an object: a repeated name gets an array. */
function foldHeaders(
  headers: readonly { key: string | null; value: Buffer | null }[],
): Record<string, unknown> {
  const folded: Record<string, unknown> = {};
  for (const { key, value } of headers) {
    const name = String(key);
    const existing = folded[name];
    const next =
      existing === undefined ? value : Array.isArray(existing) ? existing.concat([value]) : [existing, value];
    // Defined, not assigned: a header named __proto__ is a property, as the release's spread makes it.
    Object.defineProperty(folded, name, {
      value: next,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return folded;
}

/**
 * Reads the records of one record batch in place. Every read stays within the record's length;
 * a read that would not, or a value a number cannot hold exactly, makes `read` hand the record to
 * the release's decoder instead.
 */
class RecordReader {
  readonly #context: RecordBatchContext;
  readonly #parts: KafkajsParts;
  readonly #baseOffset: number | undefined;
  readonly #baseTimestamp: number | undefined;
  readonly #appendTime: boolean;
  #buffer: Buffer = Buffer.alloc(0);
  #position = 0;
  #end = 0;
  /** Set by a read that could not be done here. */
  #refused = false;

  constructor(context: RecordBatchContext, parts: KafkajsParts) {
    this.#context = context;
    this.#parts = parts;
    this.#baseOffset = safeInteger(context.firstOffset);
    this.#baseTimestamp = safeInteger(context.firstTimestamp);
    this.#appendTime = context.timestampType === parts.LOG_APPEND_TIME && Boolean(context.maxTimestamp);
  }

  /** The record at `decoder`'s offset; the decoder is left after it, as the release leaves it. */
  read(decoder: KafkaDecoder): FetchedRecord {
    const start = decoder.offset;
    this.#buffer = decoder.buffer;
    this.#position = start;
    this.#end = decoder.buffer.length;
    this.#refused = false;
    const length = this.#varint();
    const end = this.#position + length;
    if (!this.#refused && length >= 0 && end <= this.#end) {
      this.#end = end;
      const record = this.#record();
      if (!this.#refused) {
        decoder.offset = end;
        return record;
      }
    }
    decoder.offset = start;
    const recordBytes = decoder.readVarIntBytes() as Buffer;
    return this.#parts.decodeReleasedRecord(new this.#parts.Decoder(recordBytes), this.#context);
  }

  #record(): FetchedRecord {
    const context = this.#context;
    const attributes = (this.#byte() << 24) >> 24;
    const timestampDelta = this.#varlong();
    const offsetDelta = this.#varint();
    const key = this.#bytes();
    const value = this.#bytes();
    const headers = this.#headers();
    let timestamp = context.maxTimestamp;
    if (!this.#appendTime) timestamp = this.#sum(this.#baseTimestamp, timestampDelta);
    const offset = this.#sum(this.#baseOffset, offsetDelta);
    return {
      magicByte: context.magicByte,
      attributes,
      timestamp,
      offset,
      key,
      value,
      headers,
      isControlRecord: context.isControlBatch,
      batchContext: context,
    };
  }

  #sum(base: number | undefined, delta: number): string {
    const sum = (base as number) + delta;
    if (base === undefined || !Number.isSafeInteger(sum)) this.#refused = true;
    return String(sum);
  }

  #byte(): number {
    if (this.#position >= this.#end) {
      this.#refused = true;
      return 0;
    }
    return this.#buffer[this.#position++] as number;
  }

  /** kafkajs's readVarInt, to the letter: a zigzag varint folded to 32 bits. */
  #varint(): number {
    let result = 0;
    let shift = 0;
    let byte: number;
    do {
      byte = this.#byte();
      result += (byte & 0x7f) << shift;
      shift += 7;
    } while (byte >= 0x80);
    return (result >>> 1) ^ -(result & 1);
  }

  /** A zigzag varlong, exact while it has at most 7 bytes; longer ones are refused. */
  #varlong(): number {
    let value = 0;
    let scale = 1;
    for (let count = 0; count < MAX_NUMBER_VARLONG_BYTES; count++) {
      const byte = this.#byte();
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) return value % 2 === 0 ? value / 2 : -(value + 1) / 2;
      scale *= 128;
    }
    this.#refused = true;
    return 0;
  }

  /** kafkajs's readVarIntBytes: -1 is null; a slice, not a copy. */
  #bytes(): Buffer | null {
    const length = this.#varint();
    if (length === -1) return null;
    const end = this.#position + length;
    if (length < 0 || end > this.#end) {
      this.#refused = true;
      return null;
    }
    const bytes = this.#buffer.subarray(this.#position, end);
    this.#position = end;
    return bytes;
  }

  #headers(): Record<string, unknown> {
    const count = this.#varint();
    if (count === 0 || count === -1) return {};
    if (count < 0 || count > this.#end - this.#position) {
      this.#refused = true;
      return {};
    }
    const headers: { key: string | null; value: Buffer | null }[] = [];
    for (let index = 0; index < count && !this.#refused; index++) {
      const name = this.#bytes();
      headers.push({ key: name === null ? null : name.toString("utf8"), value: this.#bytes() });
    }
    return foldHeaders(headers);
  }
}

/** The release's record batch decoder (recordBatch/v0/decoder.js), reading records in place. */
function recordBatchDecoder(parts: KafkajsParts): RecordBatchDecoder {
  const readRecords = (decoder: KafkaDecoder, count: number, context: RecordBatchContext) => {
    const records = new Array<FetchedRecord>(count);
    const reader = new RecordReader(context, parts);
    for (let index = 0; index < count; index++) records[index] = reader.read(decoder);
    return records;
  };
  return async (fetchDecoderArgument) => {
    const fetchDecoder = fetchDecoderArgument as KafkaDecoder;
    const firstOffset = fetchDecoder.readInt64().toString();
    const length = fetchDecoder.readInt32();
    const decoder = fetchDecoder.slice(length);
    fetchDecoder.forward(length);
    const remainingBytes = decoder.buffer.length;
    if (remainingBytes < length) {
      throw new parts.PartialMessageError(
        `Tried to decode a partial record batch: remainingBytes(${remainingBytes}) < recordBatchLength(${length})`,
      );
    }
    const partitionLeaderEpoch = decoder.readInt32();
    const magicByte = decoder.readInt8();
    decoder.readInt32(); // the CRC, which the release does not check either
    const attributes = decoder.readInt16();
    const lastOffsetDelta = decoder.readInt32();
    const firstTimestamp = decoder.readInt64().toString();
    const maxTimestamp = decoder.readInt64().toString();
    const producerId = decoder.readInt64().toString();
    const producerEpoch = decoder.readInt16();
    const firstSequence = decoder.readInt32();
    const batch = {
      firstOffset,
      firstTimestamp,
      partitionLeaderEpoch,
      inTransaction: (attributes & TRANSACTIONAL_FLAG_MASK) > 0,
      isControlBatch: (attributes & CONTROL_FLAG_MASK) > 0,
      lastOffsetDelta,
      producerId,
      producerEpoch,
      firstSequence,
      maxTimestamp,
      timestampType: (attributes & TIMESTAMP_TYPE_FLAG_MASK) > 0 ? parts.LOG_APPEND_TIME : parts.CREATE_TIME,
    };
    const context: RecordBatchContext = { ...batch, magicByte };
    const codec = parts.lookupCodecByAttributes(attributes);
    let records: FetchedRecord[];
    if (!codec) {
      const count = decoder.readInt32();
      records = count === -1 ? [] : readRecords(decoder, count, context);
    } else {
      const count = decoder.readInt32();
      const decompressed = count <= 0 ? undefined : await codec.decompress(decoder.readAll());
      records = decompressed ? readRecords(new parts.Decoder(decompressed), count, context) : [];
    }
    return { ...batch, records };
  };
}

function kafkajsParts(): KafkajsParts {
  const timestampTypes = kafkajsRequire("kafkajs/src/protocol/timestampTypes.js") as {
    LOG_APPEND_TIME: number;
    CREATE_TIME: number;
  };
  return {
    Decoder: kafkajsRequire("kafkajs/src/protocol/decoder.js") as KafkajsParts["Decoder"],
    PartialMessageError: (
      kafkajsRequire("kafkajs/src/errors.js") as Record<string, KafkajsParts["PartialMessageError"]>
    ).KafkaJSPartialMessageError as KafkajsParts["PartialMessageError"],
    lookupCodecByAttributes: (
      kafkajsRequire("kafkajs/src/protocol/message/compression/index.js") as Pick<
        KafkajsParts,
        "lookupCodecByAttributes"
      >
    ).lookupCodecByAttributes,
    decodeReleasedRecord: kafkajsRequire(
      "kafkajs/src/protocol/recordBatch/record/v0/decoder.js",
    ) as KafkajsParts["decodeReleasedRecord"],
    LOG_APPEND_TIME: timestampTypes.LOG_APPEND_TIME,
    CREATE_TIME: timestampTypes.CREATE_TIME,
  };
}

const RECORD_BATCH_DECODER = "kafkajs/src/protocol/recordBatch/v0/decoder.js";
/** The one module that requires the record batch decoder, on a consumer's first fetch. */
const FETCH_RECORDS_DECODER = "kafkajs/src/protocol/requests/fetch/v4/decodeMessages.js";
const ours = Symbol.for("tributary.kafkajs-record-batch");

/** The release's record batch decoder and this one, when this one is in its place. */
export interface RecordBatchDecoders {
  readonly released: RecordBatchDecoder;
  readonly inPlace: RecordBatchDecoder;
}

function replaceRecordBatchDecoder(): RecordBatchDecoders | undefined {
  if (!isPatchedKafkajs()) return undefined;
  const cache = kafkajsRequire.cache;
  if (cache[kafkajsRequire.resolve(FETCH_RECORDS_DECODER)]) return undefined;
  const exported = kafkajsRequire(RECORD_BATCH_DECODER) as RecordBatchDecoder & {
    [ours]?: RecordBatchDecoders;
  };
  const existing = exported[ours];
  if (existing) return existing;
  const inPlace = recordBatchDecoder(kafkajsParts()) as RecordBatchDecoder & { [ours]?: RecordBatchDecoders };
  const decoders = { released: exported, inPlace };
  inPlace[ours] = decoders;
  const module = cache[kafkajsRequire.resolve(RECORD_BATCH_DECODER)];
  if (!module) return undefined;
  module.exports = inPlace;
  return decoders;
}

/** Both decoders when this process's kafkajs consumers read records with this one. */
export const kafkajsRecordBatches = replaceRecordBatchDecoder();
export const kafkajsRecordBatchReplaced = kafkajsRecordBatches !== undefined;
