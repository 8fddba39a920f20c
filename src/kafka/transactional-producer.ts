/**
 * The capture's transactional producer: one Kafka transaction per flush, holding the flush's
 * records and the source's position record. Its transactional id is stable per source
 * (`tributary-capture-<source>`): a restarted instance fences the old one, and connecting aborts
 * whatever transaction a crashed predecessor left open.
 */
import { type Kafka, type Message, Partitioners, type Producer, type TopicMessages } from "kafkajs";

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
  /** Largest request per send within a transaction; below the broker's message.max.bytes (1 MiB). */
  readonly maxRequestBytes?: number;
  /** The broker aborts a transaction left open longer than this. Default 60 s. */
  readonly transactionTimeoutMs?: number;
}

export function captureTransactionalId(sourceName: string): string {
  return `tributary-capture-${sourceName}`;
}

const DEFAULT_MAX_REQUEST_BYTES = 512 * 1024;

function sizeOf(record: OutgoingRecord): number {
  return (record.key?.length ?? 0) + (record.value?.length ?? 0) + 64;
}

/** Consecutive slices of `records` of at most `maxBytes` each (a bigger single record alone). */
function requests(records: readonly OutgoingRecord[], maxBytes: number): OutgoingRecord[][] {
  const chunks: OutgoingRecord[][] = [];
  let current: OutgoingRecord[] = [];
  let bytes = 0;
  for (const record of records) {
    const size = sizeOf(record);
    if (current.length > 0 && bytes + size > maxBytes) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(record);
    bytes += size;
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
    messages.push({
      key: record.key,
      value: record.value,
      partition: record.partition,
      ...(record.headers ? { headers: { ...record.headers } } : {}),
    });
  }
  return [...topics].map(([topic, messages]) => ({ topic, messages }));
}

export class TransactionalProducer {
  readonly #producer: Producer;
  readonly #maxRequestBytes: number;

  private constructor(producer: Producer, maxRequestBytes: number) {
    this.#producer = producer;
    this.#maxRequestBytes = maxRequestBytes;
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
    return new TransactionalProducer(producer, options.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES);
  }

  /**
   * Writes `records` then `offset` in one transaction and commits it. On any failure the
   * transaction is aborted (if the broker still listens) and the error thrown: nothing of it
   * becomes visible to read_committed consumers.
   */
  async commitFlush(records: readonly OutgoingRecord[], offset: OutgoingRecord): Promise<void> {
    const transaction = await this.#producer.transaction();
    try {
      for (const request of requests([...records, offset], this.#maxRequestBytes)) {
        await transaction.sendBatch({ topicMessages: byTopic(request), acks: -1 });
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
