import avro from "avsc";
import { describe, expect, it } from "vitest";
import { int64TypeHook } from "../../../src/avro/long-type.js";
import { sinkInt64TypeHook } from "../../../src/sinks/warehouse/int64-reader.js";
import { longEdges } from "../../helpers/long-edges.js";

const schema = {
  type: "record",
  name: "R",
  fields: [
    { name: "n", type: "long" },
    { name: "maybe", type: ["null", "long"] },
    { name: "micros", type: { type: "long", logicalType: "timestamp-micros" } },
  ],
} as avro.Schema;
const writer = avro.Type.forSchema(schema, { typeHook: int64TypeHook });
const reader = avro.Type.forSchema(schema, { typeHook: sinkInt64TypeHook });

describe("the sink's Avro long reader", () => {
  it("reads every int64 as src/avro's long type does: a number when safe, else a bigint", () => {
    for (const value of longEdges) {
      const bytes = writer.toBuffer({ n: value, maybe: value, micros: value });
      const expected = writer.fromBuffer(bytes);
      expect(reader.fromBuffer(bytes)).toEqual(expected);
      expect(typeof (reader.fromBuffer(bytes) as { n: unknown }).n).toBe(typeof expected.n);
    }
  });

  it("reads through schema resolution, and refuses a truncated buffer", () => {
    const bytes = writer.toBuffer({ n: 2n ** 62n, maybe: null, micros: -5 });
    const resolver = reader.createResolver(writer);
    expect(reader.fromBuffer(bytes, resolver)).toEqual({ n: 2n ** 62n, maybe: null, micros: -5 });
    expect(() => reader.fromBuffer(bytes.subarray(0, 3))).toThrow(/truncated/);
  });
});
