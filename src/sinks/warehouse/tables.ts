/**
 * The warehouse tables as the sink needs them: created when missing (with the tombstone and
 * truncate state tables), new columns added, widened columns altered, and incompatible column
 * changes reported per writer schema so that only those records go to the DLQ.
 */
import type pg from "pg";
import type { ColumnSpec } from "../../core/change-event.js";
import type { Logger } from "../../core/logger.js";
import { foldIdentifier } from "./identifier.js";
import type { DeleteMode } from "./merge-sql.js";
import {
  addColumn,
  alterColumnType,
  createSchema,
  createTable,
  createTombstonesTable,
  createTruncatesTable,
  type Statement,
  type TableModel,
  type WarehouseColumn,
} from "./sql.js";
import {
  type Dialect,
  fromInformationSchema,
  type InformationSchemaColumn,
  typeChange,
  type WarehouseType,
  warehouseType,
} from "./typemap.js";

export interface TableManagerOptions {
  readonly pool: pg.Pool;
  readonly dialect: Dialect;
  readonly schema: string;
  readonly deletes: DeleteMode;
  readonly logger: Logger;
}

/** Another instance created the same thing first: not a failure. */
const alreadyThere: ReadonlySet<string> = new Set(["42P06", "42P07", "42701", "23505", "42710"]);

export interface PreparedTable {
  readonly model: TableModel;
  /** Why a writer schema cannot be applied, by schema (the columns array of its events). */
  readonly incompatible: ReadonlyMap<readonly ColumnSpec[], string>;
}

export class TableManager {
  readonly #options: TableManagerOptions;
  #schemaReady = false;
  readonly #columns = new Map<string, Map<string, WarehouseType>>();

  constructor(options: TableManagerOptions) {
    this.#options = options;
  }

  /** Forgets what it knows of the tables (after a failure, someone may have changed them). */
  reset(): void {
    this.#columns.clear();
    this.#schemaReady = false;
  }

  async #run(statement: Statement): Promise<void> {
    try {
      await this.#options.pool.query(statement.text, [...statement.values]);
    } catch (error) {
      if (!alreadyThere.has(String((error as { code?: unknown }).code))) throw error;
    }
  }

  async #existing(table: string): Promise<Map<string, WarehouseType> | undefined> {
    const { pool, dialect, schema } = this.#options;
    const result = await pool.query<InformationSchemaColumn & { column_name: string }>(
      "SELECT column_name, data_type, character_maximum_length, numeric_precision, numeric_scale FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2",
      [foldIdentifier(schema, dialect), foldIdentifier(table, dialect)],
    );
    if (result.rows.length === 0) return undefined;
    return new Map(result.rows.map((row) => [row.column_name, fromInformationSchema(row)]));
  }

  /**
   * Makes the table fit the events' writer schemas (`schemas`, newest last) and returns the model
   * to stage with: every compatible schema's columns, typed as the newest schema says, and the
   * table's actual column types.
   */
  async prepare(
    table: string,
    keyColumns: readonly string[],
    schemas: readonly (readonly ColumnSpec[])[],
  ): Promise<PreparedTable> {
    const { dialect, schema, deletes, logger } = this.#options;
    if (!this.#schemaReady) {
      await this.#run(createSchema(schema, dialect));
      await this.#run(createTruncatesTable(schema, dialect));
      this.#schemaReady = true;
    }
    let existing = this.#columns.get(table) ?? (await this.#existing(table));
    const newest = schemas.at(-1) ?? [];
    const incompatible = new Map<readonly ColumnSpec[], string>();
    if (existing) {
      for (const columns of schemas) {
        const reasons = columns.flatMap((column) => {
          const current = existing?.get(foldIdentifier(column.name, dialect));
          if (!current) return [];
          const change = typeChange(current, warehouseType(column.type, dialect), dialect);
          return change.kind === "incompatible" ? [`column "${column.name}": ${change.reason}`] : [];
        });
        if (reasons.length > 0) incompatible.set(columns, reasons.join("; "));
      }
    }
    const byName = new Map<string, WarehouseColumn>();
    for (const columns of schemas) {
      if (incompatible.has(columns)) continue;
      for (const column of columns) byName.set(column.name, { name: column.name, type: column.type });
    }
    // Newest schema's order first, then columns only older schemas still carry.
    const ordered = [
      ...newest.filter((column) => byName.has(column.name)).map((column) => byName.get(column.name)),
      ...[...byName.values()].filter((column) => !newest.some((other) => other.name === column.name)),
    ] as WarehouseColumn[];
    const model: TableModel = { schema, table, columns: ordered, keyColumns };
    if (byName.size === 0) return { model, incompatible };

    if (!existing) {
      await this.#run(createTable(model, dialect));
      if (deletes === "hard") await this.#run(createTombstonesTable(model, dialect));
      logger.info({ table }, "created warehouse table");
      existing = (await this.#existing(table)) ?? new Map();
    } else if (deletes === "hard" && !this.#columns.has(table)) {
      await this.#run(createTombstonesTable(model, dialect));
    }
    for (const column of model.columns) {
      const name = foldIdentifier(column.name, dialect);
      const wanted = warehouseType(column.type, dialect);
      const current = existing.get(name);
      if (!current) {
        await this.#run(addColumn(model, column, dialect));
        logger.info({ table, column: column.name }, "added warehouse column");
        existing.set(name, wanted);
        continue;
      }
      const change = typeChange(current, wanted, dialect);
      if (change.kind === "widen") {
        await this.#run(alterColumnType(model, column.name, change.to, dialect));
        logger.info({ table, column: column.name }, "widened warehouse column");
        existing.set(name, change.to);
      }
    }
    this.#columns.set(table, existing);
    // A copy: the model says what the table is now; the cached map changes with later prepares.
    return { model: { ...model, warehouseTypes: new Map(existing) }, incompatible };
  }
}
