import { describe, expect, it } from "vitest";
import { columnAvroType, columnTypeFromAvro } from "../../src/avro/column-avro.js";
import type { ColumnType } from "../../src/core/column-type.js";

const cases: [ColumnType, object][] = [
  [{ kind: "boolean" }, { type: "boolean", "tributary.type": "boolean" }],
  [{ kind: "int16" }, { type: "int", "tributary.type": "int16" }],
  [{ kind: "int32" }, { type: "int", "tributary.type": "int32" }],
  [{ kind: "int64" }, { type: "long", "tributary.type": "int64" }],
  [{ kind: "float32" }, { type: "float", "tributary.type": "float32" }],
  [{ kind: "float64" }, { type: "double", "tributary.type": "float64" }],
  [
    { kind: "decimal", precision: 10, scale: 2 },
    { type: "bytes", logicalType: "decimal", precision: 10, scale: 2, "tributary.type": "decimal" },
  ],
  [{ kind: "string" }, { type: "string", "tributary.type": "string" }],
  [
    { kind: "string", maxLength: 50 },
    { type: "string", "tributary.type": "string", "tributary.maxLength": 50 },
  ],
  [{ kind: "bytes" }, { type: "bytes", "tributary.type": "bytes" }],
  [{ kind: "uuid" }, { type: "string", logicalType: "uuid", "tributary.type": "uuid" }],
  [{ kind: "json" }, { type: "string", "tributary.type": "json" }],
  [{ kind: "date" }, { type: "int", logicalType: "date", "tributary.type": "date" }],
  [{ kind: "time" }, { type: "long", logicalType: "time-micros", "tributary.type": "time" }],
  [{ kind: "timetz" }, { type: "string", "tributary.type": "timetz" }],
  [
    { kind: "timestamp" },
    { type: "long", logicalType: "local-timestamp-micros", "tributary.type": "timestamp" },
  ],
  [
    { kind: "timestamptz" },
    { type: "long", logicalType: "timestamp-micros", "tributary.type": "timestamptz" },
  ],
  [{ kind: "interval" }, { type: "string", "tributary.type": "interval" }],
  [
    { kind: "text", semantic: "inet" },
    { type: "string", "tributary.type": "text", "tributary.semantic": "inet" },
  ],
  [
    { kind: "array", items: { kind: "array", items: { kind: "int32" } } },
    {
      type: "array",
      items: [
        "null",
        {
          type: "array",
          items: ["null", { type: "int", "tributary.type": "int32" }],
          "tributary.type": "array",
        },
      ],
      "tributary.type": "array",
    },
  ],
];

describe("ColumnType ↔ Avro type schema", () => {
  it.each(cases)("maps %j exactly", (type, schema) => {
    expect(columnAvroType(type)).toEqual(schema);
  });

  it.each(cases)("reads %j back from its schema, also as an optional union", (type, schema) => {
    expect(columnTypeFromAvro(schema as never)).toEqual(type);
    expect(columnTypeFromAvro(["null", schema] as never)).toEqual(type);
  });

  it("refuses schemas Tributary did not write", () => {
    expect(() => columnTypeFromAvro("string")).toThrow(/tributary.type/);
    expect(() => columnTypeFromAvro({ type: "string", "tributary.type": "money?" })).toThrow(/unknown/);
    expect(() => columnTypeFromAvro(["null", "int", "string"])).toThrow(/union/);
  });
});
