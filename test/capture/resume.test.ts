import { describe, expect, it } from "vitest";
import { OFFSETS_TOPIC } from "../../src/kafka/admin.js";
import { offsetRecord, readCommittedPosition } from "../../src/kafka/offsets.js";
import { captureTransactionalId } from "../../src/kafka/transactional-producer.js";
import { FakeSource, fakeVersion } from "../helpers/fake-source.js";
import { uniqueName } from "../helpers/stack.js";
import { capture, committedVersions, inserts, ordersTable } from "./fixtures.js";
import { testKafka } from "./topic-reader.js";

describe("capture restarts", () => {
  it("resumes from the committed position and drops the events a source repeats", async () => {
    const name = uniqueName("fake");
    const table = ordersTable(name);
    const first = new FakeSource({
      name,
      tables: [table],
      events: inserts(table, 1, 20),
      batchSize: 4,
      endWhenDrained: true,
    });
    await capture(first, { maxFlushEvents: 8 });
    expect(first.commits.at(-1)?.version).toBe(fakeVersion(20));
    // Flushes close on whole batches once 8 events are in: 8, 8, then the last 4.
    expect(first.commits.map((position) => position.version)).toEqual([
      fakeVersion(8),
      fakeVersion(16),
      fakeVersion(20),
    ]);

    const second = new FakeSource({
      name,
      tables: [table],
      events: inserts(table, 1, 30),
      replay: 7,
      endWhenDrained: true,
    });
    await capture(second);
    expect(second.reads[0]).toEqual({ version: fakeVersion(20), state: { next: 20 } });
    expect(await committedVersions(table.topic)).toEqual(
      inserts(table, 1, 30).map((event) => event.source.version),
    );
  });

  it("calls source.commit only once the Kafka transaction holding the position committed", async () => {
    const name = uniqueName("fake");
    const table = ordersTable(name);
    const admin = testKafka.admin();
    await admin.connect();
    const seenAtCommit: (string | undefined)[] = [];
    try {
      const source = new FakeSource({
        name,
        tables: [table],
        events: inserts(table, 1, 6),
        batchSize: 3,
        endWhenDrained: true,
        onCommit: async () => {
          seenAtCommit.push((await readCommittedPosition(testKafka, admin, name))?.version);
        },
      });
      await capture(source, { maxFlushEvents: 3 });
      expect(source.commits.map((position) => position.version)).toEqual([fakeVersion(3), fakeVersion(6)]);
      expect(seenAtCommit).toEqual([fakeVersion(3), fakeVersion(6)]);
    } finally {
      await admin.disconnect();
    }
  });

  it("aborts what a crashed predecessor produced but never committed", async () => {
    const name = uniqueName("fake");
    const table = ordersTable(name);
    const admin = testKafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: table.topic, numPartitions: 6 }], waitForLeaders: true });
    await admin.disconnect();
    // The predecessor: same transactional id, records and a position sent, then gone without a commit.
    const predecessor = testKafka.producer({
      transactionalId: captureTransactionalId(name),
      idempotent: true,
      maxInFlightRequests: 1,
    });
    await predecessor.connect();
    const transaction = await predecessor.transaction();
    await transaction.send({ topic: table.topic, messages: [{ partition: 0, value: "never committed" }] });
    const bogus = offsetRecord(name, { version: fakeVersion(999), state: {} });
    await transaction.send({ topic: OFFSETS_TOPIC, messages: [{ key: bogus.key, value: bogus.value }] });
    await predecessor.disconnect();

    const source = new FakeSource({
      name,
      tables: [table],
      events: inserts(table, 1, 5),
      endWhenDrained: true,
    });
    await capture(source);
    expect(source.reads).toEqual([undefined]);
    expect(await committedVersions(table.topic)).toEqual(
      inserts(table, 1, 5).map((event) => event.source.version),
    );
  });
});
