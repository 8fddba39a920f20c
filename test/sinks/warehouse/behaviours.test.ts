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
