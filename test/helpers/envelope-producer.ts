/**
 * Produces change events the way the capture runner does: the key and the Debezium-shaped
 * envelope built by src/avro (valueSchema / toEnvelopeValue), Avro-encoded through the registry,
 * a tombstone after each delete. Tests of the sink use it to make their own topics.
 */
import avro from "avsc";
import { Kafka, logLevel, type Producer } from "kafkajs";
import { toEnvelopeValue, toKey } from "../../src/avro/envelope.js";
import { type AvroRecordSchema, keySchema, layoutOf, valueSchema } from "../../src/avro/envelope-schema.js";
import { int64TypeHook } from "../../src/avro/long-type.js";
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

export interface EncodedMessage {
  readonly key: Buffer | null;
  readonly value: Buffer | null;
}

/** Turns events of one table into Kafka messages, synchronously (see EnvelopeProducer.encoder). */
export type EventEncoder = (events: readonly EventInput[]) => EncodedMessage[];

/** A registered schema's Avro type, writing the Confluent wire format (magic byte 0, schema id). */
function wireWriter(schemaId: number, schema: AvroRecordSchema): (value: unknown) => Buffer {
  const type = avro.Type.forSchema(schema as avro.Schema, { typeHook: int64TypeHook });
  const header = Buffer.alloc(5);
  header.writeInt32BE(schemaId, 1);
  return (value) => Buffer.concat([header, type.toBuffer(value)]);
}

export class EnvelopeProducer {
  readonly kafka = new Kafka({
    clientId: "tributary-test",
    brokers: [...stack.kafkaBrokers],
    logLevel: logLevel.NOTHING,
  });
  readonly registry = new TributarySchemaRegistry({ url: stack.registryUrl });
  readonly #producer: Producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  readonly #encoders = new Map<TableSpec, Promise<EventEncoder>>();
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

  /**
   * Registers the table's key and value schemas (once) and returns an encoder built from them:
   * the Avro types are made once per table, so encoding is synchronous and fast (benchmarks).
   */
  encoder(table: TableSpec): Promise<EventEncoder> {
    let encoder = this.#encoders.get(table);
    if (!encoder) {
      encoder = this.#createEncoder(table);
      this.#encoders.set(table, encoder);
    }
    return encoder;
  }

  async #createEncoder(table: TableSpec): Promise<EventEncoder> {
    const key = keySchema(table);
    const value = valueSchema(table);
    const writeKey = key && wireWriter(await this.registry.register(`${table.topic}-key`, key as never), key);
    const writeValue = wireWriter(
      await this.registry.register(`${table.topic}-value`, value as never),
      value,
    );
    const layout = layoutOf(table);
    return (events) => {
      const messages: EncodedMessage[] = [];
      const now = Date.now();
      for (const input of events) {
        const event = changeEvent(table, input);
        const keyValue = toKey(layout, event);
        const keyBytes = keyValue && writeKey ? writeKey(keyValue) : null;
        messages.push({ key: keyBytes, value: writeValue(toEnvelopeValue(layout, event, now)) });
        if (input.op === "d") messages.push({ key: keyBytes, value: null });
      }
      return messages;
    };
  }

  /** The Kafka messages of `events`: key and envelope, and a tombstone after each delete. */
  async encode(table: TableSpec, events: readonly EventInput[]): Promise<EncodedMessage[]> {
    return (await this.encoder(table))(events);
  }

  async send(table: TableSpec, events: readonly EventInput[], partition?: number): Promise<void> {
    await this.sendRaw(table.topic, await this.encode(table, events), partition);
  }

  async sendRaw(topic: string, messages: readonly EncodedMessage[], partition?: number): Promise<void> {
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
