import { createRequire } from "node:module";
import { Kafka, logLevel } from "kafkajs";
import { describe, expect, it } from "vitest";
// Imported before anything fetches, as in the sink: kafkajs loads its fetch decoders on a first fetch.
import { kafkajsRecordBatches, kafkajsRecordBatchReplaced } from "../../src/kafka/kafkajs-record-batch.js";
import { stack } from "../helpers/stack.js";

const require = createRequire(import.meta.url);

type KafkaDecoder = { offset: number };
const Decoder = require("kafkajs/src/protocol/decoder.js") as new (buffer: Buffer) => KafkaDecoder;
const { RecordBatch } = require("kafkajs/src/protocol/recordBatch/v0/index.js") as {
  RecordBatch: (batch: Record<string, unknown>) => Promise<{ buffer: Buffer }>;
};
const Record = require("kafkajs/src/protocol/recordBatch/record/v0/index.js") as (
  record: Record<string, unknown>,
) => unknown;
const { Types: Compression } = require("kafkajs/src/protocol/message/compression/index.js") as {
  Types: { GZIP: number };
};

const ATTRIBUTES_AT = 21;
const LOG_APPEND_TIME = 0x8;
const CONTROL_BATCH = 0x20;

interface RecordSpec {
  readonly offsetDelta: number;
  readonly timestampDelta?: number | bigint;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers?: Record<string, string | string[]>;
}

/** A record batch as a broker sends it, encoded by kafkajs's own producer code. */
async function encodedBatch(
  records: readonly RecordSpec[],
  options: { firstOffset?: bigint; firstTimestamp?: number; compression?: number; flags?: number } = {},
): Promise<Buffer> {
  const Long = require("kafkajs/src/utils/long.js") as { fromValue(value: unknown): unknown };
  const { buffer } = await RecordBatch({
    firstOffset: Long.fromValue(options.firstOffset ?? 0n),
    firstTimestamp: options.firstTimestamp ?? 1_764_500_000_000,
    maxTimestamp: (options.firstTimestamp ?? 1_764_500_000_000) + 999,
    lastOffsetDelta: records.length - 1,
    compression: options.compression ?? 0,
    records: records.map((record) =>
      Record({
        ...record,
        timestampDelta: Long.fromValue(record.timestampDelta ?? 0),
      }),
    ),
  });
  if (options.flags) buffer.writeInt16BE(buffer.readInt16BE(ATTRIBUTES_AT) | options.flags, ATTRIBUTES_AT);
  return buffer;
}

/** What each decoder makes of `bytes`, and where it leaves the fetch decoder. */
async function bothDecodings(bytes: Buffer) {
  const decoders = kafkajsRecordBatches;
  if (!decoders) throw new Error("the record batch decoder was not replaced");
  const outcome = async (decode: (decoder: unknown) => Promise<unknown>) => {
    const decoder = new Decoder(bytes);
    try {
      return { batch: await decode(decoder), offset: decoder.offset };
    } catch (error) {
      return { error: `${(error as Error).name}: ${(error as Error).message}` };
    }
  };
  return { released: await outcome(decoders.released), inPlace: await outcome(decoders.inPlace) };
}

const text = (value: string) => Buffer.from(value);
const plain: RecordSpec[] = Array.from({ length: 50 }, (_, index) => ({
  offsetDelta: index,
  key: text(`key ${index}`),
  value: text(`value ${index} `.repeat(index % 7)),
}));

describe("kafkajs 2.2.4's record batches read in place", () => {
  it("replaces the release's decoder in this process", () => {
    expect(kafkajsRecordBatchReplaced).toBe(true);
    expect(require("kafkajs/src/protocol/recordBatch/v0/decoder.js")).toBe(kafkajsRecordBatches?.inPlace);
  });

  it.each([
    ["plain records", plain, {}],
    [
      "null and empty keys and values",
      [
        { offsetDelta: 0, key: null, value: null },
        { offsetDelta: 1, key: Buffer.alloc(0), value: Buffer.alloc(0) },
        { offsetDelta: 2, key: null, value: text("x".repeat(300)) },
      ],
      {},
    ],
    [
      "headers, repeated names and unicode",
      [
        { offsetDelta: 0, key: text("k"), value: text("v"), headers: { one: "1" } },
        {
          offsetDelta: 1,
          key: text("k"),
          value: text("v"),
          headers: { many: ["a", "b", "c"], "ünï ☃": "x" },
        },
        {
          offsetDelta: 2,
          key: text("k"),
          value: text("v"),
          headers: { constructor: "c", toString: "t", ["__proto__"]: "p" },
        },
      ],
      {},
    ],
    [
      "offsets and timestamps of every varint length",
      Array.from({ length: 40 }, (_, index) => ({
        offsetDelta: 2 ** (index % 31) - 1,
        timestampDelta: (index % 2 === 0 ? 1 : -1) * (2 ** index - 1),
        key: text(String(index)),
        value: text("v"),
      })),
      {},
    ],
    ["offsets just below and beyond 2^53", plain.slice(0, 8), { firstOffset: 2n ** 53n - 4n }],
    [
      "a timestamp delta beyond 7 bytes",
      [
        { offsetDelta: 0, timestampDelta: 2n ** 50n, key: text("k"), value: text("v") },
        { offsetDelta: 1, timestampDelta: -(2n ** 62n), key: text("k"), value: text("v") },
      ],
      {},
    ],
    ["a negative first timestamp (none set)", plain.slice(0, 3), { firstTimestamp: -1 }],
    ["gzip", plain, { compression: Compression.GZIP }],
    ["log append time", plain.slice(0, 5), { flags: LOG_APPEND_TIME }],
    ["a control batch", plain.slice(0, 2), { flags: CONTROL_BATCH }],
  ] as [string, RecordSpec[], Parameters<typeof encodedBatch>[1]][])(
    "gives what the release gives: %s",
    async (_name, records, options) => {
      const { released, inPlace } = await bothDecodings(await encodedBatch(records, options));
      expect(released.error).toBeUndefined();
      expect(inPlace).toEqual(released);
    },
  );

  it("gives what the release gives for two batches back to back, and a partial one after", async () => {
    const first = await encodedBatch(plain.slice(0, 10));
    const second = await encodedBatch(plain.slice(10, 20), { firstOffset: 10n });
    const bytes = Buffer.concat([first, second, second.subarray(0, second.length - 5)]);
    const decoders = kafkajsRecordBatches;
    if (!decoders) throw new Error("the record batch decoder was not replaced");
    const read = async (decode: (decoder: unknown) => Promise<unknown>) => {
      const decoder = new Decoder(bytes);
      const batches = [await decode(decoder), await decode(decoder)];
      const partial = await decode(decoder).catch((error: Error) => `${error.name}: ${error.message}`);
      return { batches, partial };
    };
    const inPlace = await read(decoders.inPlace);
    expect(inPlace.partial).toMatch(/^KafkaJSPartialMessageError: Tried to decode a partial record batch/);
    expect(inPlace).toEqual(await read(decoders.released));
  });

  it("gives what the release gives for records that are not what their length says", async () => {
    const bytes = await encodedBatch(plain.slice(0, 3));
    // Records start after the 61-byte batch header; the first one's length is one varint byte.
    const recordsAt = 61;
    for (const length of [0, 2, 6, 40, 63]) {
      const damaged = Buffer.from(bytes);
      damaged[recordsAt] = length * 2;
      const { released, inPlace } = await bothDecodings(damaged);
      expect(inPlace).toEqual(released);
    }
    const negative = Buffer.from(bytes);
    negative[recordsAt] = 1; // -1: a null record
    const { released, inPlace } = await bothDecodings(negative);
    expect(released.error).toBeDefined();
    expect(inPlace).toEqual(released);
  });

  it("delivers a real broker's records to a kafkajs consumer as produced", async () => {
    const kafka = new Kafka({ brokers: [...stack.kafkaBrokers], logLevel: logLevel.NOTHING });
    const topic = `record_batch_${Date.now().toString(36)}`;
    const admin = kafka.admin();
    const producer = kafka.producer();
    const consumer = kafka.consumer({ groupId: `${topic}_group` });
    await Promise.all([admin.connect(), producer.connect(), consumer.connect()]);
    try {
      await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
      const messages = Array.from({ length: 500 }, (_, index) => ({
        key: index % 10 === 0 ? null : `key ${index}`,
        value: index % 17 === 0 ? null : `value ${index}`,
        headers: index % 3 === 0 ? { origin: `row ${index}` } : undefined,
      }));
      for (let first = 0; first < messages.length; first += 100) {
        await producer.send({ topic, messages: messages.slice(first, first + 100) });
      }
      await consumer.subscribe({ topic, fromBeginning: true });
      const seen: { offset: string; key: string | null; value: string | null; headers: unknown }[] = [];
      await new Promise<void>((resolve, reject) => {
        consumer
          .run({
            eachMessage: async ({ message }) => {
              seen.push({
                offset: message.offset,
                key: message.key?.toString() ?? null,
                value: message.value?.toString() ?? null,
                headers: Object.fromEntries(
                  Object.entries(message.headers ?? {}).map(([name, value]) => [name, String(value)]),
                ),
              });
              if (seen.length === messages.length) resolve();
            },
          })
          .catch(reject);
      });
      // The fetch decoders the consumer loaded took this decoder.
      expect(require("kafkajs/src/protocol/recordBatch/v0/decoder.js")).toBe(kafkajsRecordBatches?.inPlace);
      expect(seen).toEqual(
        messages.map((message, index) => ({
          offset: String(index),
          key: message.key,
          value: message.value,
          headers: message.headers ?? {},
        })),
      );
    } finally {
      await consumer.disconnect();
      await producer.disconnect();
      await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
      await admin.disconnect();
    }
  });
});
