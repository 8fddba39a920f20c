/** The capture's own transactional producer against the real broker of the local stack. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isFenced } from "../../src/core/capture-errors.js";
import { classify } from "../../src/core/errors.js";
import { KafkaConnectionError, KafkaProtocolError } from "../../src/kafka/protocol/errors.js";
import { appendRecord, PartitionBatches } from "../../src/kafka/record-batch.js";
import {
  type OutgoingRecord,
  TransactionalProducer,
  throwFirst,
} from "../../src/kafka/transactional-producer.js";
import { readToEnd, testKafka } from "../capture/topic-reader.js";
import { stack, uniqueName } from "../helpers/stack.js";

const topic = uniqueName("producer_test");
const offsetsTopic = `${topic}.offsets`;
const admin = testKafka.admin();

function connect(transactionalId: string) {
  return TransactionalProducer.connect({
    brokers: stack.kafkaBrokers,
    clientId: "tributary-test",
    transactionalId,
  });
}

/** The records as a flush holds them: batches by topic and partition, of at most `maxBatchBytes`. */
function batched(records: readonly OutgoingRecord[], maxBatchBytes?: number) {
  const topics = new Map<string, PartitionBatches[]>();
  for (const record of records) {
    const partitions = topics.get(record.topic) ?? [];
    topics.set(record.topic, partitions);
    partitions[record.partition] ??= new PartitionBatches(maxBatchBytes);
    appendRecord(partitions[record.partition] as PartitionBatches, record);
  }
  return topics;
}

function offset(text: string): OutgoingRecord {
  return {
    topic: offsetsTopic,
    partition: 0,
    key: Buffer.from("source"),
    value: Buffer.from(text),
    headers: { "content-type": "application/json" },
  };
}

function records(count: number, first = 0, valueBytes = 10): OutgoingRecord[] {
  return Array.from({ length: count }, (_, index) => ({
    topic,
    partition: (first + index) % 3,
    key: Buffer.from(`key-${first + index}`),
    value: Buffer.from(`${first + index}`.padEnd(valueBytes, ".")),
  }));
}

beforeAll(async () => {
  await admin.connect();
  await admin.createTopics({
    topics: [
      { topic, numPartitions: 3 },
      { topic: offsetsTopic, numPartitions: 1 },
    ],
    waitForLeaders: true,
  });
});

afterAll(async () => {
  await admin.deleteTopics({ topics: [topic, offsetsTopic] }).catch(() => undefined);
  await admin.disconnect();
});

describe("TransactionalProducer", () => {
  it("commits flushes that read_committed consumers see whole, in order per partition, with nulls and headers", async () => {
    const producer = await connect(uniqueName("txn"));
    try {
      // 3,000 records of ~30 bytes: each partition's share spans several batches and requests.
      await producer.commitFlush(batched(records(3_000), 4096), offset('{"version":"1"}'));
      const tombstone: OutgoingRecord = { topic, partition: 1, key: Buffer.from("gone"), value: null };
      const keyless: OutgoingRecord = { topic, partition: 2, key: null, value: Buffer.from("truncate") };
      await producer.commitFlush(batched([tombstone, keyless]), offset('{"version":"2"}'));
    } finally {
      await producer.disconnect();
    }
    const read = await readToEnd(topic);
    expect(read).toHaveLength(3_002);
    for (const partition of [0, 1, 2]) {
      const keys = read
        .filter((record) => record.partition === partition)
        .map((r) => r.key?.toString() ?? null);
      const expected = records(3_000)
        .filter((record) => record.partition === partition)
        .map((record) => record.key?.toString() ?? null);
      expect(keys.slice(0, expected.length)).toEqual(expected);
    }
    expect(read.find((record) => record.key?.toString() === "gone")?.value).toBeNull();
    expect(read.find((record) => record.key === null)?.value?.toString()).toBe("truncate");
    const positions = await readToEnd(offsetsTopic);
    expect(positions.map((record) => record.value?.toString())).toEqual([
      '{"version":"1"}',
      '{"version":"2"}',
    ]);
  });

  it("is fenced by a newer producer of the same transactional id, and nothing of its flush is visible", async () => {
    const transactionalId = uniqueName("txn");
    const older = await connect(transactionalId);
    const newer = await connect(transactionalId);
    try {
      const failure = await older
        .commitFlush(batched(records(10, 10_000)), offset("fenced"))
        .catch((error) => error);
      expect(isFenced(failure)).toBe(true);
      expect(classify(failure)).toBe("stop");
      await expect(older.commitFlush(new Map(), offset("again"))).rejects.toThrow(/failed before/);
      await newer.commitFlush(batched(records(5, 20_000)), offset("newer"));
    } finally {
      await older.disconnect();
      await newer.disconnect();
    }
    const values = (await readToEnd(offsetsTopic)).map((record) => record.value?.toString());
    expect(values).toContain("newer");
    expect(values).not.toContain("fenced");
  });

  it("takes over from a predecessor that died inside a transaction, at once", async () => {
    const transactionalId = uniqueName("txn");
    // The predecessor: a transaction with records in several partitions, never ended.
    const crashed = testKafka.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1 });
    await crashed.connect();
    const open = await crashed.transaction();
    await open.send({ topic, messages: [0, 1, 2].map((partition) => ({ partition, value: "orphan" })) });
    await open.send({ topic: offsetsTopic, messages: [{ partition: 0, key: "source", value: "orphan" }] });
    // Its successor flushes right after connecting, while the coordinator still aborts the orphan.
    const successor = await connect(transactionalId);
    try {
      await successor.commitFlush(batched(records(6, 30_000)), offset("successor"));
    } finally {
      await successor.disconnect();
      await crashed.disconnect().catch(() => undefined);
    }
    const read = await readToEnd(topic);
    expect(read.filter((record) => record.value?.toString() === "orphan")).toEqual([]);
    const keys = new Set(records(6, 30_000).map((record) => record.key?.toString()));
    expect(read.filter((record) => keys.has(record.key?.toString()))).toHaveLength(6);
    const positions = (await readToEnd(offsetsTopic)).map((record) => record.value?.toString());
    expect(positions).toContain("successor");
    expect(positions).not.toContain("orphan");
  });

  it("reports an unreachable cluster as an outage to retry", async () => {
    const failure = await TransactionalProducer.connect({
      brokers: ["127.0.0.1:1"],
      clientId: "tributary-test",
      transactionalId: uniqueName("txn"),
    }).catch((error) => error);
    expect(failure).toBeInstanceOf(KafkaConnectionError);
    expect(failure.message).toMatch(/127\.0\.0\.1:1/);
    expect(classify(failure)).toBe("retry");
  });

  it("reports the partition that failed for its own reason, not the ones the broker did not attempt", () => {
    const errors = [
      { topic: "t", partition: 0, errorCode: 55 }, // OPERATION_NOT_ATTEMPTED
      { topic: "t", partition: 1, errorCode: 0 },
      { topic: "u", partition: 0, errorCode: 51 }, // CONCURRENT_TRANSACTIONS: the producer retries it
    ];
    const failure = (() => {
      try {
        throwFirst(errors, "AddPartitionsToTxn");
      } catch (error) {
        return error;
      }
    })();
    expect(failure).toBeInstanceOf(KafkaProtocolError);
    expect((failure as KafkaProtocolError).type).toBe("CONCURRENT_TRANSACTIONS");
    expect((failure as Error).message).toBe(
      "Kafka answered CONCURRENT_TRANSACTIONS (51) to AddPartitionsToTxn for u[0]",
    );
    expect(() => throwFirst([{ topic: "t", partition: 2, errorCode: 55 }], "Produce")).toThrow(
      /OPERATION_NOT_ATTEMPTED/,
    );
    expect(() => throwFirst([{ topic: "t", partition: 0, errorCode: 0 }], "Produce")).not.toThrow();
  });
});
