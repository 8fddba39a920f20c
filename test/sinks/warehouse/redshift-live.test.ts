import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ColumnType } from "../../../src/core/column-type.js";
import { EnvelopeProducer, tableSpec } from "../../helpers/envelope-producer.js";
import { uniqueName } from "../../helpers/stack.js";
import { checksum, redshiftWarehouse, startSink, waitCaughtUp, warehouseClient } from "./harness.js";

const url = process.env.REDSHIFT_URL;

// The one conditional skip: without a cluster (REDSHIFT_URL) these run nowhere.
describe.skipIf(!url)(
  "against a real Redshift cluster (set REDSHIFT_URL=postgres://user:pass@host:5439/db to run)",
  () => {
    const producer = new EnvelopeProducer();
    const target = url ? redshiftWarehouse(url) : undefined;
    let warehouse: pg.Client;

    beforeAll(async () => {
      warehouse = warehouseClient(target);
      await warehouse.connect();
    });

    afterAll(async () => {
      await producer.close();
      await warehouse?.end();
    });

    it("merges inserts, updates, soft deletes, TOAST and JSON; a replay leaves the same checksum", async () => {
      const int64: ColumnType = { kind: "int64" };
      const table = tableSpec(
        `${uniqueName("rs")}.public.customers`,
        [
          ["id", int64],
          ["name", { kind: "string" }],
          ["doc", { kind: "json" }],
          ["balance", { kind: "decimal", precision: 12, scale: 2 }],
        ],
        ["id"],
      );
      await producer.createTopic(table.topic);
      await producer.send(table, [
        { op: "c", version: 1, row: { id: 1n, name: "a", doc: '{"x":1}', balance: "1.00" } },
        { op: "c", version: 2, row: { id: 2n, name: "b", doc: "[1,2]", balance: "2.00" } },
        {
          op: "u",
          version: 3,
          row: { id: 1n, name: "a2", doc: null, balance: "3.00" },
          unavailable: ["doc"],
        },
        { op: "d", version: 4, row: { id: 2n, name: null, doc: null, balance: null } },
        { op: "u", version: 2, row: { id: 1n, name: "stale", doc: null, balance: "0.00" } },
      ]);
      const schema = uniqueName("tributary_live");
      const name = `${table.source}_customers`;
      const columns = ["id", "name", "balance"];
      for (const round of [1, 2]) {
        const running = startSink({ topics: [table.topic], schema, target });
        try {
          await waitCaughtUp(running.groupId, [table.topic], 120_000);
        } finally {
          await running.stop();
        }
        const sum = await checksum(warehouse, schema, name, columns, "id", "redshift");
        expect(sum.rows, `round ${round}`).toBe(2);
      }
      const rows = await warehouse.query(
        `SELECT id, name, _tributary_deleted FROM "${schema}"."${name}" ORDER BY id`,
      );
      expect(rows.rows.map((row) => [String(row.id), row.name, row._tributary_deleted])).toEqual([
        ["1", "a2", false],
        ["2", "b", true],
      ]);
      await warehouse.query(`DROP SCHEMA "${schema}" CASCADE`);
    }, 300_000);
  },
);
