/**
 * The change event every source yields and every sink applies: the Debezium-shaped envelope
 * (before, after, source, op, ts_ms) before it is encoded to Avro. Sources speak only this;
 * the capture runner turns it into Kafka records, the sink reads it back.
 */
import type { ColumnType } from "./column-type.js";

/** c insert, u update, d delete, r snapshot read, t truncate (Debezium's codes). */
export type Op = "c" | "u" | "d" | "r" | "t";

/**
 * A row as JavaScript values, by column name. Representation per ColumnType kind:
 * boolean → boolean; int16/int32 → number; int64 → bigint; float32/float64 → number (NaN and
 * ±Infinity allowed); decimal → string (exact decimal text, e.g. "-12.30"); string, uuid, json,
 * interval, timetz, enum, inet, … → string; bytes → Buffer; date → number (days since 1970-01-01);
 * time → number (microseconds since midnight); timestamp / timestamptz → number (microseconds
 * since the epoch, UTC for timestamptz); array → an array of its items' values; null → null.
 */
export type Row = Record<string, unknown>;

export interface ColumnSpec {
  readonly name: string;
  readonly type: ColumnType;
  readonly nullable: boolean;
  /** The source's own type name, e.g. "numeric(10,2)" or "varchar(50)": for docs and the DLQ. */
  readonly sourceType: string;
}

/** A captured table (or API object, or mailbox stream) and where its events go. */
export interface TableSpec {
  /** Source name from the config, e.g. "infoportal". */
  readonly source: string;
  /** Schema (Postgres), database (MySQL), or "" where the source has none. */
  readonly namespace: string;
  readonly name: string;
  /** `<source>.<schema>.<table>` and the like (PRODUCT.md, "Topics and events"). */
  readonly topic: string;
  readonly columns: readonly ColumnSpec[];
  /** Columns of the Kafka key; a table without a primary key says which rule chose them. */
  readonly keyColumns: readonly string[];
}

/**
 * Where an event came from. `version` is a fixed-width string that sorts in source order
 * (e.g. Postgres: commit LSN then change sequence, both zero-padded hex); the sink orders by it
 * and nothing else. The other fields are the native position, per connector.
 */
export interface SourceInfo {
  readonly version: string;
  readonly connector: "postgres" | "mysql" | "vonigo" | "imap";
  /** Commit time of the change in the source, ms since the epoch. */
  readonly tsMs: number;
  readonly snapshot: boolean;
  readonly db: string;
  readonly lsn?: string;
  readonly txId?: number;
  readonly file?: string;
  readonly pos?: number;
  readonly gtid?: string;
  readonly cursor?: string;
  readonly uidValidity?: number;
  readonly uid?: number;
}

export interface ChangeEvent {
  readonly table: TableSpec;
  readonly op: Op;
  /** The row before the change (updates and deletes, when the source's replica identity allows). */
  readonly before: Row | null;
  /** The row after the change (inserts, updates, snapshot reads). */
  readonly after: Row | null;
  readonly source: SourceInfo;
  /**
   * Columns whose value the source did not send (Postgres: unchanged TOAST values in an update).
   * They are null in `after` and must not overwrite what the sink stored.
   */
  readonly unavailableColumns: readonly string[];
}

/**
 * What a source yields: events and the position after them. The position is opaque JSON that only
 * the source understands (it resumes from it); `version` is the version of the last event covered,
 * so that after a crash the runner can skip events at or below it.
 */
export interface SourcePosition {
  readonly version: string;
  readonly state: unknown;
}

export interface Batch {
  readonly events: readonly ChangeEvent[];
  readonly position: SourcePosition;
}
