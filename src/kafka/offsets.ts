/**
 * The `tributary.offsets` topic: each source's committed position, keyed by source name, written
 * in the same Kafka transaction as the events it covers. Reading it back with read_committed
 * therefore gives exactly the position of the last committed flush.
 */
import { randomUUID } from "node:crypto";
import type { Admin, Kafka } from "kafkajs";
import type { SourcePosition } from "../core/change-event.js";
import { TributaryError } from "../core/errors.js";
import { OFFSETS_TOPIC } from "./admin.js";
import type { OutgoingRecord } from "./transactional-producer.js";

/** The position record of a flush: JSON of the SourcePosition, keyed by source name. */
export function offsetRecord(
  sourceName: string,
  position: SourcePosition,
  topic = OFFSETS_TOPIC,
): OutgoingRecord {
  return {
    topic,
    partition: 0,
    key: Buffer.from(sourceName, "utf8"),
    value: Buffer.from(JSON.stringify({ version: position.version, state: position.state }), "utf8"),
    headers: { "content-type": "application/json" },
  };
}

function parsePosition(sourceName: string, value: Buffer | null): SourcePosition | undefined {
  if (value === null) return undefined; // a tombstone: the position was reset on purpose
  try {
    const parsed = JSON.parse(value.toString("utf8")) as SourcePosition;
    if (typeof parsed.version !== "string") throw new Error("no version");
    return parsed;
  } catch (cause) {
    throw new TributaryError(
      `the committed position of source ${sourceName} in ${OFFSETS_TOPIC} is unreadable`,
      {
        code: "OFFSETS_CORRUPT",
        hint: `write a tombstone for key ${sourceName} to ${OFFSETS_TOPIC} to start over, or fix the record`,
        cause,
      },
    );
  }
}

export interface ReadPositionOptions {
  readonly topic?: string;
  /** Gives up after this long (a fetch that never reaches the end). Default 60 s. */
  readonly timeoutMs?: number;
}

/**
 * The last committed position of `sourceName`, or undefined when it has none. Reads the whole
 * (compacted, one-partition) topic up to its last stable offset with read_committed, so an open
 * transaction must be gone first: the caller connects its transactional producer before, which
 * aborts any transaction a crashed predecessor left open.
 */
export async function readCommittedPosition(
  kafka: Kafka,
  admin: Admin,
  sourceName: string,
  options: ReadPositionOptions = {},
): Promise<SourcePosition | undefined> {
  const topic = options.topic ?? OFFSETS_TOPIC;
  // kafkajs's admin lists offsets read_uncommitted, so `high` is the high watermark. The caller's
  // producer connected first and aborted any transaction a predecessor left open, so it is also
  // the last stable offset; if not, the read below times out and the caller retries.
  const partitions = await admin.fetchTopicOffsets(topic);
  const [partition] = partitions;
  if (partitions.length !== 1 || !partition) {
    throw new TributaryError(`${topic} must have exactly one partition, it has ${partitions.length}`, {
      code: "OFFSETS_TOPIC_LAYOUT",
      hint: `recreate ${topic} with one partition and cleanup.policy=compact`,
    });
  }
  const end = BigInt(partition.high);
  if (end === 0n || end === BigInt(partition.low)) return undefined;

  const groupId = `tributary-offsets-reader-${randomUUID()}`;
  const consumer = kafka.consumer({ groupId, readUncommitted: false, allowAutoTopicCreation: false });
  let latest: Buffer | null | undefined;
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new TributaryError(`reading ${topic} did not reach its end`, {
              code: "OFFSETS_READ_TIMEOUT",
              retriable: true,
            }),
          ),
        options.timeoutMs ?? 60_000,
      );
      // Fires for every fetched batch, also one holding only transaction markers or aborted records.
      // An empty fetch (e.g. from a broker still loading the partition after a restart) reports
      // the high watermark as its last offset without having read anything (firstOffset null):
      // taking that for the end would answer "no position" and replay the source from scratch.
      consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
        if (payload.firstOffset !== null && BigInt(payload.lastOffset) + 1n >= end) {
          clearTimeout(timer);
          resolve();
        }
      });
      consumer.on(consumer.events.CRASH, ({ payload }) => {
        clearTimeout(timer);
        reject(payload.error);
      });
      consumer
        .run({
          autoCommit: false,
          eachMessage: async ({ message }) => {
            if (message.key?.toString("utf8") === sourceName) latest = message.value;
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect().catch(() => undefined);
    await admin.deleteGroups([groupId]).catch(() => undefined);
  }
  return latest === undefined ? undefined : parsePosition(sourceName, latest);
}
