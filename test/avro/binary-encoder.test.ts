import avro from "avsc";
import { describe, expect, it } from "vitest";
import { AvroValueError, compileEncoder } from "../../src/avro/binary-encoder.js";
import { toEnvelopeValue } from "../../src/avro/envelope.js";
import { layoutOf, valueSchema } from "../../src/avro/envelope-schema.js";
import { int64TypeHook } from "../../src/avro/long-type.js";
import { allKindsEvent, allKindsTable, fullRow, nullRow } from "./all-kinds.js";

/** Our encoding of `value`, in a buffer with room to spare. */
function encode(schema: unknown, value: unknown): Buffer {
  const buffer = Buffer.alloc(64 * 1024);
  const end = compileEncoder(schema)(buffer, 0, value);
  return buffer.subarray(0, end);
}

/** avsc's encoding, with 64-bit longs (the reference). */
function reference(schema: unknown, value: unknown): Buffer {
  return avro.Type.forSchema(schema as avro.Schema, { typeHook: int64TypeHook }).toBuffer(value);
}

const table = allKindsTable("fake.public.all-kinds");
const layout = layoutOf(table);

describe("compiled Avro encoder", () => {
  it("writes a record of every column kind byte for byte as avsc does", () => {
    const schema = valueSchema(table);
    for (const envelope of [
      toEnvelopeValue(layout, allKindsEvent(table), 1_700_000_000_999),
      toEnvelopeValue(
        layout,
        allKindsEvent(table, { op: "u", before: nullRow(-(2n ** 63n)), after: fullRow(2n ** 63n - 1n) }),
        0,
      ),
    ]) {
      expect(encode(schema, envelope)).toEqual(reference(schema, envelope));
    }
  });

  it("writes longs exactly across the varint, float and BigInt paths", () => {
    const values = [0, -1, 1, 63, -64, 64, 2 ** 30 - 1, -(2 ** 30), 2 ** 30, 2 ** 31, -(2 ** 31) - 1];
    values.push(2 ** 52 - 1, -(2 ** 52) + 1, 2 ** 52, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER);
    for (const value of values) {
      expect(encode("long", value), String(value)).toEqual(reference("long", value));
    }
    for (const value of [2n ** 63n - 1n, -(2n ** 63n), 2n ** 53n + 1n, -5n]) {
      expect(encode("long", value), String(value)).toEqual(reference("long", value));
    }
  });

  it("writes strings of any length and alphabet, unions, arrays, maps, enums and fixed", () => {
    const schema = {
      type: "record",
      name: "Everything",
      fields: [
        { name: "texts", type: { type: "array", items: "string" } },
        { name: "choice", type: ["null", "int", "string", { type: "array", items: "long" }] },
        { name: "labels", type: { type: "map", values: ["null", "double"] } },
        { name: "color", type: { type: "enum", name: "Color", symbols: ["red", "green"] } },
        { name: "hash", type: { type: "fixed", name: "Hash", size: 4 } },
        { name: "again", type: ["null", "Color"] },
        { name: "flag", type: "boolean" },
        { name: "ratio", type: "float" },
      ],
    };
    const texts = ["", "ascii", "é", "x".repeat(63), "y".repeat(64), "🦆".repeat(100), "a".repeat(70_000)];
    for (const choice of [null, -7, "seven", [1, 2 ** 40]]) {
      const value = {
        texts,
        choice,
        labels: { a: 1.5, b: null },
        color: "green",
        hash: Buffer.from([1, 2, 3, 4]),
        again: "red",
        flag: false,
        ratio: 0.25,
      };
      const big = Buffer.alloc(256 * 1024);
      const end = compileEncoder(schema)(big, 0, value);
      expect(big.subarray(0, end)).toEqual(reference(schema, value));
    }
  });

  it("reports where a value would end when the buffer is too small, and writes it whole in a bigger one", () => {
    const envelope = toEnvelopeValue(layout, allKindsEvent(table), 5);
    const encodeEnvelope = compileEncoder(valueSchema(table));
    const expected = reference(valueSchema(table), envelope);
    const small = Buffer.alloc(40);
    expect(encodeEnvelope(small, 10, envelope)).toBe(10 + expected.length);
    const exact = Buffer.alloc(10 + expected.length);
    expect(encodeEnvelope(exact, 10, envelope)).toBe(exact.length);
    expect(exact.subarray(10)).toEqual(expected);
  });

  it("refuses a value that does not match, naming the field", () => {
    const schema = { type: "record", name: "R", fields: [{ name: "n", type: ["null", "long"] }] };
    const encodeR = compileEncoder(schema);
    const buffer = Buffer.alloc(64);
    expect(() => encodeR(buffer, 0, { n: "12" })).toThrow(AvroValueError);
    expect(() => encodeR(buffer, 0, { n: 1.5 })).toThrow(/^n: expected long, got number 1.5$/);
    expect(() => encodeR(buffer, 0, { n: 2n ** 64n })).toThrow(/n: expected long/);
    expect(() => compileEncoder("int")(buffer, 0, 2 ** 31)).toThrow(/expected int/);
  });
});
