import type { KafkaMessage } from "kafkajs";
import { describe, expect, it } from "vitest";
import type { AvroRecordSchema } from "../../../src/avro/envelope-schema.js";
import {
  keyFieldsFromSchema,
  keySchema,
  layoutFromValueSchema,
  layoutOf,
  valueSchema,
} from "../../../src/avro/envelope-schema.js";
import {
  compileEnvelopeScanner,
  compileImageValuesReader,
  compileKeyChecker,
  compileKeyDecoder,
  compileValueDecoder,
} from "../../../src/avro/event-decoder.js";
import { eventKeyEncoder, eventValueEncoder } from "../../../src/avro/event-encoder.js";
import type { ChangeEvent, Row, TableSpec } from "../../../src/core/change-event.js";
import { segments, stagedRowOf } from "../../../src/sinks/warehouse/batch.js";
import { binaryCopyPieces, binaryFieldWriters } from "../../../src/sinks/warehouse/copy-binary.js";
import {
  type DirectReaders,
  DirectRowRefused,
  scanDirect,
} from "../../../src/sinks/warehouse/direct-rows.js";
import { foldIdentifier } from "../../../src/sinks/warehouse/identifier.js";
import {
  batchConstantColumns,
  metadataColumns,
  stagedColumnNames,
  type TableModel,
} from "../../../src/sinks/warehouse/sql.js";
import { type WarehouseType, warehouseType } from "../../../src/sinks/warehouse/typemap.js";
import { postgresSource } from "../../avro/all-kinds.js";

const VALUE_SCHEMA_ID = 7;
const KEY_SCHEMA_ID = 8;
const TOPIC = "fake.public.kinds";
const LOADED_AT = 1_700_000_123_456_789;

/** Every column kind the binary COPY writes, nullable, and a key. */
const table: TableSpec = {
  source: "fake",
  namespace: "public",
  name: "kinds",
  topic: TOPIC,
  keyColumns: ["id"],
  columns: [
    { name: "id", type: { kind: "int64" }, nullable: false, sourceType: "bigint" },
    { name: "small", type: { kind: "int16" }, nullable: true, sourceType: "smallint" },
    { name: "mid", type: { kind: "int32" }, nullable: true, sourceType: "integer" },
    { name: "price", type: { kind: "decimal", precision: 12, scale: 2 }, nullable: true, sourceType: "" },
    // Unscaled integers of more than 6 bytes: their text path.
    { name: "total", type: { kind: "decimal", precision: 30, scale: 4 }, nullable: true, sourceType: "" },
    { name: "ratio", type: { kind: "float64" }, nullable: true, sourceType: "" },
    { name: "name", type: { kind: "string" }, nullable: true, sourceType: "text" },
    { name: "code", type: { kind: "string", maxLength: 4 }, nullable: true, sourceType: "varchar(4)" },
    { name: "flag", type: { kind: "boolean" }, nullable: true, sourceType: "" },
    { name: "day", type: { kind: "date" }, nullable: true, sourceType: "" },
    { name: "wall", type: { kind: "timestamp" }, nullable: true, sourceType: "" },
    { name: "moment", type: { kind: "timestamptz" }, nullable: true, sourceType: "" },
  ],
};

const registered = (schema: unknown) => JSON.parse(JSON.stringify(schema)) as AvroRecordSchema;
const valueJson = registered(valueSchema(table));
const keyJson = registered(keySchema(table));
const layout = layoutFromValueSchema(valueJson);

/** The model the sink stages with after creating the table (its actual types as Postgres's). */
const model: TableModel = {
  schema: "s",
  table: "fake_kinds",
  columns: table.columns.map((column) => ({ name: column.name, type: column.type })),
  keyColumns: ["id"],
  warehouseTypes: new Map<string, WarehouseType>([
    ...table.columns.map((column): [string, WarehouseType] => [
      foldIdentifier(column.name, "postgres"),
      warehouseType(column.type, "postgres"),
    ]),
    ...metadataColumns.map((name): [string, WarehouseType] => [
      name,
      name === "_tributary_deleted"
        ? { base: "BOOLEAN" }
        : name.endsWith("_ts") || name.endsWith("_at")
          ? { base: "TIMESTAMPTZ" }
          : name === "_tributary_partition"
            ? { base: "INTEGER" }
            : name === "_tributary_offset"
              ? { base: "BIGINT" }
              : { base: "VARCHAR", length: 255 },
    ]),
  ]),
};
const writers = binaryFieldWriters(model);

function required<T>(value: T | undefined): T {
  if (value === undefined) throw new Error("expected a value");
  return value;
}

const readers: DirectReaders = {
  valueSchemaId: VALUE_SCHEMA_ID,
  keySchemaId: KEY_SCHEMA_ID,
  scanner: required(compileEnvelopeScanner(valueJson, layout)),
  image: required(compileImageValuesReader(valueJson, layout)),
  key: required(compileKeyChecker(keyJson, keyFieldsFromSchema(keyJson))),
};
const generalValue = required(compileValueDecoder(valueJson, layout));
const generalKey = required(compileKeyDecoder(keyJson, keyFieldsFromSchema(keyJson)));

const encodeValue = eventValueEncoder(layoutOf(table), () => 1_700_000_000_999);
const encodeKey = required(eventKeyEncoder(layoutOf(table)));

function wire(schemaId: number, encode: (buffer: Buffer, offset: number) => number): Buffer {
  const buffer = Buffer.alloc(16 * 1024);
  buffer.writeInt32BE(schemaId, 1);
  return Buffer.from(buffer.subarray(0, encode(buffer, 5)));
}

/** A Kafka record of `event` as the capture writes it, at `offset`. */
function record(event: ChangeEvent, offset: number): KafkaMessage {
  return {
    key: wire(KEY_SCHEMA_ID, (buffer, at) => encodeKey(buffer, at, event)),
    value: wire(VALUE_SCHEMA_ID, (buffer, at) => encodeValue(buffer, at, event)),
    offset: String(offset),
  } as KafkaMessage;
}

function row(id: bigint, overrides: Row = {}): Row {
  return {
    id,
    small: -32_768,
    mid: 2_147_483_647,
    price: "-1234567890.05",
    total: "12345678901234567890.1234",
    ratio: -0.5,
    name: `naïve ünïcödé ${id} 🎉`,
    code: "ab",
    flag: true,
    day: -719_162,
    wall: 253_402_300_799_000_000,
    moment: 1_700_000_000_123_456,
    ...overrides,
  };
}

function event(
  op: ChangeEvent["op"],
  after: Row | null,
  sequence: number,
  changes: Partial<ChangeEvent> = {},
) {
  const version = String(sequence).padStart(20, "0");
  return {
    table,
    op,
    before: null,
    after,
    source: { ...postgresSource, version, tsMs: 1_700_000_000_000 + sequence },
    unavailableColumns: [],
    ...changes,
  } satisfies ChangeEvent;
}

/** The binary COPY data the general path stages for `messages`: decoded rows, deduplicated. */
function generalCopyData(messages: readonly KafkaMessage[]): Buffer {
  const rows = messages.map((message) => {
    const decoded = generalValue.decode(message.value as Buffer, 5);
    const key = generalKey.decode(message.key as Buffer, 5);
    return stagedRowOf(decoded, key, { topic: TOPIC, partition: 3, offset: message.offset });
  });
  const [segment] = segments(rows, [], table.keyColumns);
  if (segment?.kind !== "rows") throw new Error("one segment of rows expected");
  return withoutBatchConstants(
    Buffer.concat([...binaryCopyPieces(model, required(writers), segment.rows, LOADED_AT)]),
  );
}

/** Binary COPY data without the fields of the micro-batch's constants, as the fast path has it. */
function withoutBatchConstants(data: Buffer): Buffer {
  const names = stagedColumnNames(model);
  const dropped = new Set(batchConstantColumns.map((name) => names.indexOf(name)));
  const headerBytes = 19; // signature, flags, an empty header extension
  const parts: Buffer[] = [data.subarray(0, headerBytes)];
  let at = headerBytes;
  for (let fields = data.readInt16BE(at); fields !== -1; fields = data.readInt16BE(at)) {
    const count = Buffer.alloc(2);
    count.writeInt16BE(fields - dropped.size);
    parts.push(count);
    at += 2;
    for (let field = 0; field < fields; field++) {
      const end = at + 4 + Math.max(data.readInt32BE(at), 0);
      if (!dropped.has(field)) parts.push(data.subarray(at, end));
      at = end;
    }
  }
  parts.push(data.subarray(at));
  return Buffer.concat(parts);
}

/** The fast path's binary COPY data for `messages`, or why it refused them. */
async function directCopyData(messages: readonly KafkaMessage[]): Promise<Buffer | undefined> {
  const batch = (await scanDirect(messages, readers))?.batch;
  return batch && Buffer.concat([...batch.copyPieces(model, required(writers))]);
}

describe("the fast path for plain upserts", () => {
  it("stages the very bytes the general path stages but the micro-batch's constants, one row per key", async () => {
    const messages = [
      event("r", row(1n), 1),
      event("c", row(2n, { small: null, price: "0.00", total: null, name: "", flag: false, wall: null }), 2),
      event("u", row(1n, { mid: -1, price: "9999999999.99", total: "-0.0001", ratio: 1e300 }), 3),
      event(
        "c",
        row(9_007_199_254_740_993n, { moment: -62_135_596_800_000_000, code: null, price: "0.05" }),
        4,
      ),
      event("c", row(3n, { price: "-10000.00", total: "-99999999999999999999999999.9999" }), 4),
      event("c", row(4n, { price: "1.10", total: "0.0000" }), 4),
      // the same event twice (a replay inside the batch): the first stays
      event("u", row(2n, { name: "first" }), 5),
      event("u", row(2n, { name: "second" }), 5),
      event("u", row(-(2n ** 63n), { day: 2_932_896 }), 6),
    ].map((each, index) => record(each, 100 + index));

    const direct = await directCopyData(messages);
    expect(direct).toBeDefined();
    expect(direct?.toString("hex")).toBe(generalCopyData(messages).toString("hex"));
    const scanned = await scanDirect(messages, readers);
    expect(scanned?.batch?.rowCount).toBe(6);
    expect(scanned?.general).toEqual([]);
  });

  it("keeps the highest version of a key whatever the order of its records", async () => {
    const messages = [event("u", row(1n, { name: "newest" }), 9), event("u", row(1n, { name: "older" }), 4)];
    const records = messages.map((each, index) => record(each, index));
    expect((await scanDirect(records, readers))?.batch?.rowCount).toBe(1);
    const data = await directCopyData(records);
    expect(data?.includes(Buffer.from("newest"))).toBe(true);
    expect(data?.includes(Buffer.from("older"))).toBe(false);
  });

  it("leaves every record of a key with a delete, a tombstone or unchanged TOAST to the general path", async () => {
    const upsert = record(event("c", row(1n), 1), 0);
    const others: [string, KafkaMessage][] = [
      ["a delete", record(event("d", null, 3, { before: row(1n) }), 2)],
      ["unavailable columns", record(event("u", row(1n), 3, { unavailableColumns: ["name"] }), 2)],
      ["a tombstone", { key: upsert.key, value: null, offset: "2" } as KafkaMessage],
    ];
    for (const [what, other] of others) {
      const plain = record(event("u", row(2n), 2), 1);
      const scanned = await scanDirect([upsert, plain, other], readers);
      expect(scanned?.batch?.rowCount, what).toBe(1);
      expect(scanned?.general, what).toEqual([upsert, other]);
      const direct = await directCopyData([upsert, plain, other]);
      expect(direct?.toString("hex"), what).toBe(generalCopyData([plain]).toString("hex"));
    }
    const onlyGeneral = await scanDirect([upsert, others[0]?.[1] as KafkaMessage], readers);
    expect(onlyGeneral?.batch).toBeUndefined();
    expect(onlyGeneral?.general).toHaveLength(2);
  });

  it("leaves the whole micro-batch to the general path for a truncate, other schemas, bad bytes", async () => {
    const upsert = record(event("c", row(1n), 1), 0);
    const others: [string, KafkaMessage][] = [
      [
        "a truncate",
        {
          key: upsert.key,
          value: wire(VALUE_SCHEMA_ID, (buffer, at) => encodeValue(buffer, at, event("t", null, 2))),
          offset: "1",
        } as KafkaMessage,
      ],
      ["another value schema", { ...upsert, value: withSchemaId(upsert.value as Buffer, 99), offset: "1" }],
      ["another key schema", { ...upsert, key: withSchemaId(upsert.key as Buffer, 99), offset: "1" }],
      ["undecodable bytes", { ...upsert, value: (upsert.value as Buffer).subarray(0, 9), offset: "1" }],
      ["a key that is not its schema's", { ...upsert, key: Buffer.from([0, 0, 0, 0, 8, 0x80]), offset: "1" }],
    ];
    expect(await scanDirect([upsert], readers)).toBeDefined();
    for (const [what, other] of others) {
      expect(await scanDirect([upsert, other], readers), what).toBeUndefined();
    }
  });

  it("leaves a value the warehouse could not take to the general path, which says why", async () => {
    const tooLong = [record(event("c", row(1n, { code: "abcde" }), 1), 0)];
    expect(await scanDirect(tooLong, readers)).toBeDefined();
    await expect(directCopyData(tooLong)).rejects.toThrow(DirectRowRefused);
    for (const tooWide of [{ price: "12345678901.00" }, { total: "1234567890123456789012345678.0000" }]) {
      const records = [record(event("c", row(1n, tooWide), 1), 0)];
      await expect(directCopyData(records)).rejects.toThrow(DirectRowRefused);
    }
  });
});

function withSchemaId(bytes: Buffer, schemaId: number): Buffer {
  const copy = Buffer.from(bytes);
  copy.writeInt32BE(schemaId, 1);
  return copy;
}
