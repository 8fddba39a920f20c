/**
 * Applies one table's micro-batch in ONE warehouse transaction: for each segment (rows, or a
 * truncate) a staging table is loaded and merged with the version-guarded statements of
 * merge-sql.ts. A data error (a value the warehouse refuses) makes it bisect the rows, each half
 * in its own transaction (each idempotent), until the bad row is found: that row goes to the DLQ,
 * the others are applied. Postgres loads the staging table with binary COPY where every column's
 * type allows it (copy-binary.ts), else with COPY text; Redshift with multi-row INSERTs.
 */
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import { classify, type ErrorAction, RecordError } from "../../core/errors.js";
import type { RecordOrigin, Segment, StagedRow, TruncateMark } from "./batch.js";
import {
  binaryCopyPieces,
  binaryFieldWriters,
  copyBatchRowsBinary,
  copyStagedBinary,
  type FieldWriter,
  stagingColumnTypes,
  stagingTypesMatch,
} from "./copy-binary.js";
import { copyPieces } from "./copy-rows.js";
import { copyStaged } from "./copy-text.js";
import { DirectRowRefused } from "./direct-rows.js";
import { foldIdentifier } from "./identifier.js";
import {
  type DeleteMode,
  deleteSuperseded,
  dropStaleStaged,
  fillDeleted,
  fillUnavailable,
  insertNewRows,
  recordTombstones,
  selectTruncateVersion,
  storeTruncateVersion,
  truncateRows,
} from "./merge-sql.js";
import {
  createStaging,
  createUnavailable,
  dropStaging,
  dropUnavailable,
  insertStaged,
  insertUnavailable,
  type Statement,
  stagedColumnNames,
  stagingBatchDefaults,
  type TableModel,
} from "./sql.js";
import type { Dialect } from "./typemap.js";
import { msToTimestamptz, timestampText, toParameter } from "./values.js";

/** Redshift's limit of bind parameters per statement. */
export const MAX_PARAMETERS = 32_767;
/** Redshift's statement limit is 16 MB; parameter bytes per statement stay well under it. */
export const MAX_STATEMENT_BYTES = 8 * 1024 * 1024;

export interface DeadLetter {
  readonly origin: RecordOrigin;
  readonly error: RecordError;
}

/** Redshift reports serializable isolation violations (error 1023) as XX000: an outage, not a bug. */
export function warehouseAction(error: unknown): ErrorAction {
  const message = error instanceof Error ? error.message : "";
  if (/serializable isolation violation|\b1023\b/i.test(message)) return "retry";
  return classify(error);
}

function parameterSize(value: unknown): number {
  if (value === null || value === undefined) return 1;
  if (Buffer.isBuffer(value)) return value.length;
  return typeof value === "string" ? Buffer.byteLength(value) : 8;
}

/** Groups rows into statements within the parameter and byte limits. */
export function chunkTuples<T extends readonly unknown[]>(tuples: readonly T[], width: number): T[][] {
  const perStatement = Math.max(1, Math.floor(MAX_PARAMETERS / width));
  const chunks: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const tuple of tuples) {
    const size = tuple.reduce<number>((sum, value) => sum + parameterSize(value), 0);
    if (current.length > 0 && (current.length >= perStatement || bytes + size > MAX_STATEMENT_BYTES)) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(tuple);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/**
 * The server refused the binary data itself: a field shorter (08P01) or longer (22P03) than its
 * column's type, i.e. a column whose type changed since it was read, or a value the binary
 * writer could not encode (BinaryCopyWriter.refused). COPY text of the same rows decides.
 */
function binaryRefused(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return code === "22P03" || code === "08P01";
}

/**
 * The statements after the staging table's load: the TOAST/delete markers (with their table only
 * when there are any), then the version-guarded merge (merge-sql.ts), then the drops. Pure.
 */
export function mergeStatements(
  model: TableModel,
  rows: readonly StagedRow[],
  dialect: Dialect,
  deletes: DeleteMode,
): Statement[] {
  const known = new Set(model.columns.map((column) => column.name));
  const markers: [number, string, string | null][] = [];
  const unavailableColumns = new Set<string>();
  for (const row of rows) {
    if (row.keepStoredValues && deletes === "soft")
      markers.push([row.origin.partition, row.origin.offset, null]);
    for (const column of row.unavailable) {
      if (!known.has(column)) continue;
      markers.push([row.origin.partition, row.origin.offset, column]);
      unavailableColumns.add(column);
    }
  }
  const statements: Statement[] = [];
  if (markers.length > 0) statements.push(createUnavailable());
  for (const chunk of chunkTuples(markers, 3)) statements.push(insertUnavailable(chunk));
  statements.push(...dropStaleStaged(model, dialect, deletes));
  for (const column of unavailableColumns) statements.push(fillUnavailable(model, column, dialect));
  const deleted = rows.some((row) => row.deleted);
  const fill =
    deletes === "soft" && markers.some((marker) => marker[2] === null) && fillDeleted(model, dialect);
  if (fill) statements.push(fill);
  statements.push(deleteSuperseded(model, dialect), insertNewRows(model, dialect, deletes));
  if (deletes === "hard" && deleted) statements.push(...recordTombstones(model, dialect));
  statements.push(dropStaging(model, dialect));
  if (markers.length > 0) statements.push(dropUnavailable());
  return statements;
}

async function run(client: pg.PoolClient, statement: Statement): Promise<void> {
  await client.query(statement.text, statement.values as unknown[]);
}

const COMMIT: Statement = { text: "COMMIT", values: [] };

export interface ApplierOptions {
  readonly pool: pg.Pool;
  readonly dialect: Dialect;
  readonly deletes: DeleteMode;
}

export class BatchApplier {
  readonly #options: ApplierOptions;

  constructor(options: ApplierOptions) {
    this.#options = options;
  }

  #stagedTuple(model: TableModel, row: StagedRow, loadedAt: string): unknown[] {
    const { dialect } = this.#options;
    const tuple: unknown[] = [];
    for (const column of model.columns)
      tuple.push(toParameter(column.type, row.values[column.name], dialect));
    tuple.push(
      row.version,
      row.op,
      row.deleted,
      msToTimestamptz(row.sourceTsMs),
      loadedAt,
      row.origin.topic,
      row.origin.partition,
      row.origin.offset,
    );
    return tuple;
  }

  /**
   * Loads the rows into the staging table: multi-row INSERTs on Redshift, COPY on Postgres (binary
   * with `binary`, the field writers of the model's columns, else text).
   */
  async #loadStaging(
    client: pg.PoolClient,
    model: TableModel,
    rows: readonly StagedRow[],
    loadedAtMicros: number,
    binary: readonly FieldWriter[] | undefined,
  ): Promise<void> {
    const { dialect } = this.#options;
    const loadedAt = `${timestampText(loadedAtMicros)}+00`;
    if (dialect === "redshift") {
      const tuples = rows.map((row) => this.#stagedTuple(model, row, loadedAt));
      for (const chunk of chunkTuples(tuples, stagedColumnNames(model).length)) {
        await run(client, insertStaged(model, chunk, dialect));
      }
      return;
    }
    if (binary) {
      const data = Readable.from(binaryCopyPieces(model, binary, rows, loadedAtMicros), {
        objectMode: false,
      });
      await pipeline(data, client.query(copyFrom(copyStagedBinary(model))));
      return;
    }
    const text = Readable.from(copyPieces(model, rows, loadedAt), { objectMode: false });
    await pipeline(text, client.query(copyFrom(copyStaged(model))));
  }

  async #truncate(
    client: pg.PoolClient,
    model: TableModel,
    mark: TruncateMark,
    loadedAt: string,
  ): Promise<void> {
    const { dialect, deletes } = this.#options;
    const select = selectTruncateVersion(model, dialect);
    const stored = await client.query<{ _tributary_version: string }>(select.text, [...select.values]);
    const storedVersion = stored.rows[0]?._tributary_version;
    if (storedVersion !== undefined && storedVersion >= mark.version) return;
    const event = {
      version: mark.version,
      sourceTs: msToTimestamptz(mark.sourceTsMs),
      loadedAt,
      topic: mark.origin.topic,
      partition: mark.origin.partition,
      offset: mark.origin.offset,
    };
    const exists = await client.query(
      "SELECT 1 FROM information_schema.tables WHERE table_schema = $1 AND table_name = $2",
      [foldIdentifier(model.schema, dialect), foldIdentifier(model.table, dialect)],
    );
    if (exists.rows.length > 0) await run(client, truncateRows(model, dialect, deletes, event));
    await run(client, storeTruncateVersion(model, dialect, mark.version, storedVersion !== undefined));
  }

  /**
   * Creates the staging table (after `BEGIN` with `begin`; with `defaults` as its columns'
   * defaults); with `binary`, also reads its column types, in the same round trip: true when they
   * are those binary COPY was chosen for (binary COPY goes only into those, copy-binary.ts).
   */
  async #createStaging(
    client: pg.PoolClient,
    model: TableModel,
    binary: boolean,
    begin = false,
    defaults?: Statement,
  ) {
    const statements = [
      ...(begin ? ["BEGIN"] : []),
      createStaging(model, this.#options.dialect).text,
      ...(defaults ? [defaults.text] : []),
    ];
    if (!binary) {
      await client.query(statements.join(";\n"));
      return false;
    }
    statements.push(stagingColumnTypes(model).text);
    const results = (await client.query(statements.join(";\n"))) as unknown as pg.QueryResult[];
    return stagingTypesMatch(model, results.at(-1)?.rows ?? []);
  }

  /**
   * Runs `statements` in order. On Postgres those without parameters that follow each other go in
   * one round trip: between round trips the warehouse waits for the sink's event loop.
   */
  async #runAll(client: pg.PoolClient, statements: readonly Statement[]): Promise<void> {
    if (this.#options.dialect !== "postgres") {
      for (const statement of statements) await run(client, statement);
      return;
    }
    let batched: string[] = [];
    for (const statement of statements) {
      if (statement.values.length === 0) {
        batched.push(statement.text);
        continue;
      }
      if (batched.length > 0) await client.query(batched.join(";\n"));
      batched = [];
      await run(client, statement);
    }
    if (batched.length > 0) await client.query(batched.join(";\n"));
  }

  /** `work` on a pooled connection; a failure rolls back, is thrown, and retires the session. */
  async #inSession<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.#options.pool.connect();
    let failure: unknown;
    try {
      return await work(client);
    } catch (error) {
      failure = error;
      await client.query("ROLLBACK").catch(() => undefined);
      throw error;
    } finally {
      // After a failure the session may be broken or hold temp tables: never reuse it.
      client.release(failure instanceof Error ? failure : undefined);
    }
  }

  /** All segments in one transaction; a failure rolls everything back and is thrown. */
  async #transaction(
    model: TableModel,
    segments: readonly Segment[],
    binary: readonly FieldWriter[] | undefined,
  ): Promise<void> {
    const { dialect, deletes } = this.#options;
    await this.#inSession(async (client) => {
      const loadedAtMicros = Date.now() * 1000;
      const loadedAt = `${timestampText(loadedAtMicros)}+00`;
      await client.query("BEGIN");
      for (const segment of segments) {
        if (segment.kind === "truncate") {
          await this.#truncate(client, model, segment.truncate, loadedAt);
          continue;
        }
        const binaryFits = await this.#createStaging(client, model, binary !== undefined);
        await this.#loadStaging(client, model, segment.rows, loadedAtMicros, binaryFits ? binary : undefined);
        await this.#runAll(client, mergeStatements(model, segment.rows, dialect, deletes));
      }
      await client.query("COMMIT");
    });
  }

  /**
   * Applies a batch of the fast path (direct-rows.ts) in one transaction, with the statements
   * apply() runs for rows: `copyPieces` gives its rows' binary COPY data for `model` as
   * copyBatchRowsBinary takes it, and the batch's topic and partition, with its load time, are the
   * staging table's defaults. The statements go in four round trips, not one each: between round
   * trips the warehouse waits for the sink's event loop. False, with nothing applied, when the
   * batch needs the general path: a row the pieces refuse, a staging table of other types, data
   * the warehouse refuses. Outages and other errors are thrown, as by apply().
   */
  async applyDirect(
    model: TableModel,
    origin: { readonly topic: string; readonly partition: number },
    copyPieces: () => Iterable<Buffer>,
  ): Promise<boolean> {
    const { dialect, deletes } = this.#options;
    if (dialect !== "postgres") return false;
    try {
      return await this.#inSession(async (client) => {
        const loadedAt = `${timestampText(Date.now() * 1000)}+00`;
        const defaults = stagingBatchDefaults(model, { ...origin, loadedAt });
        if (!(await this.#createStaging(client, model, true, true, defaults))) {
          await client.query("ROLLBACK");
          return false;
        }
        await pipeline(
          Readable.from(copyPieces(), { objectMode: false }),
          client.query(copyFrom(copyBatchRowsBinary(model))),
        );
        await this.#runAll(client, [...mergeStatements(model, [], dialect, deletes), COMMIT]);
        return true;
      });
    } catch (error) {
      if (error instanceof DirectRowRefused || binaryRefused(error)) return false;
      if (warehouseAction(error) === "dead-letter") return false;
      throw error;
    }
  }

  /**
   * Applies the segments; returns the rows that the warehouse refused as data errors (each found
   * by bisection). Outages and other errors are thrown for the caller to retry or stop on.
   */
  async apply(model: TableModel, segments: readonly Segment[]): Promise<DeadLetter[]> {
    let binary = this.#options.dialect === "postgres" ? binaryFieldWriters(model) : undefined;
    try {
      await this.#transaction(model, segments, binary);
      return [];
    } catch (error) {
      if (binary && binaryRefused(error)) binary = undefined;
      else if (warehouseAction(error) !== "dead-letter") throw error;
    }
    const deadLetters: DeadLetter[] = [];
    for (const segment of segments) {
      if (segment.kind === "truncate") await this.#transaction(model, [segment], undefined);
      else await this.#bisect(model, segment.rows, deadLetters, binary);
    }
    return deadLetters;
  }

  /** Rows in a transaction, else each half in its own, down to the single rows refused. */
  async #bisect(
    model: TableModel,
    rows: readonly StagedRow[],
    deadLetters: DeadLetter[],
    binary: readonly FieldWriter[] | undefined,
  ): Promise<void> {
    if (rows.length === 0) return;
    try {
      await this.#transaction(model, [{ kind: "rows", rows }], binary);
      return;
    } catch (error) {
      if (binary && binaryRefused(error)) return this.#bisect(model, rows, deadLetters, undefined);
      if (warehouseAction(error) !== "dead-letter") throw error;
      const [row] = rows;
      if (rows.length === 1 && row) {
        const code = String((error as { code?: unknown }).code ?? "DATA");
        const message = `the warehouse refused the row of ${model.table}: ${(error as Error).message}`;
        deadLetters.push({
          origin: row.origin,
          error: new RecordError(message, { code: `WAREHOUSE_${code}`, cause: error }),
        });
        return;
      }
    }
    const middle = Math.ceil(rows.length / 2);
    await this.#bisect(model, rows.slice(0, middle), deadLetters, binary);
    await this.#bisect(model, rows.slice(middle), deadLetters, binary);
  }
}
