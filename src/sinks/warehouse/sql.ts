/**
 * The statements the sink runs, generated per dialect by pure functions (PeerDB's model) and
 * tested as exact strings. The data statements are the same on Redshift and Postgres: a temporary
 * staging table LIKE the target, DELETE ... USING and INSERT ... SELECT ... WHERE NOT EXISTS,
 * because Redshift has neither ON CONFLICT nor MERGE ... WHEN MATCHED AND. Only DDL types and
 * the SUPER / VARBYTE value wrappers differ.
 */
import type { ColumnType } from "../../core/column-type.js";
import { foldIdentifier, qualifiedName, quoteIdentifier } from "./identifier.js";
import { type Dialect, renderType, type WarehouseType, warehouseType } from "./typemap.js";

export interface WarehouseColumn {
  readonly name: string;
  readonly type: ColumnType;
}

export interface TableModel {
  readonly schema: string;
  readonly table: string;
  /** The source columns, in source order. */
  readonly columns: readonly WarehouseColumn[];
  readonly keyColumns: readonly string[];
  /**
   * The table's column types as the warehouse reports them, by folded column name, metadata
   * columns included; absent when unknown. Binary COPY must write exactly these types.
   */
  readonly warehouseTypes?: ReadonlyMap<string, WarehouseType>;
}

export interface Statement {
  readonly text: string;
  readonly values: readonly unknown[];
}

/** The bookkeeping columns after the source columns, in this order (PRODUCT.md, "Warehouse tables"). */
export const metadataColumns = [
  "_tributary_version",
  "_tributary_op",
  "_tributary_deleted",
  "_tributary_source_ts",
  "_tributary_loaded_at",
  "_tributary_topic",
  "_tributary_partition",
  "_tributary_offset",
] as const;

/** Per-schema state: the version of the last truncate per table, so older replays stay out. */
export const TRUNCATES_TABLE = "_tributary_truncates";
export const UNAVAILABLE_TABLE = "_tributary_unavailable";

function metadataDefinitions(dialect: Dialect): string[] {
  // Versions compare as bytes: Postgres needs the C collation for that, Redshift does it anyway.
  const collate = dialect === "postgres" ? ' COLLATE "C"' : "";
  return [
    `"_tributary_version" VARCHAR(256)${collate} NOT NULL`,
    `"_tributary_op" VARCHAR(1) NOT NULL`,
    `"_tributary_deleted" BOOLEAN NOT NULL`,
    `"_tributary_source_ts" TIMESTAMPTZ`,
    `"_tributary_loaded_at" TIMESTAMPTZ NOT NULL`,
    `"_tributary_topic" VARCHAR(255) NOT NULL`,
    `"_tributary_partition" INTEGER NOT NULL`,
    `"_tributary_offset" BIGINT NOT NULL`,
  ];
}

const q = quoteIdentifier;

export function tombstonesTableName(model: TableModel, dialect: Dialect): string {
  return foldIdentifier(`${foldIdentifier(model.table, dialect)}__tombstones`, dialect);
}

/** The staging table's name; never the target's own. */
export function stagingTableName(model: TableModel, dialect: Dialect): string {
  return foldIdentifier(model.table, dialect) === "_tributary_stage"
    ? "_tributary_stage_"
    : "_tributary_stage";
}

function keyColumnsOf(model: TableModel): WarehouseColumn[] {
  return model.keyColumns.map((key) => {
    const column = model.columns.find((candidate) => candidate.name === key);
    if (!column) throw new TypeError(`key column ${key} is not a column of ${model.table}`);
    return column;
  });
}

function columnDefinition(column: WarehouseColumn, notNull: boolean, dialect: Dialect): string {
  return `${q(column.name, dialect)} ${renderType(warehouseType(column.type, dialect))}${notNull ? " NOT NULL" : ""}`;
}

function keyList(model: TableModel, dialect: Dialect): string {
  return model.keyColumns.map((key) => q(key, dialect)).join(", ");
}

/** `"a"."k1" = "b"."k1" AND "a"."k2" = "b"."k2"` */
export function keysMatch(model: TableModel, left: string, right: string, dialect: Dialect): string {
  return model.keyColumns
    .map((key) => `${left}.${q(key, dialect)} = ${right}.${q(key, dialect)}`)
    .join(" AND ");
}

const undistributable: ReadonlySet<string> = new Set(["SUPER", "VARBYTE"]);

/**
 * Redshift: the first key column distributes the rows and the key sorts them, so the staging
 * joins on the key are collocated and merge-joinable (CREATE TEMP TABLE ... LIKE inherits both).
 * A key Redshift cannot distribute on (SUPER, VARBYTE) leaves the choice to Redshift (AUTO).
 */
function redshiftDistribution(model: TableModel): string {
  const keys = keyColumnsOf(model);
  const first = keys[0];
  if (!first) return "";
  const types: WarehouseType[] = keys.map((key) => warehouseType(key.type, "redshift"));
  if (types.some((type) => undistributable.has(type.base))) return "";
  return ` DISTKEY (${q(first.name, "redshift")}) SORTKEY (${keyList(model, "redshift")})`;
}

export function createSchema(schema: string, dialect: Dialect): Statement {
  return { text: `CREATE SCHEMA IF NOT EXISTS ${q(schema, dialect)}`, values: [] };
}

export function createTable(model: TableModel, dialect: Dialect): Statement {
  const keys = new Set(model.keyColumns);
  const lines = [
    ...model.columns.map((column) => columnDefinition(column, keys.has(column.name), dialect)),
    ...metadataDefinitions(dialect),
    `PRIMARY KEY (${keyList(model, dialect)})`,
  ];
  const distribution = dialect === "redshift" ? redshiftDistribution(model) : "";
  const name = qualifiedName(model.schema, model.table, dialect);
  return {
    text: `CREATE TABLE IF NOT EXISTS ${name} (\n  ${lines.join(",\n  ")}\n)${distribution}`,
    values: [],
  };
}

/** `deletes: hard`: the key and version of each deleted row, so that replays stay idempotent. */
export function createTombstonesTable(model: TableModel, dialect: Dialect): Statement {
  const lines = [
    ...keyColumnsOf(model).map((column) => columnDefinition(column, true, dialect)),
    metadataDefinitions(dialect)[0],
    `PRIMARY KEY (${keyList(model, dialect)})`,
  ];
  const name = `${q(model.schema, dialect)}.${q(tombstonesTableName(model, dialect), dialect)}`;
  return { text: `CREATE TABLE IF NOT EXISTS ${name} (\n  ${lines.join(",\n  ")}\n)`, values: [] };
}

export function createTruncatesTable(schema: string, dialect: Dialect): Statement {
  const lines = [
    `"table_name" VARCHAR(127) NOT NULL`,
    metadataDefinitions(dialect)[0],
    `PRIMARY KEY ("table_name")`,
  ];
  const name = qualifiedName(schema, TRUNCATES_TABLE, dialect);
  return { text: `CREATE TABLE IF NOT EXISTS ${name} (\n  ${lines.join(",\n  ")}\n)`, values: [] };
}

export function addColumn(model: TableModel, column: WarehouseColumn, dialect: Dialect): Statement {
  const name = qualifiedName(model.schema, model.table, dialect);
  return { text: `ALTER TABLE ${name} ADD COLUMN ${columnDefinition(column, false, dialect)}`, values: [] };
}

/** Widening in place: Postgres any compatible type, Redshift VARCHAR lengths only (typemap.ts). */
export function alterColumnType(
  model: TableModel,
  column: string,
  type: WarehouseType,
  dialect: Dialect,
): Statement {
  const name = qualifiedName(model.schema, model.table, dialect);
  return {
    text: `ALTER TABLE ${name} ALTER COLUMN ${q(column, dialect)} TYPE ${renderType(type)}`,
    values: [],
  };
}

export function createStaging(model: TableModel, dialect: Dialect): Statement {
  const target = qualifiedName(model.schema, model.table, dialect);
  return {
    text: `CREATE TEMP TABLE ${q(stagingTableName(model, dialect), dialect)} (LIKE ${target})`,
    values: [],
  };
}

/**
 * The metadata columns whose value is the same in every row of a fast-path micro-batch (one
 * topic-partition, one load time, upserts only): they become the staging table's defaults
 * (stagingBatchDefaults) and stay out of its COPY data, about 30 % of its bytes for narrow rows.
 */
export const batchConstantColumns = [
  "_tributary_deleted",
  "_tributary_loaded_at",
  "_tributary_topic",
  "_tributary_partition",
] as const;

/** What batchConstantColumns hold for a micro-batch of upserts (`_tributary_deleted` is false). */
export interface BatchConstants {
  /** `_tributary_loaded_at` as timestamptz text. */
  readonly loadedAt: string;
  readonly topic: string;
  readonly partition: number;
}

function textLiteral(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/** Postgres, after createStaging: the micro-batch's constants as the staging table's defaults. */
export function stagingBatchDefaults(model: TableModel, constants: BatchConstants): Statement {
  const staging = q(stagingTableName(model, "postgres"), "postgres");
  const defaults: Record<(typeof batchConstantColumns)[number], string> = {
    _tributary_deleted: "false",
    _tributary_loaded_at: textLiteral(constants.loadedAt),
    _tributary_topic: textLiteral(constants.topic),
    _tributary_partition: String(Math.trunc(constants.partition)),
  };
  const alterations = batchConstantColumns.map(
    (column) => `ALTER COLUMN ${q(column, "postgres")} SET DEFAULT ${defaults[column]}`,
  );
  return { text: `ALTER TABLE ${staging} ${alterations.join(", ")}`, values: [] };
}

export function dropStaging(model: TableModel, dialect: Dialect): Statement {
  return { text: `DROP TABLE ${q(stagingTableName(model, dialect), dialect)}`, values: [] };
}

/** Only for a batch with markers (insertUnavailable): most batches have none. */
export function createUnavailable(): Statement {
  return {
    text: `CREATE TEMP TABLE "${UNAVAILABLE_TABLE}" ("_tributary_partition" INTEGER NOT NULL, "_tributary_offset" BIGINT NOT NULL, "column_name" VARCHAR(65535))`,
    values: [],
  };
}

export function dropUnavailable(): Statement {
  return { text: `DROP TABLE "${UNAVAILABLE_TABLE}"`, values: [] };
}

function placeholder(type: ColumnType | undefined, index: number, dialect: Dialect): string {
  if (dialect === "redshift" && type && (type.kind === "json" || type.kind === "array")) {
    return `JSON_PARSE($${index})`;
  }
  if (dialect === "redshift" && type?.kind === "bytes") return `FROM_HEX($${index})`;
  return `$${index}`;
}

/** The column list of a staged row: the source columns, then the metadata columns. */
export function stagedColumnNames(model: TableModel): string[] {
  return [...model.columns.map((column) => column.name), ...metadataColumns];
}

/** One multi-row INSERT into the staging table; `rows` are parameter tuples in stagedColumnNames order. */
export function insertStaged(
  model: TableModel,
  rows: readonly (readonly unknown[])[],
  dialect: Dialect,
): Statement {
  const names = stagedColumnNames(model);
  const types = model.columns.map((column) => column.type);
  const tuples: string[] = [];
  const values: unknown[] = [];
  for (const row of rows) {
    const marks = names.map((_, column) => placeholder(types[column], values.length + column + 1, dialect));
    tuples.push(`(${marks.join(", ")})`);
    values.push(...row);
  }
  const staging = q(stagingTableName(model, dialect), dialect);
  const columns = names.map((name) => q(name, dialect)).join(", ");
  return { text: `INSERT INTO ${staging} (${columns}) VALUES ${tuples.join(", ")}`, values };
}

/**
 * Rows of [partition, offset, column name] naming the columns an event did not carry; a null
 * column name means every non-key column (a soft delete keeping the stored values).
 */
export function insertUnavailable(rows: readonly (readonly [number, string, string | null])[]): Statement {
  const tuples = rows.map((_, row) => `($${row * 3 + 1}, $${row * 3 + 2}, $${row * 3 + 3})`);
  return {
    text: `INSERT INTO "${UNAVAILABLE_TABLE}" ("_tributary_partition", "_tributary_offset", "column_name") VALUES ${tuples.join(", ")}`,
    values: rows.flat(),
  };
}
