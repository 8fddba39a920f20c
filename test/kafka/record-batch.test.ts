import { describe, expect, it } from "vitest";
import { crc32c } from "../../src/kafka/crc32c.js";
import { appendRecord, PartitionBatches } from "../../src/kafka/record-batch.js";

/** A record as the protocol lays it out, built by hand: varints here are all one byte. */
function handRecord(
  offsetDelta: number,
  key: string | null,
  value: string | null,
  headers: [string, string][],
) {
  const zigzag = (n: number) => (n << 1) ^ (n >> 31);
  const field = (text: string | null) =>
    text === null ? [zigzag(-1)] : [zigzag(text.length), ...Buffer.from(text)];
  const body = [
    0, // attributes
    0, // timestamp delta
    zigzag(offsetDelta),
    ...field(key),
    ...field(value),
    zigzag(headers.length),
    ...headers.flatMap(([name, text]) => [...field(name), ...field(text)]),
  ];
  return [zigzag(body.length), ...body];
}

describe("record batches", () => {
  it("computes CRC-32C (Castagnoli) at every alignment", () => {
    expect(crc32c(Buffer.from("123456789"))).toBe(0xe3069283);
    expect(crc32c(Buffer.alloc(32))).toBe(0x8a9136aa);
    const data = Buffer.from("xx123456789yy");
    expect(crc32c(data, 2, 11)).toBe(0xe3069283);
    expect(crc32c(data, 5, 5)).toBe(0);
  });

  it("lays out a transactional batch byte for byte, checksummed", () => {
    const batches = new PartitionBatches();
    appendRecord(batches, { key: Buffer.from("k1"), value: Buffer.from("hello") });
    appendRecord(batches, { key: null, value: null, headers: { ct: "json" } });
    const sealed = batches.seal(
      { producerId: 4242n, producerEpoch: 7, transactional: true, timestamp: 1_700_000_000_000 },
      100,
    );
    const recordBytes = [...handRecord(0, "k1", "hello", []), ...handRecord(1, null, null, [["ct", "json"]])];
    const afterCrc = Buffer.alloc(40);
    afterCrc.writeInt16BE(0x10, 0); // attributes: transactional
    afterCrc.writeInt32BE(1, 2); // last offset delta
    afterCrc.writeBigInt64BE(1_700_000_000_000n, 6);
    afterCrc.writeBigInt64BE(1_700_000_000_000n, 14);
    afterCrc.writeBigInt64BE(4242n, 22);
    afterCrc.writeInt16BE(7, 30);
    afterCrc.writeInt32BE(100, 32);
    afterCrc.writeInt32BE(2, 36); // record count
    const checked = Buffer.concat([afterCrc, Buffer.from(recordBytes)]);
    const head = Buffer.alloc(21);
    head.writeBigInt64BE(0n, 0);
    head.writeInt32BE(9 + checked.length, 8); // everything after the length field
    head.writeInt32BE(-1, 12);
    head.writeInt8(2, 16);
    head.writeUInt32BE(crc32c(checked), 17);
    expect(sealed).toEqual([Buffer.concat([head, checked])]);
  });

  it("copies key and value out of a larger buffer", () => {
    const source = Buffer.from("..KEY....VALUE..");
    const batches = new PartitionBatches();
    batches.append(source, 2, 3, 9, 5);
    const [batch] = batches.seal({ producerId: 1n, producerEpoch: 0, transactional: false, timestamp: 0 }, 0);
    expect([...(batch as Buffer).subarray(61)]).toEqual(handRecord(0, "KEY", "VALUE", []));
    expect((batch as Buffer).readInt16BE(21)).toBe(0); // not transactional
  });

  it("starts a new batch when one would exceed the limit, continuing offsets from zero and sequences on", () => {
    const batches = new PartitionBatches(61 + 3 * 9);
    for (const text of ["a", "b", "c", "d", "e"])
      appendRecord(batches, { key: null, value: Buffer.from(text) });
    expect(batches.recordCount).toBe(5);
    const sealed = batches.seal(
      { producerId: 1n, producerEpoch: 0, transactional: true, timestamp: 0 },
      2_147_483_646,
    );
    expect(sealed.map((batch) => batch.readInt32BE(57))).toEqual([3, 2]);
    expect(sealed.map((batch) => batch.readInt32BE(53))).toEqual([2_147_483_646, 1]);
    expect([...(sealed[1] as Buffer).subarray(61)]).toEqual([
      ...handRecord(0, null, "d", []),
      ...handRecord(1, null, "e", []),
    ]);
    for (const batch of sealed) expect(batch.readUInt32BE(17)).toBe(crc32c(batch, 21, batch.length));
  });
});
