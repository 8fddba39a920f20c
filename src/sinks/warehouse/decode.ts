/**
 * Kafka record → ChangeEvent: the Confluent wire format (magic byte 0, 4-byte schema id, Avro
 * body), the writer schema fetched from the registry by id (cached), the envelope read back into
 * the contract of src/core/change-event.ts. The one place the sink decodes; it can be pointed at
 * the capture side's decodeEnvelope once that exists.
 *
 * Undecodable bytes and unknown schema ids are RecordErrors (dead letter); a registry that does
 * not answer is a retriable error (the sink waits).
 */
import avro from "avsc";
import type { ChangeEvent, ColumnSpec, Op, Row, SourceInfo } from "../../core/change-event.js";
import type { ColumnType } from "../../core/column-type.js";
import { RecordError, TributaryError } from "../../core/errors.js";
import {
  type AvroField,
  type AvroSchemaJson,
  columnTypeOf,
  decimalText,
  nonNullBranch,
} from "./avro-columns.js";

/** Avro long ↔ bigint: int64 values are exact (the row contract of change-event.ts). */
export const bigintLong = avro.types.LongType.__with({
  fromBuffer: (buffer: Buffer) => buffer.readBigInt64LE(),
  toBuffer: (value: bigint) => {
    const buffer = Buffer.alloc(8);
    buffer.writeBigInt64LE(BigInt(value));
    return buffer;
  },
  fromJSON: (value: number | string) => BigInt(value),
  toJSON: (value: bigint) => Number(value),
  isValid: (value: unknown) => typeof value === "bigint",
  compare: (a: bigint, b: bigint) => (a === b ? 0 : a < b ? -1 : 1),
});

export function avroType(schema: AvroSchemaJson): avro.Type {
  return avro.Type.forSchema(schema as avro.Schema, { registry: { long: bigintLong } });
}

interface WriterSchema {
  readonly type: avro.Type;
  readonly json: AvroSchemaJson;
}

const OPS: ReadonlySet<string> = new Set(["c", "u", "d", "r", "t"]);

export interface EnvelopeDecoderOptions {
  /** Confluent-compatible registry base URL. */
  readonly registryUrl: string;
}

export interface DecodedRecord {
  readonly event: ChangeEvent;
  /** The decoded Kafka key (the key columns), when the record has one. */
  readonly key: Row | null;
}

export interface RawRecord {
  readonly topic: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
}

function wireSchemaId(buffer: Buffer, what: string): number {
  if (buffer.length < 5 || buffer[0] !== 0) {
    throw new RecordError(
      `the record ${what} is not in the Confluent wire format (magic byte 0, schema id)`,
      {
        code: "RECORD_UNDECODABLE",
      },
    );
  }
  return buffer.readInt32BE(1);
}

function columnsOf(recordSchema: AvroSchemaJson | undefined): ColumnSpec[] {
  if (!recordSchema) return [];
  const { type } = nonNullBranch(recordSchema);
  if (typeof type !== "object" || Array.isArray(type)) return [];
  const fields = (type.fields ?? []) as AvroField[];
  return fields.map((field) => ({
    name: field.name,
    type: columnTypeOf(field),
    nullable: nonNullBranch(field.type).nullable,
    sourceType: String(field["tributary.sourceType"] ?? ""),
  }));
}

/** Avro-decoded value → the Row representation of change-event.ts. */
function rowValue(type: ColumnType, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  switch (type.kind) {
    case "decimal":
      return Buffer.isBuffer(value) ? decimalText(value, type.scale) : String(value);
    case "time":
    case "timestamp":
    case "timestamptz":
    case "date":
      return typeof value === "bigint" ? Number(value) : value;
    case "int64":
      return typeof value === "bigint" ? value : BigInt(value as number);
    default:
      return value;
  }
}

function toRow(columns: readonly ColumnSpec[], value: unknown): Row | null {
  if (value === null || value === undefined) return null;
  const record = value as Record<string, unknown>;
  return Object.fromEntries(
    columns.map((column) => [column.name, rowValue(column.type, record[column.name])]),
  );
}

function toSource(value: Record<string, unknown>): SourceInfo {
  const version = value.version;
  if (typeof version !== "string" || version === "") {
    throw new RecordError("the envelope has no source.version", { code: "RECORD_INVALID" });
  }
  const number = (field: unknown) => (field === null || field === undefined ? undefined : Number(field));
  return {
    version,
    connector: String(value.connector ?? "postgres") as SourceInfo["connector"],
    tsMs: number(value.ts_ms) ?? 0,
    snapshot: value.snapshot === true || value.snapshot === "true",
    db: String(value.db ?? ""),
    lsn: (value.lsn as string | undefined) ?? undefined,
    txId: number(value.txId ?? value.txid),
  };
}

export class EnvelopeDecoder {
  readonly #url: string;
  readonly #schemas = new Map<number, Promise<WriterSchema>>();

  constructor(options: EnvelopeDecoderOptions) {
    this.#url = options.registryUrl.replace(/\/+$/, "");
  }

  /** The ChangeEvent of a record and its key, or null for a tombstone (a null value follows each delete). */
  async decode(record: RawRecord): Promise<DecodedRecord | null> {
    if (record.value === null || record.value.length === 0) return null;
    const valueSchema = await this.#schema(wireSchemaId(record.value, "value"));
    const envelope = this.#read(valueSchema, record.value, "value") as Record<string, unknown>;
    const op = envelope.op;
    if (typeof op !== "string" || !OPS.has(op)) {
      throw new RecordError(`the envelope's op ${JSON.stringify(op)} is none of c, u, d, r, t`, {
        code: "RECORD_INVALID",
      });
    }
    const fields = ((valueSchema.json as { fields?: AvroField[] }).fields ?? []) as AvroField[];
    const afterField =
      fields.find((field) => field.name === "after") ?? fields.find((f) => f.name === "before");
    const columns = columnsOf(afterField?.type);
    const key = record.key && record.key.length > 0 ? await this.#key(record.key) : undefined;
    const segments = record.topic.split(".");
    const event: ChangeEvent = {
      table: {
        source: segments[0] ?? record.topic,
        namespace: segments.slice(1, -1).join("."),
        name: segments.at(-1) ?? record.topic,
        topic: record.topic,
        columns,
        keyColumns: key?.columns.map((column) => column.name) ?? [],
      },
      op: op as Op,
      before: toRow(columns, envelope.before),
      after: toRow(columns, envelope.after),
      source: toSource((envelope.source ?? {}) as Record<string, unknown>),
      unavailableColumns: (envelope.unavailable_columns as string[] | null | undefined) ?? [],
    };
    return { event, key: key?.values ?? null };
  }

  async #key(key: Buffer): Promise<{ columns: ColumnSpec[]; values: Row | null }> {
    const schema = await this.#schema(wireSchemaId(key, "key"));
    const { type } = nonNullBranch(schema.json);
    if (typeof type !== "object" || Array.isArray(type) || type.type !== "record") {
      throw new RecordError("the record key is not an Avro record of key columns", {
        code: "RECORD_INVALID",
      });
    }
    const columns = columnsOf(type);
    return { columns, values: toRow(columns, this.#read(schema, key, "key")) };
  }

  #read(schema: WriterSchema, buffer: Buffer, what: string): unknown {
    try {
      return schema.type.fromBuffer(buffer.subarray(5));
    } catch (error) {
      throw new RecordError(
        `the record ${what} does not decode with its writer schema: ${(error as Error).message}`,
        {
          code: "RECORD_UNDECODABLE",
          cause: error,
        },
      );
    }
  }

  #schema(id: number): Promise<WriterSchema> {
    let cached = this.#schemas.get(id);
    if (!cached) {
      cached = this.#fetchSchema(id);
      this.#schemas.set(id, cached);
      // A failed lookup is not remembered: the registry may come back, or the id appear.
      cached.catch(() => this.#schemas.delete(id));
    }
    return cached;
  }

  async #fetchSchema(id: number): Promise<WriterSchema> {
    const url = `${this.#url}/schemas/ids/${id}`;
    let response: Response;
    try {
      response = await fetch(url, { headers: { accept: "application/json" } });
    } catch (error) {
      throw new TributaryError(`the schema registry does not answer (${url})`, {
        code: "REGISTRY_UNAVAILABLE",
        retriable: true,
        cause: error,
      });
    }
    if (response.status === 404) {
      throw new RecordError(`schema id ${id} is unknown to the schema registry`, { code: "SCHEMA_UNKNOWN" });
    }
    if (!response.ok) {
      throw new TributaryError(`the schema registry answered ${response.status} for ${url}`, {
        code: "REGISTRY_UNAVAILABLE",
        retriable: true,
      });
    }
    const body = (await response.json()) as { schema: string };
    const json = JSON.parse(body.schema) as AvroSchemaJson;
    try {
      return { type: avroType(json), json };
    } catch (error) {
      throw new RecordError(`schema id ${id} is not a usable Avro schema: ${(error as Error).message}`, {
        code: "SCHEMA_INVALID",
        cause: error,
      });
    }
  }
}
