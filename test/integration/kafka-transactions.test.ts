import { Kafka, logLevel } from "kafkajs";
import { afterAll, describe, expect, it } from "vitest";
import { eventually, stack, uniqueName } from "../helpers/stack.js";

// The local Kafka runs transactions on a single node: a transactional producer's aborted
// messages must never reach a read_committed consumer, its committed ones always.
describe("Kafka transactions on the local stack", () => {
  const kafka = new Kafka({
    clientId: "tributary-test",
    brokers: [...stack.kafkaBrokers],
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  const topic = uniqueName("test_transactions");

  afterAll(async () => {
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  });

  it("shows a read_committed consumer committed messages only, never aborted ones", async () => {
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });

    const producer = kafka.producer({
      transactionalId: uniqueName("tx"),
      idempotent: true,
      maxInFlightRequests: 1,
    });
    await producer.connect();
    const committed = await producer.transaction();
    await committed.send({
      topic,
      messages: [
        { key: "a", value: "committed-1" },
        { key: "b", value: "committed-2" },
      ],
    });
    await committed.commit();
    const aborted = await producer.transaction();
    await aborted.send({
      topic,
      messages: [
        { key: "a", value: "aborted-1" },
        { key: "b", value: "aborted-2" },
      ],
    });
    await aborted.abort();
    const committedAfterAbort = await producer.transaction();
    await committedAfterAbort.send({ topic, messages: [{ key: "c", value: "committed-3" }] });
    await committedAfterAbort.commit();
    await producer.disconnect();

    const consumer = kafka.consumer({ groupId: uniqueName("group"), readUncommitted: false });
    const seen: string[] = [];
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        seen.push(String(message.value));
      },
    });
    try {
      await eventually(async () => (seen.length >= 3 ? true : undefined));
      // Give an aborted message that would wrongly be delivered a moment to show up.
      await new Promise((done) => setTimeout(done, 500));
      expect(seen.sort()).toEqual(["committed-1", "committed-2", "committed-3"]);
    } finally {
      await consumer.disconnect();
    }
  });
});
