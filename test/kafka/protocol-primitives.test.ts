import { describe, expect, it } from "vitest";
import { ProtocolReader, ProtocolWriter } from "../../src/kafka/protocol/primitives.js";

describe("Kafka protocol primitives", () => {
  it("read back what was written, across every growth of the buffer", () => {
    // A tiny start, so that nearly every write grows the buffer.
    const writer = new ProtocolWriter(1);
    const topics = Array.from({ length: 40 }, (_, index) => `infoportal.public.table_${index}_é`);
    writer
      .int8(-7)
      .bool(true)
      .int16(-300)
      .int32(70_000)
      .int64(-(2n ** 62n));
    writer.string("ascii").nullableString(null).nullableString("ünï");
    writer.array(topics, (topic, w) => w.string(topic).int32(topic.length));
    writer.bytes(Buffer.from([1, 2, 3])).bytes(null);
    writer.patchInt32(1 + 1 + 2, 123);

    const reader = new ProtocolReader(writer.finish());
    expect([reader.int8(), reader.bool(), reader.int16(), reader.int32(), reader.int64()]).toEqual([
      -7,
      true,
      -300,
      123,
      -(2n ** 62n),
    ]);
    expect([reader.string(), reader.nullableString(), reader.nullableString()]).toEqual([
      "ascii",
      null,
      "ünï",
    ]);
    expect(reader.array((r) => [r.string(), r.int32()])).toEqual(
      topics.map((topic) => [topic, topic.length]),
    );
    expect(reader.int32()).toBe(3);
    expect([reader.int8(), reader.int8(), reader.int8()]).toEqual([1, 2, 3]);
    expect(reader.int32()).toBe(-1);
    expect(() => reader.int8()).toThrow(/truncated/);
  });
});
