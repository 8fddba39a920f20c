import avro from "avsc";
import { describe, expect, it } from "vitest";
import {
  AvroCursor,
  AvroDataError,
  type AvroSchema,
  AvroSchemaUnsupported,
  AvroTypes,
} from "../../src/avro/binary-decoder.js";
import { int64TypeHook } from "../../src/avro/long-type.js";
import { writeZigzagVarint } from "../../src/core/varint.js";
import { longEdges } from "../helpers/long-edges.js";

/** avsc with 64-bit longs: the reference. */
const avscType = (schema: unknown) => avro.Type.forSchema(schema as avro.Schema, { typeHook: int64TypeHook });

function cursorOn(bytes: Buffer): AvroCursor {
  const cursor = new AvroCursor();
  cursor.start(bytes, 0);
  return cursor;
}

/** Avro ints (counts, lengths, union indexes) as bytes. */
function varints(...values: number[]): Buffer {
  const buffer = Buffer.alloc(values.length * 5);
  let end = 0;
  for (const value of values) end = writeZigzagVarint(buffer, end, value);
  return buffer.subarray(0, end);
}

/** A record with a field of every Avro type, named types referred to by short and full name. */
const everything = {
  type: "record",
  name: "Everything",
  namespace: "test.outer",
  fields: [
    { name: "nothing", type: "null" },
    { name: "flag", type: "boolean" },
    { name: "small", type: "int" },
    { name: "big", type: "long" },
    { name: "micros", type: { type: "long", logicalType: "timestamp-micros" } },
    { name: "ratio", type: "float" },
    { name: "precise", type: "double" },
    { name: "blob", type: "bytes" },
    { name: "text", type: "string" },
    { name: "hash", type: { type: "fixed", name: "Hash", namespace: "test.other", size: 3 } },
    { name: "color", type: { type: "enum", name: "Color", symbols: ["red", "green", "blue"] } },
    { name: "colors", type: { type: "array", items: "Color" } },
    { name: "hashes", type: { type: "map", values: "test.other.Hash" } },
    { name: "nulls", type: { type: "array", items: "null" } },
    { name: "choice", type: ["null", "int", "string", { type: "array", items: "long" }] },
    { name: "nested", type: { type: "map", values: { type: "array", items: ["null", "double"] } } },
    {
      name: "list",
      type: {
        type: "record",
        name: "Node",
        fields: [
          { name: "value", type: "string" },
          { name: "next", type: ["null", "Node"] },
        ],
      },
    },
    {
      name: "point",
      type: {
        type: "record",
        name: "Point",
        fields: [
          { name: "x", type: "double" },
          { name: "y", type: "float" },
          { name: "on", type: "boolean" },
        ],
      },
    },
  ],
};

function everythingValue(seed: number) {
  return {
    nothing: null,
    flag: seed % 2 === 0,
    small: -seed * 1000,
    big: 2n ** 62n + BigInt(seed),
    micros: 1_700_000_000_123_456 + seed,
    ratio: 0.5,
    precise: Math.PI * seed,
    blob: Buffer.alloc(seed * 7, seed),
    text: "Grüße, 世界 🦆".repeat(seed),
    hash: Buffer.from([seed, 2, 3]),
    color: "blue",
    colors: ["red", "green", "blue"].slice(0, seed % 4),
    hashes: { a: Buffer.from([1, 2, 3]), [`k${seed}`]: Buffer.from([4, 5, 6]) },
    nulls: new Array(seed).fill(null),
    choice: [null, -7, "seven", [1, 2 ** 40]][seed % 4],
    nested: { x: [1.5, null], y: [] },
    list: { value: "a", next: { value: "b", next: seed > 1 ? { value: "c", next: null } : null } },
    point: { x: 1, y: 2, on: true },
  };
}

describe("Avro cursor", () => {
  it("reads longs as long-type.ts does: a number when safe, else a bigint", () => {
    for (const value of longEdges) {
      const bytes = avscType("long").toBuffer(value);
      const cursor = cursorOn(bytes);
      const read = cursor.readLong();
      expect(read, String(value)).toEqual(avscType("long").fromBuffer(bytes));
      expect(typeof read).toBe(typeof avscType("long").fromBuffer(bytes));
      cursor.finish();
    }
  });

  it("reads ints over the whole 32-bit range and refuses wider ones", () => {
    for (const value of [0, -1, 1, 63, -64, 64, 8191, -8193, 2 ** 31 - 1, -(2 ** 31), 1_000_000]) {
      const cursor = cursorOn(avscType("int").toBuffer(value));
      expect(cursor.readInt()).toBe(value);
      cursor.finish();
    }
    expect(() => cursorOn(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x10])).readInt()).toThrow(/invalid int/);
    expect(() => cursorOn(Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x00])).readInt()).toThrow(
      /invalid int/,
    );
  });

  it("reads booleans, floats, doubles, strings and bytes as avsc does", () => {
    const schema = {
      type: "record",
      name: "R",
      fields: [
        { name: "flag", type: "boolean" },
        { name: "ratio", type: "float" },
        { name: "precise", type: "double" },
        { name: "text", type: "string" },
        { name: "blob", type: "bytes" },
      ],
    };
    const texts = ["", "c", "ascii", "é", "Grüße, 世界", "🦆".repeat(100), "a".repeat(70_000)];
    for (const [index, text] of texts.entries()) {
      const value = {
        flag: index % 2 === 0,
        ratio: 0.1 * index,
        precise: index === 0 ? Number.NaN : -1 / index,
        text,
        blob: Buffer.from(text),
      };
      const bytes = avscType(schema).toBuffer(value);
      const cursor = cursorOn(bytes);
      const read = {
        flag: cursor.readBoolean(),
        ratio: cursor.readFloat(),
        precise: cursor.readDouble(),
        text: cursor.readString(),
        blob: cursor.readBytes(),
      };
      cursor.finish();
      expect(read).toEqual(avscType(schema).fromBuffer(bytes));
    }
  });

  it("copies bytes out of the buffer it reads", () => {
    const bytes = avscType("bytes").toBuffer(Buffer.from([1, 2, 3]));
    const read = cursorOn(bytes).readBytes();
    bytes.fill(0);
    expect(read).toEqual(Buffer.from([1, 2, 3]));
  });

  it("refuses malformed bytes and bytes after the value", () => {
    const tooLong = Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
    expect(() => cursorOn(tooLong).readLong()).toThrow(/invalid long/);
    expect(() => cursorOn(tooLong).skipVarint()).toThrow(/invalid long/);
    expect(() => cursorOn(varints(-1)).readString()).toThrow(/invalid length -1/);
    expect(() => cursorOn(varints(5, 65, 66)).readString()).toThrow(/truncated/);
    expect(() => cursorOn(varints(2)).readUnionBranch(2)).toThrow(/invalid union index 2/);
    expect(() => cursorOn(varints(-1)).readUnionBranch(2)).toThrow(/invalid union index -1/);
    // A count beyond the bytes left is refused before anything is read or allocated.
    expect(() => cursorOn(varints(1_000_000, 1, 2)).readBlockCount()).toThrow(/truncated/);
    expect(() => cursorOn(Buffer.from([0, 0, 0])).readDouble()).toThrow(/truncated/);
    expect(() => cursorOn(Buffer.alloc(0)).readBoolean()).toThrow(AvroDataError);
    const trailing = cursorOn(Buffer.from([2, 0]));
    expect(trailing.readLong()).toBe(1);
    expect(() => trailing.finish()).toThrow(/trailing data: 1 bytes/);
  });
});

function skipAll(schema: AvroSchema, bytes: Buffer): number {
  const cursor = cursorOn(bytes);
  new AvroTypes(schema).skip(schema, undefined)(cursor);
  return cursor.position;
}

describe("compiled Avro skippers", () => {
  it("land exactly after a value of every Avro type", () => {
    const sentinel = Buffer.from([0x2a, 0x2a]);
    for (const seed of [0, 1, 2, 3, 4]) {
      const value = everythingValue(seed);
      const bytes = avscType(everything).toBuffer(value);
      expect(skipAll(everything as AvroSchema, Buffer.concat([bytes, sentinel])), `seed ${seed}`).toBe(
        bytes.length,
      );
      // Field by field: each ends where the record of the fields up to it ends.
      const types = new AvroTypes(everything as AvroSchema);
      const cursor = cursorOn(bytes);
      everything.fields.forEach((field, index) => {
        types.skip(field.type as AvroSchema, "test.outer")(cursor);
        const upTo = { ...everything, fields: everything.fields.slice(0, index + 1) };
        expect(cursor.position, `${field.name}, seed ${seed}`).toBe(avscType(upTo).toBuffer(value).length);
      });
    }
  });

  it("skip a record of primitives and nullable primitives (a row image) in one loop, exactly", () => {
    const flat = {
      type: "record",
      name: "Row",
      fields: [
        { name: "id", type: "long" },
        { name: "name", type: ["null", "string"] },
        { name: "last", type: ["string", "null"] },
        { name: "price", type: ["null", { type: "bytes", logicalType: "decimal", precision: 9, scale: 2 }] },
        { name: "ratio", type: ["null", "double"] },
        { name: "small", type: ["null", "float"] },
        { name: "flag", type: ["null", "boolean"] },
        { name: "day", type: ["null", { type: "int", logicalType: "date" }] },
        { name: "color", type: ["null", { type: "enum", name: "Color", symbols: ["RED", "GREEN"] }] },
        { name: "hash", type: ["null", { type: "fixed", name: "Hash", size: 3 }] },
        { name: "nothing", type: "null" },
      ],
    };
    const full = {
      id: 1234567,
      name: "naïve",
      last: "x",
      price: Buffer.from([0x01, 0x02]),
      ratio: 2.5,
      small: 1.5,
      flag: true,
      day: 19_000,
      color: "GREEN",
      hash: Buffer.from("abc"),
      nothing: null,
    };
    const empty = Object.fromEntries(Object.keys(full).map((key) => [key, null]));
    for (const value of [full, { ...empty, id: -1, last: "" }]) {
      const bytes = avscType(flat).toBuffer(value);
      expect(skipAll(flat as AvroSchema, Buffer.concat([bytes, varints(21)]))).toBe(bytes.length);
      for (let cut = 0; cut < bytes.length; cut++) {
        expect(() => skipAll(flat as AvroSchema, bytes.subarray(0, cut)), `cut at ${cut}`).toThrow(
          AvroDataError,
        );
      }
    }
    // A union index that is neither branch is refused, not skipped.
    expect(() => skipAll(flat as AvroSchema, Buffer.concat([varints(1), varints(2)]))).toThrow(
      /invalid union index/,
    );
  });

  it("skip array and map blocks written with negative counts and their byte sizes", () => {
    const longsBlock = Buffer.concat([varints(1, 2), avscType("long").toBuffer(300)]);
    const array = Buffer.concat([varints(-3, longsBlock.length), longsBlock, varints(1, 7, 0)]);
    expect(avscType({ type: "array", items: "long" }).fromBuffer(array)).toEqual([1, 2, 300, 7]);
    expect(skipAll({ type: "array", items: "long" }, Buffer.concat([array, varints(9)]))).toBe(array.length);

    const entry = Buffer.concat([avscType("string").toBuffer("key"), avscType("string").toBuffer("value")]);
    const map = Buffer.concat([varints(-1, entry.length), entry, varints(0)]);
    expect(avscType({ type: "map", values: "string" }).fromBuffer(map)).toEqual({ key: "value" });
    expect(skipAll({ type: "map", values: "string" }, Buffer.concat([map, varints(9)]))).toBe(map.length);
  });

  it("skip an array of 2^40 fixed-width items in one step", () => {
    const count = avscType("long").toBuffer(2 ** 40);
    const nulls = Buffer.concat([count, varints(0)]);
    expect(skipAll({ type: "array", items: "null" }, nulls)).toBe(nulls.length);
    const empty = { type: "record", name: "Empty", fields: [{ name: "n", type: "null" }] };
    expect(skipAll({ type: "array", items: empty }, nulls)).toBe(nulls.length);
    // Items of one byte or more cannot outnumber the bytes left.
    expect(() => skipAll({ type: "array", items: "int" }, nulls)).toThrow(/truncated/);
    expect(() => skipAll({ type: "array", items: "double" }, nulls)).toThrow(/truncated/);
  });

  it("refuse every truncation of a valid value", () => {
    const bytes = avscType(everything).toBuffer(everythingValue(3));
    for (let cut = 0; cut < bytes.length; cut++) {
      expect(() => skipAll(everything as AvroSchema, bytes.subarray(0, cut)), `cut at ${cut}`).toThrow(
        AvroDataError,
      );
    }
  });

  it("end on random bytes with an AvroDataError or inside the buffer, never past it", () => {
    let seed = 42;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const skip = new AvroTypes(everything as AvroSchema).skip(everything as AvroSchema, undefined);
    for (let round = 0; round < 2000; round++) {
      const bytes = Buffer.from(
        Array.from({ length: Math.floor(random() * 96) }, () => Math.floor(random() * 256)),
      );
      const cursor = cursorOn(bytes);
      try {
        skip(cursor);
        expect(cursor.position).toBeLessThanOrEqual(bytes.length);
      } catch (error) {
        expect(error).toBeInstanceOf(AvroDataError);
      }
    }
  });

  it("refuse to compile what they do not know", () => {
    expect(() =>
      new AvroTypes({ type: "array", items: "Missing" }).skip({ type: "array", items: "Missing" }, undefined),
    ).toThrow(AvroSchemaUnsupported);
    expect(() => new AvroTypes({ type: "decimal" }).skip({ type: "decimal" }, undefined)).toThrow(
      AvroSchemaUnsupported,
    );
  });
});
