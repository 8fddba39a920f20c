/**
 * Micro-batches: a partition's fetched records cut by maxRows / maxBytes, their events turned
 * into staged rows, split at truncates and deduplicated by key keeping the highest source.version.
 * Pure.
 */
import type { ColumnSpec, Op, Row } from "../../core/change-event.js";
import { RecordError } from "../../core/errors.js";
import type { SinkEvent } from "./decode.js";

export interface RecordOrigin {
  readonly topic: string;
  readonly partition: number;
  /** Kafka offsets are int64: kept as text. */
  readonly offset: string;
}

export interface StagedRow {
  /** The key values as text, to find a key's rows. */
  readonly keyId: string;
  readonly version: string;
  readonly op: Op;
  readonly deleted: boolean;
  readonly values: Row;
  /** Columns the event did not carry: the stored value is kept (unchanged TOAST). */
  readonly unavailable: ReadonlySet<string>;
  /** A delete whose non-key values must come from the stored row (none earlier in the batch). */
  readonly keepStoredValues: boolean;
  readonly sourceTsMs: number;
  readonly origin: RecordOrigin;
  /** The origins of older rows of the same key this row replaced in the batch. */
  readonly superseded: readonly RecordOrigin[];
  /** The columns of the event's writer schema. */
  readonly columns: readonly ColumnSpec[];
}

export interface TruncateMark {
  readonly version: string;
  readonly sourceTsMs: number;
  readonly origin: RecordOrigin;
}

export type Segment =
  | { readonly kind: "rows"; readonly rows: readonly StagedRow[] }
  | { readonly kind: "truncate"; readonly truncate: TruncateMark };

export function chunkBySize<T>(
  items: readonly T[],
  sizeOf: (item: T) => number,
  limits: { readonly maxRows: number; readonly maxBytes: number },
): T[][] {
  const chunks: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = sizeOf(item);
    if (current.length > 0 && (current.length >= limits.maxRows || bytes + size > limits.maxBytes)) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

function jsonReplacer(_key: string, item: unknown): unknown {
  if (typeof item === "bigint") return item.toString();
  if (item && typeof item === "object" && (item as { type?: string }).type === "Buffer") {
    return Buffer.from((item as { data: number[] }).data).toString("hex");
  }
  return item;
}

/**
 * A key value as text that no other value of the key column maps to. Numbers and bigints give
 * their digits (so an int32 key widened to int64 stays the same key), strings are quoted, bytes
 * are hex: each part is self-delimiting, so the parts join with commas.
 */
function keyPart(value: unknown): string {
  if (typeof value === "bigint" || typeof value === "number") return String(value);
  if (typeof value === "string") return JSON.stringify(value);
  if (Buffer.isBuffer(value)) return `x${value.toString("hex")}`;
  return JSON.stringify(value, jsonReplacer);
}

const noColumns: ReadonlySet<string> = new Set();
const noOrigins: readonly RecordOrigin[] = [];

/**
 * The row an event stages; `key` is the decoded Kafka key when there is one. Takes over the
 * event's row image (decoded for this row alone, every column present) as its values.
 */
export function stagedRowOf(event: SinkEvent, key: Row | null, origin: RecordOrigin): StagedRow {
  const deleted = event.op === "d";
  const image = event.image;
  const keyColumns = event.table.keyColumns;
  if (keyColumns.length === 0) {
    throw new RecordError(`the record has no key: ${origin.topic} needs an Avro key of its key columns`, {
      code: "RECORD_KEY_MISSING",
    });
  }
  let values: Record<string, unknown>;
  if (image) values = image;
  else {
    values = {};
    for (const column of event.table.columns) values[column.name] = null;
  }
  let keyId = "";
  for (let index = 0; index < keyColumns.length; index++) {
    const column = keyColumns[index] as string;
    const value = key?.[column] ?? values[column];
    if (value === null || value === undefined) {
      throw new RecordError(`key column ${column} has no value`, { code: "RECORD_KEY_MISSING" });
    }
    values[column] = value;
    keyId += index === 0 ? keyPart(value) : `,${keyPart(value)}`;
  }
  return {
    keyId,
    version: event.version,
    op: event.op,
    deleted,
    values,
    unavailable:
      deleted || event.unavailableColumns.length === 0 ? noColumns : new Set(event.unavailableColumns),
    keepStoredValues: deleted,
    sourceTsMs: event.sourceTsMs,
    origin,
    superseded: noOrigins,
    columns: event.table.columns,
  };
}

/** `newer` after `older` of the same key: what `newer` leaves unknown comes from `older`. */
function merge(older: StagedRow, newer: StagedRow, keyColumns: ReadonlySet<string>): StagedRow {
  const superseded = [...older.superseded, older.origin, ...newer.superseded];
  if (newer.deleted) {
    // The delete keeps the last values, which the batch itself holds.
    const values = { ...older.values };
    for (const column of keyColumns) values[column] = newer.values[column];
    return {
      ...newer,
      values,
      unavailable: older.unavailable,
      keepStoredValues: older.keepStoredValues,
      superseded,
    };
  }
  if (newer.unavailable.size === 0 || older.keepStoredValues) return { ...newer, superseded };
  const values = { ...newer.values };
  const unavailable = new Set<string>();
  for (const column of newer.unavailable) {
    if (older.unavailable.has(column)) unavailable.add(column);
    else values[column] = older.values[column] ?? null;
  }
  return { ...newer, values, unavailable, superseded };
}

function compareVersions(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * One row per key, the highest version, earlier rows' values folded in where it has none. `rows`
 * come in version order.
 */
export function dedupe(rows: readonly StagedRow[], keyColumns: readonly string[]): StagedRow[] {
  const keys = new Set(keyColumns);
  const byKey = new Map<string, StagedRow>();
  for (const row of rows) {
    const previous = byKey.get(row.keyId);
    if (!previous) byKey.set(row.keyId, row);
    else if (previous.version === row.version) {
      // The same event twice (a replay within the batch): keep the first, remember the second.
      byKey.set(row.keyId, { ...previous, superseded: [...previous.superseded, row.origin] });
    } else byKey.set(row.keyId, merge(previous, row, keys));
  }
  return [...byKey.values()];
}

/**
 * The batch as the warehouse applies it: deduplicated rows up to the first truncate, the
 * truncate, the rows after it, … (by version), so the result equals applying the events one by one.
 * `rows` come in version order.
 */
export function segments(
  rows: readonly StagedRow[],
  truncates: readonly TruncateMark[],
  keyColumns: readonly string[],
): Segment[] {
  const result: Segment[] = [];
  let remaining = rows;
  for (const truncate of [...truncates].sort((a, b) => compareVersions(a.version, b.version))) {
    const before = remaining.filter((row) => row.version < truncate.version);
    remaining = remaining.filter((row) => row.version >= truncate.version);
    if (before.length > 0) result.push({ kind: "rows", rows: dedupe(before, keyColumns) });
    result.push({ kind: "truncate", truncate });
  }
  if (remaining.length > 0) result.push({ kind: "rows", rows: dedupe(remaining, keyColumns) });
  return result;
}
