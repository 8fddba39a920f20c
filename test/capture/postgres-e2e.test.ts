import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, uniqueName } from "../helpers/stack.js";
import {
  confirmedFlushLsn,
  currentWalLsn,
  decodedTopic,
  dropAll,
  duplicateVersions,
  e2eSetup,
  newClient,
  startCapture,
  waitForEvents,
} from "./pg-e2e.js";

// The real Postgres source, the real runner, Kafka and the registry: what a read_committed
// consumer of the topic sees.
describe("Postgres capture end to end", () => {
  const client = newClient();
  beforeAll(() => client.connect());
  afterAll(() => client.end());

  it("snapshots under concurrent writes: every row exactly once, no gap at the switch to streaming", async () => {
    const setup = e2eSetup("e2e_snap", { heartbeatInterval: 1_000 });
    await client.query(`create table ${setup.table} (id bigint primary key, payload text, n int not null)`);
    await client.query(
      `insert into ${setup.table} select n, 'row ' || n, 0 from generate_series(1, 20000) as n`,
    );
    const capture = startCapture(setup.sourceName, setup.config, { snapshotChunkSize: 500 });
    try {
      // The writers start once the snapshot has produced its first chunk, so they overlap it.
      await waitForEvents(capture, 500, 30_000);
      // Writers run while the snapshot reads: new rows, and updates of rows the snapshot may or may not have read.
      const writer = newClient();
      await writer.connect();
      let nextId = 20_001;
      try {
        for (let round = 0; round < 40; round++) {
          await writer.query(
            `insert into ${setup.table} select n, 'live ' || n, 0 from generate_series($1::bigint, $2::bigint) as n`,
            [nextId, nextId + 49],
          );
          nextId += 50;
          await writer.query(`update ${setup.table} set n = n + 1 where id between $1 and $2`, [
            round * 400 + 1,
            round * 400 + 10,
          ]);
        }
      } finally {
        await writer.end();
      }
      // Everything written is in Kafka once the slot, confirmed only after Kafka commits, is past it.
      const written = await currentWalLsn(client);
      await eventually(async () => {
        const confirmed = await confirmedFlushLsn(client, setup.config.slot);
        return confirmed !== undefined && confirmed >= written ? true : undefined;
      }, 40_000);

      const records = await decodedTopic(setup.topic);
      expect(duplicateVersions(records)).toEqual([]);
      const byId = new Map<string, { creates: number; last: (typeof records)[number] }>();
      for (const record of records
        .filter((r) => r.op !== null)
        .sort((a, b) => ((a.version ?? "") < (b.version ?? "") ? -1 : 1))) {
        const entry = byId.get(record.id ?? "") ?? { creates: 0, last: record };
        if (record.op === "r" || record.op === "c") entry.creates++;
        entry.last = record;
        byId.set(record.id ?? "", entry);
      }
      const { rows } = await client.query<{ id: string; payload: string; n: number }>(
        `select id::text, payload, n from ${setup.table}`,
      );
      expect(rows).toHaveLength(22_000);
      const wrong = rows.filter((row) => {
        const entry = byId.get(row.id);
        return (
          entry?.creates !== 1 || entry.last.after?.n !== row.n || entry.last.after?.payload !== row.payload
        );
      });
      expect(wrong.slice(0, 5)).toEqual([]);
      expect(byId.size).toBe(22_000);
      // The writers overlapped the snapshot: their rows and updates came from the stream.
      expect(records.filter((r) => r.op === "c")).toHaveLength(2_000);
      expect(records.filter((r) => r.op === "u")).toHaveLength(400);
      // Streamed changes sort after every snapshot read.
      const lastSnapshot =
        records
          .filter((r) => r.op === "r")
          .map((r) => r.version ?? "")
          .sort()
          .at(-1) ?? "";
      expect(
        records.filter((r) => r.op === "c" || r.op === "u").every((r) => (r.version ?? "") > lastSnapshot),
      ).toBe(true);
    } finally {
      await capture.stop();
      await dropAll(client, setup);
    }
  }, 60_000);

  it("decodes every type from Kafka to the source values, in snapshot and stream alike", async () => {
    const setup = e2eSetup("e2e_types");
    const mood = uniqueName("mood");
    const positive = uniqueName("positive");
    const columns: Record<string, [string, string, unknown]> = {
      c_smallint: ["smallint", "-32768", -32768],
      c_int: ["int", "2147483647", 2147483647],
      c_bigint: ["bigint", "9223372036854775807", 9223372036854775807n],
      c_numeric: ["numeric(10,2)", "-12.3", "-12.30"],
      c_numeric_big: [
        "numeric(38,6)",
        "12345678901234567890123456789012.123456",
        "12345678901234567890123456789012.123456",
      ],
      c_numeric_nan: ["numeric(10,2)", "'NaN'", null],
      c_numeric_free: [
        "numeric",
        "123456789012345678901234567890.123456789",
        "123456789012345678901234567890.123456789",
      ],
      c_numeric_inf: ["numeric", "'-Infinity'", "-Infinity"],
      c_real: ["real", "1.5", 1.5],
      c_real_nan: ["real", "'NaN'", Number.NaN],
      c_double: ["double precision", "1.1", 1.1],
      c_double_inf: ["double precision", "'-Infinity'", Number.NEGATIVE_INFINITY],
      c_bool: ["boolean", "true", true],
      c_text: ["text", `'héllo "world"'`, 'héllo "world"'],
      c_varchar: ["varchar(5)", "'abc'", "abc"],
      c_char: ["char(4)", "'ab'", "ab  "],
      c_bytea: ["bytea", "'\\xdeadbeef'", Buffer.from("deadbeef", "hex")],
      c_uuid: ["uuid", "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"],
      c_date: ["date", "'2024-02-29'", Date.UTC(2024, 1, 29) / 86_400_000],
      c_date_bc: ["date", "'0044-03-15 BC'", -735_160],
      c_date_inf: ["date", "'infinity'", 2_147_483_647],
      c_time: ["time", "'13:45:06.123456'", (13 * 3600 + 45 * 60 + 6) * 1_000_000 + 123_456],
      c_timetz: ["timetz", "'13:45:00+02'", "13:45:00+02"],
      c_ts: ["timestamp", "'2024-01-02 03:04:05.123456'", Date.UTC(2024, 0, 2, 3, 4, 5) * 1000 + 123_456],
      c_tstz: [
        "timestamptz",
        "'2024-01-02 03:04:05.123456+05:30'",
        Date.UTC(2024, 0, 1, 21, 34, 5) * 1000 + 123_456,
      ],
      c_tstz_old: [
        "timestamptz",
        "'1901-12-13 20:45:52.5-01:30'",
        Date.UTC(1901, 11, 13, 22, 15, 52) * 1000 + 500_000,
      ],
      c_tstz_inf: ["timestamptz", "'-infinity'", -Number.MAX_SAFE_INTEGER],
      c_interval: ["interval", "'1 year 2 mons 3 days 04:05:06.5'", "P1Y2M3DT4H5M6.5S"],
      c_json: ["json", `'{"b": 1, "a": [1, 2]}'`, '{"b": 1, "a": [1, 2]}'],
      c_jsonb: ["jsonb", `'{"b": 1, "a": [1, 2]}'`, '{"a": [1, 2], "b": 1}'],
      // One dimension: a multi-dimensional value ('{{1,2},{3,4}}') does not fit the column's Avro array
      // of items and stops the capture with a RecordError (see docs/sources/postgres.md, "Types").
      c_int_array: ["int[]", "'{1,NULL,3}'", [1, null, 3]],
      c_text_array: [
        "text[]",
        `array['a b', null, 'NULL', 'q"x', 'c,d', '']`,
        ["a b", null, "NULL", 'q"x', "c,d", ""],
      ],
      c_numeric_array: ["numeric(5,2)[]", "'{1.5,NULL}'", ["1.50", null]],
      c_enum: [mood, "'happy'", "happy"],
      c_domain: [positive, "5", 5],
      c_inet: ["inet", "'192.168.0.1/24'", "192.168.0.1/24"],
      c_cidr: ["cidr", "'10.0.0.0/8'", "10.0.0.0/8"],
      c_macaddr: ["macaddr", "'08:00:2b:01:02:03'", "08:00:2b:01:02:03"],
      c_money: ["money", "12345.5", "$12,345.50"],
      c_bit: ["bit(4)", "B'0101'", "0101"],
      c_varbit: ["varbit", "B'101'", "101"],
      c_xml: ["xml", "'<a>1</a>'", "<a>1</a>"],
      c_null: ["text", "null", null],
    };
    const names = Object.keys(columns);
    const insert = (id: number) =>
      `insert into ${setup.table} (id, ${names.join(", ")}) values (${id}, ${names.map((n) => columns[n]?.[1]).join(", ")})`;
    await client.query(`create type ${mood} as enum ('sad', 'happy')`);
    await client.query(`create domain ${positive} as int check (value > 0)`);
    await client.query(
      `create table ${setup.table} (id bigint primary key, ${names.map((n) => `${n} ${columns[n]?.[0]}`).join(", ")})`,
    );
    await client.query(insert(1));
    const capture = startCapture(setup.sourceName, setup.config);
    try {
      await waitForEvents(capture, 1, 30_000);
      await client.query(insert(2));
      await client.query(`update ${setup.table} set c_text = 'changed' where id = 2`);
      await waitForEvents(capture, 3, 30_000);

      const records = await decodedTopic(setup.topic);
      const expected = Object.fromEntries(names.map((name) => [name, columns[name]?.[2]]));
      const snapshot = records.find((record) => record.op === "r");
      const streamed = records.find((record) => record.op === "c");
      const updated = records.find((record) => record.op === "u");
      expect(snapshot?.snapshot).toBe(true);
      expect(snapshot?.after).toEqual({ id: 1n, ...expected });
      expect(streamed?.snapshot).toBe(false);
      expect(streamed?.after).toEqual({ id: 2n, ...expected });
      expect(updated?.after).toEqual({ id: 2n, ...expected, c_text: "changed" });
    } finally {
      await capture.stop();
      await dropAll(client, setup);
      await client.query(`drop domain if exists ${positive}`);
      await client.query(`drop type if exists ${mood}`);
    }
  }, 60_000);

  it("advances the slot's confirmed_flush_lsn through the runner's commits while the table is idle", async () => {
    const setup = e2eSetup("e2e_idle", { heartbeatInterval: 1_000 });
    const other = uniqueName("e2e_other");
    await client.query(`create table ${setup.table} (id bigint primary key, payload text)`);
    await client.query(`create table ${other} (id bigint primary key)`);
    const capture = startCapture(setup.sourceName, setup.config);
    try {
      await eventually(async () => (capture.status.state === "running" ? true : undefined), 30_000);
      // The slot is created when reading begins, after "running": WAL written before it exists
      // would already lie behind its first confirmed_flush_lsn, with no commit at all.
      const start = await eventually(async () => {
        const lsn = await confirmedFlushLsn(client, setup.config.slot);
        return lsn !== undefined && lsn > 0n ? lsn : undefined;
      }, 30_000);
      // WAL the captured table has no part in: only heartbeats can move the slot past it.
      await client.query(`insert into ${other} select generate_series(1, 1000)`);
      const written = await currentWalLsn(client);
      const confirmed = await eventually(async () => {
        const lsn = await confirmedFlushLsn(client, setup.config.slot);
        return lsn !== undefined && lsn > written ? lsn : undefined;
      }, 20_000);
      expect(confirmed > start).toBe(true);
      // Through the runner: the committed position moved too (heartbeat batches are committed to Kafka).
      const readiness = await capture.status.readiness();
      // The whole readiness on failure: state and lastError tell whether a session restarted.
      expect(readiness.checks.committedVersion, JSON.stringify(readiness)).not.toBeNull();
      expect(await capture.committedEvents()).toBe(0);
    } finally {
      await capture.stop();
      await dropAll(client, setup);
      await client.query(`drop table if exists ${other}`);
    }
  }, 60_000);
});
