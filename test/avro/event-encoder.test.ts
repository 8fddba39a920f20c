import avro from "avsc";
import { describe, expect, it } from "vitest";
import { toEnvelopeValue, toKey } from "../../src/avro/envelope.js";
import { keySchema, layoutOf, valueSchema } from "../../src/avro/envelope-schema.js";
import { eventKeyEncoder, eventValueEncoder } from "../../src/avro/event-encoder.js";
import { int64TypeHook } from "../../src/avro/long-type.js";
import type { ChangeEvent } from "../../src/core/change-event.js";
import { RecordError } from "../../src/core/errors.js";
import { allKindsEvent, allKindsTable, fullRow, imapSource, mysqlSource, nullRow } from "./all-kinds.js";

const table = allKindsTable("fake.public.all-kinds");
const layout = layoutOf(table);
const NOW = 1_700_000_000_999;

/** avsc's encoding of the Avro objects of toEnvelopeValue / toKey: the reference. */
function reference(schema: unknown, value: unknown): Buffer {
  return avro.Type.forSchema(schema as avro.Schema, { typeHook: int64TypeHook }).toBuffer(value);
}

function encoded(encode: (buffer: Buffer, offset: number, event: ChangeEvent) => number, input: ChangeEvent) {
  const buffer = Buffer.alloc(64 * 1024);
  return buffer.subarray(0, encode(buffer, 0, input));
}

const event = (overrides: Partial<ChangeEvent>) => allKindsEvent(table, overrides);

const events: ChangeEvent[] = [
  event({}),
  event({
    op: "u",
    before: nullRow(-(2n ** 63n)),
    after: fullRow(2n ** 63n - 1n),
    unavailableColumns: ["notes", "doc"],
  }),
  event({ op: "d", before: fullRow(5n), after: null, source: mysqlSource }),
  event({ op: "r", after: nullRow(9_007_199_254_740_993n), source: imapSource }),
  event({ op: "t", after: null, table: { ...table, namespace: "" } }),
];

describe("event encoders", () => {
  it("write the envelope byte for byte as the Avro objects of toEnvelopeValue encode", () => {
    const encodeValue = eventValueEncoder(layout, () => NOW);
    for (const input of events) {
      const expected = reference(valueSchema(table), toEnvelopeValue(layout, input, NOW));
      expect(encoded(encodeValue, input), input.op).toEqual(expected);
    }
  });

  it("write the key byte for byte as the Avro object of toKey encodes", () => {
    const encodeKey = eventKeyEncoder(layout);
    if (!encodeKey) throw new Error("the table has a key");
    for (const input of events.filter((candidate) => candidate.op !== "t")) {
      expect(encoded(encodeKey, input)).toEqual(reference(keySchema(table), toKey(layout, input)));
    }
    expect(eventKeyEncoder(layoutOf({ ...table, keyColumns: [] }))).toBeUndefined();
  });

  it("refuse a value of the wrong type, naming the table, column and version", () => {
    const encodeValue = eventValueEncoder(layout);
    const bad = event({ after: { ...fullRow(1n), medium: "twelve" } });
    expect(() => encoded(encodeValue, bad)).toThrow(RecordError);
    expect(() => encoded(encodeValue, bad)).toThrow(
      /fake\.public\.all-kinds column "medium" \(version 00000000016B3748-0000000000000002\)/,
    );
    const keyless = event({ after: { ...fullRow(1n), id: null } });
    expect(() => encoded(eventKeyEncoder(layout) as never, keyless)).toThrow(/key column "id" is null/);
  });
});
