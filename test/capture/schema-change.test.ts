import { describe, expect, it } from "vitest";
import type { TableSpec } from "../../src/core/change-event.js";
import { TributaryError } from "../../src/core/errors.js";
import { FakeSource, fakeVersion } from "../helpers/fake-source.js";
import { stack, uniqueName } from "../helpers/stack.js";
import { capture, decoder, inserts, ordersTable } from "./fixtures.js";
import { readTopic } from "./topic-reader.js";

async function versionsOf(subject: string): Promise<number[]> {
  const response = await fetch(`${stack.registryUrl}/subjects/${subject}/versions`);
  return (await response.json()) as number[];
}

describe("schema changes during capture", () => {
  it("registers a new value schema version for an added column and keeps encoding", async () => {
    const name = uniqueName("fake");
    const v1 = ordersTable(name);
    const v2: TableSpec = {
      ...v1,
      columns: [
        ...v1.columns,
        { name: "note", type: { kind: "string" }, nullable: true, sourceType: "text" },
      ],
    };
    const later = inserts(v2, 4, 5).map((event) => ({
      ...event,
      after: { ...event.after, note: `n${event.after?.id}` },
    }));
    const source = new FakeSource({
      name,
      tables: [v1],
      events: [...inserts(v1, 1, 3), ...later],
      endWhenDrained: true,
    });
    await capture(source);

    expect(await versionsOf(`${v1.topic}-value`)).toHaveLength(2);
    expect(await versionsOf(`${v1.topic}-key`)).toHaveLength(1);
    const records = await readTopic(v1.topic, (seen) => seen.length >= 5);
    const decoded = await Promise.all(records.map((record) => decoder.decodeValue(record.value as Buffer)));
    const byId = new Map(decoded.map((envelope) => [envelope.after?.id, envelope]));
    expect(byId.get(1)?.after).toEqual({ id: 1, total: "1.00" });
    expect(byId.get(1)?.table.columns.map((column) => column.name)).toEqual(["id", "total"]);
    expect(byId.get(5)?.after).toEqual({ id: 5, total: "5.00", note: "n5" });
    expect(byId.get(5)?.columnTypes.get("note")).toEqual({ kind: "string" });
  });

  it("stops with an error naming table, column and remedy when the registry refuses a change", async () => {
    const name = uniqueName("fake");
    const v1 = ordersTable(name);
    const changed: TableSpec = {
      ...v1,
      columns: [
        v1.columns[0] as TableSpec["columns"][number],
        { name: "total", type: { kind: "int32" }, nullable: true, sourceType: "integer" },
      ],
    };
    const bad = inserts(changed, 4, 4).map((event) => ({
      ...event,
      after: { id: 4, total: 4 },
    }));
    const source = new FakeSource({
      name,
      tables: [v1],
      events: [...inserts(v1, 1, 3), ...bad],
      batchSize: 3,
    });

    const stopped = capture(source, { maxFlushEvents: 3 });
    await expect(stopped).rejects.toBeInstanceOf(TributaryError);
    await expect(stopped).rejects.toMatchObject({
      code: "SCHEMA_INCOMPATIBLE",
      message: expect.stringMatching(
        new RegExp(`public\\.orders \\(topic ${v1.topic}.*total \\(numeric\\(10,2\\) → integer\\)`),
      ),
      hint: expect.stringContaining("BACKWARD"),
    });
    // What came before the refused change is in Kafka and acknowledged; nothing after it.
    expect(source.commits.map((position) => position.version)).toEqual([fakeVersion(3)]);
    expect(source.closes).toBe(source.opens);
  });

  it("waits out a source that cannot connect, then captures", async () => {
    const name = uniqueName("fake");
    const table = ordersTable(name);
    const source = new FakeSource({
      name,
      tables: [table],
      events: inserts(table, 1, 2),
      endWhenDrained: true,
      failOpens: 2,
    });
    await capture(source);
    expect(source.opens).toBe(3);
    expect(source.commits.map((position) => position.version)).toEqual([fakeVersion(2)]);
  });
});
