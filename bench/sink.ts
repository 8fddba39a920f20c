/**
 * `npm run bench:sink`: Kafka → warehouse sink (postgres dialect, the local `warehouse` database).
 *
 * 1. BENCH_EVENTS change events over BENCH_TABLES topics are produced to Kafka beforehand, by a
 *    child process (not measured, and not in this process's RSS): the first half inserts every
 *    key, the second half updates each of those keys.
 * 2. The sink as users run it: `tributary sink` (the compiled CLI, in a child process) consumes them
 *    from earliest into a fresh schema; measured from the moment its /readyz says it joined its
 *    group until its group committed every partition to the end (offsets are committed only after
 *    the warehouse transaction that applied them).
 * 3. The ceiling: a raw `COPY ... FROM STDIN (FORMAT csv)` of the same rows (every event's row, as
 *    many as the sink upserts, same columns) into a plain table of the same Postgres, in the same
 *    run: three times, into three tables, right after the sink's run; the median is the ceiling.
 * 4. The merge alone (merge-alone.ts): the sink's own applier merges the same rows, as ready-made
 *    micro-batches, with as many transactions at once as the sink: the warehouse's share of the
 *    work, which bounds what any sink can reach here.
 * 5. Peak RSS of the sink process (its VmHWM, read before it is stopped).
 * 6. Where the two cores went (process-cpu.ts): CPU per row of the sink process, Postgres, the
 *    Kafka broker and this process during the sink's run, and of Postgres and this process during
 *    the merge alone.
 * 7. The sink's Kafka consumer alone (consumer.ts with every chunk "applied" at once, in a child
 *    process): the share of the sink's CPU that kafkajs and the micro-batching take.
 *
 * Needs the local stack (npm run stack:up) and the build (`npm run bench:sink` builds first).
 * BENCH_CHILD_NODE_FLAGS="--cpu-prof" profiles the sink process.
 * Prints a table and writes bench/out/sink-*.json.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { availableParallelism } from "node:os";
import { performance } from "node:perf_hooks";
import { Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { type Admin, Kafka, logLevel } from "kafkajs";
import pg from "pg";
import { createLogger } from "../src/core/logger.js";
// The benchmark's own kafkajs clients run as the sink's (its Kafka consumer alone is measured in
// this process).
import "../src/kafka/kafkajs-patches.js";
import { stagedRowOf } from "../src/sinks/warehouse/batch.js";
import { consumeTopics, PARTITIONS_IN_FLIGHT } from "../src/sinks/warehouse/consumer.js";
import { timestampText } from "../src/sinks/warehouse/values.js";
import { EnvelopeProducer, type EventInput, tableSpec, version } from "../test/helpers/envelope-producer.js";
import { stack } from "../test/helpers/stack.js";
import { benchColumns, benchRow } from "./lib/bench-rows.js";
import { copySeconds } from "./lib/ceilings.js";
import { CliProcess, cliNodeFlags, freePort } from "./lib/cli-process.js";
import { type MergeTable, mergeAlone } from "./lib/merge-alone.js";
import {
  kafkaBrokerGroup,
  postgresGroup,
  processGroup,
  startCpuMeter,
  thisProcessGroup,
} from "./lib/process-cpu.js";
import { type BenchRow, median, printTable, writeJson } from "./lib/report.js";

const events = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const tableCount = Number(process.env.BENCH_TABLES ?? 10);
const partitions = Number(process.env.BENCH_PARTITIONS ?? 1);
const keysPerTable = Math.floor(events / 2 / tableCount);
const totalEvents = keysPerTable * tableCount * 2;
const produceChunk = 5_000; // a record batch stays under the broker's 1 MB message limit
/** Set in the producing child process: the run it produces for. */
const producerRun = process.env.BENCH_SINK_PRODUCE;
/** Set in the child process that measures the sink's Kafka consumer alone: the run it reads. */
const consumerRun = process.env.BENCH_SINK_CONSUME;
const runId = producerRun ?? consumerRun ?? `benchsink_${Date.now().toString(36)}`;
const schema = runId;
const mergeSchema = `${runId}_merge`;
const maxRows = 10_000;
/** How many times the ceiling's COPY runs; its median is the ceiling. */
const CEILING_RUNS = 3;
const groupId = `${runId}_group`;
const consumerAloneGroupId = `${runId}_consumer_alone`;
const warehouse = { ...stack.postgres, database: "warehouse" };

const tables = Array.from({ length: tableCount }, (_, index) =>
  tableSpec(`${runId}.public.t${index}`, benchColumns, ["id"]),
);

/** Event sequence numbers: inserts of all tables first, then the updates; versions follow them. */
function sequenceOf(table: number, id: number, round: number): number {
  return round * keysPerTable * tableCount + table * keysPerTable + id;
}

async function produce(): Promise<void> {
  const producer = new EnvelopeProducer();
  try {
    for (const table of tables) await producer.createTopic(table.topic, partitions);
    for (const round of [0, 1]) {
      for (const [index, table] of tables.entries()) {
        const encode = await producer.encoder(table);
        for (let first = 1; first <= keysPerTable; first += produceChunk) {
          const batch: EventInput[] = [];
          for (let id = first; id < first + produceChunk && id <= keysPerTable; id++) {
            const sequence = sequenceOf(index, id, round);
            batch.push({ op: round === 0 ? "c" : "u", version: sequence, row: benchRow(id, round) });
          }
          await producer.sendRaw(table.topic, encode(batch));
        }
      }
    }
  } finally {
    await producer.close();
  }
}

/** Runs produce() in a child process: this script again, with BENCH_SINK_PRODUCE set. */
async function produceInChild(): Promise<void> {
  const child = spawn(
    process.execPath,
    [...process.execArgv.filter((flag) => !flag.startsWith("--cpu-prof")), fileURLToPath(import.meta.url)],
    { env: { ...process.env, BENCH_SINK_PRODUCE: runId }, stdio: "inherit" },
  );
  const [code] = await once(child, "exit");
  if (code !== 0) throw new Error(`the producing process exited ${code}`);
}

/** What consumeAlone() measured. */
interface ConsumerAlone {
  readonly seconds: number;
  readonly cpuSeconds: number;
}

/**
 * The sink's Kafka consumer alone (consumer.ts: kafkajs, micro-batches, offset commits) with every
 * chunk "applied" at once: no decoding, no warehouse. From its first chunk to its last; prints
 * what it measured as a JSON line.
 */
async function consumeAlone(): Promise<void> {
  const controller = new AbortController();
  let consumed = 0;
  let first: { at: number; cpu: NodeJS.CpuUsage } | undefined;
  let measured: ConsumerAlone | undefined;
  await consumeTopics({
    kafka: new Kafka({ brokers: [...stack.kafkaBrokers], logLevel: logLevel.NOTHING }),
    groupId: consumerAloneGroupId,
    patterns: [`${runId}.*`],
    limits: { maxRows, maxBytes: 16 * 1024 * 1024, maxWait: 1000 },
    signal: controller.signal,
    logger: createLogger({ service: "bench-consumer", level: "warn" }),
    handler: async (chunk) => {
      first ??= { at: performance.now(), cpu: process.cpuUsage() };
      consumed += chunk.messages.length;
      if (consumed >= totalEvents && !measured) {
        const cpu = process.cpuUsage(first.cpu);
        measured = {
          seconds: (performance.now() - first.at) / 1000,
          cpuSeconds: (cpu.user + cpu.system) / 1e6,
        };
        controller.abort();
      }
      return "applied";
    },
  });
  process.stdout.write(`${JSON.stringify(measured)}\n`);
}

/** Runs consumeAlone() in a child process with the CLI's node flags, as the sink runs. */
async function consumeAloneInChild(): Promise<ConsumerAlone> {
  const child = spawn(
    process.execPath,
    [
      ...cliNodeFlags(),
      ...process.execArgv.filter((flag) => !flag.startsWith("--cpu-prof")),
      fileURLToPath(import.meta.url),
    ],
    { env: { ...process.env, BENCH_SINK_CONSUME: runId }, stdio: ["ignore", "pipe", "inherit"] },
  );
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  const [code] = await once(child, "exit");
  const last = output.trim().split("\n").at(-1);
  if (code !== 0 || !last) throw new Error(`the consuming process exited ${code}: ${output}`);
  return JSON.parse(last) as ConsumerAlone;
}

/**
 * Every event's row (the inserts', then the updates'), in the target's column order, as CSV: as
 * many rows as the sink upserts.
 */
function eventRowsCsv(): Readable {
  const loadedAt = `${timestampText(Date.now() * 1000)}+00`;
  return Readable.from(
    (function* () {
      for (const round of [0, 1]) {
        for (const [index, table] of tables.entries()) {
          for (let first = 1; first <= keysPerTable; first += produceChunk) {
            const lines: string[] = [];
            for (let id = first; id < first + produceChunk && id <= keysPerTable; id++) {
              const row = benchRow(id, round);
              const sequence = sequenceOf(index, id, round);
              const sourceTs = `${timestampText((1_700_000_000_000 + sequence) * 1000)}+00`;
              const op = round === 0 ? "c" : "u";
              lines.push(
                `${row.id},${row.customer},${row.amount},${row.status},${timestampText(row.updated_at)}+00,` +
                  `${version(sequence)},${op},false,${sourceTs},${loadedAt},${table.topic},0,${round * keysPerTable + id - 1}\n`,
              );
            }
            yield lines.join("");
          }
        }
      }
    })(),
  );
}

/** The sink's micro-batches of every table, built as the sink builds them (maxRows each). */
function mergeTables(maxRows: number): MergeTable[] {
  return tables.map((spec, index) => {
    const batches = [];
    for (const round of [0, 1]) {
      for (let first = 1; first <= keysPerTable; first += maxRows) {
        const rows = [];
        for (let id = first; id < first + maxRows && id <= keysPerTable; id++) {
          const sequence = sequenceOf(index, id, round);
          const event = {
            table: spec,
            op: round === 0 ? ("c" as const) : ("u" as const),
            image: benchRow(id, round),
            version: version(sequence),
            sourceTsMs: 1_700_000_000_000 + sequence,
            unavailableColumns: [],
          };
          const offset = String(round * keysPerTable + id - 1);
          rows.push(stagedRowOf(event, null, { topic: spec.topic, partition: 0, offset }));
        }
        batches.push(rows);
      }
    }
    return { name: `${runId}_t${index}`, spec, batches };
  });
}

/** How late waitCommitted may see the end of a run, at most. */
const POLL_PRECISION_MS = 20;

/** Polls until the sink's group has committed every partition to its end; returns when. */
async function waitCommitted(admin: Admin, exited: Promise<number | null>): Promise<number> {
  const ended = exited.then((code) => {
    throw new Error(`the sink exited (${code}) before it drained the topics`);
  });
  const topics = tables.map((table) => table.topic);
  const ends = new Map<string, Map<number, string>>();
  for (const topic of topics) {
    const offsets = await admin.fetchTopicOffsets(topic);
    ends.set(topic, new Map(offsets.map((offset) => [offset.partition, offset.high])));
  }
  const started = performance.now();
  for (;;) {
    const committed = await admin.fetchOffsets({ groupId, topics });
    let remaining = 0;
    for (const { topic, partitions: list } of committed) {
      for (const partition of list) {
        const end = Number(ends.get(topic)?.get(partition.partition) ?? 0);
        remaining += end - Math.max(0, Number(partition.offset));
      }
    }
    const now = performance.now();
    if (remaining === 0) return now;
    // Each poll costs this process and the broker CPU the sink shares (about 3 ms here): at most
    // twice a second, and near the end after half the time the rate so far says is left, so that
    // the end is seen within POLL_PRECISION_MS after a few polls, not a hundred.
    const perMs = (totalEvents - remaining) / (now - started);
    const left = perMs > 0 ? remaining / perMs : Number.POSITIVE_INFINITY;
    await Promise.race([sleep(Math.min(500, Math.max(POLL_PRECISION_MS, left / 2))), ended]);
  }
}

const SINK_CPU = "the sink process";
const BENCH_CPU = "this benchmark (polling the group's offsets)";
const MERGE_CPU = "the merge's process (encoding, pg client)";
const BROKER_CPU = "Kafka broker";

/** Where the two cores went during a measurement: CPU per upserted row, by process. */
function cpuRows(cpu: ReadonlyMap<string, number>, seconds: number): BenchRow[] {
  const rows: BenchRow[] = [...cpu].map(([name, cpuSeconds]) => ({
    measure: `  CPU per row: ${name}`,
    value: (cpuSeconds * 1e6) / totalEvents,
    unit: "µs",
  }));
  const busy = [...cpu.values()].reduce((sum, cpuSeconds) => sum + cpuSeconds, 0) / seconds;
  return [...rows, { measure: "  cores busy meanwhile (of these processes)", value: busy, unit: "" }];
}

/** The config `tributary sink bench` runs with: the warehouse, the run's topics, /readyz on `port`. */
function sinkConfigYaml(port: number): string {
  const config = {
    kafka: { brokers: stack.kafkaBrokers, clientId: "tributary-bench" },
    schemaRegistry: { url: stack.registryUrl },
    sinks: {
      bench: {
        type: "redshift",
        dialect: "postgres",
        connection: { ...warehouse, password: "unused", sslmode: "disable" },
        schema,
        topics: [`${runId}.*`],
        batch: { maxRows, maxBytes: "16MB", maxWait: "1s" },
        deletes: "soft",
        groupId,
        http: { host: "127.0.0.1", port },
      },
    },
  };
  // JSON is YAML.
  return JSON.stringify(config, null, 2);
}

async function main(): Promise<void> {
  const admin = new Kafka({ brokers: [...stack.kafkaBrokers], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  const client = new pg.Client(warehouse);
  await client.connect();
  let sink: CliProcess | undefined;
  try {
    process.stdout.write(
      `producing ${totalEvents.toLocaleString("en-US")} events over ${tableCount} topics ...\n`,
    );
    const producedAt = performance.now();
    await produceInChild();
    const produceSeconds = (performance.now() - producedAt) / 1000;

    process.stdout.write("tributary sink (the CLI) drains the topics into the warehouse ...\n");
    const port = await freePort();
    const startedAt = performance.now();
    sink = new CliProcess(["sink", "bench"], sinkConfigYaml(port));
    await sink.waitReady(`http://127.0.0.1:${port}/readyz`);
    const stopCpuMeter = startCpuMeter([
      processGroup(SINK_CPU, sink.pid),
      postgresGroup(),
      kafkaBrokerGroup(BROKER_CPU),
      thisProcessGroup(BENCH_CPU),
    ]);
    const joinedAt = performance.now();
    const doneAt = await waitCommitted(admin, sink.exited);
    const sinkCpu = stopCpuMeter();
    const sinkSeconds = (doneAt - joinedAt) / 1000;
    const drainingRssMb = sink.peakRssMb();
    await sink.stop();

    const check = await client.query<{ rows: number; updated: number }>(
      tables
        .map(
          (_, index) =>
            `SELECT COUNT(*)::int AS rows, COUNT(*) FILTER (WHERE "_tributary_op" = 'u')::int AS updated FROM "${schema}"."${runId}_t${index}"`,
        )
        .join(" UNION ALL "),
    );
    const stored = check.rows.reduce((sum, row) => sum + row.rows, 0);
    const updated = check.rows.reduce((sum, row) => sum + row.updated, 0);
    if (stored !== totalEvents / 2 || updated !== stored) {
      throw new Error(`the warehouse holds ${stored} rows (${updated} updated), expected ${totalEvents / 2}`);
    }

    process.stdout.write(`ceiling: COPY of the same rows into a plain table, ${CEILING_RUNS} times ...\n`);
    // One COPY takes a few seconds, in which this machine's speed can swing by a third: the median
    // of three makes the share less a matter of which seconds the ceiling got.
    const ceilingRuns: number[] = [];
    for (let run = 1; run <= CEILING_RUNS; run++) {
      const ceilingTable = `"${schema}"."copy_ceiling_${run}"`;
      await client.query(`CREATE TABLE ${ceilingTable} (LIKE "${schema}"."${runId}_t0")`);
      ceilingRuns.push(await copySeconds(warehouse, ceilingTable, eventRowsCsv()));
    }
    const ceilingSeconds = median(ceilingRuns);

    process.stdout.write("the merge alone: the same rows as ready-made micro-batches, no Kafka ...\n");
    const merged = await mergeAlone({
      connection: warehouse,
      schema: mergeSchema,
      tables: mergeTables(maxRows),
      concurrency: PARTITIONS_IN_FLIGHT,
      cpuGroups: [postgresGroup(), thisProcessGroup(MERGE_CPU)],
    });
    const mergeSeconds = merged.seconds;

    process.stdout.write("the sink's Kafka consumer alone: no decoding, no warehouse ...\n");
    const consumerAlone = await consumeAloneInChild();

    const ours = totalEvents / sinkSeconds;
    const ceiling = totalEvents / ceilingSeconds;
    const mergeRate = totalEvents / mergeSeconds;
    // The CPU a row costs in the parts every sink built as the issue asks has: the kafkajs consumer,
    // the merge (Postgres and its client) and the broker. With all cores on them and nothing else,
    // this is as fast as such a sink can go here.
    const consumerAloneCpu = (consumerAlone.cpuSeconds * 1e6) / totalEvents;
    const partsCpu =
      consumerAloneCpu +
      [...merged.cpu.values()].reduce((sum, cpuSeconds) => sum + (cpuSeconds * 1e6) / totalEvents, 0) +
      ((sinkCpu.get(BROKER_CPU) ?? 0) * 1e6) / totalEvents;
    const bound = (availableParallelism() * 1e6) / partsCpu;
    const results: BenchRow[] = [
      {
        measure: `raw COPY of the same rows (ceiling, median of ${CEILING_RUNS})`,
        value: ceiling,
        unit: "rows/s",
      },
      { measure: "  the slowest of them", value: totalEvents / Math.max(...ceilingRuns), unit: "rows/s" },
      { measure: "  the fastest of them", value: totalEvents / Math.min(...ceilingRuns), unit: "rows/s" },
      {
        measure: "tributary sink (upserts)",
        value: ours,
        unit: "rows/s",
        target: "≥ 50,000",
        pass: ours >= 50_000,
      },
      {
        measure: "share of the ceiling",
        value: (100 * ours) / ceiling,
        unit: "%",
        target: "≥ 40",
        pass: ours >= 0.4 * ceiling,
      },
      ...cpuRows(sinkCpu, sinkSeconds),
      {
        measure: `the merge alone (${PARTITIONS_IN_FLIGHT} transactions at once, no Kafka)`,
        value: mergeRate,
        unit: "rows/s",
      },
      { measure: "the merge alone, share of the ceiling", value: (100 * mergeRate) / ceiling, unit: "%" },
      ...cpuRows(merged.cpu, mergeSeconds),
      {
        measure: "the sink's Kafka consumer alone (no decoding, no warehouse)",
        value: totalEvents / consumerAlone.seconds,
        unit: "rows/s",
      },
      { measure: "  its CPU per row", value: consumerAloneCpu, unit: "µs" },
      {
        measure: "a sink of these parts that decoded for free, all cores busy",
        value: bound,
        unit: "rows/s",
      },
      { measure: "  its share of the ceiling", value: (100 * bound) / ceiling, unit: "%" },
      { measure: "starting the CLI and joining the group", value: (joinedAt - startedAt) / 1000, unit: "s" },
      {
        measure: "peak RSS of the sink process",
        value: drainingRssMb,
        unit: "MB",
        target: "< 300",
        pass: drainingRssMb < 300,
      },
    ];
    printTable(
      `Kafka → warehouse sink, ${totalEvents.toLocaleString("en-US")} events (half inserts, half updates) over ${tableCount} tables`,
      results,
    );
    const file = writeJson("sink", {
      events: totalEvents,
      tables: tableCount,
      partitions,
      produceSeconds,
      sinkSeconds,
      ceilingSeconds,
      ceilingRuns,
      mergeSeconds,
      sinkCpuSeconds: Object.fromEntries(sinkCpu),
      mergeCpuSeconds: Object.fromEntries(merged.cpu),
      consumerAlone,
      results,
    });
    process.stdout.write(`written ${file}\n`);
  } finally {
    await sink?.stop();
    for (const name of [schema, mergeSchema])
      await client.query(`DROP SCHEMA IF EXISTS "${name}" CASCADE`).catch(() => undefined);
    await client.end();
    await cleanUp(admin);
    await admin.disconnect();
  }
}

/** The run's topics, subjects and consumer group go away. */
async function cleanUp(admin: Admin): Promise<void> {
  await admin.deleteGroups([groupId, consumerAloneGroupId]).catch(() => undefined);
  const topics = (await admin.listTopics()).filter((topic) => topic.startsWith(runId));
  if (topics.length > 0) await admin.deleteTopics({ topics });
  for (const table of tables) {
    for (const subject of [`${table.topic}-key`, `${table.topic}-value`]) {
      const url = `${stack.registryUrl}/subjects/${encodeURIComponent(subject)}`;
      await fetch(url, { method: "DELETE" }).catch(() => undefined);
      await fetch(`${url}?permanent=true`, { method: "DELETE" }).catch(() => undefined);
    }
  }
}

if (producerRun) await produce();
else if (consumerRun) await consumeAlone();
else await main();
