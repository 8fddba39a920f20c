import { randomBytes } from "node:crypto";
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import { murmur2, partitionForKey } from "../../src/kafka/partitioner.js";

// kafkajs's own Java-compatible murmur2, as a reference implementation.
const referenceMurmur2 = createRequire(import.meta.url)(
  "kafkajs/src/producer/partitioners/default/murmur2.js",
) as (key: Buffer) => number;

describe("murmur2 partitioning", () => {
  it("matches Kafka's murmur2 (Java client test vectors)", () => {
    // From org.apache.kafka.common.utils.UtilsTest#testMurmur2.
    expect(murmur2(Buffer.from("21"))).toBe(-973932308);
    expect(murmur2(Buffer.from("foobar"))).toBe(-790332482);
    expect(murmur2(Buffer.from("a-little-bit-long-string"))).toBe(-985981536);
    expect(murmur2(Buffer.from("a-little-bit-longer-string"))).toBe(-1486304829);
    expect(murmur2(Buffer.from("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8"))).toBe(-58897971);
  });

  it("agrees with kafkajs's implementation on random keys of every tail length", () => {
    for (let length = 0; length < 64; length++) {
      const key = randomBytes(length);
      expect(murmur2(key)).toBe(referenceMurmur2(key));
      // The same bytes inside a larger buffer.
      const framed = Buffer.concat([randomBytes(3), key, randomBytes(2)]);
      expect(murmur2(framed, 3, 3 + length)).toBe(referenceMurmur2(key));
    }
  });

  it("ignores the wire header, so a new key schema id keeps a row on its partition", () => {
    const body = Buffer.from([2, 4, 6, 8]);
    const v1 = Buffer.concat([Buffer.from([0, 0, 0, 0, 7]), body]);
    const v2 = Buffer.concat([Buffer.from([0, 0, 0, 1, 9]), body]);
    expect(partitionForKey(v1, 0, v1.length, 6)).toBe(partitionForKey(v2, 0, v2.length, 6));
    expect(partitionForKey(v1, 0, v1.length, 6)).toBe((murmur2(body) & 0x7fffffff) % 6);
    const framed = Buffer.concat([Buffer.from("prefix"), v1, Buffer.from("value")]);
    expect(partitionForKey(framed, 6, 6 + v1.length, 6)).toBe(partitionForKey(v1, 0, v1.length, 6));
  });
});
