/**
 * Staged rows as COPY text (postgres dialect), in pieces for the COPY stream. Each field is what
 * copyField(toParameter(...)) gives, written straight into the line: no tuple per row, and a
 * formatter per column chosen once per batch rather than a switch per value. Pure.
 */
import type { ColumnType } from "../../core/column-type.js";
import type { StagedRow } from "./batch.js";
import { copyField } from "./copy-text.js";
import type { TableModel } from "./sql.js";
import { msToTimestamptz, timestampText, toParameter } from "./values.js";

/** COPY data goes to the server in pieces of about this many characters. */
const COPY_PIECE_CHARS = 256 * 1024;

const NULL_FIELD = "\\N";

type FieldFormatter = (value: unknown) => string;

/** The COPY field of a column value; the common types skip toParameter's switch. */
function fieldFormatter(type: ColumnType): FieldFormatter {
  switch (type.kind) {
    case "string":
      return (value) =>
        value === null || value === undefined
          ? NULL_FIELD
          : copyField(typeof value === "string" ? value : String(value));
    case "int16":
    case "int32":
    case "int64":
    case "decimal":
      return (value) => (value === null || value === undefined ? NULL_FIELD : copyField(String(value)));
    case "timestamptz":
      return (value) => (value === null || value === undefined ? NULL_FIELD : `${timestampText(value)}+00`);
    default:
      return (value) => copyField(toParameter(type, value, "postgres"));
  }
}

/** The COPY lines of `rows` (stagedColumnNames order), in pieces of about COPY_PIECE_CHARS. */
export function* copyPieces(
  model: TableModel,
  rows: readonly StagedRow[],
  loadedAt: string,
): Generator<string> {
  const names = model.columns.map((column) => column.name);
  const formatters = model.columns.map((column) => fieldFormatter(column.type));
  const loadedAtField = copyField(loadedAt);
  let piece = "";
  for (const row of rows) {
    const { values, origin } = row;
    let line = "";
    for (let index = 0; index < names.length; index++) {
      line += `${(formatters[index] as FieldFormatter)(values[names[index] as string])}\t`;
    }
    const sourceTs = msToTimestamptz(row.sourceTsMs);
    line += `${copyField(row.version)}\t${copyField(row.op)}\t${row.deleted ? "t" : "f"}\t${sourceTs ?? NULL_FIELD}\t${loadedAtField}\t${copyField(origin.topic)}\t${origin.partition}\t${copyField(origin.offset)}\n`;
    piece += line;
    if (piece.length >= COPY_PIECE_CHARS) {
      yield piece;
      piece = "";
    }
  }
  if (piece.length > 0) yield piece;
}
