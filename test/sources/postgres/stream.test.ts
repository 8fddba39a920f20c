import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ChangeEvent } from "../../../src/core/change-event.js";
import { eventually, uniqueName } from "../../helpers/stack.js";
import { cleanUp, Driver, newClient, sourceConfig } from "./harness.js";

describe("Postgres source stream", () => {
  const client = newClient();
  const plain = uniqueName("plain");
  const full = uniqueName("full");
  const big = uniqueName("big");
  const config = sourceConfig({
    snapshot: "never",
    heartbeatInterval: 300,
    tables: { include: [`public.${plain}`, `public.${full}`, `public.${big}`], exclude: [] },
  });
  const driver = new Driver(config, { maxBatchEvents: 100 });
  const seen = (predicate: (event: ChangeEvent) => boolean) =>
    eventually(async () => driver.events().find(predicate));

  beforeAll(async () => {
    await client.connect();
    await client.query(`create table ${plain} (id int primary key, doc text, n int)`);
    await client.query(`create table ${full} (id int primary key, doc text, n int)`);
    await client.query(`alter table ${full} replica identity full`);
    await client.query(`create table ${big} (id int primary key)`);
    await driver.open();
    // The runner: commit every batch to "Kafka", then acknowledge it to the source.
    driver.start(undefined, (batch) => driver.source.commit(batch.position));
    await eventually(async () => (driver.batches.length > 0 ? true : undefined));
  });

  afterAll(async () => {
    await driver.stop();
    await cleanUp(client, config);
    await client.query(`drop table if exists ${plain}, ${full}, ${big}`);
    await client.end();
  });

  // Random hex does not compress, so the value is stored out of line in TOAST.
  const large = "select string_agg(md5(random()::text), '') from generate_series(1, 4000)";

  it("leaves an unchanged TOAST value out of an update, marked unavailable", async () => {
    await client.query(`insert into ${plain} (id, doc, n) values (1, (${large}), 1)`);
    const inserted = await seen((event) => event.op === "c" && event.after?.id === 1);
    expect(String(inserted.after?.doc)).toHaveLength(128_000);
    expect(inserted.unavailableColumns).toEqual([]);
    await client.query(`update ${plain} set n = 2 where id = 1`);
    const updated = await seen((event) => event.op === "u" && event.after?.id === 1);
    expect(updated.after).toEqual({ id: 1, doc: null, n: 2 });
    expect(updated.unavailableColumns).toEqual(["doc"]);
    expect(updated.before).toBeNull();
  });

  it("sends the key as before of a delete (default identity), the whole row with REPLICA IDENTITY FULL", async () => {
    await client.query(`delete from ${plain} where id = 1`);
    const deleted = await seen((event) => event.op === "d" && event.table.name === plain);
    expect(deleted.before).toEqual({ id: 1 });
    expect(deleted.after).toBeNull();

    await client.query(`insert into ${full} (id, doc, n) values (1, (${large}), 1)`);
    await client.query(`update ${full} set n = 2 where id = 1`);
    const updated = await seen((event) => event.op === "u" && event.table.name === full);
    expect(updated.before?.n).toBe(1);
    // With REPLICA IDENTITY FULL the old row carries the TOAST value, so it is known.
    expect(String(updated.after?.doc)).toHaveLength(128_000);
    expect(updated.unavailableColumns).toEqual([]);
  });

  it("carries transaction id, commit LSN and commit time", async () => {
    const { rows } = await client.query(
      `with i as (insert into ${plain} (id, n) values (2, 1) returning 1) select txid_current()::text as xid, now() as at`,
    );
    const event = await seen((candidate) => candidate.op === "c" && candidate.after?.id === 2);
    expect(event.source.txId).toBe(Number(rows[0].xid));
    expect(Math.abs(event.source.tsMs - rows[0].at.getTime())).toBeLessThan(5_000);
    expect(event.source.version).toMatch(/^[0-9A-F]{16}-0{15}1$/);
    expect(event.source.lsn).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
    expect(event.source.snapshot).toBe(false);
  });

  it("gives added and dropped columns a new TableSpec", async () => {
    await client.query(`alter table ${plain} add column note varchar(20)`);
    await client.query(`insert into ${plain} (id, n, note) values (3, 1, 'hi')`);
    const added = await seen((event) => event.op === "c" && event.after?.id === 3);
    expect(added.after).toEqual({ id: 3, doc: null, n: 1, note: "hi" });
    const note = added.table.columns.find((column) => column.name === "note");
    expect(note).toEqual({
      name: "note",
      type: { kind: "string", maxLength: 20 },
      nullable: true,
      sourceType: "character varying(20)",
    });
    await client.query(`alter table ${plain} drop column doc`);
    await client.query(`insert into ${plain} (id, n, note) values (4, 1, 'ho')`);
    const dropped = await seen((event) => event.op === "c" && event.after?.id === 4);
    expect(dropped.table.columns.map((column) => column.name)).toEqual(["id", "n", "note"]);
    expect(dropped.table.keyColumns).toEqual(["id"]);
  });

  it("yields one truncate event per truncated table", async () => {
    await client.query(`truncate ${plain}, ${full}`);
    const truncated = await eventually(async () => {
      const events = driver.events().filter((event) => event.op === "t");
      return events.length >= 2 ? events : undefined;
    });
    expect(truncated.map((event) => event.table.name).sort()).toEqual([plain, full].sort());
    expect(truncated[0]?.before).toBeNull();
    expect(truncated[0]?.after).toBeNull();
  });

  it("splits a large transaction into bounded batches and acknowledges only whole transactions", async () => {
    const before = driver.batches.length;
    await client.query(`insert into ${big} select generate_series(1, 1000)`);
    await eventually(async () =>
      driver.events().filter((e) => e.table.name === big).length >= 1000 ? true : undefined,
    );
    const batches = driver.batches
      .slice(before)
      .filter((batch) => batch.events.some((e) => e.table.name === big));
    expect(batches.length).toBeGreaterThanOrEqual(10);
    for (const batch of batches) expect(batch.events.length).toBeLessThanOrEqual(100);
    const flushes = batches.map((batch) => (batch.position.state as { flushLsn: string }).flushLsn);
    // Mid-transaction positions keep the previous transaction's flush LSN; the commit moves it.
    expect(new Set(flushes.slice(0, -1)).size).toBe(1);
    const lastBig = driver.batches.lastIndexOf(batches.at(-1) as (typeof batches)[number]);
    const flushOf = (index: number) =>
      (driver.batches[index]?.position.state as { flushLsn?: string } | undefined)?.flushLsn;
    await eventually(async () =>
      driver.batches.length > lastBig + 1 || flushOf(lastBig) !== flushes[0] ? true : undefined,
    );
    expect(flushOf(lastBig) !== flushes[0] || flushOf(lastBig + 1) !== flushes[0]).toBe(true);
    const versions = batches.flatMap((batch) => batch.events.map((event) => event.source.version));
    expect([...versions].sort()).toEqual(versions);
    expect(new Set(versions.map((version) => version.slice(0, 16))).size).toBe(1);
  });

  it("advances the slot on an idle table through heartbeats and commit()", async () => {
    const confirmed = async () => {
      const { rows } = await client.query(
        "select confirmed_flush_lsn::text as lsn, (confirmed_flush_lsn - '0/0')::text as bytes from pg_replication_slots where slot_name = $1",
        [config.slot],
      );
      return BigInt(rows[0].bytes);
    };
    const start = await confirmed();
    const heartbeats = driver.batches.length;
    await eventually(async () =>
      driver.batches.slice(heartbeats).some((b) => b.events.length === 0) ? true : undefined,
    );
    await eventually(async () => ((await confirmed()) > start ? true : undefined));
    const health = await driver.source.health?.();
    expect(health).toMatchObject({ slot: config.slot, slotExists: true, walStatus: "reserved" });
    expect(typeof health?.lagBytes).toBe("number");
  });

  it("restarts from a committed position without repeating or losing a change", async () => {
    await driver.halt();
    const position = driver.lastPosition();
    expect(position?.state).toMatchObject({ phase: "stream" });
    await client.query(`insert into ${big} values (5001), (5002)`);
    const again = new Driver(config);
    await again.open();
    again.start(position);
    const events = await eventually(async () => {
      const found = again.events().filter((event) => event.table.name === big);
      return found.length >= 2 ? found : undefined;
    });
    await again.stop();
    expect(events.map((event) => event.after?.id)).toEqual([5001, 5002]);
    expect(again.events().every((event) => position && event.source.version > position.version)).toBe(true);
  });
});
