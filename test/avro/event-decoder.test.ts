import avro from "avsc";
import { describe, expect, it } from "vitest";
import { AvroDataError } from "../../src/avro/binary-decoder.js";
import { toEnvelopeValue } from "../../src/avro/envelope.js";
import {
  type AvroField,
  type AvroRecordSchema,
  keyFieldsFromSchema,
  keySchema,
  layoutFromValueSchema,
  layoutOf,
  valueSchema,
} from "../../src/avro/envelope-schema.js";
import { compileKeyDecoder, compileValueDecoder } from "../../src/avro/event-decoder.js";
import { eventKeyEncoder, eventValueEncoder } from "../../src/avro/event-encoder.js";
import { int64TypeHook } from "../../src/avro/long-type.js";
import { TributarySchemaRegistry } from "../../src/avro/registry.js";
import type { ChangeEvent, Row, TableSpec } from "../../src/core/change-event.js";
import { RecordError } from "../../src/core/errors.js";
import { avscKeyDecoder, avscValueDecoder, RecordDecoder } from "../../src/sinks/warehouse/decode.js";
import { stack, uniqueName } from "../helpers/stack.js";
import {
  allKindsEvent,
  allKindsTable,
  fullRow,
  imapSource,
  mysqlSource,
  nullRow,
  postgresSource,
  vonigoSource,
} from "./all-kinds.js";

const table = allKindsTable("fake.public.all-kinds");
const layout = layoutOf(table);

/** A schema as the sink gets it: JSON text from the registry. */
const registered = (schema: unknown) => JSON.parse(JSON.stringify(schema)) as AvroRecordSchema;

/** `schema` with its row record's fields changed (before's record; after refers to it by name). */
function withRowFields(schema: AvroRecordSchema, change: (field: AvroField) => unknown): AvroRecordSchema {
  const [before, ...rest] = schema.fields as [AvroField, ...AvroField[]];
  const row = (before.type as unknown[])[1] as AvroRecordSchema;
  return registered({
    ...schema,
    fields: [{ ...before, type: ["null", { ...row, fields: row.fields.map(change) }] }, ...rest],
  });
}

/** A column field written as another Avro type, its attributes kept. */
function retypedColumn(field: AvroField, avroType: string): unknown {
  return { ...field, type: ["null", { ...((field.type as unknown[])[1] as object), type: avroType }] };
}

/** The Confluent wire format of `encode`'s body: magic byte, schema id 7, then the Avro. */
function wire(encode: (buffer: Buffer, offset: number, event: ChangeEvent) => number, event: ChangeEvent) {
  const buffer = Buffer.alloc(64 * 1024);
  buffer.writeInt32BE(7, 1);
  return buffer.subarray(0, encode(buffer, 5, event));
}

function eventsOf(spec: TableSpec, full: (id: bigint) => Row, empty: (id: bigint) => Row): ChangeEvent[] {
  const event = (overrides: Partial<ChangeEvent>) => allKindsEvent(spec, { after: full(1n), ...overrides });
  return [
    event({}),
    event({
      op: "u",
      before: empty(-(2n ** 63n)),
      after: full(2n ** 63n - 1n),
      unavailableColumns: ["notes", "doc"],
    }),
    event({ op: "u", before: full(3n), after: empty(3n), source: vonigoSource }),
    event({ op: "d", before: full(5n), after: null, source: mysqlSource }),
    event({ op: "d", before: empty(6n), after: full(6n), source: imapSource }),
    event({ op: "r", after: empty(9_007_199_254_740_993n), source: imapSource }),
    event({ op: "t", after: null, source: { ...postgresSource, snapshot: true } }),
  ];
}

/** Compiled and avsc decoders of one table's value and key schemas. */
function decodersOf(spec: TableSpec) {
  const valueJson = registered(valueSchema(spec));
  const keyJson = registered(keySchema(spec));
  const compiledValue = compileValueDecoder(valueJson, layoutFromValueSchema(valueJson));
  const compiledKey = compileKeyDecoder(keyJson, keyFieldsFromSchema(keyJson));
  if (!compiledValue || !compiledKey) throw new Error("a Tributary schema must compile");
  return {
    compiledValue,
    compiledKey,
    avscValue: avscValueDecoder(valueJson),
    avscKey: avscKeyDecoder(keyJson),
    encodeValue: eventValueEncoder(layoutOf(spec), () => 1_700_000_000_999),
    encodeKey: eventKeyEncoder(layoutOf(spec)) as (
      buffer: Buffer,
      offset: number,
      event: ChangeEvent,
    ) => number,
  };
}

/** Columns of one kind each, for rows of many values per kind. */
const edgeTable: TableSpec = {
  source: "fake",
  namespace: "",
  name: "edges",
  topic: "fake.edges",
  keyColumns: ["id", "label"],
  columns: [
    { name: "id", type: { kind: "int64" }, nullable: false, sourceType: "bigint" },
    { name: "label", type: { kind: "string" }, nullable: false, sourceType: "text" },
    { name: "whole", type: { kind: "decimal", precision: 38, scale: 0 }, nullable: true, sourceType: "" },
    { name: "cents", type: { kind: "decimal", precision: 20, scale: 2 }, nullable: true, sourceType: "" },
    { name: "fine", type: { kind: "decimal", precision: 38, scale: 10 }, nullable: true, sourceType: "" },
    { name: "wall", type: { kind: "timestamp" }, nullable: true, sourceType: "" },
    { name: "clock", type: { kind: "time" }, nullable: true, sourceType: "" },
    { name: "real", type: { kind: "float32" }, nullable: true, sourceType: "" },
    { name: "medium", type: { kind: "int32" }, nullable: true, sourceType: "" },
    { name: "ids", type: { kind: "array", items: { kind: "int64" } }, nullable: true, sourceType: "" },
    { name: "blobs", type: { kind: "array", items: { kind: "bytes" } }, nullable: true, sourceType: "" },
  ],
};

const decimals = [
  "0",
  "1",
  "-1",
  "127",
  "-128",
  "128",
  "140737488355327", // 2^47 - 1: the largest 6-byte unscaled value
  "-140737488355328",
  "140737488355328", // 7 bytes
  "-140737488355329",
  "9007199254740993",
  "-99999999999999999999999999999999999999",
  "99999999999999999999999999999999999999",
];
const micros = [
  0,
  -1,
  86_399_999_999,
  2 ** 53 - 1,
  -(2 ** 53) + 1,
  2 ** 53,
  2 ** 60,
  -(2 ** 62),
  2 ** 63 - 2048,
];

function edgeRow(index: number): Row {
  const decimal = decimals[index % decimals.length] as string;
  const scaled = (scale: number) => (scale === 0 ? decimal : `${decimal}.${"7".repeat(scale)}`);
  return {
    id: BigInt(index) - 2n ** 62n,
    label: ["", "é", "Grüße, 世界", "x".repeat(300)][index % 4],
    whole: decimal,
    cents: decimal.length > 18 ? null : scaled(2),
    fine: decimal.length > 27 ? decimal : scaled(10),
    wall: micros[index % micros.length],
    clock: micros[(index + 3) % micros.length],
    real: [0.1, -3.4e38, Number.POSITIVE_INFINITY, 2 ** -149][index % 4],
    medium: [0, -1, 2 ** 31 - 1, -(2 ** 31)][index % 4],
    ids: [2n ** 63n - 1n, null, BigInt(-index)],
    blobs: index % 3 === 0 ? [] : [Buffer.alloc(index, index), null],
  };
}

const emptyEdgeRow = (id: bigint): Row => ({ id, label: "k" });

describe("compiled event decoders", () => {
  it("decode every column kind, op and connector's source block as the avsc path does", () => {
    const decoders = decodersOf(table);
    for (const event of eventsOf(table, fullRow, nullRow)) {
      const bytes = wire(decoders.encodeValue, event);
      const decoded = decoders.compiledValue.decode(bytes, 5);
      expect(decoded, `${event.op} ${event.source.connector}`).toEqual(decoders.avscValue.decode(bytes, 5));
      // Which is the event itself, in the row representation of change-event.ts.
      expect(decoded).toEqual({
        table: layoutFromValueSchema(registered(valueSchema(table))).table,
        op: event.op,
        image: event.op === "d" ? event.before : event.after,
        version: event.source.version,
        sourceTsMs: event.source.tsMs,
        unavailableColumns: event.unavailableColumns,
      });
      if (event.op === "t") continue;
      const key = wire(decoders.encodeKey, event);
      expect(decoders.compiledKey.decode(key, 5)).toEqual(decoders.avscKey.decode(key, 5));
      expect(decoders.compiledKey.decode(key, 5)).toEqual({ id: (event.after ?? event.before)?.id });
    }
  });

  it("give each value the same JS type as the avsc path: bigint, number, text, Buffer, arrays with nulls", () => {
    const decoders = decodersOf(edgeTable);
    for (let index = 0; index < 40; index++) {
      const row = edgeRow(index);
      const event = allKindsEvent(edgeTable, { after: row, op: index % 2 ? "c" : "r" });
      const bytes = wire(decoders.encodeValue, event);
      const compiled = decoders.compiledValue.decode(bytes, 5).image as Row;
      const reference = decoders.avscValue.decode(bytes, 5).image as Row;
      expect(compiled, `row ${index}`).toEqual(reference);
      for (const name of Object.keys(reference)) {
        expect(typeof compiled[name], `${name} of row ${index}`).toBe(typeof reference[name]);
      }
      expect(Object.keys(compiled)).toEqual(Object.keys(reference));
      const key = wire(decoders.encodeKey, event);
      expect(decoders.compiledKey.decode(key, 5)).toEqual(decoders.avscKey.decode(key, 5));
    }
    const nulls = wire(decoders.encodeValue, allKindsEvent(edgeTable, { after: emptyEdgeRow(1n) }));
    expect(decoders.compiledValue.decode(nulls, 5)).toEqual(decoders.avscValue.decode(nulls, 5));
  });

  it("skip envelope and source fields they do not know, of every Avro type", () => {
    const extra = (name: string) => [
      { name: `${name}_map`, type: { type: "map", values: ["null", { type: "array", items: "double" }] } },
      { name: `${name}_fixed`, type: { type: "fixed", name: `${name}Fixed`, size: 3 } },
      { name: `${name}_enum`, type: { type: "enum", name: `${name}Enum`, symbols: ["a", "b"] } },
      {
        name: `${name}_record`,
        type: {
          type: "record",
          name: `${name}Record`,
          fields: [{ name: "x", type: ["null", "bytes", "float"] }],
        },
      },
    ];
    const extraValues = (name: string) => ({
      [`${name}_map`]: { a: [1.5, 2], b: null },
      [`${name}_fixed`]: Buffer.from([1, 2, 3]),
      [`${name}_enum`]: "b",
      [`${name}_record`]: { x: Buffer.from("bytes") },
    });
    const schema = valueSchema(table);
    const [before, after, source, ...rest] = schema.fields;
    const sourceType = source?.type as AvroRecordSchema;
    const widened = registered({
      ...schema,
      fields: [
        ...extra("First"),
        before,
        ...extra("Middle"),
        after,
        { ...source, type: { ...sourceType, fields: [...extra("Source"), ...sourceType.fields] } },
        ...rest,
        ...extra("Last"),
      ],
    });
    const compiled = compileValueDecoder(widened, layoutFromValueSchema(widened));
    if (!compiled) throw new Error("extra fields must not stop the compiled decoder");
    const event = allKindsEvent(table, {
      op: "d",
      before: fullRow(8n),
      after: null,
      unavailableColumns: ["x"],
    });
    const value = {
      ...toEnvelopeValue(layout, event, 5),
      ...extraValues("First"),
      ...extraValues("Middle"),
      ...extraValues("Last"),
    };
    value.source = { ...value.source, ...extraValues("Source") } as typeof value.source;
    const type = avro.Type.forSchema(widened as avro.Schema, { typeHook: int64TypeHook });
    const bytes = Buffer.concat([Buffer.from([0, 0, 0, 0, 7]), type.toBuffer(value)]);
    expect(compiled.decode(bytes, 5)).toEqual(avscValueDecoder(widened).decode(bytes, 5));
    expect(compiled.decode(bytes, 5).image).toEqual(fullRow(8n));
  });

  it("refuse every truncation, trailing bytes and an unknown op", () => {
    const decoders = decodersOf(table);
    for (const event of eventsOf(table, fullRow, nullRow).slice(0, 4)) {
      const bytes = wire(decoders.encodeValue, event);
      for (let cut = 5; cut < bytes.length; cut++) {
        expect(() => decoders.compiledValue.decode(bytes.subarray(0, cut), 5), `cut at ${cut}`).toThrow(
          AvroDataError,
        );
      }
      expect(() => decoders.compiledValue.decode(Buffer.concat([bytes, Buffer.from([0])]), 5)).toThrow(
        /trailing data/,
      );
      const key = wire(decoders.encodeKey, event);
      for (let cut = 5; cut < key.length; cut++) {
        expect(() => decoders.compiledKey.decode(key.subarray(0, cut), 5)).toThrow(AvroDataError);
      }
    }
    const unknownOp = wire(decoders.encodeValue, allKindsEvent(table, { op: "x" as never }));
    expect(() => decoders.compiledValue.decode(unknownOp, 5)).toThrow(RecordError);
    expect(() => decoders.compiledValue.decode(unknownOp, 5)).toThrow('unknown op "x"');
    const longOp = wire(decoders.encodeValue, allKindsEvent(table, { op: "cc" as never }));
    expect(() => decoders.compiledValue.decode(longOp, 5)).toThrow('unknown op "cc"');
  });

  it("leave to avsc the writer schemas of another shape", () => {
    const schema = registered(valueSchema(table));
    const decimalAsString = withRowFields(schema, (field) =>
      field.name === "amount" ? retypedColumn(field, "string") : field,
    );
    const notNullable = withRowFields(schema, (field) => ({ ...field, type: (field.type as unknown[])[1] }));
    const row = ((schema.fields[0] as AvroField).type as unknown[])[1] as AvroRecordSchema;
    const otherAfter = registered({
      ...schema,
      fields: schema.fields.map((field) =>
        field.name === "after" ? { ...field, type: ["null", { ...row, name: "Other" }] } : field,
      ),
    });
    const opAsInt = registered({
      ...schema,
      fields: schema.fields.map((field) => (field.name === "op" ? { ...field, type: "int" } : field)),
    });
    for (const odd of [decimalAsString, notNullable, otherAfter, opAsInt]) {
      expect(compileValueDecoder(odd, layoutFromValueSchema(odd))).toBeUndefined();
    }
    const key = registered(keySchema(table));
    const nullableKey = {
      ...key,
      fields: key.fields.map((field) => ({ ...field, type: ["null", field.type] })),
    };
    expect(
      compileKeyDecoder(nullableKey as AvroRecordSchema, keyFieldsFromSchema(nullableKey)),
    ).toBeUndefined();
  });
});

describe("the sink's RecordDecoder with the real registry", () => {
  const registry = new TributarySchemaRegistry({ url: stack.registryUrl });

  it("decodes with the compiled decoders, falls back to avsc for other shapes, and dead-letters bad bytes", async () => {
    const topic = uniqueName("test_event_decoder");
    const spec = allKindsTable(topic);
    const keyId = await registry.register(`${topic}-key`, keySchema(spec) as never);
    const valueId = await registry.register(`${topic}-value`, valueSchema(spec) as never);
    const decoder = new RecordDecoder(new TributarySchemaRegistry({ url: stack.registryUrl }));
    const withId = (bytes: Buffer, id: number) => {
      const copy = Buffer.from(bytes);
      copy.writeInt32BE(id, 1);
      return copy;
    };
    const decoders = decodersOf(spec);
    for (const event of eventsOf(spec, fullRow, nullRow)) {
      const value = withId(wire(decoders.encodeValue, event), valueId);
      const key = event.op === "t" ? null : withId(wire(decoders.encodeKey, event), keyId);
      const decoded = await decoder.decode({ key, value });
      expect(decoded?.event).toEqual(decoders.avscValue.decode(value, 5));
      expect(decoded?.key).toEqual(key === null ? null : decoders.avscKey.decode(key, 5));
    }

    // A value schema whose notes column is written as bytes: avsc reads it, as before.
    const odd = withRowFields(registered(valueSchema(spec)), (field) =>
      field.name === "notes" ? retypedColumn(field, "bytes") : field,
    );
    const oddId = await registry.register(`${topic}_odd-value`, odd as never);
    const oddType = avro.Type.forSchema(odd as avro.Schema, { typeHook: int64TypeHook });
    const envelope = toEnvelopeValue(layoutOf(spec), allKindsEvent(spec), 3) as { after: Row };
    envelope.after = { ...envelope.after, notes: Buffer.from("as bytes") };
    const oddValue = Buffer.concat([Buffer.from([0, 0, 0, 0, 0]), oddType.toBuffer(envelope)]);
    oddValue.writeInt32BE(oddId, 1);
    const decoded = await decoder.decode({ key: null, value: oddValue });
    expect(decoded?.event.image?.notes).toEqual(Buffer.from("as bytes"));
    expect(decoded?.event.image?.id).toBe(1n);

    const good = withId(wire(decoders.encodeValue, allKindsEvent(spec)), valueId);
    for (const bad of [good.subarray(0, good.length - 1), Buffer.concat([good, Buffer.from([1])])]) {
      // The compiled decoder's error, as a RecordError: the record goes to the dead-letter queue.
      const error = (() => {
        try {
          decoder.decodeKnown({ key: null, value: bad });
        } catch (thrown) {
          return thrown as RecordError;
        }
      })();
      expect(error).toBeInstanceOf(RecordError);
      expect(error?.code).toBe("RECORD_UNDECODABLE");
      expect(error?.message).toMatch(/the record value cannot be decoded: (truncated|trailing)/);
      expect(error?.cause).toBeInstanceOf(AvroDataError);
    }
  });
});
