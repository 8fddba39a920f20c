import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ColumnType } from "../../../src/core/column-type.js";
import { EnvelopeProducer, type EventInput, tableSpec } from "../../helpers/envelope-producer.js";
import { eventually, uniqueName } from "../../helpers/stack.js";
import {
  checksum,
  counterTotal,
  counterValue,
  rowsOf,
  startSink,
  waitCaughtUp,
  warehouseClient,
} from "./harness.js";

const int64: ColumnType = { kind: "int64" };
const text: ColumnType = { kind: "string" };
const amount: ColumnType = { kind: "decimal", precision: 10, scale: 2 };

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

async function countWhere(schema: string, table: string, where = "TRUE"): Promise<number> {
  const result = await warehouse.query(
    `SELECT COUNT(*)::int AS n FROM "${schema}"."${table}" WHERE ${where}`,
  );
  return result.rows[0].n as number;
}

/** Waits until the table's row count (under `where`) is `expected`. */
function waitForCount(schema: string, table: string, expected: number, where?: string) {
  return eventually(
    async () => ((await countWhere(schema, table, where)) === expected ? true : undefined),
    30_000,
  );
}

function customersTopic(prefix: string) {
  const topic = `${uniqueName(prefix)}.public.customers`;
  return tableSpec(
    topic,
    [
      ["id", int64],
      ["name", text],
      ["balance", amount],
      ["notes", text],
    ],
    ["id"],
  );
}

const businessColumns = ["id", "name", "balance", "notes"];

/**
 * Upserts over `keys` keys with a delete every `deleteEvery`th event (the next event of the key
 * re-inserts it); none with 0.
 */
function eventSource(keys: number, deleteEvery: number) {
  let sequence = 0;
  return (count: number): EventInput[] =>
    Array.from({ length: count }, () => {
      sequence++;
      return {
        op: deleteEvery > 0 && sequence % deleteEvery === 0 ? "d" : sequence <= keys ? "c" : "u",
        version: sequence,
        row: {
          id: BigInt(sequence % keys),
          name: `name ${sequence}`,
          balance: `${sequence}.50`,
          notes: sequence % 4 === 0 ? null : `note ${sequence}`,
        },
      };
    });
}

describe("the warehouse sink on the local stack (postgres dialect)", () => {
  it("applies inserts, updates, deletes over several tables; replays change nothing; older events are ignored", async () => {
    const customers = customersTopic("sinkit");
    const orders = tableSpec(
      `${customers.source}.public.orders`,
      [
        ["order_id", int64],
        ["customer_id", int64],
        ["total", amount],
      ],
      ["order_id"],
    );
    await producer.createTopic(customers.topic);
    await producer.createTopic(orders.topic);
    const schema = uniqueName("wh");
    const customerEvents: EventInput[] = [
      { op: "c", version: 1, row: { id: 1n, name: "Ada", balance: "10.00", notes: "first" } },
      { op: "c", version: 2, row: { id: 2n, name: "Grace", balance: "20.50", notes: "second" } },
      { op: "c", version: 3, row: { id: 3n, name: "Linus", balance: "0.00", notes: null } },
      { op: "u", version: 4, row: { id: 1n, name: "Ada L.", balance: "11.00", notes: "first" } },
      { op: "d", version: 5, row: { id: 3n, name: null, balance: null, notes: null } },
    ];
    await producer.send(customers, customerEvents);
    await producer.send(orders, [
      { op: "c", version: 10, row: { order_id: 100n, customer_id: 1n, total: "99.99" } },
      { op: "c", version: 11, row: { order_id: 101n, customer_id: 2n, total: "5.00" } },
      { op: "u", version: 12, row: { order_id: 101n, customer_id: 2n, total: "6.00" } },
    ]);

    const first = startSink({ topics: [`${customers.source}.*`], schema });
    const customersTable = `${customers.source}_customers`;
    const ordersTable = `${customers.source}_orders`;
    try {
      await waitForCount(
        schema,
        customersTable,
        1,
        `_tributary_deleted AND _tributary_version = '${"5".padStart(16, "0")}'`,
      );
      await waitForCount(schema, ordersTable, 2, `total = 6.00 OR total = 99.99`);
      // Later, an older event arrives (out of order) and an older insert of the deleted row is replayed.
      await producer.send(customers, [
        { op: "u", version: 2, row: { id: 1n, name: "stale", balance: "0.00", notes: null } },
        { op: "c", version: 3, row: { id: 3n, name: "Linus", balance: "0.00", notes: null } },
        { op: "u", version: 6, row: { id: 2n, name: "Grace H.", balance: "21.00", notes: "second" } },
      ]);
      await waitForCount(schema, customersTable, 1, `name = 'Grace H.'`);
    } finally {
      await first.stop();
    }
    const rows = await rowsOf(warehouse, schema, customersTable, "id");
    expect(
      rows.map((row) => [row.id, row.name, row.balance, row._tributary_deleted, row._tributary_op]),
    ).toEqual([
      ["1", "Ada L.", "11.00", false, "u"],
      ["2", "Grace H.", "21.00", false, "u"],
      // Soft delete: the row keeps its last values and version, marked deleted.
      ["3", "Linus", "0.00", true, "d"],
    ]);
    const afterFirst = await checksum(warehouse, schema, customersTable, businessColumns, "id");

    // Replay from earliest, twice (new groups start at the beginning): identical tables.
    for (const round of [1, 2]) {
      const replay = startSink({
        topics: [`${customers.source}.*`],
        schema,
        maxRows: round === 1 ? 2 : 10_000,
      });
      try {
        await waitCaughtUp(replay.groupId, [customers.topic, orders.topic]);
      } finally {
        await replay.stop();
      }
      expect(await checksum(warehouse, schema, customersTable, businessColumns, "id")).toEqual(afterFirst);
    }

    // A single clean pass into another schema gives the same table.
    const cleanSchema = uniqueName("wh_clean");
    const clean = startSink({ topics: [`${customers.source}.*`], schema: cleanSchema, maxRows: 3 });
    try {
      await waitForCount(cleanSchema, customersTable, 1, `name = 'Grace H.'`);
      await waitForCount(cleanSchema, ordersTable, 2);
    } finally {
      await clean.stop();
    }
    expect(await checksum(warehouse, cleanSchema, customersTable, businessColumns, "id")).toEqual(afterFirst);
    expect(
      await checksum(warehouse, cleanSchema, ordersTable, ["order_id", "customer_id", "total"], "order_id"),
    ).toEqual(
      await checksum(warehouse, schema, ordersTable, ["order_id", "customer_id", "total"], "order_id"),
    );
  });

  it.each([
    [
      "with deletes (their keys take the general path, the others the fast path)",
      9,
      ["general", "direct"],
      [],
    ],
    // The first micro-batch too: the sink loads the schemas before it chooses the path.
    ["of plain upserts (the fast path)", 0, ["direct"], ["general"]],
  ])(
    "a replay of a middle range of offsets, interleaved with new events, leaves the table as a single clean pass does: events %s",
    async (_, deleteEvery, paths, unusedPaths) => {
      const customers = customersTopic("midreplay");
      await producer.createTopic(customers.topic, 2);
      const table = `${customers.source}_customers`;
      const schema = uniqueName("wh");
      const groupId = uniqueName("sink_group");
      const next = eventSource(12, deleteEvery);
      const sent: EventInput[] = [];
      const send = async (events: EventInput[]) => {
        sent.push(...events);
        await producer.send(customers, events);
      };

      await send(next(60));
      const started = new Date();
      const first = startSink({ topics: [customers.topic], schema, groupId, maxRows: 4 });
      try {
        await waitCaughtUp(groupId, [customers.topic]);
        for (const path of paths) {
          const batches = await counterValue(first.metrics, "tributary_sink_micro_batches_total", { path });
          expect(batches, path).toBeGreaterThan(0);
        }
        for (const path of unusedPaths) {
          const batches = await counterValue(first.metrics, "tributary_sink_micro_batches_total", { path });
          expect(batches, path).toBe(0);
        }
        if (deleteEvery === 0) {
          // The fast path stages the micro-batch's topic, partition and load time as the staging
          // table's defaults, not in its COPY data: they are every row's all the same.
          const stored = await warehouse.query<{ rows: number; partitions: number }>(
            `SELECT count(*)::int AS rows, count(DISTINCT "_tributary_partition")::int AS partitions FROM "${schema}"."${table}" WHERE "_tributary_topic" = $1 AND NOT "_tributary_deleted" AND "_tributary_loaded_at" BETWEEN $2 AND now()`,
            [customers.topic, started],
          );
          expect(stored.rows[0]).toEqual({ rows: 12, partitions: 2 });
        }
      } finally {
        await first.stop();
      }

      // While the group is stopped: back to the middle of every partition, and new events after.
      const admin = producer.kafka.admin();
      await admin.connect();
      try {
        const ends = await admin.fetchTopicOffsets(customers.topic);
        expect(ends.every((end) => Number(end.high) > 4)).toBe(true);
        await admin.setOffsets({
          groupId,
          topic: customers.topic,
          partitions: ends.map((end) => ({
            partition: end.partition,
            offset: String(Math.floor(Number(end.high) / 2)),
          })),
        });
      } finally {
        await admin.disconnect();
      }
      await send(next(20));
      const replay = startSink({ topics: [customers.topic], schema, groupId, maxRows: 3 });
      try {
        await send(next(20)); // while the replayed range is being applied
        await waitCaughtUp(groupId, [customers.topic]);
        // More rows than the 40 new events: the replayed range was applied again.
        expect(await counterTotal(replay.metrics, "tributary_sink_rows_applied_total")).toBeGreaterThan(40);
      } finally {
        await replay.stop();
      }

      const cleanSchema = uniqueName("wh_clean");
      const clean = startSink({ topics: [customers.topic], schema: cleanSchema });
      try {
        await waitCaughtUp(clean.groupId, [customers.topic]);
      } finally {
        await clean.stop();
      }
      const replayed = await checksum(warehouse, schema, table, businessColumns, "id");
      expect(replayed.rows).toBe(12);
      expect(replayed).toEqual(await checksum(warehouse, cleanSchema, table, businessColumns, "id"));

      // And both are what the events say: each key's last event; a soft delete keeps the last values.
      const expected = new Map<string, [string, unknown, boolean]>();
      for (const event of sent) {
        const id = String(event.row.id);
        const deleted = event.op === "d";
        const name = deleted ? (expected.get(id)?.[1] ?? event.row.name) : event.row.name;
        expected.set(id, [id, name, deleted]);
      }
      const rows = await rowsOf(warehouse, schema, table, "id");
      expect(rows.map((row) => [row.id, row.name, row._tributary_deleted])).toEqual(
        [...expected.values()].sort((a, b) => Number(a[0]) - Number(b[0])),
      );
    },
  );
});
