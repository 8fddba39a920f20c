import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { decimalText } from "../../../src/avro/decimal.js";
import type { ColumnSpec } from "../../../src/core/change-event.js";
import type { ColumnType } from "../../../src/core/column-type.js";
import { BatchApplier, warehouseAction } from "../../../src/sinks/warehouse/apply.js";
import type { StagedRow } from "../../../src/sinks/warehouse/batch.js";
import {
  BinaryCopyWriter,
  NUMERIC_UNSCALED_MAX_SCALE,
} from "../../../src/sinks/warehouse/binary-copy-writer.js";
import {
  binaryCopyPieces,
  binaryFieldWriters,
  copyStagedBinary,
  fieldWriter,
} from "../../../src/sinks/warehouse/copy-binary.js";
import { copyPieces } from "../../../src/sinks/warehouse/copy-rows.js";
import { copyStaged } from "../../../src/sinks/warehouse/copy-text.js";
import { qualifiedName } from "../../../src/sinks/warehouse/identifier.js";
import { createStaging, type TableModel } from "../../../src/sinks/warehouse/sql.js";
import { TableManager } from "../../../src/sinks/warehouse/tables.js";
import type { WarehouseType } from "../../../src/sinks/warehouse/typemap.js";
import { timestampText } from "../../../src/sinks/warehouse/values.js";
import { stack, uniqueName } from "../../helpers/stack.js";

const metadataTypes: [string, WarehouseType][] = [
  ["_tributary_version", { base: "VARCHAR", length: 256 }],
  ["_tributary_op", { base: "VARCHAR", length: 1 }],
  ["_tributary_deleted", { base: "BOOLEAN" }],
  ["_tributary_source_ts", { base: "TIMESTAMPTZ" }],
  ["_tributary_loaded_at", { base: "TIMESTAMPTZ" }],
  ["_tributary_topic", { base: "VARCHAR", length: 255 }],
  ["_tributary_partition", { base: "INTEGER" }],
  ["_tributary_offset", { base: "BIGINT" }],
];

function staged(index: number, values: Record<string, unknown>, changes: Partial<StagedRow> = {}): StagedRow {
  return {
    keyId: String(index),
    version: `v${index}`,
    op: "c",
    deleted: false,
    values,
    unavailable: new Set<string>(),
    keepStoredValues: false,
    sourceTsMs: 0,
    origin: { topic: "t", partition: 0, offset: String(index) },
    superseded: [],
    columns: [],
    ...changes,
  };
}

/** One field as the writer encodes it, in hex. */
function fieldHex(type: ColumnType, stored: WarehouseType, value: unknown): string {
  const write = fieldWriter(type, stored);
  if (!write) throw new Error(`no binary writer for ${type.kind} into ${stored.base}`);
  const writer = new BinaryCopyWriter();
  write(writer, value);
  return writer.rest().toString("hex");
}

const decimal: ColumnType = { kind: "decimal", precision: 38, scale: 10 };
const numeric: WarehouseType = { base: "DECIMAL", precision: 38, scale: 10 };

describe("binary COPY data, byte for byte", () => {
  const tiny: TableModel = {
    schema: "s",
    table: "tiny",
    columns: [
      { name: "id", type: { kind: "int64" } },
      { name: "small", type: { kind: "int16" } },
      { name: "mid", type: { kind: "int32" } },
      { name: "Wide", type: { kind: "int16" } },
      { name: "note", type: { kind: "string" } },
    ],
    keyColumns: ["id"],
    warehouseTypes: new Map([
      ["id", { base: "BIGINT" }],
      ["small", { base: "SMALLINT" }],
      ["mid", { base: "INTEGER" }],
      ["wide", { base: "BIGINT" }], // an int16 column widened to BIGINT: 8-byte fields
      ["note", { base: "TEXT" }],
      ...metadataTypes,
    ]),
  };

  it("writes the header, each integer in its column's width, NULL as -1, the metadata and the trailer", () => {
    const writers = binaryFieldWriters(tiny);
    if (!writers) throw new Error("expected binary writers");
    const row = staged(7, { id: 7n, small: -2, mid: 65_536, Wide: -5, note: null }, { version: "v" });
    const rows = [{ ...row, origin: { topic: "t", partition: 3, offset: "42" } }];
    const data = Buffer.concat([...binaryCopyPieces(tiny, writers, rows, 946_684_800_000_001)]);
    expect(data.toString("hex")).toBe(
      [
        "5047434f50590aff0d0a00", // PGCOPY\n\377\r\n\0
        "00000000", // flags
        "00000000", // header extension length
        "000d", // 13 fields
        "00000008" + "0000000000000007", // id BIGINT
        "00000002" + "fffe", // small SMALLINT
        "00000004" + "00010000", // mid INTEGER
        "00000008" + "fffffffffffffffb", // Wide: BIGINT
        "ffffffff", // note NULL
        "00000001" + "76", // version "v"
        "00000001" + "63", // op "c"
        "00000001" + "00", // deleted false
        "ffffffff", // source_ts unknown (0)
        "00000008" + "0000000000000001", // loaded_at 2000-01-01 00:00:00.000001
        "00000001" + "74", // topic "t"
        "00000004" + "00000003", // partition
        "00000008" + "000000000000002a", // offset "42"
        "ffff", // trailer
      ].join(""),
    );
    expect(Buffer.concat([...binaryCopyPieces(tiny, writers, [], 0)]).toString("hex")).toBe(
      "5047434f50590aff0d0a00" + "0000000000000000" + "ffff",
    );
  });

  it("writes numerics as base-10000 digits without leading or trailing zero groups", () => {
    const cases: [string, string][] = [
      ["0", "00000008" + "0000" + "0000" + "0000" + "0000"],
      ["-0.00", "00000008" + "0000" + "0000" + "0000" + "0002"],
      ["0.01", "0000000a" + "0001" + "ffff" + "0000" + "0002" + "0064"],
      ["-12.5", "0000000c" + "0002" + "0000" + "4000" + "0001" + "000c1388"],
      ["10000", "0000000a" + "0001" + "0001" + "0000" + "0000" + "0001"],
      ["12345678.90", "0000000e" + "0003" + "0001" + "0000" + "0002" + "04d2162e2328"],
      ["-0.00001", "0000000a" + "0001" + "fffe" + "4000" + "0005" + "03e8"],
      ["100000000.0001", "00000010" + "0004" + "0002" + "0000" + "0004" + "0001000000000001"],
      [
        "12345678901234567890123456789012345678",
        "0000001c" + "000a" + "0009" + "0000" + "0000" + "000c0d801ed204d2162e23340d801ed204d2162e",
      ],
    ];
    for (const [text, hex] of cases) expect([text, fieldHex(decimal, numeric, text)]).toEqual([text, hex]);
  });

  it("writes a decimal from its unscaled integer as the very bytes of its text", () => {
    const hexOf = (write: (writer: BinaryCopyWriter) => boolean) => {
      const writer = new BinaryCopyWriter();
      return write(writer) ? writer.rest().toString("hex") : "refused";
    };
    const limit = 2 ** 47;
    const unscaledValues = [
      0,
      1,
      -1,
      5,
      9999,
      10_000,
      10_001,
      99_990_000,
      100_000_000,
      123_456_789_005,
      -123_456_789_005,
      limit - 1,
      -(limit - 1),
      ...Array.from({ length: 300 }, (_, index) => {
        const magnitude = Math.floor(Math.random() * 10 ** (index % 15));
        return index % 2 === 0 ? magnitude : -magnitude;
      }),
    ];
    for (let scale = 0; scale <= NUMERIC_UNSCALED_MAX_SCALE; scale++) {
      for (const unscaled of unscaledValues) {
        const text = decimalText(BigInt(unscaled), scale);
        expect([text, hexOf((writer) => writer.numericUnscaled(unscaled, scale))]).toEqual([
          text,
          hexOf((writer) => writer.numeric(text)),
        ]);
      }
    }
    expect(hexOf((writer) => writer.numericUnscaled(limit, 2))).toBe("refused");
    expect(hexOf((writer) => writer.numericUnscaled(1, NUMERIC_UNSCALED_MAX_SCALE + 1))).toBe("refused");
  });

  it("writes a field the server refuses for values it cannot encode, so bisection finds them", () => {
    const refused = `00000009${"00".repeat(9)}`;
    for (const text of ["", "-", ".", "1e5", "1.2.3", " 1", "NaN"]) {
      expect([text, fieldHex(decimal, numeric, text)]).toEqual([text, refused]);
    }
    expect(fieldHex({ kind: "int32" }, { base: "SMALLINT" }, 40_000)).toBe(refused);
    expect(fieldHex({ kind: "int64" }, { base: "BIGINT" }, 1.5)).toBe(refused);
    expect(fieldHex({ kind: "int64" }, { base: "BIGINT" }, 2n ** 63n)).toBe(refused);
    expect(fieldHex({ kind: "boolean" }, { base: "BOOLEAN" }, "t")).toBe(refused);
    expect(fieldHex({ kind: "timestamptz" }, { base: "TIMESTAMPTZ" }, -(2n ** 63n))).toBe(refused);
  });

  it("is taken only when every column's type pair is encoded exactly (else COPY text)", () => {
    expect(binaryFieldWriters(tiny)).toHaveLength(13);
    expect(binaryFieldWriters({ ...tiny, warehouseTypes: undefined })).toBeUndefined();
    const typed = (name: string, type: ColumnType, stored: WarehouseType): TableModel => ({
      ...tiny,
      columns: [...tiny.columns, { name, type }],
      warehouseTypes: new Map([...(tiny.warehouseTypes ?? []), [name, stored]]),
    });
    expect(binaryFieldWriters(typed("j", { kind: "json" }, { base: "JSONB" }))).toHaveLength(14);
    expect(
      binaryFieldWriters(typed("a", { kind: "array", items: { kind: "int64" } }, { base: "JSONB" })),
    ).toHaveLength(14);
    expect(binaryFieldWriters(typed("j", { kind: "json" }, { base: "TEXT" }))).toBeUndefined();
    expect(binaryFieldWriters(typed("u", { kind: "uuid" }, { base: "UUID" }))).toBeUndefined();
    expect(binaryFieldWriters(typed("b", { kind: "bytes" }, { base: "BYTEA" }))).toBeUndefined();
    expect(binaryFieldWriters(typed("t", { kind: "time" }, { base: "TIME" }))).toBeUndefined();
    expect(binaryFieldWriters(typed("f", { kind: "float64" }, { base: "REAL" }))).toBeUndefined();
    expect(binaryFieldWriters(typed("s", { kind: "string" }, { base: "BIGINT" }))).toBeUndefined();
    const partitionBigint = new Map(tiny.warehouseTypes);
    partitionBigint.set("_tributary_partition", { base: "BIGINT" });
    expect(binaryFieldWriters({ ...tiny, warehouseTypes: partitionBigint })).toHaveLength(13);
    partitionBigint.set("_tributary_op", { base: "UUID" });
    expect(binaryFieldWriters({ ...tiny, warehouseTypes: partitionBigint })).toBeUndefined();
  });
});

describe("binary COPY against the real Postgres", () => {
  const schema = uniqueName("copybin");
  const pool = new pg.Pool({ ...stack.postgres, database: "warehouse", max: 2 });
  const tables = new TableManager({
    pool,
    dialect: "postgres",
    schema,
    deletes: "soft",
    logger: pino({ level: "silent" }),
  });
  const spec = (name: string, type: ColumnType): ColumnSpec => ({
    name,
    type,
    nullable: true,
    sourceType: "",
  });
  const loadedAtMicros = 1_700_000_000_123_456;

  afterAll(async () => {
    await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await pool.end();
  });

  /** Stages `rows` with COPY (text or binary) and inserts them into the table as they are. */
  async function load(model: TableModel, rows: readonly StagedRow[], format: "text" | "binary") {
    const client = await pool.connect();
    try {
      await client.query("BEGIN");
      await client.query(createStaging(model, "postgres").text);
      const writers = binaryFieldWriters(model);
      if (format === "binary" && !writers) throw new Error("expected binary writers");
      const data =
        format === "binary" && writers
          ? binaryCopyPieces(model, writers, rows, loadedAtMicros)
          : copyPieces(model, rows, `${timestampText(loadedAtMicros)}+00`);
      const copy = format === "binary" ? copyStagedBinary(model) : copyStaged(model);
      await pipeline(Readable.from(data, { objectMode: false }), client.query(copyFrom(copy)));
      const target = qualifiedName(model.schema, model.table, "postgres");
      await client.query(`INSERT INTO ${target} SELECT * FROM "_tributary_stage"`);
      await client.query(`DROP TABLE "_tributary_stage"`);
      await client.query("COMMIT");
    } catch (error) {
      await client.query("ROLLBACK");
      throw error;
    } finally {
      client.release();
    }
  }

  async function rowsAsText(table: string): Promise<string[]> {
    const result = await pool.query<{ row: string }>(
      `SELECT t::text AS row FROM ${qualifiedName(schema, table, "postgres")} t ORDER BY id`,
    );
    return result.rows.map((row) => row.row);
  }

  const edges: Record<string, [ColumnType, readonly unknown[]]> = {
    b: [{ kind: "boolean" }, [true, false]],
    i16: [{ kind: "int16" }, [-32_768, 32_767, 0]],
    i32: [{ kind: "int32" }, [-2_147_483_648, 2_147_483_647, -1]],
    i64: [
      { kind: "int64" },
      [
        -(2n ** 63n),
        2n ** 63n - 1n,
        42,
        -1,
        "123",
        2 ** 60,
        5n,
        -7n,
        2n ** 53n - 1n,
        2n ** 53n,
        -(2n ** 53n),
      ],
    ],
    i16_in_bigint: [{ kind: "int16" }, [-5, 32_767]],
    f32: [
      { kind: "float32" },
      [Math.fround(0.1), Number.NaN, Infinity, -Infinity, 3.4028234663852886e38, 1.401298464324817e-45],
    ],
    f64: [{ kind: "float64" }, [0.1, 1e308, 5e-324, Number.NaN, Infinity, -Infinity, 1 / 3, -2.5e-10]],
    f32_in_double: [{ kind: "float32" }, [Math.fround(0.1), Math.fround(-1e-30)]],
    d38: [
      decimal,
      [
        "0",
        "-0",
        "0.0000000001",
        "-1234567890123456789012345678.1234567890",
        "9999999999999999999999999999.9999999999",
        "10000",
        "12345678.90",
        "0.01",
        "100000000.0001",
        "-0.00001",
        "+5",
        ".5",
        "5.",
        "1.234567890123456", // more digits than the scale: rounded the same way
      ],
    ],
    d10: [{ kind: "decimal", precision: 10, scale: 2 }, ["-12.50", "99999999.99", "-0.005"]],
    d_widened: [{ kind: "decimal", precision: 6, scale: 2 }, ["1234.56", "-0.01"]],
    d_text: [{ kind: "decimal", precision: 1001, scale: 2 }, ["123.4500", "-0"]],
    s: [
      { kind: "string" },
      [
        "",
        "abc é",
        "x".repeat(64),
        "y".repeat(65),
        `${"z".repeat(63)}é`,
        "a\tb\nc\rd\\e",
        "\\N",
        "ünïcødé 名前 😀",
        "'q' \"d\"",
        "\ud800",
        "é".repeat(300_000),
      ],
    ],
    s20: [{ kind: "string", maxLength: 20 }, ["short", ""]],
    t: [{ kind: "text", semantic: "numeric" }, ["NaN", "-Infinity"]],
    day: [
      { kind: "date" },
      [0, -25_567, 10_957, 10_956, -719_162, -719_163, -1_000_000, 2_932_897, 3_000_000, 19_675],
    ],
    ts: [{ kind: "timestamp" }, timestamps()],
    tstz: [{ kind: "timestamptz" }, timestamps()],
    j: [
      { kind: "json" },
      ['{"a": 1, "b": [true, null, 2.50]}', '"ünïcødé 😀"', "[]", "null", '{"a":"\\u00e9\\""}'],
    ],
    ints: [
      { kind: "array", items: { kind: "int64" } },
      [[1n, null, -(2n ** 63n)], [], [9_007_199_254_740_993n]],
    ],
    texts: [{ kind: "array", items: { kind: "string" } }, [['a"b', "é", null], [""]]],
  };

  function timestamps(): unknown[] {
    return [
      0,
      -1,
      946_684_800_000_000,
      946_684_799_999_999,
      1_700_000_000_123_456,
      2 ** 53 - 1, // 2255: the shift to 2000 stays a safe integer
      -(2 ** 53) + 1, // 1684: the shift does not
      -62_135_596_800_000_000n, // 0001-01-01
      10_413_792_000_000_000n, // 2300-01-01
      -11_676_096_000_000_000n, // 1600-01-01
      253_402_300_799_999_999n, // 9999-12-31 23:59:59.999999
      253_402_300_800_000_000n, // 10000-01-01
      9_000_000_000_000_000_000n, // the year 287,000: beyond JS Date's range
      -62_135_596_800_000_001n, // 1 BC, the last microsecond
      -100_000_000_000_000_000n, // 1200 BC
    ];
  }

  const sourceTimes = [0, 1_700_000_000_000, 1.5e14, -5, Number.NaN, 1_700_000_000_000.9];

  it("stores every supported kind and edge value exactly as the COPY text does", async () => {
    const narrow = Object.entries(edges).map(([name, [type]]) => spec(name, type));
    const wide = narrow.map((column) =>
      column.name === "i16_in_bigint"
        ? spec(column.name, { kind: "int64" })
        : column.name === "f32_in_double"
          ? spec(column.name, { kind: "float64" })
          : column.name === "d_widened"
            ? spec(column.name, { kind: "decimal", precision: 20, scale: 4 })
            : column,
    );
    const columns = [spec("id", { kind: "int64" }), ...narrow];
    const models: TableModel[] = [];
    for (const table of ["as_text", "as_binary"]) {
      await tables.prepare(table, ["id"], [[spec("id", { kind: "int64" }), ...wide]]);
      models.push((await tables.prepare(table, ["id"], [columns])).model);
    }
    const [textModel, binaryModel] = models as [TableModel, TableModel];
    expect(binaryModel.warehouseTypes?.get("i16_in_bigint")).toEqual({ base: "BIGINT" });
    expect(binaryModel.columns.find((column) => column.name === "i16_in_bigint")?.type.kind).toBe("int16");

    const count = Math.max(...Object.values(edges).map(([, values]) => values.length)) + 1;
    const rows = Array.from({ length: count }, (_, index) => {
      const values: Record<string, unknown> = { id: index };
      for (const [name, [, edge]] of Object.entries(edges)) values[name] = edge[index] ?? null;
      return staged(index, values, {
        version: `v${index}\t\\`,
        op: index % 2 === 0 ? "c" : "d",
        deleted: index % 2 === 1,
        sourceTsMs: sourceTimes[index % sourceTimes.length] as number,
        origin: {
          topic: "t\\tx",
          partition: index,
          offset: index === 0 ? String(2n ** 63n - 1n) : `${index}`,
        },
      });
    });
    await load(textModel, rows, "text");
    await load(binaryModel, rows, "binary");

    const asText = await rowsAsText("as_text");
    expect(asText).toHaveLength(count);
    expect(await rowsAsText("as_binary")).toEqual(asText);
    const spot = await pool.query<{ d38: string; tstz: string; i64: string }>(
      `SELECT d38::text, (tstz AT TIME ZONE 'UTC')::text AS tstz, i64::text FROM ${qualifiedName(schema, "as_binary", "postgres")} WHERE id = 3`,
    );
    expect(spot.rows[0]).toEqual({
      d38: "-1234567890123456789012345678.1234567890",
      tstz: "1999-12-31 23:59:59.999999",
      i64: "-1",
    });
  });

  it("writes each numeric as Postgres' own numeric_send does", async () => {
    const random = (digits: number) =>
      Array.from({ length: digits }, () => Math.floor(Math.random() * 10)).join("");
    const values = [
      "0",
      "0.000",
      "1",
      "-1",
      "9999",
      "10000",
      "0.0001",
      "0.00010",
      "123456789.000000001",
      "-99999999999999999999999999999999999999",
      "0.00000000000000000000000000000000000001",
      ...Array.from({ length: 200 }, (_, index) => {
        const sign = index % 3 === 0 ? "-" : "";
        return `${sign}${random(index % 29)}${index % 4 === 0 ? "" : `.${random(index % 17)}`}`;
      }).filter((text) => /\d/.test(text)),
    ];
    const result = await pool.query<{ hex: string }>(
      "SELECT encode(numeric_send(value::numeric), 'hex') AS hex FROM unnest($1::text[]) WITH ORDINALITY AS v(value, n) ORDER BY n",
      [values],
    );
    const ours = values.map((text) => [text, fieldHex(decimal, numeric, text).slice(8)]);
    expect(ours).toEqual(values.map((text, index) => [text, result.rows[index]?.hex]));
  });

  it("keeps a float's negative zero (COPY text wrote it as 0)", async () => {
    const columns = [spec("id", { kind: "int64" }), spec("f", { kind: "float64" })];
    const { model } = await tables.prepare("negative_zero", ["id"], [columns]);
    await load(model, [staged(1, { id: 1, f: -0 })], "binary");
    const stored = await pool.query(
      `SELECT f::text AS f FROM ${qualifiedName(schema, "negative_zero", "postgres")}`,
    );
    expect(stored.rows).toEqual([{ f: "-0" }]);
  });

  it("gets a data error for what the server refuses (a NUL byte, a decimal too wide), as text does", async () => {
    const columns = [
      spec("id", { kind: "int64" }),
      spec("s", { kind: "string" }),
      spec("d", { kind: "decimal", precision: 10, scale: 2 }),
    ];
    const { model } = await tables.prepare("refused", ["id"], [columns]);
    for (const [values, code] of [
      [{ id: 1, s: "nul\u0000byte", d: null }, "22021"],
      [{ id: 2, s: null, d: "99999999.995" }, "22003"], // rounds to 10 integer digits
      [{ id: 3, s: null, d: "1e3" }, "22P03"], // BinaryCopyWriter.refused
    ] as const) {
      const error = await load(model, [staged(values.id, values)], "binary").catch(
        (caught: unknown) => caught,
      );
      expect([values.id, (error as { code?: string }).code]).toEqual([values.id, code]);
      expect(warehouseAction(error)).toBe("dead-letter");
    }
  });

  describe("through the applier", () => {
    const statements: string[] = [];
    beforeAll(() => {
      const query = pg.Client.prototype.query;
      vi.spyOn(pg.Client.prototype, "query").mockImplementation(function (
        this: pg.Client,
        ...args: unknown[]
      ) {
        const [first] = args;
        statements.push(typeof first === "string" ? first : String((first as { text?: unknown }).text));
        return (query as (...parameters: unknown[]) => unknown).apply(this, args);
      } as typeof query);
    });
    afterAll(() => vi.restoreAllMocks());
    const applier = new BatchApplier({ pool, dialect: "postgres", deletes: "soft" });

    async function storedIds(table: string): Promise<string[]> {
      const result = await pool.query<{ id: string }>(
        `SELECT id::text AS id FROM ${qualifiedName(schema, table, "postgres")} ORDER BY id`,
      );
      return result.rows.map((row) => row.id);
    }

    it("loads with binary COPY and creates no unavailable-columns table for a batch without markers", async () => {
      const columns = [spec("id", { kind: "int64" }), spec("at", { kind: "timestamptz" })];
      const { model } = await tables.prepare("plain", ["id"], [columns]);
      statements.length = 0;
      const rows = [staged(1, { id: 1, at: 0 }), staged(2, { id: 2, at: null })];
      expect(await applier.apply(model, [{ kind: "rows", rows }])).toEqual([]);
      expect(statements.filter((text) => text.startsWith("COPY"))).toEqual([copyStagedBinary(model)]);
      expect(statements.some((text) => text.includes("_tributary_unavailable"))).toBe(false);
      expect(await storedIds("plain")).toEqual(["1", "2"]);
    });

    it("bisects a batch the binary COPY fails down to the refused rows; the rest is applied", async () => {
      const columns = [
        spec("id", { kind: "int64" }),
        spec("s", { kind: "string" }),
        spec("d", { kind: "decimal", precision: 10, scale: 2 }),
      ];
      const { model } = await tables.prepare("bisected", ["id"], [columns]);
      const rows = [
        staged(1, { id: 1, s: "ok", d: "1.00" }),
        staged(2, { id: 2, s: "nul\u0000", d: null }),
        staged(3, { id: 3, s: null, d: "99999999.995" }),
        staged(4, { id: 4, s: "ok", d: "-2.50" }),
        staged(5, { id: 5, s: "ok", d: "1e3" }),
      ];
      const refused = await applier.apply(model, [{ kind: "rows", rows }]);
      expect(refused.map((letter) => [letter.origin.offset, letter.error.code])).toEqual([
        ["2", "WAREHOUSE_22021"],
        ["3", "WAREHOUSE_22003"],
      ]);
      // "1e3" (valueProblem would have sent it to the DLQ first): the binary writer refuses it,
      // then COPY text decides, as before binary COPY.
      expect(await storedIds("bisected")).toEqual(["1", "4", "5"]);
    });

    it("falls back to COPY text for a column type it does not encode, or one changed since it was read", async () => {
      const columns = [
        spec("id", { kind: "int64" }),
        spec("j", { kind: "uuid" }),
        spec("n", { kind: "int32" }),
      ];
      const { model } = await tables.prepare("fallback", ["id"], [columns]);
      statements.length = 0;
      const uuid = "0b9e3a52-5a3c-4d8e-9b1f-3c2d1e0f4a5b";
      expect(
        await applier.apply(model, [{ kind: "rows", rows: [staged(1, { id: 1, j: uuid, n: 5 })] }]),
      ).toEqual([]);
      expect(statements.filter((text) => text.startsWith("COPY"))).toEqual([copyStaged(model)]);

      const stale = new Map(model.warehouseTypes);
      stale.delete("j");
      const withoutJson: TableModel = {
        ...model,
        columns: model.columns.filter((column) => column.name !== "j"),
        warehouseTypes: stale.set("n", { base: "SMALLINT" }), // the column is an INTEGER
      };
      statements.length = 0;
      expect(
        await applier.apply(withoutJson, [{ kind: "rows", rows: [staged(2, { id: 2, n: 7 })] }]),
      ).toEqual([]);
      // The staging table's types are checked first: no binary attempt.
      expect(statements.filter((text) => text.startsWith("COPY"))).toEqual([copyStaged(withoutJson)]);
      expect(await storedIds("fallback")).toEqual(["1", "2"]);
    });

    it("never writes binary into a column whose type changed to another of the same width", async () => {
      const columns = [spec("id", { kind: "int64" }), spec("n", { kind: "int32" })];
      const { model } = await tables.prepare("same_width", ["id"], [columns]);
      // As if the column had been REAL when it was read: a float4 field fits an int4 column bit for
      // bit, and 7.0's bits would read as 1088421888.
      const believed: TableModel = {
        ...model,
        columns: [
          ...model.columns.filter((column) => column.name === "id"),
          { name: "n", type: { kind: "float32" } },
        ],
        warehouseTypes: new Map(model.warehouseTypes).set("n", { base: "REAL" }),
      };
      statements.length = 0;
      expect(await applier.apply(believed, [{ kind: "rows", rows: [staged(1, { id: 1, n: 7 })] }])).toEqual(
        [],
      );
      expect(statements.filter((text) => text.startsWith("COPY"))).toEqual([copyStaged(believed)]);
      const stored = await pool.query<{ n: number }>(
        `SELECT n FROM ${qualifiedName(schema, "same_width", "postgres")}`,
      );
      expect(stored.rows).toEqual([{ n: 7 }]);
    });
  });
});
