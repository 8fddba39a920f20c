/** Building ChangeEvents from decoded values: the same row decoding for snapshot and stream. */
import type { ChangeEvent, Op, Row, SourceInfo } from "../../core/change-event.js";
import type { CapturedColumn, CapturedTable } from "./catalog.js";
import { type Tuple, UNCHANGED } from "./pgoutput.js";

export interface DecodedRow {
  readonly row: Row;
  /** Columns the server did not send (unchanged TOAST values): null in `row`. */
  readonly unavailable: string[];
}

function decodeValue(column: CapturedColumn, text: string, table: CapturedTable): unknown {
  try {
    return column.decode(text);
  } catch (error) {
    throw new Error(
      `cannot decode ${table.qualifiedName}.${column.spec.name} (${column.spec.sourceType}) value ${JSON.stringify(text.slice(0, 80))}`,
      { cause: error },
    );
  }
}

/** A row from text values in column order (a snapshot row, or a pgoutput tuple). */
export function decodeRow(table: CapturedTable, values: Tuple, fallback?: Row): DecodedRow {
  const row: Row = {};
  const unavailable: string[] = [];
  const columns = table.columns;
  for (let index = 0; index < columns.length; index++) {
    const column = columns[index] as CapturedColumn;
    const value = values[index];
    const name = column.spec.name;
    if (value === UNCHANGED) {
      // REPLICA IDENTITY FULL sent the whole old row: the unchanged value is known.
      if (fallback && name in fallback) row[name] = fallback[name];
      else {
        row[name] = null;
        unavailable.push(name);
      }
    } else if (value === null || value === undefined) row[name] = null;
    else row[name] = decodeValue(column, value, table);
  }
  return { row, unavailable };
}

/** Only the key columns of a key tuple (REPLICA IDENTITY DEFAULT or INDEX): the other columns were not sent. */
export function keyRow(table: CapturedTable, values: Tuple): Row {
  const { row } = decodeRow(table, values);
  const key: Row = {};
  for (const name of table.spec.keyColumns) key[name] = row[name] ?? null;
  return key;
}

export function changeEvent(
  table: CapturedTable,
  op: Op,
  rows: { before: Row | null; after: Row | null; unavailable?: readonly string[] },
  source: SourceInfo,
): ChangeEvent {
  return {
    table: table.spec,
    op,
    before: rows.before,
    after: rows.after,
    source,
    unavailableColumns: rows.unavailable ?? [],
  };
}
