/** Reads a topic from the beginning with a fresh consumer group, read_committed unless told otherwise. */
import { Kafka, logLevel } from "kafkajs";
import { eventually, stack, uniqueName } from "../helpers/stack.js";

export interface ReadRecord {
  readonly partition: number;
  readonly offset: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
}

export const testKafka = new Kafka({
  clientId: "tributary-test",
  brokers: [...stack.kafkaBrokers],
  logLevel: logLevel.NOTHING,
});

/** Polls until `enough(records)` holds; returns the records in partition, offset order. */
export async function readTopic(
  topic: string,
  enough: (records: readonly ReadRecord[]) => boolean,
  options: { readUncommitted?: boolean; timeoutMs?: number } = {},
): Promise<ReadRecord[]> {
  const consumer = testKafka.consumer({
    groupId: uniqueName("test_reader"),
    readUncommitted: options.readUncommitted ?? false,
  });
  const records: ReadRecord[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        records.push({ partition, offset: message.offset, key: message.key, value: message.value });
      },
    });
    await eventually(async () => (enough(records) ? true : undefined), options.timeoutMs ?? 20_000);
  } finally {
    await consumer.disconnect();
  }
  return records.sort((a, b) => a.partition - b.partition || Number(BigInt(a.offset) - BigInt(b.offset)));
}

/**
 * Every record of `topic` up to its current end (read_committed: the last stable offset of each
 * partition), so that a duplicate anywhere would show.
 */
export async function readToEnd(topic: string, timeoutMs = 20_000): Promise<ReadRecord[]> {
  const admin = testKafka.admin();
  await admin.connect();
  const ends = new Map<number, bigint>();
  try {
    for (const { partition, high, low } of await admin.fetchTopicOffsets(topic)) {
      if (BigInt(high) > BigInt(low)) ends.set(partition, BigInt(high));
    }
  } finally {
    await admin.disconnect();
  }
  const consumer = testKafka.consumer({ groupId: uniqueName("test_reader"), readUncommitted: false });
  const records: ReadRecord[] = [];
  const reached = new Set<number>();
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
    const end = ends.get(payload.partition);
    if (end !== undefined && BigInt(payload.lastOffset) + 1n >= end) reached.add(payload.partition);
  });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        records.push({ partition, offset: message.offset, key: message.key, value: message.value });
      },
    });
    await eventually(async () => (reached.size === ends.size ? true : undefined), timeoutMs);
  } finally {
    await consumer.disconnect();
  }
  return records.sort((a, b) => a.partition - b.partition || Number(BigInt(a.offset) - BigInt(b.offset)));
}
