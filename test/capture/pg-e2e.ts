/**
 * What the end-to-end capture tests share: a real Postgres source run by the real runner into the
 * local Kafka and registry, a table per test, and readers that decode what a read_committed
 * consumer sees.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import pg from "pg";
import { CaptureStatus } from "../../src/core/capture-status.js";
import type { PostgresSourceConfig } from "../../src/core/config/schema.js";
import { createMetricsRegistry } from "../../src/core/metrics.js";
import { type CaptureTuning, runCapture } from "../../src/core/runner.js";
import { createPostgresSource, type PostgresSourceOptions } from "../../src/sources/postgres/source.js";
import { stack, uniqueName } from "../helpers/stack.js";
import { cleanUp, connection, silent, sourceConfig } from "../sources/postgres/harness.js";
import { config, decoder } from "./fixtures.js";
import { readToEnd, testKafka } from "./topic-reader.js";

export { connection };

/** A table `<name> (id bigint primary key, payload text, n int)` and a source config that captures it. */
export function e2eSetup(prefix: string, overrides: Partial<PostgresSourceConfig> = {}) {
  const table = uniqueName(prefix);
  const sourceName = uniqueName("pge2e");
  const sourceConfig_ = sourceConfig({ tables: { include: [`public.${table}`], exclude: [] }, ...overrides });
  return { table, sourceName, config: sourceConfig_, topic: `${sourceName}.public.${table}` };
}

export interface RunningCapture {
  readonly status: CaptureStatus;
  readonly metrics: ReturnType<typeof createMetricsRegistry>;
  readonly done: Promise<void>;
  stop(): Promise<void>;
  /** Events the runner committed to Kafka so far (the events_total counter). */
  committedEvents(): Promise<number>;
}

export function startCapture(
  sourceName: string,
  sourceConfig_: PostgresSourceConfig,
  options: PostgresSourceOptions = {},
  tuning: Partial<CaptureTuning> = {},
): RunningCapture {
  const controller = new AbortController();
  const status = new CaptureStatus();
  const metrics = createMetricsRegistry();
  const done = runCapture({
    source: createPostgresSource(sourceName, sourceConfig_, options),
    config,
    logger: silent,
    metrics,
    signal: controller.signal,
    status,
    tuning,
  });
  done.catch(() => undefined);
  return {
    status,
    metrics,
    done,
    async stop() {
      controller.abort();
      await done.catch(() => undefined);
    },
    async committedEvents() {
      const metric = await metrics.getSingleMetric("tributary_capture_events_total")?.get();
      return (metric?.values ?? []).reduce((sum, value) => sum + value.value, 0);
    },
  };
}

/** Waits until the runner committed at least `count` events; fails with the capture's readiness. */
export async function waitForEvents(
  capture: RunningCapture,
  count: number,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await capture.committedEvents()) >= count) return;
    await new Promise((done) => setTimeout(done, 200));
  }
  const readiness = await capture.status.readiness();
  throw new Error(
    `${await capture.committedEvents()} of ${count} events committed within ${timeoutMs} ms: ${JSON.stringify(readiness)}`,
  );
}

export interface DecodedRecord {
  readonly partition: number;
  readonly id: string | null;
  readonly op: string | null;
  readonly version: string | null;
  readonly snapshot: boolean;
  readonly after: Record<string, unknown> | null;
  readonly before: Record<string, unknown> | null;
}

/** Every record of `topic` a read_committed consumer sees, decoded (tombstones: op null). */
export async function decodedTopic(topic: string): Promise<DecodedRecord[]> {
  const records = await readToEnd(topic, 40_000);
  const decoded: DecodedRecord[] = [];
  for (const record of records) {
    const key = record.key ? await decoder.decodeKey(record.key) : null;
    const value = record.value ? await decoder.decodeValue(record.value) : null;
    decoded.push({
      partition: record.partition,
      id: key ? String(key.id) : null,
      op: value?.op ?? null,
      version: value?.source.version ?? null,
      snapshot: value?.source.snapshot ?? false,
      after: value?.after ?? null,
      before: value?.before ?? null,
    });
  }
  return decoded;
}

/** Versions that occur more than once: a read_committed consumer must see none. */
export function duplicateVersions(records: readonly DecodedRecord[]): string[] {
  const seen = new Set<string>();
  const duplicates: string[] = [];
  for (const record of records) {
    if (record.version === null) continue;
    if (seen.has(record.version)) duplicates.push(record.version);
    seen.add(record.version);
  }
  return duplicates;
}

export async function confirmedFlushLsn(client: pg.Client, slot: string): Promise<bigint | undefined> {
  const { rows } = await client.query<{ lsn: string | null }>(
    "select (confirmed_flush_lsn - '0/0'::pg_lsn)::text as lsn from pg_replication_slots where slot_name = $1",
    [slot],
  );
  const lsn = rows[0]?.lsn;
  return lsn === null || lsn === undefined ? undefined : BigInt(lsn);
}

export async function currentWalLsn(client: pg.Client): Promise<bigint> {
  const { rows } = await client.query<{ lsn: string }>(
    "select (pg_current_wal_lsn() - '0/0'::pg_lsn)::text as lsn",
  );
  return BigInt(rows[0]?.lsn ?? "0");
}

/** Drops what a test made: slot (waiting for it to be released), publication, table, topic. */
export async function dropAll(client: pg.Client, setup: ReturnType<typeof e2eSetup>): Promise<void> {
  await cleanUp(client, setup.config).catch(() => undefined);
  await client.query(`drop table if exists ${setup.table}`).catch(() => undefined);
  const admin = testKafka.admin();
  await admin.connect();
  try {
    const topics = (await admin.listTopics()).filter((topic) => topic === setup.topic);
    if (topics.length > 0) await admin.deleteTopics({ topics }).catch(() => undefined);
  } finally {
    await admin.disconnect();
  }
}

export function newClient(): pg.Client {
  return new pg.Client(connection);
}

/** A capture in a child process (pg-capture-child.ts); its output lines are "committed <version>". */
export function startChild(setup: ReturnType<typeof e2eSetup>, extraEnv: Record<string, string> = {}) {
  const child: ChildProcess = spawn(
    process.execPath,
    ["--import", "tsx", "test/capture/pg-capture-child.ts"],
    {
      env: {
        ...process.env,
        CAPTURE_SOURCE: setup.sourceName,
        CAPTURE_CONFIG: JSON.stringify(setup.config),
        LOG_LEVEL: "silent",
        ...extraEnv,
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let text = "";
  child.stdout?.on("data", (chunk) => {
    text += String(chunk);
  });
  child.stderr?.on("data", (chunk) => {
    text += String(chunk);
  });
  return {
    child,
    output: () => text,
    /** Resident set size of the child in MB (Linux /proc). */
    rssMb: () => {
      const status = readFileSync(`/proc/${child.pid}/status`, "utf8");
      return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
    },
  };
}

export function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once("exit", (code) => resolve(code)));
}

/** The sequence part of a version as the 16 hex digits it ends with. */
export function sequenceSuffix(sequence: number): string {
  return `-${sequence.toString(16).toUpperCase().padStart(16, "0")}`;
}

export { stack };
