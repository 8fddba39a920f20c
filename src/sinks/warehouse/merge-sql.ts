/**
 * The version-guarded merge from the staging table into the target, identical on both dialects.
 * Run in this order inside one transaction (apply.ts):
 *
 *   1. dropStaleStaged      staged rows older than the table's last truncate (and, with hard
 *                           deletes, not newer than the key's tombstone) leave the staging table
 *   2. fillUnavailable      unchanged-TOAST columns take the stored value
 *   3. fillDeleted          (soft) a delete keeps the stored row's last values
 *   4. deleteSuperseded     target rows older than their staged row are removed
 *   5. insertNewRows        staged rows whose key has no (newer) target row are inserted
 *   6. recordTombstones     (hard) the deleted keys and versions are kept
 *
 * Together: a row is written only if its version is newer than the stored one, so replaying any
 * range of offsets any number of times leaves the tables identical.
 */
import { foldIdentifier, qualifiedName, quoteIdentifier } from "./identifier.js";
import {
  keysMatch,
  type Statement,
  stagedColumnNames,
  stagingTableName,
  type TableModel,
  TRUNCATES_TABLE,
  tombstonesTableName,
  UNAVAILABLE_TABLE,
} from "./sql.js";
import type { Dialect } from "./typemap.js";

export type DeleteMode = "soft" | "hard";

const TARGET_ALIAS = '"_tributary_target"';
const TOMBSTONE_ALIAS = '"_tributary_tombstone"';
const TRUNCATE_ALIAS = '"_tributary_truncate"';
const q = quoteIdentifier;

function names(model: TableModel, dialect: Dialect) {
  return {
    target: qualifiedName(model.schema, model.table, dialect),
    targetRef: q(model.table, dialect),
    staging: q(stagingTableName(model, dialect), dialect),
    tombstones: `${q(model.schema, dialect)}.${q(tombstonesTableName(model, dialect), dialect)}`,
    tombstonesRef: q(tombstonesTableName(model, dialect), dialect),
    truncates: qualifiedName(model.schema, TRUNCATES_TABLE, dialect),
  };
}

/** The value of `_tributary_truncates.table_name` for this table. */
export function truncateKey(model: TableModel, dialect: Dialect): string {
  return foldIdentifier(model.table, dialect);
}

export function dropStaleStaged(model: TableModel, dialect: Dialect, deletes: DeleteMode): Statement[] {
  const { staging, tombstones, truncates } = names(model, dialect);
  const statements: Statement[] = [
    {
      text: `DELETE FROM ${staging} USING ${truncates} AS ${TRUNCATE_ALIAS} WHERE ${TRUNCATE_ALIAS}."table_name" = $1 AND ${staging}."_tributary_version" < ${TRUNCATE_ALIAS}."_tributary_version"`,
      values: [truncateKey(model, dialect)],
    },
  ];
  if (deletes === "hard") {
    statements.push({
      text: `DELETE FROM ${staging} USING ${tombstones} AS ${TOMBSTONE_ALIAS} WHERE ${keysMatch(model, staging, TOMBSTONE_ALIAS, dialect)} AND ${staging}."_tributary_version" <= ${TOMBSTONE_ALIAS}."_tributary_version"`,
      values: [],
    });
  }
  return statements;
}

/** Staged rows that did not carry `column` (unchanged TOAST) take the stored value. */
export function fillUnavailable(model: TableModel, column: string, dialect: Dialect): Statement {
  const { staging, target } = names(model, dialect);
  const unavailable = `"${UNAVAILABLE_TABLE}"`;
  const quoted = q(column, dialect);
  return {
    text: `UPDATE ${staging} SET ${quoted} = ${TARGET_ALIAS}.${quoted} FROM ${target} AS ${TARGET_ALIAS}, ${unavailable} WHERE ${keysMatch(model, staging, TARGET_ALIAS, dialect)} AND ${unavailable}."_tributary_partition" = ${staging}."_tributary_partition" AND ${unavailable}."_tributary_offset" = ${staging}."_tributary_offset" AND ${unavailable}."column_name" = $1`,
    values: [column],
  };
}

/**
 * Soft deletes keep the stored row's last values: the staged deletes marked with a NULL column name
 * (no earlier row of the key in the batch) take every non-key column from the target. Undefined
 * when the table has only key columns.
 */
export function fillDeleted(model: TableModel, dialect: Dialect): Statement | undefined {
  const { staging, target } = names(model, dialect);
  const unavailable = `"${UNAVAILABLE_TABLE}"`;
  const keys = new Set(model.keyColumns);
  const assignments = model.columns
    .filter((column) => !keys.has(column.name))
    .map((column) => `${q(column.name, dialect)} = ${TARGET_ALIAS}.${q(column.name, dialect)}`);
  if (assignments.length === 0) return undefined;
  return {
    text: `UPDATE ${staging} SET ${assignments.join(", ")} FROM ${target} AS ${TARGET_ALIAS}, ${unavailable} WHERE ${keysMatch(model, staging, TARGET_ALIAS, dialect)} AND ${unavailable}."_tributary_partition" = ${staging}."_tributary_partition" AND ${unavailable}."_tributary_offset" = ${staging}."_tributary_offset" AND ${unavailable}."column_name" IS NULL`,
    values: [],
  };
}

export function deleteSuperseded(model: TableModel, dialect: Dialect): Statement {
  const { staging, target, targetRef } = names(model, dialect);
  return {
    text: `DELETE FROM ${target} USING ${staging} WHERE ${keysMatch(model, targetRef, staging, dialect)} AND ${targetRef}."_tributary_version" < ${staging}."_tributary_version"`,
    values: [],
  };
}

export function insertNewRows(model: TableModel, dialect: Dialect, deletes: DeleteMode): Statement {
  const { staging, target } = names(model, dialect);
  const columns = stagedColumnNames(model).map((name) => q(name, dialect));
  const hard = deletes === "hard" ? ` AND ${staging}."_tributary_deleted" = false` : "";
  return {
    text: `INSERT INTO ${target} (${columns.join(", ")}) SELECT ${columns.map((column) => `${staging}.${column}`).join(", ")} FROM ${staging} WHERE NOT EXISTS (SELECT 1 FROM ${target} AS ${TARGET_ALIAS} WHERE ${keysMatch(model, TARGET_ALIAS, staging, dialect)})${hard}`,
    values: [],
  };
}

/** `deletes: hard`: the staged deletes' keys and versions, newest kept. */
export function recordTombstones(model: TableModel, dialect: Dialect): Statement[] {
  const { staging, tombstones, tombstonesRef } = names(model, dialect);
  const keys = model.keyColumns.map((key) => q(key, dialect));
  const columns = [...keys, '"_tributary_version"'];
  return [
    {
      text: `DELETE FROM ${tombstones} USING ${staging} WHERE ${keysMatch(model, tombstonesRef, staging, dialect)} AND ${tombstonesRef}."_tributary_version" < ${staging}."_tributary_version" AND ${staging}."_tributary_deleted" = true`,
      values: [],
    },
    {
      text: `INSERT INTO ${tombstones} (${columns.join(", ")}) SELECT ${columns.map((column) => `${staging}.${column}`).join(", ")} FROM ${staging} WHERE ${staging}."_tributary_deleted" = true AND NOT EXISTS (SELECT 1 FROM ${tombstones} AS ${TOMBSTONE_ALIAS} WHERE ${keysMatch(model, TOMBSTONE_ALIAS, staging, dialect)})`,
      values: [],
    },
  ];
}

/** Where a truncate event came from: it becomes the marked rows' metadata (soft deletes). */
export interface TruncateEvent {
  readonly version: string;
  readonly sourceTs: string | null;
  readonly loadedAt: string;
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
}

/** Soft: rows older than the truncate are marked deleted; hard: they are removed. */
export function truncateRows(
  model: TableModel,
  dialect: Dialect,
  deletes: DeleteMode,
  event: TruncateEvent,
): Statement {
  const { target } = names(model, dialect);
  if (deletes === "hard") {
    return { text: `DELETE FROM ${target} WHERE "_tributary_version" < $1`, values: [event.version] };
  }
  return {
    text: `UPDATE ${target} SET "_tributary_deleted" = true, "_tributary_op" = 't', "_tributary_version" = $1, "_tributary_source_ts" = $2, "_tributary_loaded_at" = $3, "_tributary_topic" = $4, "_tributary_partition" = $5, "_tributary_offset" = $6 WHERE "_tributary_version" < $1 AND "_tributary_deleted" = false`,
    values: [event.version, event.sourceTs, event.loadedAt, event.topic, event.partition, event.offset],
  };
}

export function selectTruncateVersion(model: TableModel, dialect: Dialect): Statement {
  const { truncates } = names(model, dialect);
  return {
    text: `SELECT "_tributary_version" FROM ${truncates} WHERE "table_name" = $1`,
    values: [truncateKey(model, dialect)],
  };
}

/** Remembers the table's newest truncate: an INSERT when there was none, else an UPDATE. */
export function storeTruncateVersion(
  model: TableModel,
  dialect: Dialect,
  version: string,
  existing: boolean,
): Statement {
  const { truncates } = names(model, dialect);
  const key = truncateKey(model, dialect);
  if (!existing) {
    return {
      text: `INSERT INTO ${truncates} ("table_name", "_tributary_version") VALUES ($1, $2)`,
      values: [key, version],
    };
  }
  return {
    text: `UPDATE ${truncates} SET "_tributary_version" = $2 WHERE "table_name" = $1 AND "_tributary_version" < $2`,
    values: [key, version],
  };
}
