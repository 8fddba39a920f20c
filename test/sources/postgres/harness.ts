/** Drives a Postgres source the way the runner does: read batches, remember positions, commit. */
import pg from "pg";
import { pino } from "pino";
import { Registry } from "prom-client";
import type { Batch, ChangeEvent, SourcePosition } from "../../../src/core/change-event.js";
import type { PostgresSourceConfig } from "../../../src/core/config/schema.js";
import type { Source } from "../../../src/core/source.js";
import { createPostgresSource, type PostgresSourceOptions } from "../../../src/sources/postgres/source.js";
import { stack, uniqueName } from "../../helpers/stack.js";

export const connection = { ...stack.postgres, database: "infoportal" };

export function sourceConfig(overrides: Partial<PostgresSourceConfig> = {}): PostgresSourceConfig {
  return {
    type: "postgres",
    connection: { ...connection, sslmode: "disable", password: undefined, ca: undefined },
    tables: { include: ["public.nothing"], exclude: [] },
    slot: uniqueName("test_slot"),
    publication: uniqueName("test_pub"),
    snapshot: "initial",
    heartbeatInterval: 10_000,
    ...overrides,
  } as PostgresSourceConfig;
}

export const silent = pino({ level: "silent" });

/** A running source: batches are collected in the background; `commit` acknowledges like the runner. */
export class Driver {
  readonly batches: Batch[] = [];
  readonly source: Source;
  private readonly abort = new AbortController();
  private reading: Promise<void> | undefined;
  error: unknown;

  constructor(
    readonly config: PostgresSourceConfig,
    options: PostgresSourceOptions = {},
  ) {
    this.source = createPostgresSource("test", config, options);
  }

  async open() {
    return this.source.open({ logger: silent, metrics: new Registry() });
  }

  start(from?: SourcePosition, onBatch?: (batch: Batch) => Promise<void> | void): void {
    this.reading = (async () => {
      try {
        for await (const batch of this.source.read(from, this.abort.signal)) {
          this.batches.push(batch);
          await onBatch?.(batch);
        }
      } catch (error) {
        this.error = error;
      }
    })();
  }

  /** Events after skipping those at or below `skipThrough`, as the runner would. */
  events(skipThrough = ""): ChangeEvent[] {
    return this.batches
      .flatMap((batch) => batch.events)
      .filter((event) => event.source.version > skipThrough);
  }

  lastPosition(): SourcePosition | undefined {
    return this.batches.at(-1)?.position;
  }

  /** Stops reading (the runner's shutdown), leaving the source open. */
  async halt(): Promise<void> {
    this.abort.abort();
    await this.reading;
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.reading;
    await this.source.close();
  }
}

/** Drops the slot and publication a test created (leftover slots pin WAL). */
export async function cleanUp(client: pg.Client, config: PostgresSourceConfig): Promise<void> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const { rows } = await client.query("select active from pg_replication_slots where slot_name = $1", [
      config.slot,
    ]);
    if (rows.length === 0) break;
    if (!rows[0].active) {
      await client.query("select pg_drop_replication_slot($1)", [config.slot]).catch(() => undefined);
      break;
    }
    await new Promise((done) => setTimeout(done, 100));
  }
  await client.query(`drop publication if exists ${config.publication}`);
}

export function newClient(): pg.Client {
  return new pg.Client(connection);
}

/**
 * What a version-guarded sink keeps: per key, the row of the event with the highest version
 * (absent after a delete or truncate). Rows are keyed by the JSON of their `id`.
 */
export function applyAsSink(events: readonly ChangeEvent[]): Map<string, Record<string, unknown>> {
  const latest = new Map<string, ChangeEvent>();
  const ordered = [...events].sort((a, b) => (a.source.version < b.source.version ? -1 : 1));
  for (const event of ordered) {
    if (event.op === "t") {
      latest.clear();
      continue;
    }
    const key = JSON.stringify((event.after ?? event.before)?.id);
    const previous = latest.get(key);
    if (!previous || previous.source.version < event.source.version) latest.set(key, event);
  }
  const rows = new Map<string, Record<string, unknown>>();
  for (const [key, event] of latest) if (event.op !== "d" && event.after) rows.set(key, event.after);
  return rows;
}

export async function tableRows(
  client: pg.Client,
  table: string,
): Promise<Map<string, Record<string, unknown>>> {
  const { rows } = await client.query(`select * from ${table} order by id`);
  return new Map(rows.map((row) => [JSON.stringify(row.id), row]));
}
