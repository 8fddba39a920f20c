/**
 * One flush: the Kafka records of whole batches, encoded as they arrive, and the position after
 * the last of them. It becomes one Kafka transaction. Encoding decides keys and partitions:
 * - a keyed row goes to murmur2(Avro key body) mod partitions, so one row's changes stay in order;
 * - a delete is followed by a tombstone (same key, null value) for log compaction;
 * - a row of a table without key columns has a null key and goes to partition 0 (order kept);
 * - a truncate has a null key and is written to every partition of its topic, so each
 *   partition's consumer sees it after that partition's earlier events.
 */
import { WireScratch } from "../avro/wire-writer.js";
import { partitionForKey } from "../kafka/partitioner.js";
import { PartitionBatches } from "../kafka/record-batch.js";
import type { CaptureTopics, TopicState } from "./capture-topics.js";
import type { Batch, ChangeEvent, Op, SourcePosition } from "./change-event.js";

/** Where every flush encodes its keys and values before they are copied into their batch. */
const scratch = new WireScratch();

export class Flush {
  /** The records, already in record-batch form, by topic and partition. */
  readonly batches = new Map<string, PartitionBatches[]>();
  /** Events (not records) by topic and op, for metrics. */
  readonly counts = new Map<string, Map<Op, number>>();
  /**
   * Source commit times of streamed events, for the commit→Kafka latency, run-length encoded
   * (the events of one source transaction share theirs): [time, count, time, count, ...].
   */
  readonly sourceTimes: number[] = [];
  /** Key and value bytes. */
  bytes = 0;
  events = 0;
  position: SourcePosition | undefined;
  /** When the first batch arrived: the flush is due maxWait after it. */
  readonly startedAt = Date.now();

  get isEmpty(): boolean {
    return this.position === undefined;
  }

  /** Appends a record whose key and value are in `source` (a length of -1 for null). */
  push(
    topic: string,
    partition: number,
    source: Buffer,
    keyStart: number,
    keyLength: number,
    valueStart: number,
    valueLength: number,
  ): void {
    let partitions = this.batches.get(topic);
    if (!partitions) {
      partitions = [];
      this.batches.set(topic, partitions);
    }
    let batches = partitions[partition];
    if (!batches) {
      batches = new PartitionBatches();
      partitions[partition] = batches;
    }
    batches.append(source, keyStart, keyLength, valueStart, valueLength);
    this.bytes += Math.max(0, keyLength) + Math.max(0, valueLength);
  }

  count(topic: string, op: Op): void {
    let ops = this.counts.get(topic);
    if (!ops) {
      ops = new Map();
      this.counts.set(topic, ops);
    }
    ops.set(op, (ops.get(op) ?? 0) + 1);
  }

  sourceTime(tsMs: number): void {
    const times = this.sourceTimes;
    const last = times.length - 2;
    if (last >= 0 && times[last] === tsMs) times[last + 1] = (times[last + 1] as number) + 1;
    else times.push(tsMs, 1);
  }
}

export interface EncoderOptions {
  readonly topics: CaptureTopics;
}

/**
 * Adds `batch` to `flush`, skipping events at or below `highWater` (already in Kafka, or already
 * in this flush). Returns the new high-water version. A batch that brings nothing new and no
 * newer position leaves the flush untouched. Encoding is synchronous; only a table seen in a new
 * shape waits (for its topic and schema registration).
 */
export async function addBatch(
  flush: Flush,
  batch: Batch,
  highWater: string | undefined,
  options: EncoderOptions,
): Promise<string | undefined> {
  for (const event of batch.events) {
    if (highWater !== undefined && event.source.version <= highWater) continue;
    const state = options.topics.knownState(event.table) ?? (await options.topics.stateFor(event.table));
    addEvent(flush, event, state);
  }
  if (highWater !== undefined && batch.position.version <= highWater) return highWater;
  flush.position = batch.position;
  return batch.position.version;
}

function addEvent(flush: Flush, event: ChangeEvent, state: TopicState): void {
  // Truncates have no key (written to every partition); neither do rows of keyless tables.
  const keyWriter = event.op === "t" || (event.after ?? event.before) === null ? undefined : state.keyWriter;
  const keyEnd = keyWriter ? scratch.write(keyWriter, event, 0) : 0;
  const keyLength = keyWriter ? keyEnd : -1;
  const valueLength = scratch.write(state.valueWriter, event, keyEnd) - keyEnd;
  const buffer = scratch.buffer;
  const topic = event.table.topic;
  if (event.op === "t") {
    for (let partition = 0; partition < state.partitions; partition++) {
      flush.push(topic, partition, buffer, 0, -1, keyEnd, valueLength);
    }
  } else {
    const partition = keyLength < 0 ? 0 : partitionForKey(buffer, 0, keyEnd, state.partitions);
    flush.push(topic, partition, buffer, 0, keyLength, keyEnd, valueLength);
    if (event.op === "d" && keyLength >= 0) flush.push(topic, partition, buffer, 0, keyLength, 0, -1);
  }
  flush.events++;
  flush.count(topic, event.op);
  if (!event.source.snapshot) flush.sourceTime(event.source.tsMs);
}
