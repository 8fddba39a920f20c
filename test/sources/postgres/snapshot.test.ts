import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ChangeEvent } from "../../../src/core/change-event.js";
import { eventually, uniqueName } from "../../helpers/stack.js";
import { applyAsSink, cleanUp, Driver, newClient, sourceConfig, tableRows } from "./harness.js";

// Rows are (id int primary key, n int): the sink view of the events must equal the table at the end.
const rowOf = (row: Record<string, unknown>) => ({ id: row.id, n: row.n });

function expectSameRows(
  sink: Map<string, Record<string, unknown>>,
  table: Map<string, Record<string, unknown>>,
): void {
  expect([...sink.values()].map(rowOf).sort((a, b) => Number(a.id) - Number(b.id))).toEqual(
    [...table.values()].map(rowOf),
  );
}

function snapshotKeys(events: readonly ChangeEvent[]): number[] {
  return events.filter((event) => event.op === "r").map((event) => Number(event.after?.id));
}

describe("Postgres source snapshot", () => {
  const client = newClient();
  const writer = newClient();
  const table = uniqueName("snap");
  const resumeTable = uniqueName("resume");
  const configs: ReturnType<typeof sourceConfig>[] = [];

  beforeAll(async () => {
    await Promise.all([client.connect(), writer.connect()]);
    for (const name of [table, resumeTable]) {
      await client.query(`create table ${name} (id int primary key, n int not null)`);
      await client.query(`insert into ${name} select g, 0 from generate_series(1, 2000) g`);
    }
  });

  afterAll(async () => {
    for (const config of configs) await cleanUp(client, config);
    await client.query(`drop table if exists ${table}, ${resumeTable}`);
    await Promise.all([client.end(), writer.end()]);
  });

  it("yields every row exactly once under concurrent writes, with no gap before the stream", async () => {
    const config = sourceConfig({ tables: { include: [`public.${table}`], exclude: [] } });
    configs.push(config);
    const driver = new Driver(config, { snapshotChunkSize: 97 });
    await driver.open();
    // A slow runner: each batch takes a few ms, so the writer's changes interleave with the snapshot.
    driver.start(undefined, () => new Promise((done) => setTimeout(done, 5)));
    let writes = 0;
    const deadline = Date.now() + 1_500;
    while (Date.now() < deadline) {
      const id = 1 + ((writes * 7919) % 2600);
      if (writes % 5 === 0) await writer.query(`delete from ${table} where id = $1`, [id]);
      else {
        await writer.query(
          `insert into ${table} (id, n) values ($1, $2) on conflict (id) do update set n = excluded.n`,
          [id, writes],
        );
      }
      writes += 1;
    }
    await writer.query(`insert into ${table} (id, n) values (999999, -1)`);
    await eventually(async () => driver.events().find((event) => event.after?.id === 999999));
    await driver.stop();
    expect(driver.error).toBeUndefined();

    const events = driver.events();
    const keys = snapshotKeys(events);
    expect(new Set(keys).size).toBe(keys.length);
    const versions = events.map((event) => event.source.version);
    expect(new Set(versions).size).toBe(versions.length);
    expect([...versions].sort()).toEqual(versions);
    expect(events.some((event) => event.op !== "r")).toBe(true);
    expect(driver.batches.some((batch) => batch.events.length === 97)).toBe(true);
    expectSameRows(applyAsSink(events), await tableRows(client, table));
  });

  it("resumes after a crash from the last committed chunk: every row once, nothing lost", async () => {
    const config = sourceConfig({ tables: { include: [`public.${resumeTable}`], exclude: [] } });
    configs.push(config);
    const first = new Driver(config, { snapshotChunkSize: 100 });
    await first.open();
    first.start(undefined, () => new Promise((done) => setTimeout(done, 20)));
    await eventually(async () => (first.batches.length >= 3 ? true : undefined));
    await first.stop();
    // The runner committed the first three batches; whatever came after them is lost with the crash.
    const committed = first.batches.slice(0, 3);
    const position = committed.at(-1)?.position;
    expect(position?.state).toMatchObject({ phase: "snapshot", pending: [`public.${resumeTable}`] });
    expect(position?.state).toMatchObject({ lastKey: ["300"], ordinal: 300 });

    // Changes while the capture is down: in a chunk already produced, in one not yet read, new rows.
    await writer.query(`update ${resumeTable} set n = 1 where id in (10, 1500)`);
    await writer.query(`delete from ${resumeTable} where id in (20, 1600)`);
    await writer.query(`insert into ${resumeTable} (id, n) values (5000, 5)`);

    const second = new Driver(config, { snapshotChunkSize: 100 });
    await second.open();
    second.start(position);
    await eventually(async () => (second.events().some((event) => event.op !== "r") ? true : undefined));
    await writer.query(`insert into ${resumeTable} (id, n) values (999999, -1)`);
    await eventually(async () => second.events().find((event) => event.after?.id === 999999));
    await second.stop();
    expect(second.error).toBeUndefined();

    const events = [...committed.flatMap((batch) => batch.events), ...second.events(position?.version)];
    const keys = snapshotKeys(events);
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys).toContain(1500);
    expect(keys).not.toContain(1600);
    expect(keys.filter((id) => id <= 300)).toHaveLength(300);
    expectSameRows(applyAsSink(events), await tableRows(client, resumeTable));
    // The resumed snapshot's rows are versioned after the first run's.
    const resumed = second.events().find((event) => event.op === "r");
    expect(resumed && position && resumed.source.version > position.version).toBe(true);
  });
});
