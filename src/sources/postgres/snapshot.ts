/**
 * The initial snapshot: every captured table read inside one exported snapshot, chunked by key
 * (keyset pagination), as `op: r` events whose versions sort below every streamed change.
 *
 * The position after each chunk records the tables still to read and the last key read, so a
 * restarted capture continues after the last chunk the runner committed. The exported snapshot
 * does not survive the crash; see docs/sources/postgres.md ("Resuming a snapshot") for why
 * continuing from the last key in a new snapshot, while streaming from the original slot's
 * consistent point, yields every row once and loses no change.
 */

import type pg from "pg";
import type { Logger } from "pino";
import { Counter, Gauge, type Registry } from "prom-client";
import type { Batch, ChangeEvent } from "../../core/change-event.js";
import { type CapturedTable, quoteIdent } from "./catalog.js";
import { changeEvent, decodeRow } from "./events.js";
import { formatLsn, parseLsn, snapshotVersion } from "./version.js";

export interface SnapshotState {
  readonly phase: "snapshot";
  /** The permanent slot's consistent point: the stream starts there. */
  readonly consistentPoint: string;
  /** The consistent point of the snapshot being read (a later one after a resume): the versions' base. */
  readonly snapshotPoint: string;
  /** `schema.table` of the tables not finished, in reading order; the first is being read. */
  readonly pending: readonly string[];
  /** The key values (as text) of the last row produced from pending[0], or null. */
  readonly lastKey: readonly string[] | null;
  /** Rows produced so far: the last version's sequence. */
  readonly ordinal: number;
}

export interface SnapshotOptions {
  readonly client: pg.Client;
  readonly tables: readonly CapturedTable[];
  readonly state: SnapshotState;
  readonly chunkSize: number;
  readonly db: string;
  readonly logger: Logger;
  readonly metrics: SnapshotMetrics;
  readonly signal: AbortSignal;
}

export interface SnapshotMetrics {
  readonly rows: Counter<"source" | "table">;
  readonly estimate: Gauge<"source" | "table">;
}

export function snapshotMetrics(registry: Registry): SnapshotMetrics {
  const existing = (name: string) => registry.getSingleMetric(name);
  return {
    rows: (existing("tributary_postgres_snapshot_rows_total") ??
      new Counter({
        name: "tributary_postgres_snapshot_rows_total",
        help: "rows read by the initial snapshot",
        labelNames: ["source", "table"],
        registers: [registry],
      })) as Counter<"source" | "table">,
    estimate: (existing("tributary_postgres_snapshot_table_rows") ??
      new Gauge({
        name: "tributary_postgres_snapshot_table_rows",
        help: "estimated rows of each table the snapshot reads (pg_class.reltuples)",
        labelNames: ["source", "table"],
        registers: [registry],
      })) as Gauge<"source" | "table">,
  };
}

const PROGRESS_EVERY_MS = 5_000;

function selectList(table: CapturedTable): string {
  const columns = table.columns.map((column) => quoteIdent(column.spec.name)).join(", ");
  return `select ${columns} from ${quoteIdent(table.schema)}.${quoteIdent(table.name)}`;
}

/** The next chunk of a keyed table, after `resumeFrom` (text key values cast back to the key's types). */
function chunkQuery(
  table: CapturedTable,
  resumeFrom: readonly string[] | null,
  chunkSize: number,
): pg.QueryArrayConfig {
  const keys = table.spec.keyColumns.map(quoteIdent);
  const keyTypes = table.spec.keyColumns.map(
    (name) => table.columns.find((column) => column.spec.name === name)?.spec.sourceType ?? "text",
  );
  const where = resumeFrom
    ? ` where (${keys.join(", ")}) > (${keyTypes.map((type, index) => `$${index + 1}::${type}`).join(", ")})`
    : "";
  return {
    text: `${selectList(table)}${where} order by ${keys.join(", ")} limit ${chunkSize}`,
    values: resumeFrom ? [...resumeFrom] : [],
    rowMode: "array",
  };
}

/** Yields one batch per chunk; the last batch's state has no pending table. */
export async function* readSnapshot(options: SnapshotOptions): AsyncGenerator<Batch> {
  const { client, state: start, chunkSize, logger } = options;
  const byName = new Map(options.tables.map((table) => [table.qualifiedName, table]));
  const snapshotPoint = parseLsn(start.snapshotPoint);
  const startedAt = Date.now();
  let pending = [...start.pending];
  let lastKey = start.lastKey;
  let ordinal = start.ordinal;
  let version = snapshotVersion(snapshotPoint, ordinal);
  const position = () => ({
    version,
    state: { ...start, pending: [...pending], lastKey, ordinal } satisfies SnapshotState,
  });

  while (pending.length > 0 && !options.signal.aborted) {
    const name = pending[0] ?? "";
    const table = byName.get(name);
    if (!table) {
      logger.warn({ table: name }, `snapshot: table ${name} is no longer captured, skipped`);
      pending = pending.slice(1);
      lastKey = null;
      continue;
    }
    // Without a key a chunk cannot be found again in a later snapshot: such a table restarts whole.
    if (!table.keyed) lastKey = null;
    const labels = { source: table.spec.source, table: name };
    const { rows: estimateRows } = await client.query({
      text: "select greatest(reltuples, 0)::bigint from pg_class where oid = $1",
      values: [table.oid],
      rowMode: "array",
    });
    const estimate = Number(estimateRows[0]?.[0] ?? 0);
    options.metrics.estimate.set(labels, estimate);
    logger.info({ table: name, estimate, resumeFrom: lastKey }, `snapshot of ${name} started`);
    let tableRows = 0;
    let lastProgress = Date.now();
    const keyIndexes = table.spec.keyColumns.map((key) =>
      table.columns.findIndex((c) => c.spec.name === key),
    );
    // Keyless tables are paged with a cursor (a resume rereads them whole: there is no key to continue from).
    const cursor = `tributary_snapshot_${ordinal}`;
    if (!table.keyed) await client.query(`declare ${cursor} no scroll cursor for ${selectList(table)}`);
    for (;;) {
      const { rows } = table.keyed
        ? await client.query(chunkQuery(table, lastKey, chunkSize))
        : await client.query({ text: `fetch ${chunkSize} from ${cursor}`, rowMode: "array" });
      const events: ChangeEvent[] = [];
      for (const values of rows) {
        ordinal += 1;
        version = snapshotVersion(snapshotPoint, ordinal);
        const { row } = decodeRow(table, values);
        events.push(
          changeEvent(
            table,
            "r",
            { before: null, after: row },
            {
              version,
              connector: "postgres",
              tsMs: startedAt,
              snapshot: true,
              db: options.db,
              lsn: formatLsn(snapshotPoint),
            },
          ),
        );
      }
      const last = rows.at(-1);
      tableRows += rows.length;
      options.metrics.rows.inc(labels, rows.length);
      const finished = rows.length < chunkSize;
      if (finished) {
        pending = pending.slice(1);
        lastKey = null;
        if (!table.keyed) await client.query(`close ${cursor}`);
      } else if (last && table.keyed) {
        lastKey = keyIndexes.map((index) => String(last[index] ?? ""));
      }
      if (Date.now() - lastProgress >= PROGRESS_EVERY_MS || finished) {
        lastProgress = Date.now();
        const seconds = Math.max((Date.now() - startedAt) / 1000, 0.001);
        const progress = {
          table: name,
          rows: tableRows,
          estimate,
          rowsPerSecond: Math.round(ordinal / seconds),
        };
        logger.info(
          progress,
          `snapshot of ${name}: ${rowsOf(tableRows, estimate)}${finished ? ", done" : ""}`,
        );
        if (process.stderr.isTTY) {
          process.stderr.write(
            `\rsnapshot ${name} ${rowsOf(tableRows, estimate)}, ${progress.rowsPerSecond} rows/s   `,
          );
          if (finished) process.stderr.write("\n");
        }
      }
      yield { events, position: position() };
      if (finished || options.signal.aborted) break;
    }
  }
}

/** "1200/5000 rows", or "1200 rows" while the table has no statistics yet (reltuples 0 or -1). */
function rowsOf(rows: number, estimate: number): string {
  return estimate > 0 ? `${rows}/${estimate} rows` : `${rows} rows`;
}
