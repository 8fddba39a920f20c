/**
 * The sink's fast path for micro-batches of plain upserts, the bulk of any stream: each record's
 * row image goes from its Avro bytes straight into binary COPY fields, with no row object per
 * record (building, keeping and collecting those objects was most of the sink's CPU).
 *
 * The fast path takes the keys of a micro-batch whose records are all inserts, updates or snapshot
 * reads carrying their after image and no unavailable column; the other keys' records (deletes,
 * tombstones, unchanged TOAST) go to the general path, which applies them after. Deduplication
 * then needs only each record's key bytes and version (scanDirect). The images are
 * read as the COPY takes them (DirectBatch.copyPieces) with the general path's value readers,
 * value checks and field writers, except for shortcuts that keep their bytes: int64s stay numbers,
 * text is copied as its UTF-8, small decimals go from their unscaled integer to numeric digits,
 * int64s and timestamps skip the writers' checks of what a value is, and kinds that cannot be out
 * of range skip the value check. The warehouse gets the very bytes of the general path (the tests
 * compare them).
 *
 * Anything else leaves the whole micro-batch to the general path (batch.ts, apply.ts): a truncate,
 * records of other schemas, undecodable records, a value with a problem, a warehouse that refuses
 * the data.
 */
import { setImmediate } from "node:timers/promises";
import type { KafkaMessage } from "kafkajs";
import { AvroCursor } from "../../avro/binary-decoder.js";
import { decimalText, twosComplementToBigint } from "../../avro/decimal.js";
import {
  type BodyDecoder,
  type EnvelopeOf,
  type ImageValuesReader,
  readsTextAsPosition,
} from "../../avro/event-decoder.js";
import { WIRE_HEADER_BYTES, wireSchemaId } from "../../avro/wire-writer.js";
import type { ColumnSpec, Op, TableSpec } from "../../core/change-event.js";
import type { ColumnType } from "../../core/column-type.js";
import { BinaryCopyWriter } from "./binary-copy-writer.js";
import {
  avroShortcut,
  type FieldWriter,
  INT64_SHORTCUT,
  MICROS_SHORTCUT,
  metadataFieldsWriter,
  writeMicros,
} from "./copy-binary.js";
import { foldIdentifier } from "./identifier.js";
import { KeySlots } from "./key-slots.js";
import type { TableModel } from "./sql.js";
import { avroValueMayHaveProblem, valueProblem } from "./values.js";

/** How the records of one value schema and one key schema are read on the fast path. */
export interface DirectReaders {
  readonly valueSchemaId: number;
  readonly keySchemaId: number;
  /** The envelope with only where its image starts. */
  readonly scanner: BodyDecoder<EnvelopeOf<number>>;
  readonly image: ImageValuesReader;
  /** Checks that the key decodes: a key the general path would refuse is not taken here either. */
  readonly key: BodyDecoder<void>;
}

const upserts: ReadonlySet<Op> = new Set(["c", "u", "r"]);

/** Records scanned between two turns of the event loop. */
const SCAN_SLICE = 1000;

/** The schema ids of a chunk's first record, which every record of a direct chunk shares. */
export function chunkSchemaIds(
  messages: readonly KafkaMessage[],
): { valueSchemaId: number; keySchemaId: number } | undefined {
  const first = messages[0];
  const valueSchemaId = wireSchemaId(first?.value ?? null);
  const keySchemaId = wireSchemaId(first?.key ?? null);
  if (valueSchemaId === undefined || keySchemaId === undefined) return undefined;
  return { valueSchemaId, keySchemaId };
}

/**
 * Writes a decimal from its Avro bytes (the unscaled integer's two's complement) as `field`
 * writes its text; false for a value with a problem.
 */
type DecimalBytesWriter = (
  writer: BinaryCopyWriter,
  buffer: Buffer,
  start: number,
  length: number,
) => boolean;

/** Into a DECIMAL column, an unscaled integer of up to 6 bytes goes to numeric digits, no text. */
function decimalBytesWriter(
  type: Extract<ColumnType, { kind: "decimal" }>,
  stored: string | undefined,
  field: FieldWriter,
): DecimalBytesWriter {
  const { precision, scale } = type;
  // valueProblem's limit, |unscaled| < 10^precision; every 6-byte integer is below 10^15.
  const limit = precision < 15 ? 10 ** precision : Number.POSITIVE_INFINITY;
  const asText: DecimalBytesWriter = (writer, buffer, start, length) => {
    const text = decimalText(twosComplementToBigint(buffer.subarray(start, start + length)), scale);
    if (valueProblem(type, text, "postgres") !== undefined) return false;
    field(writer, text);
    return true;
  };
  if (stored !== "DECIMAL") return asText;
  return (writer, buffer, start, length) => {
    if (length > 6) return asText(writer, buffer, start, length);
    const unscaled = length === 0 ? 0 : buffer.readIntBE(start, length);
    if (Math.abs(unscaled) >= limit) return false;
    return writer.numericUnscaled(unscaled, scale) || asText(writer, buffer, start, length);
  };
}

/**
 * A micro-batch's rows, one per key (its highest version; of equal versions the first), as
 * positions in the fetched records: nothing is decoded of them beyond the envelope.
 */
export class DirectBatch {
  readonly table: TableSpec;
  readonly #messages: readonly KafkaMessage[];
  readonly #image: ImageValuesReader;
  /** Per row: its record, where its image starts, and its envelope's fields. */
  readonly #records: number[] = [];
  readonly #positions: number[] = [];
  readonly #versions: string[] = [];
  readonly #ops: Op[] = [];
  readonly #sourceTsMs: number[] = [];

  constructor(table: TableSpec, messages: readonly KafkaMessage[], image: ImageValuesReader) {
    this.table = table;
    this.#messages = messages;
    this.#image = image;
  }

  get columns(): readonly ColumnSpec[] {
    return this.table.columns;
  }

  get rowCount(): number {
    return this.#records.length;
  }

  /** Adds a key's row: record `record`, its image at `position`. */
  keep(record: number, position: number, version: string, op: Op, sourceTsMs: number): void {
    this.#records.push(record);
    this.#positions.push(position);
    this.#versions.push(version);
    this.#ops.push(op);
    this.#sourceTsMs.push(sourceTsMs);
  }

  /**
   * The binary COPY data of the rows for `model` (whose columns are this batch's) with `writers`
   * (binaryFieldWriters of it), in pieces of about 256 KB, encoded as the COPY takes them. Throws
   * DirectRowRefused at a value with a problem or a key column without a value: the general path
   * then says which record and why.
   */
  *copyPieces(
    model: TableModel,
    writers: readonly FieldWriter[],
    loadedAtMicros: number,
    topic: string,
    partition: number,
  ): Generator<Buffer> {
    const layout = this.table.columns;
    // The image is read by the layout's types: each model column must be one of its, as it is.
    const indexes = model.columns.map((column) =>
      layout.findIndex(
        (other) => other.name === column.name && JSON.stringify(other.type) === JSON.stringify(column.type),
      ),
    );
    if (indexes.includes(-1)) throw new DirectRowRefused("the model has other columns");
    const keys = new Set(model.keyColumns);
    const isKey = model.columns.map((column) => keys.has(column.name));
    const types = model.columns.map((column) => column.type);
    const textBytes = types.map(readsTextAsPosition);
    const checked = types.map((type) => avroValueMayHaveProblem(type, "postgres"));
    const stored = model.columns.map((column) =>
      model.warehouseTypes?.get(foldIdentifier(column.name, "postgres")),
    );
    const shortcuts = types.map((type, column) => avroShortcut(type, stored[column]));
    const decimals = model.columns.map((column, index) =>
      column.type.kind === "decimal"
        ? decimalBytesWriter(column.type, stored[index]?.base, writers[index] as FieldWriter)
        : undefined,
    );
    const bytes = new AvroCursor();
    const sourceCount = model.columns.length;
    const writeMetadata = metadataFieldsWriter(writers, sourceCount, loadedAtMicros);
    const values: unknown[] = new Array(layout.length);
    const writer = new BinaryCopyWriter();
    writer.header();
    for (let row = 0; row < this.#records.length; row++) {
      const message = this.#messages[this.#records[row] as number] as KafkaMessage;
      const buffer = message.value as Buffer;
      this.#image.read(buffer, this.#positions[row] as number, values);
      writer.row(writers.length);
      for (let column = 0; column < sourceCount; column++) {
        const value = values[indexes[column] as number];
        if (value === null || value === undefined) {
          if (isKey[column]) throw new DirectRowRefused("a key column has no value");
          (writers[column] as FieldWriter)(writer, value);
          continue;
        }
        const decimal = decimals[column];
        if (textBytes[column] || decimal !== undefined) {
          // The image gave where the value's Avro bytes start.
          bytes.start(buffer, value as number);
          const length = bytes.readLength();
          // Text's only writer is text(): the same UTF-8, copied instead of decoded and encoded.
          if (decimal === undefined) writer.utf8(buffer, bytes.position, length);
          else if (!decimal(writer, buffer, bytes.position, length)) {
            throw new DirectRowRefused("a value has a problem");
          }
          bytes.detach();
          continue;
        }
        // Int64s and timestamps, the most common keys and columns, without a call through writers.
        const shortcut = shortcuts[column];
        if (shortcut === INT64_SHORTCUT) {
          writer.int64(value as number | bigint);
          continue;
        }
        if (shortcut === MICROS_SHORTCUT && writeMicros(writer, value as number)) continue;
        if (
          checked[column] &&
          valueProblem(types[column] as ColumnSpec["type"], value, "postgres") !== undefined
        ) {
          throw new DirectRowRefused("a value has a problem");
        }
        (writers[column] as FieldWriter)(writer, value);
      }
      writeMetadata(
        writer,
        this.#versions[row] as string,
        this.#ops[row] as Op,
        false,
        this.#sourceTsMs[row] as number,
        topic,
        partition,
        message.offset,
      );
      if (writer.hasFull) yield* writer.takeFull();
    }
    writer.trailer();
    yield* writer.takeFull();
    yield writer.rest();
  }
}

/** A row the fast path leaves to the general path (which finds it again and says why). */
export class DirectRowRefused extends Error {}

/** A chunk as the fast path takes it: its direct rows, and the records left to the general path. */
export interface ScannedChunk {
  /** The rows of the keys with plain upserts only; undefined when there are none. */
  readonly batch: DirectBatch | undefined;
  /** Every record of the other keys (a delete, a tombstone, unavailable columns), in offset order. */
  readonly general: readonly KafkaMessage[];
}

/**
 * The chunk split by key: the keys whose records are all plain upserts as a direct batch,
 * deduplicated, and every record of the other keys for the general path (which needs a key's
 * earlier records too: a delete keeps the batch's last values of its row). Undefined when the
 * whole chunk must take the general path: a record of other schemas, one that does not decode, a
 * truncate.
 */
export async function scanDirect(
  messages: readonly KafkaMessage[],
  readers: DirectReaders,
): Promise<ScannedChunk | undefined> {
  /** Keys by their bytes (one key schema, so equal keys, equal bytes), and each record's. */
  const keys = new KeySlots(messages.length);
  const slotOf = new Int32Array(messages.length);
  /** Per key slot, in arrays (no object per record outlives its scan): its row so far, -1 for none. */
  const records: number[] = [];
  const positions: number[] = [];
  const versions: string[] = [];
  const ops: Op[] = [];
  const sourceTsMs: number[] = [];
  /** Per key slot: 1 when its records go to the general path. */
  const generalKeys = new Uint8Array(messages.length);
  let table: TableSpec | undefined;
  for (let record = 0; record < messages.length; record++) {
    // The warehouse transactions in flight wait for the event loop between their statements.
    if (record % SCAN_SLICE === SCAN_SLICE - 1) await setImmediate();
    const { key, value } = messages[record] as KafkaMessage;
    if (wireSchemaId(key) !== readers.keySchemaId) return undefined;
    const tombstone = value === null || value.length === 0;
    if (!tombstone && wireSchemaId(value) !== readers.valueSchemaId) return undefined;
    let envelope: EnvelopeOf<number> | undefined;
    try {
      readers.key.decode(key as Buffer, WIRE_HEADER_BYTES);
      if (!tombstone) envelope = readers.scanner.decode(value as Buffer, WIRE_HEADER_BYTES);
    } catch {
      return undefined; // the general path sends it to the dead-letter topic, saying why
    }
    if (envelope?.op === "t") return undefined;
    const slot = keys.slotOf(key as Buffer, WIRE_HEADER_BYTES, (key as Buffer).length);
    slotOf[record] = slot;
    if (slot === records.length) {
      records.push(-1);
      positions.push(0);
      versions.push("");
      ops.push("c");
      sourceTsMs.push(0);
    }
    const position = envelope?.image ?? null;
    if (
      !envelope ||
      !upserts.has(envelope.op) ||
      position === null ||
      envelope.unavailableColumns.length > 0
    ) {
      generalKeys[slot] = 1;
      continue;
    }
    table ??= envelope.table;
    if (records[slot] !== -1 && envelope.version <= (versions[slot] as string)) continue;
    records[slot] = record;
    positions[slot] = position;
    versions[slot] = envelope.version;
    ops[slot] = envelope.op;
    sourceTsMs[slot] = envelope.sourceTsMs;
  }
  let batch: DirectBatch | undefined;
  let anyGeneral = false;
  for (let slot = 0; slot < keys.count; slot++) {
    if (generalKeys[slot] === 1) {
      anyGeneral = true;
      continue;
    }
    // Every key without a general record has an upsert.
    batch ??= new DirectBatch(table as TableSpec, messages, readers.image);
    batch.keep(
      records[slot] as number,
      positions[slot] as number,
      versions[slot] as string,
      ops[slot] as Op,
      sourceTsMs[slot] as number,
    );
  }
  const general = anyGeneral
    ? messages.filter((_, record) => generalKeys[slotOf[record] as number] === 1)
    : [];
  return { batch, general };
}
