import { describe, expect, it } from "vitest";
import type { ChangeEvent, Op, Row, TableSpec } from "../../src/core/change-event.js";
import { readCommittedPosition } from "../../src/kafka/offsets.js";
import { allKindsTable, fullRow, nullRow } from "../avro/all-kinds.js";
import { FakeSource, fakeVersion } from "../helpers/fake-source.js";
import { uniqueName } from "../helpers/stack.js";
import { capture, decoder } from "./fixtures.js";
import { readTopic, testKafka } from "./topic-reader.js";

function change(
  table: TableSpec,
  sequence: number,
  op: Op,
  before: Row | null,
  after: Row | null,
): ChangeEvent {
  return {
    table,
    op,
    before,
    after,
    source: {
      version: fakeVersion(sequence),
      connector: "postgres",
      tsMs: Date.now(),
      snapshot: false,
      db: "fake",
      lsn: `0/${sequence}`,
    },
    unavailableColumns: [],
  };
}

describe("the capture runner against Kafka and the registry", () => {
  it("lands keyed Avro envelopes equal to the input, a tombstone after a delete, a truncate in every partition", async () => {
    const name = uniqueName("fake");
    const table = allKindsTable(`${name}.public.all_kinds`, name);
    const events = [
      change(table, 1, "c", null, fullRow(1n)),
      change(table, 2, "c", null, nullRow(2n)),
      change(table, 3, "u", fullRow(1n), { ...fullRow(1n), notes: "changed" }),
      change(table, 4, "d", nullRow(2n), null),
      change(table, 5, "t", null, null),
    ];
    const source = new FakeSource({ name, tables: [table], events, endWhenDrained: true });
    await capture(source);

    // Four keyed events, one tombstone, six copies of the truncate.
    const records = await readTopic(table.topic, (seen) => seen.length >= 11);
    expect(records).toHaveLength(11);
    const decoded = await Promise.all(
      records.map(async (record) => ({
        partition: record.partition,
        key: record.key ? await decoder.decodeKey(record.key) : null,
        value: record.value ? await decoder.decodeValue(record.value) : null,
      })),
    );
    const row1 = decoded.filter((record) => record.key?.id === 1n);
    expect(row1.map((record) => record.value?.op)).toEqual(["c", "u"]);
    expect(row1[0]?.value?.after).toEqual(fullRow(1n));
    expect(row1[1]?.value?.before).toEqual(fullRow(1n));
    expect(row1[1]?.value?.after).toEqual({ ...fullRow(1n), notes: "changed" });
    const row2 = decoded.filter((record) => record.key?.id === 2n);
    expect(row2.map((record) => record.value?.op ?? "tombstone")).toEqual(["c", "d", "tombstone"]);
    expect(row2[1]?.value?.before).toEqual(nullRow(2n));
    expect(new Set(row2.map((record) => record.partition)).size).toBe(1);
    const truncates = decoded.filter((record) => record.value?.op === "t");
    expect(truncates.map((record) => record.partition).sort()).toEqual([0, 1, 2, 3, 4, 5]);
    expect(truncates.every((record) => record.key === null)).toBe(true);
    expect(decoded.map((record) => record.value?.source.version).filter(Boolean)).toHaveLength(10);

    // All five events fit one flush: one transaction, one position, acknowledged once.
    expect(source.commits).toEqual([{ version: fakeVersion(5), state: { next: 5 } }]);
    const admin = testKafka.admin();
    await admin.connect();
    try {
      expect(await readCommittedPosition(testKafka, admin, name)).toEqual({
        version: fakeVersion(5),
        state: { next: 5 },
      });
    } finally {
      await admin.disconnect();
    }
  });
});
