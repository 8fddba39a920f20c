/**
 * Running the real sink in-process against the local stack (Kafka, registry, the Postgres
 * `warehouse` database, or a real Redshift when REDSHIFT_URL is set), and reading the result.
 */
import { Kafka, logLevel } from "kafkajs";
import pg from "pg";
import { Registry } from "prom-client";
import type { SinkConfig } from "../../../src/core/config/index.js";
import { quoteIdentifier } from "../../../src/sinks/warehouse/identifier.js";
import { WarehouseSink } from "../../../src/sinks/warehouse/sink.js";
import { eventually, stack, uniqueName } from "../../helpers/stack.js";

export interface WarehouseTarget {
  readonly dialect: "redshift" | "postgres";
  readonly connection: SinkConfig["connection"];
}

export function localWarehouse(user = "postgres"): WarehouseTarget {
  return {
    dialect: "postgres",
    connection: {
      host: stack.postgres.host,
      port: stack.postgres.port,
      database: "warehouse",
      user,
      password: "unused",
      sslmode: "disable",
      ca: undefined,
    },
  };
}

/** REDSHIFT_URL=postgres://user:password@cluster:5439/db */
export function redshiftWarehouse(url: string): WarehouseTarget {
  const parsed = new URL(url);
  return {
    dialect: "redshift",
    connection: {
      host: parsed.hostname,
      port: Number(parsed.port || 5439),
      database: parsed.pathname.slice(1),
      user: decodeURIComponent(parsed.username),
      password: decodeURIComponent(parsed.password),
      sslmode: "require",
      ca: undefined,
    },
  };
}

export interface SinkSettings {
  readonly topics: readonly string[];
  readonly schema: string;
  readonly deletes?: "soft" | "hard";
  readonly groupId?: string;
  readonly tables?: Record<string, string>;
  readonly maxRows?: number;
  readonly target?: WarehouseTarget;
}

export interface RunningSink {
  readonly sink: WarehouseSink;
  readonly groupId: string;
  /** The sink's own metrics (rows applied, retries, lag by partition). */
  readonly metrics: Registry;
  /** Stops the sink and waits until it has left its group. */
  stop(): Promise<void>;
  readonly finished: Promise<void>;
}

export function startSink(settings: SinkSettings): RunningSink {
  const target = settings.target ?? localWarehouse();
  const config: SinkConfig = {
    type: "redshift",
    dialect: target.dialect,
    connection: target.connection,
    schema: settings.schema,
    topics: [...settings.topics],
    tables: settings.tables,
    batch: { maxRows: settings.maxRows ?? 10_000, maxBytes: 16 * 1024 * 1024, maxWait: 100 },
    deletes: settings.deletes ?? "soft",
    groupId: settings.groupId ?? uniqueName("sink_group"),
    http: undefined,
  };
  const groupId = config.groupId as string;
  const metrics = new Registry();
  const sink = new WarehouseSink({
    metrics,
    name: "test",
    config,
    kafka: { brokers: stack.kafkaBrokers, clientId: "tributary-sink-test" },
    registryUrl: stack.registryUrl,
    topicRefreshMs: 500,
    sessionTimeoutMs: 10_000,
  });
  const controller = new AbortController();
  const finished = sink.run(controller.signal);
  return {
    sink,
    groupId,
    metrics,
    finished,
    stop: async () => {
      controller.abort();
      await finished;
    },
  };
}

/** Waits until `groupId` has committed every partition of `topics` up to its end. */
export async function waitCaughtUp(
  groupId: string,
  topics: readonly string[],
  timeoutMs = 30_000,
): Promise<void> {
  const admin = new Kafka({ brokers: [...stack.kafkaBrokers], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    await eventually(async () => {
      for (const topic of topics) {
        const ends = await admin.fetchTopicOffsets(topic);
        const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
        for (const end of ends) {
          const done = committed?.partitions.find((partition) => partition.partition === end.partition);
          if (done?.offset !== end.high) return undefined;
        }
      }
      return true;
    }, timeoutMs);
  } finally {
    await admin.disconnect();
  }
}

/** The sum of a counter's values over all its labels. */
export async function counterTotal(metrics: Registry, name: string): Promise<number> {
  const metric = metrics.getSingleMetric(name);
  if (!metric) throw new Error(`no metric ${name}`);
  return (await metric.get()).values.reduce((sum, { value }) => sum + value, 0);
}

/** The sum of a counter's values whose labels include `labels`. */
export async function counterValue(
  metrics: Registry,
  name: string,
  labels: Readonly<Record<string, string>>,
): Promise<number> {
  const metric = metrics.getSingleMetric(name);
  if (!metric) throw new Error(`no metric ${name}`);
  return (await metric.get()).values
    .filter((value) => Object.entries(labels).every(([label, wanted]) => value.labels[label] === wanted))
    .reduce((sum, { value }) => sum + value, 0);
}

/** The offsets `groupId` committed for `topic`, by partition ("-1": none yet). */
export async function committedOffsets(groupId: string, topic: string): Promise<Map<number, string>> {
  const admin = new Kafka({ brokers: [...stack.kafkaBrokers], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return new Map((committed?.partitions ?? []).map(({ partition, offset }) => [partition, offset]));
  } finally {
    await admin.disconnect();
  }
}

export function warehouseClient(target: WarehouseTarget = localWarehouse()): pg.Client {
  const { connection } = target;
  return new pg.Client({
    host: connection.host,
    port: connection.port,
    database: connection.database,
    user: connection.user,
    password: connection.password,
    ssl: target.dialect === "redshift" ? { rejectUnauthorized: false } : false,
  });
}

/** md5 over the business columns, version and deleted flag, ordered by key: equal tables, equal sums. */
export async function checksum(
  client: pg.Client,
  schema: string,
  table: string,
  columns: readonly string[],
  key: string,
  dialect: "redshift" | "postgres" = "postgres",
): Promise<{ rows: number; md5: string }> {
  const q = (name: string) => quoteIdentifier(name, dialect);
  const parts = [...columns, "_tributary_version", "_tributary_deleted"]
    .map((column) => `COALESCE(CAST(${q(column)} AS VARCHAR(65535)), '~')`)
    .join(` || '|' || `);
  const aggregate =
    dialect === "postgres"
      ? `STRING_AGG(${parts}, ',' ORDER BY ${q(key)})`
      : `LISTAGG(${parts}, ',') WITHIN GROUP (ORDER BY ${q(key)})`;
  const result = await client.query<{ rows: string; md5: string | null }>(
    `SELECT COUNT(*) AS rows, MD5(${aggregate}) AS md5 FROM ${q(schema)}.${q(table)}`,
  );
  return { rows: Number(result.rows[0]?.rows ?? 0), md5: result.rows[0]?.md5 ?? "" };
}

export async function rowsOf<T extends Record<string, unknown>>(
  client: pg.Client,
  schema: string,
  table: string,
  orderBy: string,
  dialect: "redshift" | "postgres" = "postgres",
): Promise<T[]> {
  const q = (name: string) => quoteIdentifier(name, dialect);
  const result = await client.query<T>(`SELECT * FROM ${q(schema)}.${q(table)} ORDER BY ${q(orderBy)}`);
  return result.rows;
}
