import { describe, expect, it } from "vitest";
import { toEnvelopeValue, toKey } from "../../src/avro/envelope.js";
import { EnvelopeDecoder } from "../../src/avro/envelope-decoder.js";
import { keySchema, layoutOf, valueSchema } from "../../src/avro/envelope-schema.js";
import { TributarySchemaRegistry } from "../../src/avro/registry.js";
import type { ChangeEvent } from "../../src/core/change-event.js";
import { stack, uniqueName } from "../helpers/stack.js";
import { allKindsTable, fullRow } from "./all-kinds.js";

describe("envelopes through the real registry (Confluent wire format)", () => {
  const registry = new TributarySchemaRegistry({ url: stack.registryUrl });

  it("registers key and value schemas and decodes records back to rows and column types", async () => {
    const topic = uniqueName("test_envelope");
    const table = allKindsTable(topic);
    const keyId = await registry.register(`${topic}-key`, keySchema(table) as never);
    const valueId = await registry.register(`${topic}-value`, valueSchema(table) as never);
    const event: ChangeEvent = {
      table,
      op: "u",
      before: fullRow(2n ** 63n - 1n),
      after: { ...fullRow(2n ** 63n - 1n), notes: null },
      source: {
        version: "00000000000000ff",
        connector: "postgres",
        tsMs: 1_700_000_000_000,
        snapshot: false,
        db: "infoportal",
        lsn: "0/FF",
        txId: 7,
      },
      unavailableColumns: ["notes"],
    };
    const layout = layoutOf(table);
    const key = await registry.encode(keyId, toKey(layout, event));
    const value = await registry.encode(valueId, toEnvelopeValue(layout, event, 99));

    // A fresh client, as a sink has: everything comes from the registry.
    const decoder = new EnvelopeDecoder(new TributarySchemaRegistry({ url: stack.registryUrl }));
    expect(await decoder.decodeKey(key)).toEqual({ id: 2n ** 63n - 1n });
    const decoded = await decoder.decodeValue(value);
    expect(decoded).toMatchObject({
      op: "u",
      before: event.before,
      after: event.after,
      source: event.source,
    });
    expect(decoded.unavailableColumns).toEqual(["notes"]);
    expect(decoded.table).toEqual(table);
    expect(decoded.schemaId).toBe(valueId);
  });
});
