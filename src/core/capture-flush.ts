/**
 * One flush: the Kafka records of whole batches, encoded as they arrive, and the position after
 * the last of them. It becomes one Kafka transaction. Encoding decides keys and partitions:
 * - a keyed row goes to murmur2(Avro key body) mod partitions, so one row's changes stay in order;
 * - a delete is followed by a tombstone (same key, null value) for log compaction;
 * - a row of a table without key columns has a null key and goes to partition 0 (order kept);
 * - a truncate has a null key and is written to every partition of its topic, so each
 *   partition's consumer sees it after that partition's earlier events.
 */
import { toEnvelopeValue, toKey } from "../avro/envelope.js";
import type { TributarySchemaRegistry } from "../avro/registry.js";
import { partitionForKey } from "../kafka/partitioner.js";
import type { OutgoingRecord } from "../kafka/transactional-producer.js";
import type { CaptureTopics } from "./capture-topics.js";
import type { Batch, ChangeEvent, SourcePosition } from "./change-event.js";

export class Flush {
  readonly records: OutgoingRecord[] = [];
  /** Events (not records) by topic and op, for metrics. */
  readonly counts = new Map<string, number>();
  /** Source commit times of streamed events, for the commit→Kafka latency. */
  readonly sourceTimes: number[] = [];
  bytes = 0;
  events = 0;
  position: SourcePosition | undefined;
  /** When the first batch arrived: the flush is due maxWait after it. */
  readonly startedAt = Date.now();

  get isEmpty(): boolean {
    return this.position === undefined;
  }

  push(record: OutgoingRecord): void {
    this.records.push(record);
    this.bytes += (record.key?.length ?? 0) + (record.value?.length ?? 0);
  }
}

export interface EncoderOptions {
  readonly topics: CaptureTopics;
  readonly registry: TributarySchemaRegistry;
}

/**
 * Adds `batch` to `flush`, skipping events at or below `highWater` (already in Kafka, or already
 * in this flush). Returns the new high-water version. A batch that brings nothing new and no
 * newer position leaves the flush untouched.
 */
export async function addBatch(
  flush: Flush,
  batch: Batch,
  highWater: string | undefined,
  options: EncoderOptions,
): Promise<string | undefined> {
  for (const event of batch.events) {
    if (highWater !== undefined && event.source.version <= highWater) continue;
    await addEvent(flush, event, options);
  }
  if (highWater !== undefined && batch.position.version <= highWater) return highWater;
  flush.position = batch.position;
  return batch.position.version;
}

async function addEvent(flush: Flush, event: ChangeEvent, options: EncoderOptions): Promise<void> {
  const state = await options.topics.stateFor(event.table);
  const avroKey = toKey(state.layout, event);
  const key =
    avroKey === null || state.keySchemaId === undefined
      ? null
      : await options.registry.encode(state.keySchemaId, avroKey);
  const value = await options.registry.encode(
    state.valueSchemaId,
    toEnvelopeValue(state.layout, event, Date.now()),
  );
  const topic = event.table.topic;
  if (event.op === "t") {
    for (let partition = 0; partition < state.partitions; partition++)
      flush.push({ topic, partition, key: null, value });
  } else {
    const partition = key === null ? 0 : partitionForKey(key, state.partitions);
    flush.push({ topic, partition, key, value });
    if (event.op === "d" && key !== null) flush.push({ topic, partition, key, value: null });
  }
  flush.events++;
  const label = `${topic}\u0000${event.op}`;
  flush.counts.set(label, (flush.counts.get(label) ?? 0) + 1);
  if (!event.source.snapshot) flush.sourceTimes.push(event.source.tsMs);
}
