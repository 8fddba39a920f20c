/**
 * Produces change events the way the capture runner does: the key and the Debezium-shaped
 * envelope built by src/avro (valueSchema / toEnvelopeValue), Avro-encoded through the registry,
 * a tombstone after each delete. Tests of the sink use it to make their own topics.
 */
import { Kafka, logLevel, type Producer } from "kafkajs";
import { toEnvelopeValue, toKey } from "../../src/avro/envelope.js";
import { keySchema, layoutOf, valueSchema } from "../../src/avro/envelope-schema.js";
import { TributarySchemaRegistry } from "../../src/avro/registry.js";
import type { ChangeEvent, ColumnSpec, Op, Row, TableSpec } from "../../src/core/change-event.js";
import type { ColumnType } from "../../src/core/column-type.js";
import { stack } from "./stack.js";

export function tableSpec(
  topic: string,
  columns: readonly (readonly [string, ColumnType])[],
  keyColumns: readonly string[],
): TableSpec {
  const [source = topic, ...rest] = topic.split(".");
  const specs: ColumnSpec[] = columns.map(([name, type]) => ({
    name,
    type,
    nullable: !keyColumns.includes(name),
    sourceType: type.kind,
  }));
  return {
    source,
    namespace: rest.slice(0, -1).join("."),
    name: rest.at(-1) ?? topic,
    topic,
    columns: specs,
    keyColumns,
  };
}

/** A fixed-width version that sorts in order, as the sources make them. */
export function version(sequence: number): string {
  return sequence.toString(16).padStart(16, "0");
}

export interface EventInput {
  readonly op: Op;
  readonly version: number;
  readonly row: Row;
  readonly unavailable?: readonly string[];
}

export function changeEvent(table: TableSpec, input: EventInput): ChangeEvent {
  const image = input.op === "d" ? { before: input.row, after: null } : { before: null, after: input.row };
  return {
    table,
    op: input.op,
    ...(input.op === "t" ? { before: null, after: null } : image),
    source: {
      version: version(input.version),
      connector: "postgres",
      tsMs: 1_700_000_000_000 + input.version,
      snapshot: false,
      db: "test",
    },
    unavailableColumns: input.unavailable ?? [],
  };
}

export class EnvelopeProducer {
  readonly kafka = new Kafka({
    clientId: "tributary-test",
    brokers: [...stack.kafkaBrokers],
    logLevel: logLevel.NOTHING,
  });
  readonly registry = new TributarySchemaRegistry({ url: stack.registryUrl });
  readonly #producer: Producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  readonly #ids = new Map<TableSpec, Promise<{ key: number | undefined; value: number }>>();
  #connected = false;

  async createTopic(topic: string, numPartitions = 1): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      await admin.createTopics({ topics: [{ topic, numPartitions }], waitForLeaders: true });
    } finally {
      await admin.disconnect();
    }
  }

  #schemaIds(table: TableSpec) {
    let ids = this.#ids.get(table);
    if (!ids) {
      ids = (async () => {
        const key = keySchema(table);
        return {
          key: key ? await this.registry.register(`${table.topic}-key`, key as never) : undefined,
          value: await this.registry.register(`${table.topic}-value`, valueSchema(table) as never),
        };
      })();
      this.#ids.set(table, ids);
    }
    return ids;
  }

  /** The Kafka messages of `events`: key and envelope, and a tombstone after each delete. */
  async encode(table: TableSpec, events: readonly EventInput[]) {
    const ids = await this.#schemaIds(table);
    const layout = layoutOf(table);
    const messages: { key: Buffer | null; value: Buffer | null }[] = [];
    for (const input of events) {
      const event = changeEvent(table, input);
      const keyValue = toKey(layout, event);
      const key = keyValue && ids.key !== undefined ? await this.registry.encode(ids.key, keyValue) : null;
      const value = await this.registry.encode(ids.value, toEnvelopeValue(layout, event, Date.now()));
      messages.push({ key, value });
      if (input.op === "d") messages.push({ key, value: null });
    }
    return messages;
  }

  async send(table: TableSpec, events: readonly EventInput[], partition?: number): Promise<void> {
    await this.sendRaw(table.topic, await this.encode(table, events), partition);
  }

  async sendRaw(
    topic: string,
    messages: readonly { key: Buffer | null; value: Buffer | null }[],
    partition?: number,
  ): Promise<void> {
    if (!this.#connected) {
      await this.#producer.connect();
      this.#connected = true;
    }
    await this.#producer.send({
      topic,
      acks: -1,
      messages: messages.map((message) => ({
        ...message,
        ...(partition === undefined ? {} : { partition }),
      })),
    });
  }

  async close(): Promise<void> {
    if (this.#connected) await this.#producer.disconnect();
  }
}
