/**
 * `npm run bench:pg-capture`: Postgres capture → Kafka.
 *
 * 1. Throughput: BENCH_ROWS committed inserts (transactions of 10,000 rows) are read from the WAL
 *    by pg_recvlogical (the ceiling: PostgreSQL's own pgoutput reader, output discarded) and by
 *    Tributary's capture (pgoutput → Avro → one Kafka transaction per flush), each through its
 *    own slot created before the inserts, so both read the same WAL.
 * 2. Latency: inserts at a fixed BENCH_RATE rows/s for BENCH_LATENCY_SECONDS; for every row, the
 *    time from its source commit to the commit of the Kafka transaction that carries it.
 * 3. Peak RSS of this process (the capture runs in it).
 *
 * Needs the local stack (npm run stack:up). Prints a table and writes bench/out/pg-capture-*.json.
 */
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { Kafka, logLevel } from "kafkajs";
import pg from "pg";
import type { Batch, SourcePosition } from "../src/core/change-event.js";
import type { PostgresSourceConfig } from "../src/core/config/index.js";
import { parseConfig } from "../src/core/config/index.js";
import { createLogger } from "../src/core/logger.js";
// The benchmark's own kafkajs clients run as the capture's.
import "../src/kafka/kafkajs-patches.js";
import { createMetricsRegistry } from "../src/core/metrics.js";
import { runCapture } from "../src/core/runner.js";
import type { Source } from "../src/core/source.js";
import { createPostgresSource } from "../src/sources/postgres/source.js";
import { pgRecvlogicalSeconds } from "./lib/ceilings.js";
import { type BenchRow, peakRssMb, percentile, printTable, writeJson } from "./lib/report.js";

const rows = Number(process.env.BENCH_ROWS ?? 1_000_000);
const rate = Number(process.env.BENCH_RATE ?? 5_000);
const latencySeconds = Number(process.env.BENCH_LATENCY_SECONDS ?? 20);
const target = { host: "127.0.0.1", port: 5432, user: "postgres", database: "infoportal" };
const runId = `bench_${Date.now().toString(36)}`;
const table = `${runId}_orders`;
const publication = `${runId}_pub`;
const captureSlot = `${runId}_capture`;
const ceilingSlot = `${runId}_ceiling`;

/** Counts what the runner committed: the source's commit() is called only after the Kafka commit. */
interface Progress {
  committedEvents: number;
  firstEventAt: number | undefined;
  lastCommitAt: number;
  latenciesMs: number[];
  measureLatency: boolean;
}

function observed(source: Source, progress: Progress): Source {
  // Events per position version, so a commit(position) tells how many events it covers.
  const pending: { version: string; events: number; commitTimes: number[] }[] = [];
  return {
    name: source.name,
    open: (context) => source.open(context),
    close: () => source.close(),
    async *read(from: SourcePosition | undefined, signal: AbortSignal): AsyncIterable<Batch> {
      for await (const batch of source.read(from, signal)) {
        if (batch.events.length > 0) progress.firstEventAt ??= performance.now();
        pending.push({
          version: batch.position.version,
          events: batch.events.length,
          commitTimes: progress.measureLatency ? batch.events.map((event) => event.source.tsMs) : [],
        });
        yield batch;
      }
    },
    async commit(position: SourcePosition): Promise<void> {
      const now = Date.now();
      while (pending.length > 0 && (pending[0]?.version ?? "") <= position.version) {
        const covered = pending.shift();
        if (!covered) break;
        progress.committedEvents += covered.events;
        for (const committedAt of covered.commitTimes) progress.latenciesMs.push(now - committedAt);
      }
      progress.lastCommitAt = performance.now();
      await source.commit(position);
    },
  };
}

async function main(): Promise<void> {
  const admin = new pg.Client(target);
  await admin.connect();
  const logger = createLogger({ service: "bench", level: "warn" });
  const controller = new AbortController();
  let capture: Promise<void> | undefined;
  try {
    await admin.query(
      `create table ${table} (id bigint primary key, customer text not null, amount numeric(12,2) not null,
        status text not null, created_at timestamptz not null default now())`,
    );
    await admin.query(`create publication ${publication} for table ${table}`);
    for (const slot of [captureSlot, ceilingSlot]) {
      await admin.query("select pg_create_logical_replication_slot($1, 'pgoutput')", [slot]);
    }

    process.stdout.write(`inserting ${rows.toLocaleString("en-US")} rows into ${table} ...\n`);
    for (let first = 1; first <= rows; first += 10_000) {
      const last = Math.min(rows, first + 9_999);
      await admin.query(
        `insert into ${table} (id, customer, amount, status)
         select n, 'customer ' || (n % 5000), (n % 100000) / 100.0, (array['new','paid','shipped'])[1 + n % 3]
         from generate_series($1::bigint, $2::bigint) as n`,
        [first, last],
      );
    }
    const endLsn =
      (await admin.query<{ lsn: string }>("select pg_current_wal_lsn()::text as lsn")).rows[0]?.lsn ?? "";

    process.stdout.write("ceiling: pg_recvlogical reading the same WAL ...\n");
    const ceilingSeconds = await pgRecvlogicalSeconds(target, ceilingSlot, publication, endLsn);

    process.stdout.write("tributary: capturing the same WAL into Kafka ...\n");
    const config = parseConfig(
      `kafka: { brokers: ["127.0.0.1:9092"] }
schemaRegistry: { url: "http://127.0.0.1:8081/apis/ccompat/v7" }
sources:
  bench:
    type: postgres
    connection: { host: 127.0.0.1, port: 5432, database: infoportal, user: postgres, sslmode: disable }
    tables: { include: ["public.${table}"] }
    slot: ${captureSlot}
    publication: ${publication}
    snapshot: never
`,
      "bench",
    );
    const sourceConfig = config.sources.bench as PostgresSourceConfig;
    const progress: Progress = {
      committedEvents: 0,
      firstEventAt: undefined,
      lastCommitAt: 0,
      latenciesMs: [],
      measureLatency: false,
    };
    const source = observed(createPostgresSource(`${runId}`, sourceConfig), progress);
    capture = runCapture({
      source,
      config,
      logger,
      metrics: createMetricsRegistry(),
      signal: controller.signal,
    });
    capture.catch(() => undefined);
    while (progress.committedEvents < rows) {
      await Promise.race([sleep(50), capture]);
    }
    const captureSeconds = (progress.lastCommitAt - (progress.firstEventAt ?? 0)) / 1000;

    process.stdout.write(`latency: ${rate} rows/s for ${latencySeconds} s ...\n`);
    progress.measureLatency = true;
    const before = progress.committedEvents;
    const ticksPerSecond = 20;
    const rowsPerTick = Math.max(1, Math.round(rate / ticksPerSecond));
    let nextId = rows + 1;
    const startedAt = performance.now();
    for (let tick = 0; tick < latencySeconds * ticksPerSecond; tick++) {
      await admin.query(
        `insert into ${table} (id, customer, amount, status)
         select n, 'live', 1.00, 'new' from generate_series($1::bigint, $2::bigint) as n`,
        [nextId, nextId + rowsPerTick - 1],
      );
      nextId += rowsPerTick;
      const due = startedAt + ((tick + 1) * 1000) / ticksPerSecond;
      await sleep(Math.max(0, due - performance.now()));
    }
    const liveRows = nextId - rows - 1;
    while (progress.committedEvents < before + liveRows) await Promise.race([sleep(20), capture]);
    const latencies = [...progress.latenciesMs].sort((a, b) => a - b);

    const throughput = rows / captureSeconds;
    const ceiling = rows / ceilingSeconds;
    const results: BenchRow[] = [
      { measure: "pg_recvlogical (ceiling)", value: ceiling, unit: "rows/s" },
      {
        measure: "tributary capture → Kafka",
        value: throughput,
        unit: "rows/s",
        target: "≥ 50,000",
        pass: throughput >= 50_000,
      },
      {
        measure: "share of the ceiling",
        value: (100 * throughput) / ceiling,
        unit: "%",
        target: "≥ 50",
        pass: throughput >= ceiling / 2,
      },
      { measure: `commit→Kafka p50 at ${rate} rows/s`, value: percentile(latencies, 50), unit: "ms" },
      {
        measure: `commit→Kafka p99 at ${rate} rows/s`,
        value: percentile(latencies, 99),
        unit: "ms",
        target: "< 250",
        pass: percentile(latencies, 99) < 250,
      },
      {
        measure: "peak RSS (bench process)",
        value: peakRssMb(),
        unit: "MB",
        target: "< 300",
        pass: peakRssMb() < 300,
      },
    ];
    printTable(`Postgres capture → Kafka, ${rows.toLocaleString("en-US")} rows (${table})`, results);
    const file = writeJson("pg-capture", {
      rows,
      rate,
      latencySeconds,
      ceilingSeconds,
      captureSeconds,
      results,
    });
    process.stdout.write(`written ${file}\n`);
  } finally {
    controller.abort();
    await capture?.catch(() => undefined);
    for (const slot of [captureSlot, ceilingSlot]) {
      await admin.query("select pg_drop_replication_slot($1)", [slot]).catch(() => undefined);
    }
    await admin.query(`drop publication if exists ${publication}`).catch(() => undefined);
    await admin.query(`drop table if exists ${table}`).catch(() => undefined);
    await admin.end();
    await deleteTopics(runId);
  }
}

/** The run's topics hold a million records each: remove them. */
async function deleteTopics(prefix: string): Promise<void> {
  const kafka = new Kafka({ brokers: ["127.0.0.1:9092"], logLevel: logLevel.NOTHING });
  const kafkaAdmin = kafka.admin();
  await kafkaAdmin.connect();
  try {
    const topics = (await kafkaAdmin.listTopics()).filter((topic) => topic.startsWith(prefix));
    if (topics.length > 0) await kafkaAdmin.deleteTopics({ topics });
  } finally {
    await kafkaAdmin.disconnect();
  }
}

await main();
