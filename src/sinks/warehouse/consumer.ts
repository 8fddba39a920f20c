/**
 * The Kafka side of the sink: a kafkajs consumer group over the topics matching the configured
 * patterns, read_committed, no auto-commit. Each fetched partition batch is cut into micro-batches
 * (maxRows / maxBytes) and queued for the handler (chunk-queue.ts), and the next fetch starts
 * while the warehouse applies them; a micro-batch's offsets are committed, in order per partition,
 * only after the handler says it was applied (the warehouse transaction committed).
 *
 * kafkajs matches RegExp subscriptions once, at subscribe time (metadataMaxAge does not change
 * that), so new matching topics are found by listing topics every `topicRefreshMs`; when one
 * appears the consumer finishes its in-flight batch, leaves and rejoins with the new list.
 */
import type { EachBatchPayload, Kafka, KafkaMessage } from "kafkajs";
import type { Logger } from "../../core/logger.js";
import { chunkBySize } from "./batch.js";
import { ChunkQueue } from "./chunk-queue.js";
import { DLQ_SUFFIX } from "./dlq.js";

export interface PartitionChunk {
  readonly topic: string;
  readonly partition: number;
  readonly messages: readonly KafkaMessage[];
}

export interface ChunkContext {
  /** True once the partition was revoked or a rebalance began: abandon, commit nothing. */
  isStale(): boolean;
  /** Keeps the group membership alive while the warehouse is retried. */
  heartbeat(): Promise<void>;
  /** Pauses fetching from the partition; returns the function that resumes it. */
  pause(): () => void;
}

/** "applied": commit the chunk's offsets; "abandoned": commit nothing, the records come again. */
export type ChunkHandler = (chunk: PartitionChunk, context: ChunkContext) => Promise<"applied" | "abandoned">;

export interface ConsumeOptions {
  readonly kafka: Kafka;
  readonly groupId: string;
  /** Glob patterns ("infoportal.*"): `*` any characters, `?` one. */
  readonly patterns: readonly string[];
  readonly limits: { readonly maxRows: number; readonly maxBytes: number; readonly maxWait: number };
  readonly signal: AbortSignal;
  readonly handler: ChunkHandler;
  readonly logger: Logger;
  /** How often to look for new matching topics; default 30s. */
  readonly topicRefreshMs?: number;
  readonly sessionTimeoutMs?: number;
  readonly onLag?: (topic: string, partition: number, lag: number) => void;
  readonly onAssignment?: (joined: boolean) => void;
}

/** A glob over topic names as an anchored RegExp. */
export function topicPattern(glob: string): RegExp {
  const escaped = glob
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  return new RegExp(`^${escaped}$`);
}

/** Topics to consume: matching a pattern, never a dead-letter or internal topic. */
export function matchingTopics(all: readonly string[], patterns: readonly string[]): string[] {
  const regexps = patterns.map(topicPattern);
  return all
    .filter(
      (topic) => !topic.endsWith(DLQ_SUFFIX) && !topic.startsWith("__") && topic !== "tributary.offsets",
    )
    .filter((topic) => regexps.some((regexp) => regexp.test(topic)))
    .sort();
}

/**
 * Partitions whose batches are taken at once; the warehouse pool has one connection more. Three
 * keep both cores of bench:sink's machine busier than two (5–8 % more upserts/s, 20 MB more
 * memory); four gained nothing more and took another 40 MB (bench/RESULTS.md, stop 11).
 */
export const PARTITIONS_IN_FLIGHT = 3;

/**
 * Bytes fetched per partition (Kafka still returns a larger record batch whole). The fetched
 * records are the bulk of the sink's memory: one fetch holds a batch for each partition in flight
 * and the process stays well under its memory budget; a micro-batch is at most one fetch.
 * 2 MiB holds a default micro-batch of small rows (10,000 at ~150 bytes), so the warehouse's cost
 * per transaction is shared by that many rows (1 MiB: 15 % less throughput, 2 MiB more: none).
 */
const FETCH_PARTITION_BYTES = 2 * 1024 * 1024;

/** Chunks handed to the warehouse and not yet committed; fetching runs ahead of them up to this. */
const CHUNKS_IN_FLIGHT = PARTITIONS_IN_FLIGHT + 1;

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

function nextOffset(offset: string): string {
  return (BigInt(offset) + 1n).toString();
}

/** Runs until `signal` aborts; rejects when the handler throws (a failure that needs a human). */
export async function consumeTopics(options: ConsumeOptions): Promise<void> {
  const { kafka, signal, logger } = options;
  const refreshMs = options.topicRefreshMs ?? 30_000;
  const admin = kafka.admin();
  await admin.connect();
  try {
    while (!signal.aborted) {
      const topics = matchingTopics(await admin.listTopics(), options.patterns);
      if (topics.length === 0) {
        await delay(refreshMs, signal);
        continue;
      }
      await consumeUntilTopicsChange(options, topics, async () =>
        matchingTopics(await admin.listTopics(), options.patterns),
      );
    }
  } finally {
    await admin.disconnect();
  }
  logger.debug("consumer stopped");
}

async function consumeUntilTopicsChange(
  options: ConsumeOptions,
  topics: readonly string[],
  listTopics: () => Promise<string[]>,
): Promise<void> {
  const { kafka, signal, logger, limits } = options;
  const consumer = kafka.consumer({
    groupId: options.groupId,
    readUncommitted: false,
    allowAutoTopicCreation: false,
    sessionTimeout: options.sessionTimeoutMs ?? 30_000,
    heartbeatInterval: Math.min(3000, Math.floor((options.sessionTimeoutMs ?? 30_000) / 3)),
    maxWaitTimeInMs: limits.maxWait,
    minBytes: Math.min(64 * 1024, limits.maxBytes),
    maxBytesPerPartition: Math.min(limits.maxBytes, FETCH_PARTITION_BYTES),
    maxBytes: Math.min(limits.maxBytes, PARTITIONS_IN_FLIGHT * FETCH_PARTITION_BYTES),
  });
  let fatal: unknown;
  let wake: () => void = () => {};
  const woken = new Promise<void>((resolve) => {
    wake = resolve;
  });
  signal.addEventListener("abort", () => wake(), { once: true });
  consumer.on(consumer.events.GROUP_JOIN, () => {
    generation++;
    options.onAssignment?.(true);
  });
  consumer.on(consumer.events.CRASH, (event) => {
    if (!event.payload.restart) {
      fatal = event.payload.error;
      wake();
    }
  });

  const queue = new ChunkQueue(CHUNKS_IN_FLIGHT);
  /** Bumped at each rebalance: chunks fetched before it are stale. */
  let generation = 0;
  /** Per partition, bumped when it is rewound: the chunks queued behind the rewind are stale. */
  const epochs = new Map<string, number>();
  let stopping = false;
  consumer.on(consumer.events.REBALANCING, () => {
    generation++;
  });

  /** Fetches the partition again from `offset` (replays are harmless); later queued chunks drop. */
  const rewind = (chunk: PartitionChunk, key: string, epoch: number) => {
    if (stopping || signal.aborted || (epochs.get(key) ?? 0) !== epoch) return;
    epochs.set(key, epoch + 1);
    const offset = chunk.messages[0]?.offset as string;
    try {
      consumer.seek({ topic: chunk.topic, partition: chunk.partition, offset });
    } catch {
      // Not ours any more: its next owner starts from the committed offset.
    }
  };

  const applyChunk = async (
    chunk: PartitionChunk,
    context: ChunkContext,
    key: string,
    epoch: number,
  ): Promise<void> => {
    if (fatal !== undefined || signal.aborted) return;
    let outcome: "applied" | "abandoned" = "abandoned";
    if (!context.isStale()) {
      try {
        outcome = await options.handler(chunk, context);
      } catch (error) {
        fatal = error;
        wake();
        return;
      }
    }
    if (outcome === "applied" && !context.isStale()) {
      const last = chunk.messages.at(-1)?.offset as string;
      try {
        await consumer.commitOffsets([
          { topic: chunk.topic, partition: chunk.partition, offset: nextOffset(last) },
        ]);
        return;
      } catch (error) {
        logger.warn({ err: error, topic: chunk.topic }, "offset commit failed; the chunk comes again");
      }
    }
    rewind(chunk, key, epoch);
  };

  // Hands the chunks to the queue and returns: kafkajs fetches the next batch (from the resolved
  // offset) while the warehouse applies these; offsets are committed only after it did.
  const eachBatch = async (payload: EachBatchPayload) => {
    const { batch } = payload;
    options.onLag?.(batch.topic, batch.partition, Number(batch.offsetLag()));
    const key = `${batch.topic}:${batch.partition}`;
    const chunks = chunkBySize(batch.messages, (message) => message.value?.length ?? 0, limits);
    for (const messages of chunks) {
      await queue.room();
      if (!payload.isRunning() || payload.isStale() || signal.aborted || fatal !== undefined || stopping)
        return;
      const epoch = epochs.get(key) ?? 0;
      const joined = generation;
      const context: ChunkContext = {
        isStale: () => payload.isStale() || generation !== joined || (epochs.get(key) ?? 0) !== epoch,
        heartbeat: payload.heartbeat,
        pause: payload.pause,
      };
      const chunk = { topic: batch.topic, partition: batch.partition, messages };
      queue.push(key, () => applyChunk(chunk, context, key, epoch));
      payload.resolveOffset(messages.at(-1)?.offset as string);
    }
  };

  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [...topics], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      // eachBatch only queues: PARTITIONS_IN_FLIGHT partitions' batches are taken at once.
      partitionsConsumedConcurrently: PARTITIONS_IN_FLIGHT,
      eachBatch,
    });
    logger.info({ topics }, "consuming");
    const refreshMs = options.topicRefreshMs ?? 30_000;
    while (!signal.aborted && fatal === undefined) {
      await Promise.race([woken, delay(refreshMs, signal)]);
      if (signal.aborted || fatal !== undefined) break;
      const now = await listTopics().catch(() => [...topics]);
      if (now.some((topic) => !topics.includes(topic))) {
        logger.info({ topics: now }, "new matching topics: rejoining the group");
        break;
      }
    }
  } finally {
    options.onAssignment?.(false);
    // The queued chunks finish (and commit) or see the stop and commit nothing; then the in-flight batch.
    stopping = true;
    await queue.drained();
    await consumer.disconnect();
  }
  if (fatal !== undefined) throw fatal;
}
