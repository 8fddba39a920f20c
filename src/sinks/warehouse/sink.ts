/**
 * The warehouse sink: Kafka topics → micro-batches per table → version-guarded merges in the
 * warehouse, offsets committed after the warehouse commit (at-least-once delivery + idempotent
 * apply = exactly-once effect). Records that cannot be applied go to `<topic>.dlq`; outages of
 * the warehouse or the registry are retried without limit (capped backoff), the partition paused.
 */
import { setImmediate } from "node:timers/promises";
import { Kafka, type KafkaMessage, logLevel } from "kafkajs";
import pg from "pg";
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import { TributarySchemaRegistry } from "../../avro/registry.js";
import type { TableSpec } from "../../core/change-event.js";
import type { SinkConfig } from "../../core/config/index.js";
import { RecordError, type TributaryError } from "../../core/errors.js";
import { createLogger, type Logger } from "../../core/logger.js";
import { retry } from "../../core/retry.js";
// kafkajs 2.2.4's idle loop and record decoding, replaced for every client here.
import "../../kafka/kafkajs-patches.js";
import { BatchApplier, warehouseAction } from "./apply.js";
import { type RecordOrigin, type StagedRow, segments, stagedRowOf, type TruncateMark } from "./batch.js";
import { type ChunkContext, consumeTopics, PARTITIONS_IN_FLIGHT, type PartitionChunk } from "./consumer.js";
import { binaryFieldWriters } from "./copy-binary.js";
import { RecordDecoder } from "./decode.js";
import { chunkSchemaIds, scanDirect } from "./direct-rows.js";
import { DeadLetterQueue, type DeadLetterRecord } from "./dlq.js";
import { TableManager } from "./tables.js";
import type { Dialect } from "./typemap.js";
import { valueProblem } from "./values.js";

export interface WarehouseSinkOptions {
  readonly name: string;
  readonly config: SinkConfig;
  readonly kafka: { readonly brokers: readonly string[]; readonly clientId: string };
  readonly registryUrl: string;
  readonly logger?: Logger;
  readonly metrics?: Registry;
  /** How often new matching topics are looked for; default 30s. */
  readonly topicRefreshMs?: number;
  readonly sessionTimeoutMs?: number;
}

class AbandonedBatch extends Error {}

interface DecodedChunk {
  readonly rows: StagedRow[];
  readonly truncates: TruncateMark[];
  readonly table: { readonly name: string; readonly keyColumns: readonly string[] } | undefined;
}

/** Records decoded between two turns of the event loop. */
const DECODE_SLICE = 500;

function metricsOf(registry: Registry | undefined) {
  const registers = registry ? [registry] : [];
  return {
    rows: new Counter({
      name: "tributary_sink_rows_applied_total",
      help: "rows merged into the warehouse (after deduplication), by table",
      labelNames: ["table"],
      registers,
    }),
    microBatches: new Counter({
      name: "tributary_sink_micro_batches_total",
      help: "micro-batches applied, by table and path: direct (plain upserts, Avro straight into binary COPY) or general",
      labelNames: ["table", "path"],
      registers,
    }),
    batchSeconds: new Histogram({
      name: "tributary_sink_batch_duration_seconds",
      help: "time to apply one micro-batch, warehouse transaction included",
      labelNames: ["table"],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    deadLetters: new Counter({
      name: "tributary_sink_dead_letters_total",
      help: "records sent to <topic>.dlq, by original topic and error code",
      labelNames: ["topic", "code"],
      registers,
    }),
    retries: new Counter({
      name: "tributary_sink_retries_total",
      help: "failed attempts that were retried (warehouse or registry outages)",
      registers,
    }),
    lag: new Gauge({
      name: "tributary_sink_consumer_lag",
      help: "messages between the fetched batch and the partition's end, by topic and partition",
      labelNames: ["topic", "partition"],
      registers,
    }),
  };
}

function firstValueProblem(row: StagedRow, dialect: Dialect): string | undefined {
  for (const column of row.columns) {
    const problem = valueProblem(column.type, row.values[column.name], dialect);
    if (problem) return `column "${column.name}": ${problem}`;
  }
  return undefined;
}

/** `rows` sorted by version, in place; a partition's records mostly come in that order already. */
function inVersionOrder(rows: StagedRow[]): StagedRow[] {
  for (let index = 1; index < rows.length; index++) {
    if ((rows[index - 1] as StagedRow).version > (rows[index] as StagedRow).version) {
      return rows.sort((a, b) => (a.version < b.version ? -1 : a.version > b.version ? 1 : 0));
    }
  }
  return rows;
}

export class WarehouseSink {
  readonly #options: WarehouseSinkOptions;
  readonly #logger: Logger;
  readonly #metrics: ReturnType<typeof metricsOf>;
  readonly #pool: pg.Pool;
  readonly #tables: TableManager;
  readonly #applier: BatchApplier;
  readonly #decoder: RecordDecoder;
  /** The last micro-batch being applied, per warehouse table (see #exclusive). */
  readonly #applying = new Map<string, Promise<void>>();
  /** The chunk decoding last (see #decodeInTurn). */
  #decoding: Promise<void> = Promise.resolve();
  #joined = false;
  #signal: AbortSignal = new AbortController().signal;

  constructor(options: WarehouseSinkOptions) {
    this.#options = options;
    const { config } = options;
    this.#logger = (options.logger ?? createLogger({ service: `sink:${options.name}` })).child({
      sink: options.name,
    });
    this.#metrics = metricsOf(options.metrics);
    const { connection } = config;
    this.#pool = new pg.Pool({
      host: connection.host,
      port: connection.port,
      database: connection.database,
      user: connection.user,
      password: connection.password,
      ssl:
        connection.sslmode === "disable"
          ? false
          : connection.sslmode === "prefer"
            ? undefined
            : {
                rejectUnauthorized: connection.sslmode.startsWith("verify"),
                ca: connection.ca,
              },
      // A transaction per partition in flight, and one for table preparation and /readyz.
      max: PARTITIONS_IN_FLIGHT + 1,
      connectionTimeoutMillis: 10_000,
    });
    // An idle client whose server went away must not crash the process; the next query reconnects.
    this.#pool.on("error", (error) => this.#logger.warn({ err: error }, "idle warehouse connection lost"));
    const base = { pool: this.#pool, dialect: config.dialect, deletes: config.deletes };
    this.#tables = new TableManager({ ...base, schema: config.schema, logger: this.#logger });
    this.#applier = new BatchApplier(base);
    this.#decoder = new RecordDecoder(new TributarySchemaRegistry({ url: options.registryUrl }));
  }

  /** For /readyz: the consumer has joined its group and the warehouse answers. */
  async readiness(): Promise<{ ready: boolean; checks: Record<string, unknown> }> {
    let warehouse: unknown = "ok";
    try {
      await this.#pool.query("SELECT 1");
    } catch (error) {
      warehouse = (error as Error).message;
    }
    return {
      ready: this.#joined && warehouse === "ok",
      checks: { kafka: this.#joined ? "ok" : "joining", warehouse },
    };
  }

  /** Consumes until `signal` aborts; rejects on a failure that needs a human (e.g. privileges). */
  async run(signal: AbortSignal): Promise<void> {
    this.#signal = signal;
    const { config, kafka: kafkaOptions } = this.#options;
    const kafka = new Kafka({
      clientId: kafkaOptions.clientId,
      brokers: [...kafkaOptions.brokers],
      logLevel: logLevel.NOTHING,
    });
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    const admin = kafka.admin();
    await producer.connect();
    await admin.connect();
    const dlq = new DeadLetterQueue(producer, admin);
    try {
      await consumeTopics({
        kafka,
        groupId: config.groupId ?? `tributary-${this.#options.name}`,
        patterns: config.topics,
        limits: config.batch,
        signal,
        logger: this.#logger,
        topicRefreshMs: this.#options.topicRefreshMs,
        sessionTimeoutMs: this.#options.sessionTimeoutMs,
        handler: (chunk, context) => this.#handle(chunk, context, dlq),
        onLag: (topic, partition, lag) => this.#metrics.lag.set({ topic, partition: String(partition) }, lag),
        onAssignment: (joined) => {
          this.#joined = joined;
        },
      });
    } finally {
      await producer.disconnect().catch(() => undefined);
      await admin.disconnect().catch(() => undefined);
      await this.#pool.end().catch(() => undefined);
    }
  }

  /**
   * Runs `work` when no other micro-batch of the same warehouse table is being applied: two
   * partitions (or two topics mapped to one table) are consumed concurrently, and concurrent
   * merges into one table could each miss the other's uncommitted rows.
   */
  async #exclusive<T>(table: string, work: () => Promise<T>): Promise<T> {
    const previous = this.#applying.get(table) ?? Promise.resolve();
    const current = previous.then(work);
    const settled = current.then(
      () => undefined,
      () => undefined,
    );
    this.#applying.set(table, settled);
    try {
      return await current;
    } finally {
      if (this.#applying.get(table) === settled) this.#applying.delete(table);
    }
  }

  /** Retries outages without limit (capped backoff), pausing the partition meanwhile. */
  async #retrying<T>(work: () => Promise<T>, context: ChunkContext): Promise<T> {
    let resume: (() => void) | undefined;
    let rebalancing = false;
    try {
      return await retry(
        async (bail) => {
          if (rebalancing || context.isStale()) bail(new AbandonedBatch("the partition was revoked"));
          return await work();
        },
        {
          signal: this.#signal,
          classify: warehouseAction,
          onRetry: ({ error, attempt, delayMs }) => {
            this.#metrics.retries.inc();
            this.#logger.warn(
              { err: error, attempt, delayMs },
              "warehouse or registry unavailable; retrying",
            );
            this.#tables.reset();
            resume ??= context.pause();
            context.heartbeat().catch(() => {
              rebalancing = true;
            });
          },
        },
      );
    } finally {
      resume?.();
    }
  }

  /**
   * Chunks decode one at a time (each in slices, so that the warehouse transactions in flight
   * progress meanwhile): the first decoded is applied while the next one decodes.
   */
  #decodeInTurn<T>(work: () => Promise<T>): Promise<T> {
    const turn = this.#decoding.then(work);
    this.#decoding = turn.then(
      () => undefined,
      () => undefined,
    );
    return turn;
  }

  /** The warehouse table of a topic's events. */
  #tableOf(topic: string, spec: TableSpec): { name: string; keyColumns: readonly string[] } {
    return {
      name: this.#options.config.tables?.[topic] ?? `${spec.source}_${spec.name}`,
      keyColumns: spec.keyColumns,
    };
  }

  /**
   * The fast path (direct-rows.ts) for the keys of the chunk that have plain upserts only, when its
   * schemas are known. Returns what is left for the general path: the other keys' records, or the
   * whole chunk when the fast path cannot take it (then nothing was applied); undefined for none.
   */
  async #applyDirect(
    chunk: PartitionChunk,
    context: ChunkContext,
    started: bigint,
  ): Promise<PartitionChunk | undefined> {
    if (this.#options.config.dialect !== "postgres") return chunk;
    const ids = chunkSchemaIds(chunk.messages);
    if (!ids) return chunk;
    let readers = this.#decoder.directReaders(ids.valueSchemaId, ids.keySchemaId);
    const first = chunk.messages[0] as KafkaMessage;
    if (!readers && (await this.#schemasLoaded(first, context))) {
      readers = this.#decoder.directReaders(ids.valueSchemaId, ids.keySchemaId);
    }
    if (!readers) return chunk;
    const scanned = await this.#decodeInTurn(() => scanDirect(chunk.messages, readers));
    const batch = scanned?.batch;
    if (!batch) return chunk;
    const table = this.#tableOf(chunk.topic, batch.table);
    const applied = await this.#exclusive(table.name, async () => {
      const prepared = await this.#retrying(
        () => this.#tables.prepare(table.name, table.keyColumns, [batch.columns]),
        context,
      );
      const { model } = prepared;
      const writers = prepared.incompatible.size === 0 ? binaryFieldWriters(model) : undefined;
      if (!writers) return false;
      return this.#retrying(
        () => this.#applier.applyDirect(model, chunk, () => batch.copyPieces(model, writers)),
        context,
      );
    });
    if (!applied) return chunk;
    this.#metrics.microBatches.inc({ table: table.name, path: "direct" });
    this.#metrics.rows.inc({ table: table.name }, batch.rowCount);
    this.#metrics.batchSeconds.observe(
      { table: table.name },
      Number(process.hrtime.bigint() - started) / 1e9,
    );
    return scanned.general.length > 0 ? { ...chunk, messages: scanned.general } : undefined;
  }

  /**
   * Loads the schemas of a topic's first chunk (retrying registry outages), so that it too can take
   * the fast path; false when the record's schemas cannot be had (the general path says why).
   */
  async #schemasLoaded(record: KafkaMessage, context: ChunkContext): Promise<boolean> {
    try {
      await this.#retrying(() => this.#decoder.loadSchemas(record), context);
      return true;
    } catch (error) {
      if (error instanceof RecordError) return false;
      throw error;
    }
  }

  /** The chunk's records as staged rows and truncates; undecodable records go to `deadLetter`. */
  async #decodeChunk(
    chunk: PartitionChunk,
    context: ChunkContext,
    deadLetter: (origin: RecordOrigin, error: TributaryError) => void,
  ): Promise<DecodedChunk> {
    const rows: StagedRow[] = [];
    const truncates: TruncateMark[] = [];
    let table: { name: string; keyColumns: readonly string[] } | undefined;
    let tableSpec: TableSpec | undefined;
    const { messages } = chunk;
    for (let index = 0; index < messages.length; index++) {
      const message = messages[index] as KafkaMessage;
      // Decoding is synchronous: the warehouse transactions in flight progress between slices.
      if (index % DECODE_SLICE === DECODE_SLICE - 1) await setImmediate();
      const origin = { topic: chunk.topic, partition: chunk.partition, offset: message.offset };
      try {
        // Synchronous once the schemas are known; the registry is asked (and retried) only when not.
        let decoded = this.#decoder.decodeKnown(message);
        if (decoded === undefined) {
          decoded = await this.#decoder.decode(message).catch((error: unknown) => {
            if (error instanceof RecordError) throw error;
            return this.#retrying(() => this.#decoder.decode(message), context);
          });
        }
        if (!decoded) continue; // a tombstone: the delete before it did the work
        const spec = decoded.event.table;
        if (spec !== tableSpec) {
          tableSpec = spec;
          table = this.#tableOf(chunk.topic, spec);
        }
        if (decoded.event.op === "t") {
          truncates.push({ version: decoded.event.version, sourceTsMs: decoded.event.sourceTsMs, origin });
        } else rows.push(stagedRowOf(decoded.event, decoded.key, origin));
      } catch (error) {
        if (!(error instanceof RecordError)) throw error;
        deadLetter(origin, error);
      }
    }
    return { rows, truncates, table };
  }

  async #handle(
    chunk: PartitionChunk,
    context: ChunkContext,
    dlq: DeadLetterQueue,
  ): Promise<"applied" | "abandoned"> {
    const started = process.hrtime.bigint();
    const deadLetters: DeadLetterRecord[] = [];
    const deadLetter = (origin: RecordOrigin, error: TributaryError) => {
      // Rare: a scan is cheaper than indexing every chunk by offset.
      const message = chunk.messages.find((candidate) => candidate.offset === origin.offset);
      deadLetters.push({ origin, key: message?.key ?? null, value: message?.value ?? null, error });
    };
    try {
      const rest = await this.#applyDirect(chunk, context, started);
      if (!rest) return "applied";
      const { rows, truncates, table } = await this.#decodeInTurn(() =>
        this.#decodeChunk(rest, context, deadLetter),
      );
      if (table) {
        const target = table;
        await this.#exclusive(target.name, () =>
          this.#applyTable(target, rows, truncates, context, deadLetter),
        );
      }
      if (deadLetters.length > 0) {
        await this.#retrying(() => dlq.send(deadLetters), context);
        for (const letter of deadLetters)
          this.#metrics.deadLetters.inc({ topic: chunk.topic, code: letter.error.code });
        this.#logger.warn(
          { topic: chunk.topic, count: deadLetters.length },
          "records sent to the dead-letter topic",
        );
      }
      if (table) {
        this.#metrics.microBatches.inc({ table: table.name, path: "general" });
        this.#metrics.batchSeconds.observe(
          { table: table.name },
          Number(process.hrtime.bigint() - started) / 1e9,
        );
      }
      return "applied";
    } catch (error) {
      if (error instanceof AbandonedBatch || (error as Error).name === "AbortError") return "abandoned";
      throw error;
    }
  }

  async #applyTable(
    table: { name: string; keyColumns: readonly string[] },
    allRows: StagedRow[],
    truncates: TruncateMark[],
    context: ChunkContext,
    deadLetter: (origin: RecordOrigin, error: TributaryError) => void,
  ): Promise<void> {
    const { dialect } = this.#options.config;
    const sorted = inVersionOrder(allRows);
    const schemas = [...new Set(sorted.map((row) => row.columns))];
    const prepared = await this.#retrying(
      () => this.#tables.prepare(table.name, table.keyColumns, schemas),
      context,
    );
    const rows = sorted.filter((row) => {
      const reason = prepared.incompatible.get(row.columns);
      const problem = reason ?? firstValueProblem(row, dialect);
      if (!problem) return true;
      const code = reason ? "SCHEMA_INCOMPATIBLE" : "VALUE_OUT_OF_RANGE";
      deadLetter(row.origin, new RecordError(`${table.name}: ${problem}`, { code }));
      return false;
    });
    const plan = segments(rows, truncates, table.keyColumns);
    const refused = await this.#retrying(() => this.#applier.apply(prepared.model, plan), context);
    for (const letter of refused) deadLetter(letter.origin, letter.error);
    const applied = plan.reduce(
      (sum, segment) => sum + (segment.kind === "rows" ? segment.rows.length : 0),
      0,
    );
    this.#metrics.rows.inc({ table: table.name }, applied - refused.length);
  }
}
