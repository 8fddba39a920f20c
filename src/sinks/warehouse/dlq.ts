/**
 * `<topic>.dlq`: records the sink could not apply, as they were (key and value bytes), with the
 * reason in headers. The topic is created when missing. Sent before the offsets that cover the
 * records are committed, so a dead letter is never lost either.
 */
import type { Admin, IHeaders, Producer } from "kafkajs";
import type { TributaryError } from "../../core/errors.js";
import type { RecordOrigin } from "./batch.js";

export const DLQ_SUFFIX = ".dlq";

export const dlqHeaders = {
  code: "tributary.error.code",
  message: "tributary.error.message",
  topic: "tributary.original.topic",
  partition: "tributary.original.partition",
  offset: "tributary.original.offset",
} as const;

export interface DeadLetterRecord {
  readonly origin: RecordOrigin;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly error: TributaryError;
}

export function dlqTopicOf(topic: string): string {
  return `${topic}${DLQ_SUFFIX}`;
}

function headersOf(record: DeadLetterRecord): IHeaders {
  return {
    [dlqHeaders.code]: record.error.code,
    // Header values are bytes; keep them readable in tools that print them.
    [dlqHeaders.message]: record.error.message.slice(0, 4000),
    [dlqHeaders.topic]: record.origin.topic,
    [dlqHeaders.partition]: String(record.origin.partition),
    [dlqHeaders.offset]: record.origin.offset,
  };
}

export class DeadLetterQueue {
  readonly #producer: Producer;
  readonly #admin: Admin;
  readonly #existing = new Set<string>();

  constructor(producer: Producer, admin: Admin) {
    this.#producer = producer;
    this.#admin = admin;
  }

  async #ensureTopic(topic: string): Promise<void> {
    if (this.#existing.has(topic)) return;
    const topics = await this.#admin.listTopics();
    if (!topics.includes(topic)) {
      // false when it exists already (another instance): fine either way.
      await this.#admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    }
    this.#existing.add(topic);
  }

  async send(records: readonly DeadLetterRecord[]): Promise<void> {
    const byTopic = new Map<string, DeadLetterRecord[]>();
    for (const record of records) {
      const topic = dlqTopicOf(record.origin.topic);
      byTopic.set(topic, [...(byTopic.get(topic) ?? []), record]);
    }
    for (const [topic, group] of byTopic) {
      await this.#ensureTopic(topic);
      await this.#producer.send({
        topic,
        acks: -1,
        messages: group.map((record) => ({
          key: record.key,
          value: record.value,
          headers: headersOf(record),
        })),
      });
    }
  }
}
