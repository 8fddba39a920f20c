/**
 * The topics of one capture and what it needs to write to them: partition count, registered key
 * and value schema ids, the encoders of keys and values. A table seen with a different shape (a
 * schema change, a new table) gets its topic created and new schema versions registered before
 * any of its events is encoded; a change the registry refuses stops the capture with the reason.
 */
import type { Admin } from "kafkajs";
import { keySchema, layoutOf, valueSchema } from "../avro/envelope-schema.js";
import { eventKeyEncoder, eventValueEncoder } from "../avro/event-encoder.js";
import { SchemaRegistryError, type TributarySchemaRegistry } from "../avro/registry.js";
import type { WireWriter } from "../avro/wire-writer.js";
import { ensureTopics } from "../kafka/admin.js";
import type { ChangeEvent, TableSpec } from "./change-event.js";
import { TributaryError } from "./errors.js";
import type { Logger } from "./logger.js";

export interface TopicState {
  readonly table: TableSpec;
  readonly partitions: number;
  readonly keySchemaId: number | undefined;
  readonly valueSchemaId: number;
  /** Encoders of the registered key and value schemas (built once per registration). */
  readonly keyWriter: WireWriter<ChangeEvent> | undefined;
  readonly valueWriter: WireWriter<ChangeEvent>;
  /** JSON of the table's schemas: equal text, no new registration. */
  readonly fingerprint: string;
}

export interface CaptureTopicsOptions {
  readonly admin: Admin;
  readonly registry: TributarySchemaRegistry;
  readonly logger: Logger;
  readonly partitions: number;
  readonly onRegistered?: (topic: string) => void;
}

/** Columns whose type changed between two shapes of a table: what a refusal is usually about. */
function changedColumns(before: TableSpec | undefined, after: TableSpec): string[] {
  if (!before) return [];
  return after.columns.flatMap((column) => {
    const old = before.columns.find((candidate) => candidate.name === column.name);
    if (!old || JSON.stringify(old.type) === JSON.stringify(column.type)) return [];
    return [`${column.name} (${old.sourceType} → ${column.sourceType})`];
  });
}

export class CaptureTopics {
  readonly #options: CaptureTopicsOptions;
  readonly #topics = new Map<string, TopicState>();

  constructor(options: CaptureTopicsOptions) {
    this.#options = options;
  }

  /** Topics and schemas for the tables a source announced at open(), in one round. */
  async prepare(tables: readonly TableSpec[]): Promise<void> {
    const partitions = await ensureTopics(
      this.#options.admin,
      tables.map((table) => ({ topic: table.topic })),
      this.#options.partitions,
    );
    for (const table of tables) await this.#register(table, partitions.get(table.topic));
  }

  /** The state of `table` when it is already registered in this very shape (the hot path: no await). */
  knownState(table: TableSpec): TopicState | undefined {
    const known = this.#topics.get(table.topic);
    return known && known.table === table ? known : undefined;
  }

  /** The state to encode an event of `table` with; registers the table's shape when it is new. */
  async stateFor(table: TableSpec): Promise<TopicState> {
    const known = this.#topics.get(table.topic);
    if (known && known.table === table) return known;
    if (known && known.fingerprint === fingerprintOf(table)) {
      const same = { ...known, table };
      this.#topics.set(table.topic, same);
      return same;
    }
    return this.#register(table, known?.partitions);
  }

  async #register(table: TableSpec, knownPartitions: number | undefined): Promise<TopicState> {
    const partitions =
      knownPartitions ??
      (await ensureTopics(this.#options.admin, [{ topic: table.topic }], this.#options.partitions)).get(
        table.topic,
      );
    if (partitions === undefined) {
      throw new TributaryError(`topic ${table.topic} has no partitions`, {
        code: "TOPIC_MISSING",
        retriable: true,
      });
    }
    const previous = this.#topics.get(table.topic)?.table;
    const key = keySchema(table);
    const value = valueSchema(table);
    const keySchemaId = key
      ? await this.#registerSchema(`${table.topic}-key`, key, table, previous)
      : undefined;
    const valueSchemaId = await this.#registerSchema(`${table.topic}-value`, value, table, previous);
    const layout = layoutOf(table);
    const encodeKey = eventKeyEncoder(layout);
    const state: TopicState = {
      table,
      partitions,
      keySchemaId,
      valueSchemaId,
      keyWriter:
        encodeKey && keySchemaId !== undefined ? { schemaId: keySchemaId, encode: encodeKey } : undefined,
      valueWriter: { schemaId: valueSchemaId, encode: eventValueEncoder(layout) },
      fingerprint: fingerprintOf(table),
    };
    this.#topics.set(table.topic, state);
    this.#options.logger.info({ topic: table.topic, keySchemaId, valueSchemaId }, "schemas registered");
    this.#options.onRegistered?.(table.topic);
    return state;
  }

  async #registerSchema(subject: string, schema: object, table: TableSpec, previous: TableSpec | undefined) {
    try {
      return await this.#options.registry.register(subject, schema as never);
    } catch (error) {
      if (!(error instanceof SchemaRegistryError && error.refused)) {
        throw new TributaryError(
          `the schema registry is unavailable (subject ${subject}): ${(error as Error).message}`,
          {
            code: "REGISTRY_UNAVAILABLE",
            retriable: true,
            cause: error,
          },
        );
      }
      const changed = changedColumns(previous, table);
      const columns = changed.length > 0 ? `; changed columns: ${changed.join(", ")}` : "";
      throw new TributaryError(
        `the schema registry refused the new schema of ${table.namespace ? `${table.namespace}.` : ""}${table.name} ` +
          `(topic ${table.topic}, subject ${subject})${columns}: ${error.message}`,
        {
          code: "SCHEMA_INCOMPATIBLE",
          hint:
            `the change is not BACKWARD compatible: revert it in the source, or move consumers to a new topic ` +
            `(or, if every consumer can read it, register it yourself with compatibility NONE on ${subject}) and restart`,
          cause: error,
        },
      );
    }
  }
}

function fingerprintOf(table: TableSpec): string {
  return JSON.stringify([keySchema(table) ?? null, valueSchema(table)]);
}
