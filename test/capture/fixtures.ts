/** What the capture tests share: the config of the local stack, a table, scripted inserts, readers. */
import { EnvelopeDecoder } from "../../src/avro/envelope-decoder.js";
import { TributarySchemaRegistry } from "../../src/avro/registry.js";
import type { ChangeEvent, TableSpec } from "../../src/core/change-event.js";
import { createLogger } from "../../src/core/logger.js";
import { createMetricsRegistry } from "../../src/core/metrics.js";
import { type CaptureTuning, runCapture } from "../../src/core/runner.js";
import { type FakeSource, fakeVersion } from "../helpers/fake-source.js";
import { stack } from "../helpers/stack.js";
import { readToEnd } from "./topic-reader.js";

export const config = {
  kafka: { brokers: [...stack.kafkaBrokers], clientId: "tributary-test" },
  schemaRegistry: { url: stack.registryUrl },
};
export const logger = createLogger({ service: "test" });
export const decoder = new EnvelopeDecoder(new TributarySchemaRegistry({ url: stack.registryUrl }));

export function ordersTable(source: string): TableSpec {
  return {
    source,
    namespace: "public",
    name: "orders",
    topic: `${source}.public.orders`,
    keyColumns: ["id"],
    columns: [
      { name: "id", type: { kind: "int32" }, nullable: false, sourceType: "integer" },
      {
        name: "total",
        type: { kind: "decimal", precision: 10, scale: 2 },
        nullable: true,
        sourceType: "numeric(10,2)",
      },
    ],
  };
}

export function inserts(table: TableSpec, from: number, to: number): ChangeEvent[] {
  const events: ChangeEvent[] = [];
  for (let sequence = from; sequence <= to; sequence++) {
    events.push({
      table,
      op: "c",
      before: null,
      after: { id: sequence, total: `${sequence}.00` },
      source: {
        version: fakeVersion(sequence),
        connector: "postgres",
        tsMs: Date.now(),
        snapshot: false,
        db: "fake",
      },
      unavailableColumns: [],
    });
  }
  return events;
}

/** The versions of every record a read_committed consumer sees on the topic, sorted. */
export async function committedVersions(topic: string): Promise<string[]> {
  const records = await readToEnd(topic);
  const versions = await Promise.all(
    records.map(async (record) => (await decoder.decodeValue(record.value as Buffer)).source.version),
  );
  return versions.sort();
}

export async function capture(source: FakeSource, tuning: Partial<CaptureTuning> = {}): Promise<void> {
  await runCapture({
    source,
    config,
    logger,
    metrics: createMetricsRegistry(),
    signal: new AbortController().signal,
    tuning,
  });
}
