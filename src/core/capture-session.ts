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
  /** kafkajs, for the admin and reading the offsets topic. */
  readonly kafka: Kafka;
  /** Where the transactional producer connects (it speaks the protocol itself). */
  readonly brokers: readonly string[];
  readonly clientId: string;
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
const SETTLED = Symbol("commit settled");

/** Resolves with TIMEOUT after `ms` (at least 0); `cancel` clears the timer. */
function timeout(ms: number): { promise: Promise<typeof TIMEOUT>; cancel: () => void } {
  let timer: NodeJS.Timeout | undefined;
  const promise = new Promise<typeof TIMEOUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMEOUT), Math.max(0, ms));
  });
  return { promise, cancel: () => clearTimeout(timer) };
}

/** A flush being committed: `settled` resolves (never rejects) once it is done, `error` says how. */
interface InFlight {
  readonly settled: Promise<typeof SETTLED>;
  error: unknown;
  failed: boolean;
}

function startCommit(commit: Promise<void>): InFlight {
  const inFlight: InFlight = {
    error: undefined,
    failed: false,
    settled: commit.then(
      () => SETTLED,
      (error: unknown) => {
        inFlight.failed = true;
        inFlight.error = error;
        return SETTLED;
      },
    ),
  };
  return inFlight;
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
    producer = await TransactionalProducer.connect({
      brokers: context.brokers,
      clientId: context.clientId,
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

/**
 * Batches into flushes, one Kafka transaction each, pipelined: while flush N commits, flush N+1
 * is read and encoded. Commits stay strictly in order (N+1's transaction starts only after N's
 * committed and the source was told), so the source position and its acknowledgement move
 * exactly as without the pipeline. At most two flushes exist at a time: the one in flight and
 * the one filling; a full one waits, and so does the source (backpressure).
 */
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
  let inFlight: InFlight | undefined;
  let ended = false;
  // At most one batch is read ahead of the flush being filled: the source waits meanwhile.
  let pending: Promise<IteratorResult<Batch>> | undefined;
  const settle = async (): Promise<void> => {
    const current = inFlight;
    if (!current) return;
    await current.settled;
    inFlight = undefined;
    if (current.failed) throw current.error;
  };
  const full = () => flush.events >= tuning.maxFlushEvents || flush.bytes >= tuning.maxFlushBytes;
  try {
    for (;;) {
      if (inFlight?.failed) await settle();
      const due =
        !flush.isEmpty && (ended || full() || Date.now() >= flush.startedAt + tuning.maxFlushWaitMs);
      if (due) {
        // One transaction at a time: a due flush waits for the one in flight (and keeps filling
        // meanwhile unless it is full or the source ended).
        if (!inFlight) {
          inFlight = startCommit(commitFlush(context, producer, flush));
          flush = new Flush();
          continue;
        }
        if (ended || full()) {
          await settle();
          continue;
        }
      }
      if (ended) {
        await settle();
        break;
      }
      pending ??= iterator.next();
      const timer =
        !flush.isEmpty && !due ? timeout(flush.startedAt + tuning.maxFlushWaitMs - Date.now()) : undefined;
      const waits: Promise<IteratorResult<Batch> | typeof TIMEOUT | typeof SETTLED>[] = [pending];
      if (timer) waits.push(timer.promise);
      if (inFlight) waits.push(inFlight.settled);
      const next = await Promise.race(waits).finally(() => timer?.cancel());
      if (next === TIMEOUT) continue;
      if (next === SETTLED) {
        await settle();
        continue;
      }
      pending = undefined;
      if (next.done) {
        ended = true;
        continue;
      }
      highWater = await addBatch(flush, next.value, highWater, { topics });
    }
  } finally {
    // A commit left in flight must end before the producer disconnects.
    await inFlight?.settled;
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
  await producer.commitFlush(flush.batches, offsetRecord(source.name, position, context.tuning.offsetsTopic));
  const committedAt = Date.now();
  metrics.flushSeconds.observe(labels, (performance.now() - started) / 1000);
  metrics.flushEvents.observe(labels, flush.events);
  metrics.flushBytes.observe(labels, flush.bytes);
  for (const [topic, ops] of flush.counts) {
    for (const [op, count] of ops) metrics.events.inc({ source: source.name, topic, op }, count);
  }
  let newest = 0;
  const latency = metrics.commitToKafkaSeconds.labels(labels);
  for (let index = 0; index < flush.sourceTimes.length; index += 2) {
    const sourceTime = flush.sourceTimes[index] as number;
    const seconds = Math.max(0, committedAt - sourceTime) / 1000;
    for (let event = flush.sourceTimes[index + 1] as number; event > 0; event--) latency.observe(seconds);
    newest = Math.max(newest, sourceTime);
  }
  if (newest > 0) metrics.lastSourceTime.set(labels, newest / 1000);
  metrics.lastCommitTime.set(labels, committedAt / 1000);
  context.status.committed(position);
  context.onProgress();
  // Only now may the source let go of what the transaction holds (Postgres: the slot's LSN).
  await source.commit(position);
}
