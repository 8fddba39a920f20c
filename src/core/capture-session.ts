/**
 * One connected run of a capture: Kafka admin and transactional producer, the source opened,
 * the committed position read back, then batches pumped into flushes until the source ends, the
 * signal aborts or something fails. Whatever fails, the caller (runner.ts) closes everything and
 * starts a new session from the committed position: one recovery path for every failure.
 */
import type { Kafka } from "kafkajs";
import type { Registry } from "prom-client";
import type { TributarySchemaRegistry } from "../avro/registry.js";
import { ensureTopics, offsetsTopicSpec } from "../kafka/admin.js";
import { offsetRecord, readCommittedPosition } from "../kafka/offsets.js";
import { captureTransactionalId, TransactionalProducer } from "../kafka/transactional-producer.js";
import { addBatch, Flush } from "./capture-flush.js";
import type { CaptureMetrics } from "./capture-metrics.js";
import type { CaptureStatus } from "./capture-status.js";
import { CaptureTopics } from "./capture-topics.js";
import type { Batch, SourcePosition } from "./change-event.js";
import type { Logger } from "./logger.js";
import type { Source } from "./source.js";

export interface CaptureTuning {
  /** A flush closes once it holds this many events (whole batches: it may hold one batch more). */
  readonly maxFlushEvents: number;
  /** ... or this many encoded bytes. */
  readonly maxFlushBytes: number;
  /** ... or this long after its first batch arrived. */
  readonly maxFlushWaitMs: number;
  /** Partitions of topics the capture creates. */
  readonly topicPartitions: number;
  readonly offsetsTopic: string;
}

export interface SessionContext {
  readonly source: Source;
  readonly kafka: Kafka;
  readonly registry: TributarySchemaRegistry;
  readonly logger: Logger;
  readonly metrics: CaptureMetrics;
  readonly metricsRegistry: Registry;
  readonly status: CaptureStatus;
  readonly tuning: CaptureTuning;
  readonly signal: AbortSignal;
  /** Called after each Kafka commit: the runner resets its backoff once a session made progress. */
  readonly onProgress: () => void;
}

const TIMEOUT = Symbol("flush due");

function due<T>(pending: Promise<T>, ms: number): Promise<T | typeof TIMEOUT> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<typeof TIMEOUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMEOUT), Math.max(0, ms));
  });
  return Promise.race([pending, timeout]).finally(() => clearTimeout(timer));
}

export async function runSession(context: SessionContext): Promise<void> {
  const { source, kafka, logger } = context;
  const admin = kafka.admin();
  let producer: TransactionalProducer | undefined;
  let opened = false;
  const reading = new AbortController();
  const stopReading = () => reading.abort(context.signal.reason);
  context.signal.addEventListener("abort", stopReading, { once: true });
  try {
    await admin.connect();
    await ensureTopics(admin, [{ ...offsetsTopicSpec, topic: context.tuning.offsetsTopic }]);
    // Before reading the position: connecting aborts a transaction a crashed predecessor left
    // open, which would otherwise hold back the read_committed end of the offsets topic.
    producer = await TransactionalProducer.connect(kafka, {
      transactionalId: captureTransactionalId(source.name),
    });
    opened = true;
    const tables = await source.open({ logger, metrics: context.metricsRegistry });
    const topics = new CaptureTopics({
      admin,
      registry: context.registry,
      logger,
      partitions: context.tuning.topicPartitions,
      onRegistered: (topic) => context.metrics.schemaRegistrations.inc({ source: source.name, topic }),
    });
    await topics.prepare(tables);
    const committed = await readCommittedPosition(kafka, admin, source.name, {
      topic: context.tuning.offsetsTopic,
    });
    logger.info({ committedVersion: committed?.version ?? null, tables: tables.length }, "capture running");
    context.status.running(source, committed);
    await pump(context, producer, topics, source.read(committed, reading.signal), committed);
  } finally {
    context.signal.removeEventListener("abort", stopReading);
    reading.abort();
    if (opened)
      await source.close().catch((error) => logger.warn({ err: error }, "closing the source failed"));
    await producer?.disconnect().catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
  }
}

async function pump(
  context: SessionContext,
  producer: TransactionalProducer,
  topics: CaptureTopics,
  batches: AsyncIterable<Batch>,
  committed: SourcePosition | undefined,
): Promise<void> {
  const { tuning } = context;
  const iterator = batches[Symbol.asyncIterator]();
  let highWater = committed?.version;
  let flush = new Flush();
  // At most one batch is read ahead of the flush being committed: the source waits meanwhile.
  let pending: Promise<IteratorResult<Batch>> | undefined;
  try {
    for (;;) {
      pending ??= iterator.next();
      const next = flush.isEmpty
        ? await pending
        : await due(pending, flush.startedAt + tuning.maxFlushWaitMs - Date.now());
      if (next === TIMEOUT) {
        await commitFlush(context, producer, flush);
        flush = new Flush();
        continue;
      }
      pending = undefined;
      if (next.done) break;
      highWater = await addBatch(flush, next.value, highWater, { topics, registry: context.registry });
      if (flush.events >= tuning.maxFlushEvents || flush.bytes >= tuning.maxFlushBytes) {
        await commitFlush(context, producer, flush);
        flush = new Flush();
      }
    }
    if (!flush.isEmpty) await commitFlush(context, producer, flush);
  } finally {
    // A read left pending must not become an unhandled rejection once the source is closed.
    pending?.catch(() => undefined);
    void iterator.return?.()?.catch(() => undefined);
  }
}

async function commitFlush(
  context: SessionContext,
  producer: TransactionalProducer,
  flush: Flush,
): Promise<void> {
  const position = flush.position;
  if (position === undefined) return;
  const { source, metrics } = context;
  const labels = { source: source.name };
  const started = performance.now();
  await producer.commitFlush(flush.records, offsetRecord(source.name, position, context.tuning.offsetsTopic));
  const committedAt = Date.now();
  metrics.flushSeconds.observe(labels, (performance.now() - started) / 1000);
  metrics.flushEvents.observe(labels, flush.events);
  metrics.flushBytes.observe(labels, flush.bytes);
  for (const [label, count] of flush.counts) {
    const [topic, op] = label.split("\u0000");
    metrics.events.inc({ source: source.name, topic, op }, count);
  }
  let newest = 0;
  for (const sourceTime of flush.sourceTimes) {
    metrics.commitToKafkaSeconds.observe(labels, Math.max(0, committedAt - sourceTime) / 1000);
    newest = Math.max(newest, sourceTime);
  }
  if (newest > 0) metrics.lastSourceTime.set(labels, newest / 1000);
  metrics.lastCommitTime.set(labels, committedAt / 1000);
  context.status.committed(position);
  context.onProgress();
  // Only now may the source let go of what the transaction holds (Postgres: the slot's LSN).
  await source.commit(position);
}
