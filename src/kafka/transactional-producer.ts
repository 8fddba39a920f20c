/**
 * The capture's transactional producer: one Kafka transaction per flush, holding the flush's
 * records and the source's position record. Its transactional id is stable per source
 * (`tributary-capture-<source>`): a restarted instance fences the old one, and connecting aborts
 * whatever transaction a crashed predecessor left open.
 */
import {
  CompressionTypes,
  type Kafka,
  type Message,
  Partitioners,
  type Producer,
  type TopicMessages,
} from "kafkajs";

export interface OutgoingRecord {
  readonly topic: string;
  readonly partition: number;
  /** Null for records of keyless tables and for truncate events. */
  readonly key: Buffer | null;
  /** Null for a tombstone. */
  readonly value: Buffer | null;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface ProducerOptions {
  readonly transactionalId: string;
  /**
   * Largest record batch per partition in one send; below the broker's message.max.bytes (1 MiB),
   * which limits each partition's batch, not the request.
   */
  readonly maxPartitionBytes?: number;
  /** Largest send (all partitions together). */
  readonly maxRequestBytes?: number;
  /** The broker aborts a transaction left open longer than this. Default 60 s. */
  readonly transactionTimeoutMs?: number;
}

export function captureTransactionalId(sourceName: string): string {
  return `tributary-capture-${sourceName}`;
}

const DEFAULT_MAX_PARTITION_BYTES = 768 * 1024;
const DEFAULT_MAX_REQUEST_BYTES = 8 * 1024 * 1024;

/** Bytes a record takes in a batch, with room for its framing (varints, headers, attributes). */
function sizeOf(record: OutgoingRecord): number {
  return (record.key?.length ?? 0) + (record.value?.length ?? 0) + 64;
}

/**
 * kafkajs groups a send's messages by partition in time quadratic in the messages per partition
 * (it copies the partition's array for each message), so a send holds at most this many per partition.
 */
const MAX_PARTITION_MESSAGES = 256;

/**
 * Consecutive slices of `records`, each one send: per partition at most `maxPartitionBytes` and
 * MAX_PARTITION_MESSAGES, the whole below `maxRequestBytes` (a bigger single record goes alone).
 */
function requests(
  records: readonly OutgoingRecord[],
  maxPartitionBytes: number,
  maxRequestBytes: number,
): OutgoingRecord[][] {
  const chunks: OutgoingRecord[][] = [];
  let current: OutgoingRecord[] = [];
  let bytes = 0;
  // Per topic, bytes and messages by partition in the current slice.
  const partitionBytes = new Map<string, number[]>();
  const partitionMessages = new Map<string, number[]>();
  for (const record of records) {
    const size = sizeOf(record);
    let topicBytes = partitionBytes.get(record.topic);
    let topicMessages = partitionMessages.get(record.topic);
    if (!topicBytes || !topicMessages) {
      topicBytes = [];
      topicMessages = [];
      partitionBytes.set(record.topic, topicBytes);
      partitionMessages.set(record.topic, topicMessages);
    }
    const inPartition = topicBytes[record.partition] ?? 0;
    const messages = topicMessages[record.partition] ?? 0;
    if (
      current.length > 0 &&
      (inPartition + size > maxPartitionBytes ||
        messages >= MAX_PARTITION_MESSAGES ||
        bytes + size > maxRequestBytes)
    ) {
      chunks.push(current);
      current = [];
      bytes = 0;
      partitionBytes.clear();
      partitionMessages.clear();
      topicBytes = [];
      topicMessages = [];
      partitionBytes.set(record.topic, topicBytes);
      partitionMessages.set(record.topic, topicMessages);
    }
    current.push(record);
    bytes += size;
    topicBytes[record.partition] = (topicBytes[record.partition] ?? 0) + size;
    topicMessages[record.partition] = (topicMessages[record.partition] ?? 0) + 1;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/** Records grouped by topic, keeping their order within each topic (and so within each partition). */
function byTopic(records: readonly OutgoingRecord[]): TopicMessages[] {
  const topics = new Map<string, Message[]>();
  for (const record of records) {
    let messages = topics.get(record.topic);
    if (!messages) {
      messages = [];
      topics.set(record.topic, messages);
    }
    messages.push(
      record.headers
        ? {
            key: record.key,
            value: record.value,
            partition: record.partition,
            headers: { ...record.headers },
          }
        : { key: record.key, value: record.value, partition: record.partition },
    );
  }
  return [...topics].map(([topic, messages]) => ({ topic, messages }));
}

export class TransactionalProducer {
  readonly #producer: Producer;
  readonly #maxPartitionBytes: number;
  readonly #maxRequestBytes: number;

  private constructor(producer: Producer, options: ProducerOptions) {
    this.#producer = producer;
    this.#maxPartitionBytes = options.maxPartitionBytes ?? DEFAULT_MAX_PARTITION_BYTES;
    this.#maxRequestBytes = options.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES;
  }

  /** Connects and initializes the transactional id (fencing any older holder of it). */
  static async connect(kafka: Kafka, options: ProducerOptions): Promise<TransactionalProducer> {
    const producer = kafka.producer({
      transactionalId: options.transactionalId,
      idempotent: true,
      maxInFlightRequests: 1,
      transactionTimeout: options.transactionTimeoutMs ?? 60_000,
      allowAutoTopicCreation: false,
      // Every record names its partition (see capture-flush.ts); this only silences kafkajs's warning.
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    await producer.connect();
    return new TransactionalProducer(producer, options);
  }

  /**
   * Writes `records` then `offset` in one transaction and commits it. On any failure the
   * transaction is aborted (if the broker still listens) and the error thrown: nothing of it
   * becomes visible to read_committed consumers.
   */
  async commitFlush(records: readonly OutgoingRecord[], offset: OutgoingRecord): Promise<void> {
    const transaction = await this.#producer.transaction();
    try {
      const all = [...records, offset];
      for (const request of requests(all, this.#maxPartitionBytes, this.#maxRequestBytes)) {
        // No compression: on a local network the CPU it costs is worth more than the bytes.
        await transaction.sendBatch({
          topicMessages: byTopic(request),
          acks: -1,
          compression: CompressionTypes.None,
        });
      }
      await transaction.commit();
    } catch (error) {
      if (transaction.isActive()) await transaction.abort().catch(() => undefined);
      throw error;
    }
  }

  async disconnect(): Promise<void> {
    await this.#producer.disconnect();
  }
}
