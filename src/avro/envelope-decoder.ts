/**
 * What a consumer of Tributary's topics calls on each Kafka record: the key and the envelope as
 * row values, with the table (columns and their ColumnTypes) read from the record's own writer
 * schema, so every schema version decodes with the columns it was written with.
 */
import type { Row } from "../core/change-event.js";
import { type DecodedEnvelope, decodeEnvelope, decodeKey, type KeyField } from "./envelope.js";
import {
  type AvroRecordSchema,
  type EnvelopeLayout,
  keyFieldsFromSchema,
  layoutFromValueSchema,
} from "./envelope-schema.js";
import type { TributarySchemaRegistry } from "./registry.js";

export class EnvelopeDecoder {
  readonly #registry: TributarySchemaRegistry;
  readonly #layouts = new Map<number, EnvelopeLayout>();
  readonly #keyFields = new Map<number, KeyField[]>();

  constructor(registry: TributarySchemaRegistry) {
    this.#registry = registry;
  }

  /** A record value: the envelope (a null value is a tombstone: the caller skips it). */
  async decodeValue(value: Buffer): Promise<DecodedEnvelope & { readonly schemaId: number }> {
    const decoded = await this.#registry.decodeWithSchema(value);
    let layout = this.#layouts.get(decoded.schemaId);
    if (!layout) {
      layout = layoutFromValueSchema(decoded.schema as AvroRecordSchema);
      this.#layouts.set(decoded.schemaId, layout);
    }
    return { ...decodeEnvelope(layout, decoded.value), schemaId: decoded.schemaId };
  }

  /** A record key: the key columns' values by column name. */
  async decodeKey(key: Buffer): Promise<Row> {
    const decoded = await this.#registry.decodeWithSchema(key);
    let fields = this.#keyFields.get(decoded.schemaId);
    if (!fields) {
      fields = keyFieldsFromSchema(decoded.schema as AvroRecordSchema);
      this.#keyFields.set(decoded.schemaId, fields);
    }
    return decodeKey(fields, decoded.value);
  }
}
