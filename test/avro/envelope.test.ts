import avro from "avsc";
import { describe, expect, it } from "vitest";
import { avroName } from "../../src/avro/avro-names.js";
import { decodeEnvelope, decodeKey, toEnvelopeValue, toKey } from "../../src/avro/envelope.js";
import {
  keyFieldsFromSchema,
  keySchema,
  layoutFromValueSchema,
  layoutOf,
  valueSchema,
} from "../../src/avro/envelope-schema.js";
import { int64TypeHook } from "../../src/avro/long-type.js";
import { sourceBlockSchema } from "../../src/avro/source-block.js";
import type { ChangeEvent, TableSpec } from "../../src/core/change-event.js";
import { allKindsTable, fullRow, nullRow } from "./all-kinds.js";

const table = allKindsTable("fake.public.all-kinds");

function event(overrides: Partial<ChangeEvent>): ChangeEvent {
  return {
    table,
    op: "c",
    before: null,
    after: fullRow(1n),
    source: {
      version: "0000000000000001",
      connector: "postgres",
      tsMs: 1_700_000_000_123,
      snapshot: false,
      db: "infoportal",
      lsn: "0/16B3748",
      txId: 4242,
    },
    unavailableColumns: [],
    ...overrides,
  };
}

/** Encodes and decodes through avsc the way the registry client does (same type hook). */
function throughAvro(schema: object, value: unknown): unknown {
  const type = avro.Type.forSchema(schema as avro.Schema, { typeHook: int64TypeHook as never });
  return type.fromBuffer(type.toBuffer(value));
}

describe("Avro names", () => {
  it("keeps valid names and maps others deterministically, by the name alone", () => {
    expect(avroName("order_id")).toBe("order_id");
    expect(avroName("Name With Spaces")).toMatch(/^Name_With_Spaces_[0-9a-f]{8}$/);
    expect(avroName("1st")).toMatch(/^_1st_[0-9a-f]{8}$/);
    expect(avroName("a b")).not.toBe(avroName("a-b"));
    expect(avroName("Größe")).toBe(avroName("Größe"));
  });
});

describe("envelope schemas", () => {
  it("derives the key from the key columns, non-null, in a namespace made of the topic", () => {
    expect(keySchema(table)).toEqual({
      type: "record",
      name: "Key",
      namespace: `fake.public.${avroName("all-kinds")}`,
      fields: [
        {
          name: "id",
          type: { type: "long", "tributary.type": "int64" },
          "tributary.column": "id",
          "tributary.sourceType": "bigint",
          "tributary.nullable": false,
        },
      ],
    });
    expect(keySchema({ ...table, keyColumns: [] })).toBeUndefined();
  });

  it("shapes the value as Debezium's envelope with every row field optional", () => {
    const schema = valueSchema(table);
    expect(schema.fields.map((field) => field.name)).toEqual([
      "before",
      "after",
      "source",
      "op",
      "ts_ms",
      "unavailable_columns",
    ]);
    expect(schema.fields[1]).toEqual({ name: "after", type: ["null", "Value"], default: null });
    expect(schema.fields[2]?.type).toBe(sourceBlockSchema);
    expect(schema.fields[5]).toEqual({
      name: "unavailable_columns",
      type: { type: "array", items: "string" },
      default: [],
    });
    const before = schema.fields[0] as unknown as {
      type: [string, { fields: { default: unknown; type: unknown[] }[] }];
    };
    const row = before.type[1];
    for (const field of row.fields) {
      expect(field.default).toBeNull();
      expect(field.type[0]).toBe("null");
    }
    // avsc accepts it as a schema.
    expect(() => avro.Type.forSchema(schema as never, { typeHook: int64TypeHook as never })).not.toThrow();
  });

  it("gives the exact TableSpec back from the value schema (the sink's view)", () => {
    expect(layoutFromValueSchema(JSON.parse(JSON.stringify(valueSchema(table)))).table).toEqual(table);
  });

  it("refuses two columns that would share an Avro name", () => {
    const clash: TableSpec = {
      ...table,
      columns: [
        { name: "x", type: { kind: "int32" }, nullable: true, sourceType: "int" },
        { name: avroName("x y"), type: { kind: "int32" }, nullable: true, sourceType: "int" },
        { name: "x y", type: { kind: "int32" }, nullable: true, sourceType: "int" },
      ],
      keyColumns: [],
    };
    expect(() => valueSchema(clash)).toThrow(/map to one Avro name/);
  });
});

describe("envelope values", () => {
  const layout = layoutOf(table);
  const readBack = layoutFromValueSchema(JSON.parse(JSON.stringify(valueSchema(table))));

  it.each([
    ["an insert with every kind at its edges", event({})],
    ["an update with before and NULLs", event({ op: "u", before: fullRow(1n), after: nullRow(1n) })],
    ["a delete", event({ op: "d", before: fullRow(2n ** 63n - 1n), after: null })],
    [
      "an update with unavailable columns",
      event({ op: "u", after: nullRow(-(2n ** 63n)), unavailableColumns: ["notes"] }),
    ],
  ])("round-trips %s through Avro", (_, input) => {
    const decoded = decodeEnvelope(
      readBack,
      throughAvro(valueSchema(table), toEnvelopeValue(layout, input, 1234)),
    );
    expect(decoded.op).toBe(input.op);
    expect(decoded.before).toEqual(input.before);
    expect(decoded.after).toEqual(input.after);
    expect(decoded.source).toEqual(input.source);
    expect(decoded.tsMs).toBe(1234);
    expect(decoded.unavailableColumns).toEqual(input.unavailableColumns);
    expect(decoded.columnTypes.get("amount")).toEqual({ kind: "decimal", precision: 38, scale: 4 });
  });

  it("keys by the key columns, from before for a delete, and not at all for a truncate", () => {
    const schema = keySchema(table) as object;
    const fields = keyFieldsFromSchema(JSON.parse(JSON.stringify(schema)));
    const key = toKey(layout, event({ op: "d", before: fullRow(2n ** 62n), after: null }));
    expect(decodeKey(fields, throughAvro(schema, key))).toEqual({ id: 2n ** 62n });
    expect(toKey(layout, event({ op: "t", after: null }))).toBeNull();
  });

  it("names the column and version when a value has the wrong type", () => {
    const bad = event({ after: { ...fullRow(1n), medium: "12" } });
    expect(() => toEnvelopeValue(layout, bad, 0)).toThrow(
      /column "medium" \(version 0000000000000001\).*string "12"/,
    );
  });
});
