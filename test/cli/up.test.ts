import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runAll } from "../../src/cli/up.js";
import { parseConfig } from "../../src/core/config/index.js";
import { createLogger } from "../../src/core/logger.js";
import { eventually, stack, uniqueName } from "../helpers/stack.js";

// `tributary up` runs the main job in one process: a Postgres capture and the warehouse sink,
// with their combined health and metrics on the dashboard port.
describe("tributary up (Info Portal → Kafka → warehouse in one process)", () => {
  const name = uniqueName("up");
  const table = `${name}_orders`;
  const dashboardPort = 20_000 + Math.floor(Math.random() * 20_000);
  const source = new pg.Client({ ...stack.postgres, database: "infoportal" });
  const warehouse = new pg.Client({ ...stack.postgres, database: "warehouse" });
  const configText = `
kafka: { brokers: ["127.0.0.1:9092"] }
schemaRegistry: { url: "${stack.registryUrl}" }
dashboard: { port: ${dashboardPort} }
sources:
  ${name}:
    type: postgres
    connection: { host: 127.0.0.1, port: 5432, database: infoportal, user: postgres, sslmode: disable }
    tables: { include: ["public.${table}"] }
    heartbeatInterval: 1s
sinks:
  warehouse:
    type: redshift
    dialect: postgres
    connection: { host: 127.0.0.1, port: 5432, database: warehouse, user: postgres, password: unused, sslmode: disable }
    schema: ${name}
    topics: ["${name}.*"]
    batch: { maxRows: 1000, maxWait: 200ms }
    groupId: ${name}
`;
  const configFile = join(tmpdir(), `${name}.yaml`);

  beforeAll(async () => {
    writeFileSync(configFile, configText);
    await source.connect();
    await warehouse.connect();
    await source.query(
      `create table ${table} (id int primary key, status text not null, total numeric(10,2))`,
    );
    await source.query(`insert into ${table} values (1, 'new', 10.50), (2, 'new', 20.00)`);
  });

  afterAll(async () => {
    await source.query(
      "select pg_drop_replication_slot(slot_name) from pg_replication_slots where slot_name = $1",
      [`tributary_${name}`],
    );
    await source.query(`drop publication if exists tributary_${name}`);
    await source.query(`drop table if exists ${table}`);
    await warehouse.query(`drop schema if exists "${name}" cascade`);
    await source.end();
    await warehouse.end();
  });

  it("snapshots, streams changes into the warehouse, and serves combined health and metrics", async () => {
    const config = parseConfig(configText, configFile);
    const stop = new AbortController();
    const running = runAll(config, createLogger({ service: "up-test" }), stop.signal);
    try {
      const base = `http://127.0.0.1:${dashboardPort}`;
      await eventually(async () => ((await fetch(`${base}/readyz`)).ok ? true : undefined), 30_000);

      await source.query(`update ${table} set status = 'paid', total = 11.25 where id = 1`);
      await source.query(`delete from ${table} where id = 2`);
      await source.query(`insert into ${table} values (3, 'new', 30.00)`);

      const rows = await eventually(async () => {
        const result = await warehouse
          .query(
            `select id, status, total::text, _tributary_deleted from "${name}"."${name}_${table}" order by id`,
          )
          .catch(() => undefined);
        return result && result.rows.length === 3 && result.rows[1]?._tributary_deleted
          ? result.rows
          : undefined;
      }, 30_000);
      expect(rows).toEqual([
        { id: 1, status: "paid", total: "11.25", _tributary_deleted: false },
        { id: 2, status: "new", total: "20.00", _tributary_deleted: true },
        { id: 3, status: "new", total: "30.00", _tributary_deleted: false },
      ]);

      const readiness = (await (await fetch(`${base}/readyz`)).json()) as { checks: Record<string, unknown> };
      expect(Object.keys(readiness.checks).sort()).toEqual([`capture:${name}`, "sink:warehouse"]);
      const metrics = await (await fetch(`${base}/metrics`)).text();
      expect(metrics).toContain(`service="capture:${name}"`);
      expect(metrics).toContain('service="sink:warehouse"');
      // One header per family even though both services report process metrics.
      expect(metrics.match(/^# TYPE tributary_process_cpu_seconds_total /gm)).toHaveLength(1);
    } finally {
      stop.abort();
    }
    await expect(running).resolves.toBe(0);
  }, 90_000);
});
