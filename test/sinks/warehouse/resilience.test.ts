import { AssignerProtocol } from "kafkajs";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ColumnType } from "../../../src/core/column-type.js";
import { foldIdentifier } from "../../../src/sinks/warehouse/identifier.js";
import { EnvelopeProducer, type EventInput, tableSpec } from "../../helpers/envelope-producer.js";
import { eventually, stack, uniqueName } from "../../helpers/stack.js";
import {
  committedOffsets,
  counterTotal,
  localWarehouse,
  startSink,
  waitCaughtUp,
  warehouseClient,
} from "./harness.js";

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

function items(prefix: string) {
  return tableSpec(
    `${uniqueName(prefix)}.public.items`,
    [
      ["id", int64],
      ["label", text],
    ],
    ["id"],
  );
}

function upserts(from: number, to: number, keys: number): EventInput[] {
  const events: EventInput[] = [];
  for (let sequence = from; sequence < to; sequence++) {
    const id = BigInt(sequence % keys);
    events.push({ op: sequence < keys ? "c" : "u", version: sequence, row: { id, label: `v${sequence}` } });
  }
  return events;
}

/** What a single ordered pass leaves: each key's label from its last event. */
function expectedLabels(events: readonly EventInput[]): string[][] {
  const last = new Map<string, string>();
  for (const event of events) last.set(String(event.row.id), String(event.row.label));
  return [...last.entries()].sort((a, b) => Number(a[0]) - Number(b[0]));
}

async function labels(schema: string, table: string): Promise<string[][]> {
  const result = await warehouse.query(`SELECT id, label FROM "${schema}"."${table}" ORDER BY id`);
  return result.rows.map((row) => [String(row.id), String(row.label)]);
}

/** The partitions each member of a stable group holds (empty while it rebalances). */
async function partitionsByMember(groupId: string): Promise<number[][]> {
  const admin = producer.kafka.admin();
  await admin.connect();
  try {
    const {
      groups: [group],
    } = await admin.describeGroups([groupId]);
    if (group?.state !== "Stable") return [];
    return group.members
      .map((member) => {
        const decoded = AssignerProtocol.MemberAssignment.decode(member.memberAssignment);
        return Object.values(decoded?.assignment ?? {})
          .flat()
          .sort((a, b) => a - b);
      })
      .sort((a, b) => (a[0] ?? -1) - (b[0] ?? -1));
  } finally {
    await admin.disconnect();
  }
}

describe("the warehouse sink under failure", () => {
  it("waits while the warehouse refuses connections, loses nothing, then drains", async () => {
    const table = items("outage");
    await producer.createTopic(table.topic);
    const schema = uniqueName("wh");
    const role = uniqueName("sink_role");
    await warehouse.query(`CREATE ROLE "${role}" LOGIN`);
    await warehouse.query(`GRANT CREATE, TEMP ON DATABASE warehouse TO "${role}"`);
    const events = upserts(0, 300, 40);
    const running = startSink({ topics: [table.topic], schema, target: localWarehouse(role), maxRows: 20 });
    try {
      await producer.send(table, events.slice(0, 100));
      await waitCaughtUp(running.groupId, [table.topic]);
      const before = await committedOffsets(running.groupId, table.topic);
      expect(before.get(0)).toBe("100");
      // The warehouse goes away for this user: no new connections, the open ones killed.
      await warehouse.query(`ALTER ROLE "${role}" CONNECTION LIMIT 0`);
      await warehouse.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1", [
        role,
      ]);
      await producer.send(table, events.slice(100));
      // The sink keeps trying (and failing) while nothing it has not applied is committed.
      await eventually(async () =>
        (await counterTotal(running.metrics, "tributary_sink_retries_total")) >= 2 ? true : undefined,
      );
      for (let probe = 0; probe < 10; probe++) {
        expect(await committedOffsets(running.groupId, table.topic)).toEqual(before);
        await new Promise((done) => setTimeout(done, 200));
      }
      const during = await labels(schema, `${table.source}_items`);
      expect(during).toEqual(expectedLabels(events.slice(0, 100)));
      await warehouse.query(`ALTER ROLE "${role}" CONNECTION LIMIT -1`);
      await waitCaughtUp(running.groupId, [table.topic]);
    } finally {
      await running.stop();
      await warehouse.query(`ALTER ROLE "${role}" CONNECTION LIMIT -1`);
    }
    expect(await labels(schema, `${table.source}_items`)).toEqual(expectedLabels(events));
    await warehouse.query(`DROP OWNED BY "${role}" CASCADE`);
    await warehouse.query(`DROP ROLE "${role}"`);
  });

  it("shares partitions between two instances of one group and survives the rebalances", async () => {
    const table = items("rebalance");
    await producer.createTopic(table.topic, 4);
    const schema = uniqueName("wh");
    const groupId = uniqueName("sink_group");
    const events = upserts(0, 600, 60);
    const first = startSink({ topics: [table.topic], schema, groupId, maxRows: 25 });
    let second: ReturnType<typeof startSink> | undefined;
    try {
      await producer.send(table, events.slice(0, 200));
      await eventually(async () =>
        (await labels(schema, `${table.source}_items`)).length === 60 ? true : undefined,
      );
      second = startSink({ topics: [table.topic], schema, groupId, maxRows: 25 });
      // Both instances hold partitions, and both apply rows of the events sent while both run.
      const assignments = await eventually(async () => {
        const shares = await partitionsByMember(groupId);
        return shares.length === 2 && shares.every((share) => share.length > 0) ? shares : undefined;
      });
      expect(assignments.flat().sort((a, b) => a - b)).toEqual([0, 1, 2, 3]);
      const firstBefore = await counterTotal(first.metrics, "tributary_sink_rows_applied_total");
      const secondBefore = await counterTotal(second.metrics, "tributary_sink_rows_applied_total");
      await producer.send(table, events.slice(200, 400));
      await waitCaughtUp(groupId, [table.topic]);
      expect(await partitionsByMember(groupId)).toEqual(assignments);
      expect(await counterTotal(first.metrics, "tributary_sink_rows_applied_total")).toBeGreaterThan(
        firstBefore,
      );
      expect(await counterTotal(second.metrics, "tributary_sink_rows_applied_total")).toBeGreaterThan(
        secondBefore,
      );
      await first.stop();
      await producer.send(table, events.slice(400));
      await waitCaughtUp(groupId, [table.topic]);
    } finally {
      await first.stop().catch(() => undefined);
      await second?.stop();
    }
    expect(await labels(schema, `${table.source}_items`)).toEqual(expectedLabels(events));
  });

  it("picks up a new topic that matches its pattern while running", async () => {
    const prefix = uniqueName("newtopic");
    const firstTable = tableSpec(
      `${prefix}.public.a`,
      [
        ["id", int64],
        ["label", text],
      ],
      ["id"],
    );
    const laterTable = tableSpec(
      `${prefix}.public.b`,
      [
        ["id", int64],
        ["label", text],
      ],
      ["id"],
    );
    await producer.createTopic(firstTable.topic);
    const schema = uniqueName("wh");
    const running = startSink({ topics: [`${prefix}.*`], schema });
    try {
      await producer.send(firstTable, upserts(0, 3, 3));
      await eventually(async () => ((await labels(schema, `${prefix}_a`)).length === 3 ? true : undefined));
      await producer.createTopic(laterTable.topic);
      await producer.send(laterTable, upserts(0, 2, 2));
      await eventually(async () =>
        (await labels(schema, `${prefix}_b`).catch(() => [])).length === 2 ? true : undefined,
      );
    } finally {
      await running.stop();
    }
  });

  it("handles hostile identifiers: quotes, semicolons, reserved words, unicode, over-long names", async () => {
    const longName = `Column_${"Ω".repeat(70)}`; // 147 bytes
    const columns: [string, ColumnType][] = [
      ['ID "key"', int64],
      ["Select", text],
      ["semi;colon'; DROP TABLE x;--", text],
      ["Ünïcødé 名前", text],
      [longName, text],
    ];
    const table = tableSpec(`${uniqueName("hostile")}.public.t`, columns, ['ID "key"']);
    await producer.createTopic(table.topic);
    const schema = `Sch"ema; ${uniqueName("x")}`;
    const tableName = 'Order "by"; DROP TABLE users;--';
    await producer.send(table, [
      {
        op: "c",
        version: 1,
        row: {
          'ID "key"': 1n,
          Select: "s",
          "semi;colon'; DROP TABLE x;--": "q",
          "Ünïcødé 名前": "u",
          [longName]: "long",
        },
      },
    ]);
    const running = startSink({ topics: [table.topic], schema, tables: { [table.topic]: tableName } });
    try {
      await waitCaughtUp(running.groupId, [table.topic]);
    } finally {
      await running.stop();
    }
    const foldedSchema = foldIdentifier(schema, "postgres");
    const foldedTable = foldIdentifier(tableName, "postgres");
    const columnsResult = await warehouse.query(
      "SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 AND column_name NOT LIKE '\\_tributary\\_%' ORDER BY ordinal_position",
      [foldedSchema, foldedTable],
    );
    expect(columnsResult.rows.map((row) => row.column_name)).toEqual(
      columns.map(([name]) => foldIdentifier(name, "postgres")),
    );
    const client = new pg.Client({ ...stack.postgres, database: "warehouse" });
    await client.connect();
    try {
      const quoted = (name: string) => `"${name.replaceAll('"', '""')}"`;
      const result = await client.query(`SELECT * FROM ${quoted(foldedSchema)}.${quoted(foldedTable)}`);
      expect(result.rows[0]?.[foldIdentifier(longName, "postgres")]).toBe("long");
      expect(result.rows[0]?.select).toBe("s");
    } finally {
      await client.end();
    }
  });
});
