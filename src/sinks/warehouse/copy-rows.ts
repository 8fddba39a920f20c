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

/** COPY data goes to the server in pieces of about this many bytes. */
const COPY_PIECE_BYTES = 256 * 1024;

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

/**
 * COPY data written into buffers of about COPY_PIECE_BYTES: no piece is built as a string of
 * lines (a deep tree of concatenations to flatten and convert whole afterwards), and no row gets
 * a Buffer of its own. The binary format writes its fields through the same buffers
 * (copy-binary.ts).
 */
export class PieceWriter {
  protected buffer = Buffer.allocUnsafe(COPY_PIECE_BYTES);
  /** The bytes of `buffer` written so far. */
  protected length = 0;
  readonly #full: Buffer[] = [];

  /**
   * Makes room for `bytes` more in `buffer`, putting it aside as full when it has no such room or
   * holds a piece's worth already (after an oversized row, its buffer is oversized).
   */
  protected reserve(bytes: number): void {
    if (this.length + bytes <= this.buffer.length && this.length < COPY_PIECE_BYTES) return;
    if (this.length > 0) this.#full.push(this.buffer.subarray(0, this.length));
    this.buffer = Buffer.allocUnsafe(Math.max(COPY_PIECE_BYTES, bytes));
    this.length = 0;
  }

  /** A line, newline included. */
  line(text: string): void {
    this.reserve(text.length * 3);
    this.length += this.buffer.write(text, this.length);
  }

  /** The pieces filled since the last call. */
  takeFull(): Buffer[] {
    return this.#full.length === 0 ? noPieces : this.#full.splice(0);
  }

  /** Whether a piece is full: checked per row, so that no iterator is made for none. */
  get hasFull(): boolean {
    return this.#full.length > 0;
  }

  rest(): Buffer {
    return this.buffer.subarray(0, this.length);
  }
}

const noPieces: Buffer[] = [];

/** The COPY lines of `rows` (stagedColumnNames order), in pieces of about COPY_PIECE_BYTES. */
export function* copyPieces(
  model: TableModel,
  rows: readonly StagedRow[],
  loadedAt: string,
): Generator<Buffer> {
  const names = model.columns.map((column) => column.name);
  const formatters = model.columns.map((column) => fieldFormatter(column.type));
  const loadedAtField = copyField(loadedAt);
  const writer = new PieceWriter();
  for (const row of rows) {
    const { values, origin } = row;
    let line = "";
    for (let index = 0; index < names.length; index++) {
      line += `${(formatters[index] as FieldFormatter)(values[names[index] as string])}\t`;
    }
    const sourceTs = msToTimestamptz(row.sourceTsMs);
    line += `${copyField(row.version)}\t${copyField(row.op)}\t${row.deleted ? "t" : "f"}\t${sourceTs ?? NULL_FIELD}\t${loadedAtField}\t${copyField(origin.topic)}\t${origin.partition}\t${copyField(origin.offset)}\n`;
    writer.line(line);
    if (writer.hasFull) yield* writer.takeFull();
  }
  const rest = writer.rest();
  if (rest.length > 0) yield rest;
}
