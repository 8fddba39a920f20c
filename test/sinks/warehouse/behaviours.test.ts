import { Kafka, logLevel } from "kafkajs";
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ColumnType } from "../../../src/core/column-type.js";
import { dlqHeaders } from "../../../src/sinks/warehouse/dlq.js";
import { EnvelopeProducer, tableSpec, version } from "../../helpers/envelope-producer.js";
import { eventually, stack, uniqueName } from "../../helpers/stack.js";
import { rowsOf, startSink, waitCaughtUp, warehouseClient } from "./harness.js";

const int64: ColumnType = { kind: "int64" };
const text: ColumnType = { kind: "string" };

const producer = new EnvelopeProducer();
let warehouse: pg.Client;

beforeAll(async () => {
  warehouse = warehouseClient();
  await warehouse.connect();
});

afterAll(async () => {
  await producer.close();
  await warehouse.end();
});

function people(prefix: string, extra: readonly (readonly [string, ColumnType])[] = []) {
  const topic = `${uniqueName(prefix)}.public.people`;
  return tableSpec(topic, [["id", int64], ["name", text], ["notes", text], ...extra], ["id"]);
}

/** Runs a sink over `topics` until its group has committed everything, then stops it. */
async function drain(topics: string[], schema: string, deletes: "soft" | "hard" = "soft", maxRows?: number) {
  const running = startSink({ topics, schema, deletes, maxRows });
  try {
    await waitCaughtUp(running.groupId, topics);
  } finally {
    await running.stop();
  }
}

type Person = {
  id: string;
  name: string | null;
  notes: string | null;
  _tributary_deleted: boolean;
  _tributary_op: string;
};
const summary = (rows: Person[]) =>
  rows.map((row) => [row.id, row.name, row.notes, row._tributary_deleted, row._tributary_op]);

describe("the warehouse sink: deletes, TOAST, truncates, schema changes", () => {
  it("keeps unchanged TOAST values, within a batch and across batches", async () => {
    const table = people("toast");
    await producer.createTopic(table.topic);
    const schema = uniqueName("wh");
    await producer.send(table, [{ op: "c", version: 1, row: { id: 1n, name: "a", notes: "big text" } }]);
    await drain([table.topic], schema);
    await producer.send(table, [
      { op: "u", version: 2, row: { id: 1n, name: "b", notes: null }, unavailable: ["notes"] },
      { op: "c", version: 3, row: { id: 2n, name: "c", notes: "other big text" } },
      { op: "u", version: 4, row: { id: 2n, name: "d", notes: null }, unavailable: ["notes"] },
    ]);
    await drain([table.topic], schema);
    const rows = await rowsOf<Person>(warehouse, schema, `${table.source}_people`, "id");
    expect(summary(rows)).toEqual([
      ["1", "b", "big text", false, "u"],
      ["2", "d", "other big text", false, "u"],
    ]);
  });

  it("soft and hard deletes: a replayed older insert never brings the row back", async () => {
    for (const deletes of ["soft", "hard"] as const) {
      const table = people(`del_${deletes}`);
      await producer.createTopic(table.topic);
      const schema = uniqueName("wh");
      const name = `${table.source}_people`;
      await producer.send(table, [
        { op: "c", version: 1, row: { id: 1n, name: "a", notes: "x" } },
        { op: "c", version: 2, row: { id: 2n, name: "b", notes: "y" } },
      ]);
      await drain([table.topic], schema, deletes);
      await producer.send(table, [{ op: "d", version: 3, row: { id: 1n, name: null, notes: null } }]);
      await drain([table.topic], schema, deletes);
      // The older insert again (a replay), then the whole topic again from the beginning.
      await producer.send(table, [{ op: "c", version: 1, row: { id: 1n, name: "a", notes: "x" } }]);
      await drain([table.topic], schema, deletes, 1);
      const rows = await rowsOf<Person>(warehouse, schema, name, "id");
      if (deletes === "soft") {
        expect(summary(rows)).toEqual([
          ["1", "a", "x", true, "d"],
          ["2", "b", "y", false, "c"],
        ]);
      } else {
        expect(summary(rows)).toEqual([["2", "b", "y", false, "c"]]);
        const tombstones = await warehouse.query(
          `SELECT id, _tributary_version FROM "${schema}"."${name}__tombstones"`,
        );
        expect(tombstones.rows).toEqual([{ id: "1", _tributary_version: version(3) }]);
        // A newer insert of the same key is a new row.
        await producer.send(table, [{ op: "c", version: 4, row: { id: 1n, name: "again", notes: null } }]);
        await drain([table.topic], schema, deletes);
        expect((await rowsOf<Person>(warehouse, schema, name, "id")).map((row) => row.name)).toEqual([
          "again",
          "b",
        ]);
      }
    }
  });

  it("truncates: older rows marked (soft) or removed (hard), newer rows and replays handled", async () => {
    for (const deletes of ["soft", "hard"] as const) {
      const table = people(`trunc_${deletes}`);
      await producer.createTopic(table.topic);
      const schema = uniqueName("wh");
      await producer.send(table, [
        { op: "c", version: 1, row: { id: 1n, name: "a", notes: null } },
        { op: "c", version: 2, row: { id: 2n, name: "b", notes: null } },
        { op: "t", version: 3, row: {} },
        { op: "c", version: 4, row: { id: 3n, name: "c", notes: null } },
      ]);
      await drain([table.topic], schema, deletes);
      // A replayed older update of a truncated row does not bring it back.
      await producer.send(table, [{ op: "u", version: 2, row: { id: 2n, name: "b2", notes: null } }]);
      await drain([table.topic], schema, deletes);
      const rows = await rowsOf<Person>(warehouse, schema, `${table.source}_people`, "id");
      if (deletes === "soft") {
        expect(summary(rows)).toEqual([
          ["1", "a", null, true, "t"],
          ["2", "b", null, true, "t"],
          ["3", "c", null, false, "c"],
        ]);
      } else {
        expect(summary(rows)).toEqual([["3", "c", null, false, "c"]]);
      }
    }
  });

  it("adds a new column when the source schema gains one", async () => {
    const v1 = people("newcol");
    const v2 = tableSpec(
      v1.topic,
      [...v1.columns.map((column) => [column.name, column.type] as const), ["email", text]],
      ["id"],
    );
    await producer.createTopic(v1.topic);
    const schema = uniqueName("wh");
    await producer.send(v1, [{ op: "c", version: 1, row: { id: 1n, name: "a", notes: null } }]);
    await drain([v1.topic], schema);
    await producer.send(v2, [
      { op: "c", version: 2, row: { id: 2n, name: "b", notes: null, email: "b@example.test" } },
    ]);
    await drain([v1.topic], schema);
    const rows = await rowsOf<Person & { email: string | null }>(
      warehouse,
      schema,
      `${v1.source}_people`,
      "id",
    );
    expect(rows.map((row) => [row.id, row.email])).toEqual([
      ["1", null],
      ["2", "b@example.test"],
    ]);
  });
});

describe("the warehouse sink: values", () => {
  it("stores every column type exactly, awkward text included (COPY text format on Postgres)", async () => {
    const awkward = "tab\there\nnew line\r\\back\\slash \\N ünï 名 'q' \"d\"";
    const columns: [string, ColumnType, unknown, string][] = [
      ["flag", { kind: "boolean" }, true, "true"],
      ["small", { kind: "int16" }, -32_768, "-32768"],
      ["medium", { kind: "int32" }, 2_147_483_647, "2147483647"],
      ["large", { kind: "int64" }, 9_223_372_036_854_775_807n, "9223372036854775807"],
      ["single", { kind: "float32" }, 1.5, "1.5"],
      ["double", { kind: "float64" }, Number.NaN, "NaN"],
      ["price", { kind: "decimal", precision: 10, scale: 2 }, "-12345678.90", "-12345678.90"],
      ["words", text, awkward, awkward],
      ["blob", { kind: "bytes" }, Buffer.from([0, 1, 0x5c, 0x09, 0xff]), "\\x00015c09ff"],
      [
        "ident",
        { kind: "uuid" },
        "0b6e8f3c-1d2e-4f5a-9b8c-7d6e5f4a3b2c",
        "0b6e8f3c-1d2e-4f5a-9b8c-7d6e5f4a3b2c",
      ],
      ["doc", { kind: "json" }, '{"a":"tab\\there","b":[1,2]}', '{"a": "tab\\there", "b": [1, 2]}'],
      ["born", { kind: "date" }, 19_000, "2022-01-08"],
      ["clock", { kind: "time" }, 45_296_789_012, "12:34:56.789012"],
      ["zoned", { kind: "timetz" }, "13:45:00+02", "13:45:00+02"],
      ["wall", { kind: "timestamp" }, 1_700_000_000_123_456, "2023-11-14 22:13:20.123456"],
      ["instant", { kind: "timestamptz" }, 1_700_000_000_123_456, "2023-11-14 22:13:20.123456+00"],
      ["span", { kind: "interval" }, "P1Y2M3DT4H5M6.5S", "1 year 2 mons 3 days 04:05:06.5"],
      ["list", { kind: "array", items: { kind: "int32" } }, [1, null, 3], "[1, null, 3]"],
      ["address", { kind: "text", semantic: "inet" }, "192.168.0.1/24", "192.168.0.1/24"],
    ];
    const table = tableSpec(
      `${uniqueName("values")}.public.values`,
      [["id", int64], ...columns.map(([name, type]) => [name, type] as const)],
      ["id"],
    );
    await producer.createTopic(table.topic);
    const schema = uniqueName("wh");
    const full = Object.fromEntries(columns.map(([name, , value]) => [name, value]));
    const empty = Object.fromEntries(columns.map(([name]) => [name, null]));
    await producer.send(table, [
      { op: "c", version: 1, row: { id: 1n, ...full } },
      { op: "c", version: 2, row: { id: 2n, ...empty } },
    ]);
    await drain([table.topic], schema);

    const asText = columns
      .map(([name, type]) =>
        type.kind === "timestamptz"
          ? `TO_CHAR("${name}" AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00' AS "${name}"`
          : `"${name}"::text AS "${name}"`,
      )
      .join(", ");
    const result = await warehouse.query(
      `SELECT ${asText} FROM "${schema}"."${table.source}_values" ORDER BY id`,
    );
    expect(result.rows).toEqual([
      Object.fromEntries(columns.map(([name, , , stored]) => [name, stored])),
      Object.fromEntries(columns.map(([name]) => [name, null])),
    ]);
  });
});

describe("the warehouse sink: poison records", () => {
  it("sends undecodable bytes, unknown schema ids, out-of-range and refused values to <topic>.dlq; neighbours applied", async () => {
    const table = people("poison", [
      ["balance", { kind: "decimal", precision: 6, scale: 2 }],
      ["doc", { kind: "json" }],
    ]);
    await producer.createTopic(table.topic);
    const schema = uniqueName("wh");
    const good = (id: bigint, v: number) => ({
      op: "c" as const,
      version: v,
      row: { id, name: `n${id}`, notes: null, balance: "1.50", doc: '{"a":1}' },
    });
    const unknownSchemaId = Buffer.from([0, 0x7f, 0xff, 0xff, 0xf0, 2, 4, 6]);
    await producer.send(table, [good(1n, 1)]);
    await producer.sendRaw(table.topic, [{ key: null, value: Buffer.from("definitely not avro") }]); // offset 1
    await producer.sendRaw(table.topic, [{ key: null, value: unknownSchemaId }]); // offset 2
    await producer.send(table, [
      { op: "c", version: 3, row: { id: 3n, name: "big", notes: null, balance: "123456789.00", doc: null } }, // offset 3
      good(4n, 4),
      {
        op: "c",
        version: 5,
        row: { id: 5n, name: "bad json", notes: null, balance: "1.00", doc: "{not json" },
      }, // offset 5
      good(6n, 6),
    ]);
    await drain([table.topic], schema);

    const rows = await rowsOf<Person>(warehouse, schema, `${table.source}_people`, "id");
    expect(rows.map((row) => row.id)).toEqual(["1", "4", "6"]);

    const kafka = new Kafka({ brokers: [...stack.kafkaBrokers], logLevel: logLevel.NOTHING });
    const consumer = kafka.consumer({ groupId: uniqueName("dlq_reader") });
    const seen: Record<string, string>[] = [];
    await consumer.connect();
    await consumer.subscribe({ topic: `${table.topic}.dlq`, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const headers = Object.fromEntries(
          Object.entries(message.headers ?? {}).map(([key, value]) => [key, String(value)]),
        );
        seen.push(headers);
      },
    });
    try {
      await eventually(async () => (seen.length >= 4 ? true : undefined));
    } finally {
      await consumer.disconnect();
    }
    const byOffset = seen
      .map((headers) => [
        headers[dlqHeaders.offset],
        headers[dlqHeaders.code],
        headers[dlqHeaders.topic],
        headers[dlqHeaders.partition],
      ])
      .sort();
    expect(byOffset).toEqual([
      ["1", "RECORD_UNDECODABLE", table.topic, "0"],
      ["2", "SCHEMA_UNKNOWN", table.topic, "0"],
      ["3", "VALUE_OUT_OF_RANGE", table.topic, "0"],
      ["5", "WAREHOUSE_22P02", table.topic, "0"],
    ]);
    expect(seen.find((headers) => headers[dlqHeaders.offset] === "3")?.[dlqHeaders.message]).toContain(
      'column "balance": 123456789.00 does not fit DECIMAL(6,2)',
    );
  });
});
