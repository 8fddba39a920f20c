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
  type EnvelopeScanner,
  type ImageValuesReader,
  readsTextAsPosition,
} from "../../avro/event-decoder.js";
import { WIRE_HEADER_BYTES, wireSchemaId } from "../../avro/wire-writer.js";
import type { ColumnSpec, Op, TableSpec } from "../../core/change-event.js";
import type { ColumnType } from "../../core/column-type.js";
import { BinaryCopyWriter } from "./binary-copy-writer.js";
import {
  avroShortcut,
  batchRowFields,
  batchRowMetadataWriter,
  type FieldWriter,
  INT64_SHORTCUT,
  MICROS_SHORTCUT,
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
  /** Where the envelope's image and version are. */
  readonly scanner: EnvelopeScanner;
  readonly image: ImageValuesReader;
  /** Checks that the key decodes: a key the general path would refuse is not taken here either. */
  readonly key: BodyDecoder<void>;
}

/** The ops of plain upserts, each stored as its index + 1 (RowSlots.ops): 0 for any other op. */
const upsertOps: readonly Op[] = ["c", "u", "r"];
const upsertCodes: Readonly<Partial<Record<Op, number>>> = { c: 1, u: 2, r: 3 };

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
 * Per key slot (KeySlots) of a scanned chunk, in typed arrays, no object per record: the record
 * holding the key's row (its highest version so far; -1 for none), where its image and version
 * are in that record's value, its op's code (upsertCodes) and source ts_ms.
 */
class RowSlots {
  readonly records: Int32Array;
  readonly images: Int32Array;
  readonly versionStarts: Int32Array;
  readonly versionEnds: Int32Array;
  readonly ops: Uint8Array;
  readonly sourceTsMs: Float64Array;
  /** 1 for the keys whose records go to the general path. */
  readonly general: Uint8Array;

  constructor(capacity: number) {
    this.records = new Int32Array(capacity).fill(-1);
    this.images = new Int32Array(capacity);
    this.versionStarts = new Int32Array(capacity);
    this.versionEnds = new Int32Array(capacity);
    this.ops = new Uint8Array(capacity);
    this.sourceTsMs = new Float64Array(capacity);
    this.general = new Uint8Array(capacity);
  }
}

/**
 * A micro-batch's rows, one per key (its highest version; of equal versions the first), as
 * positions in the fetched records: nothing is decoded of them beyond the envelope.
 */
export class DirectBatch {
  readonly table: TableSpec;
  readonly #messages: readonly KafkaMessage[];
  readonly #image: ImageValuesReader;
  readonly #slots: RowSlots;
  /** The key slots of the rows, in the order of their keys' first records. */
  readonly #rows: Int32Array;

  constructor(
    table: TableSpec,
    messages: readonly KafkaMessage[],
    image: ImageValuesReader,
    slots: RowSlots,
    rows: Int32Array,
  ) {
    this.table = table;
    this.#messages = messages;
    this.#image = image;
    this.#slots = slots;
    this.#rows = rows;
  }

  get columns(): readonly ColumnSpec[] {
    return this.table.columns;
  }

  get rowCount(): number {
    return this.#rows.length;
  }

  /**
   * The binary COPY data of the rows for `model` (whose columns are this batch's) with `writers`
   * (binaryFieldWriters of it), in pieces of about 256 KB, encoded as copyBatchRowsBinary takes
   * them: without the micro-batch's constants, which the staging table has as defaults. Throws
   * DirectRowRefused at a value with a problem or a key column without a value: the general path
   * then says which record and why.
   */
  *copyPieces(model: TableModel, writers: readonly FieldWriter[]): Generator<Buffer> {
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
    const writeMetadata = batchRowMetadataWriter(writers, sourceCount);
    const fields = batchRowFields(writers);
    const values: unknown[] = new Array(layout.length);
    const slots = this.#slots;
    const writer = new BinaryCopyWriter();
    writer.header();
    for (let row = 0; row < this.#rows.length; row++) {
      const slot = this.#rows[row] as number;
      const message = this.#messages[slots.records[slot] as number] as KafkaMessage;
      const buffer = message.value as Buffer;
      this.#image.read(buffer, slots.images[slot] as number, values);
      writer.row(fields);
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
      // The version's writer is text's (binaryFieldWriters): its UTF-8, copied.
      const versionStart = slots.versionStarts[slot] as number;
      writer.utf8(buffer, versionStart, (slots.versionEnds[slot] as number) - versionStart);
      writeMetadata(
        writer,
        upsertOps[(slots.ops[slot] as number) - 1] as Op,
        slots.sourceTsMs[slot] as number,
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
  const slots = new RowSlots(messages.length);
  const { records, images, versionStarts, versionEnds, ops, sourceTsMs, general } = slots;
  for (let record = 0; record < messages.length; record++) {
    // The warehouse transactions in flight wait for the event loop between their statements.
    if (record % SCAN_SLICE === SCAN_SLICE - 1) await setImmediate();
    const { key, value } = messages[record] as KafkaMessage;
    if (wireSchemaId(key) !== readers.keySchemaId) return undefined;
    const tombstone = value === null || value.length === 0;
    if (!tombstone && wireSchemaId(value) !== readers.valueSchemaId) return undefined;
    let opCode = 0;
    let image = -1;
    let versionStart = 0;
    let versionEnd = 0;
    let ts = 0;
    try {
      readers.key.decode(key as Buffer, WIRE_HEADER_BYTES);
      if (!tombstone) {
        const envelope = readers.scanner.scan(value as Buffer, WIRE_HEADER_BYTES);
        if (envelope.op === "t") return undefined;
        if (!envelope.anyUnavailable) opCode = upsertCodes[envelope.op] ?? 0;
        ({ image, versionStart, versionEnd } = envelope);
        ts = envelope.sourceTsMs;
      }
    } catch {
      return undefined; // the general path sends it to the dead-letter topic, saying why
    }
    const slot = keys.slotOf(key as Buffer, WIRE_HEADER_BYTES, (key as Buffer).length);
    slotOf[record] = slot;
    if (opCode === 0 || image === -1) {
      general[slot] = 1;
      continue;
    }
    const kept = records[slot] as number;
    // A version no newer than the kept one's loses. Versions compare as their bytes, which for
    // the ASCII versions sources write is how strings compare on the general path.
    if (
      kept !== -1 &&
      (value as Buffer).compare(
        messages[kept]?.value as Buffer,
        versionStarts[slot],
        versionEnds[slot],
        versionStart,
        versionEnd,
      ) <= 0
    ) {
      continue;
    }
    records[slot] = record;
    images[slot] = image;
    versionStarts[slot] = versionStart;
    versionEnds[slot] = versionEnd;
    ops[slot] = opCode;
    sourceTsMs[slot] = ts;
  }
  let direct = 0;
  for (let slot = 0; slot < keys.count; slot++) if (general[slot] === 0) direct++;
  // Every key without a general record has an upsert.
  const rows = new Int32Array(direct);
  for (let slot = 0, row = 0; slot < keys.count; slot++) if (general[slot] === 0) rows[row++] = slot;
  const batch =
    direct > 0 ? new DirectBatch(readers.scanner.table, messages, readers.image, slots, rows) : undefined;
  const generalRecords =
    direct < keys.count ? messages.filter((_, record) => general[slotOf[record] as number] === 1) : [];
  return { batch, general: generalRecords };
}
