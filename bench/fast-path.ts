/**
 * `npm run bench:fast-path`: the sink's fast path alone (direct-rows.ts), in this process, with
 * no Kafka and no warehouse: scanDirect and copyPieces over 10,000 records of the bench:sink
 * table's shape, repeated. Each pass reports CPU µs per record; the table shows the fastest pass
 * and the median, because this kind of machine changes speed by up to 2× from one second to the
 * next (bench/RESULTS.md) and the fastest pass is the steadiest measure of the code itself.
 *
 * No target: it is for comparing two versions of the fast path, run one after the other.
 * BENCH_PASSES sets the number of passes (default 30).
 */
import type { KafkaMessage } from "kafkajs";
import type { AvroRecordSchema } from "../src/avro/envelope-schema.js";
import {
  keyFieldsFromSchema,
  keySchema,
  layoutFromValueSchema,
  layoutOf,
  valueSchema,
} from "../src/avro/envelope-schema.js";
import {
  compileEnvelopeScanner,
  compileImageValuesReader,
  compileKeyChecker,
} from "../src/avro/event-decoder.js";
import { eventKeyEncoder, eventValueEncoder } from "../src/avro/event-encoder.js";
import { binaryFieldWriters, metadataTypes } from "../src/sinks/warehouse/copy-binary.js";
import { type DirectReaders, scanDirect } from "../src/sinks/warehouse/direct-rows.js";
import { foldIdentifier } from "../src/sinks/warehouse/identifier.js";
import { metadataColumns, type TableModel } from "../src/sinks/warehouse/sql.js";
import { warehouseType } from "../src/sinks/warehouse/typemap.js";
import { changeEvent, tableSpec } from "../test/helpers/envelope-producer.js";
import { benchColumns, benchRow } from "./lib/bench-rows.js";
import { median, printTable, writeJson } from "./lib/report.js";

const RECORDS = 10_000;
const passes = Number(process.env.BENCH_PASSES ?? 30);
const VALUE_SCHEMA_ID = 1;
const KEY_SCHEMA_ID = 2;

const table = tableSpec("bench.public.t0", benchColumns, ["id"]);

/** The table as the sink creates it: its columns and the metadata columns, in their natural types. */
const model: TableModel = {
  schema: "bench",
  table: "bench_t0",
  columns: benchColumns.map(([name, type]) => ({ name, type })),
  keyColumns: ["id"],
  warehouseTypes: new Map([
    ...benchColumns.map(
      ([name, type]) => [foldIdentifier(name, "postgres"), warehouseType(type, "postgres")] as const,
    ),
    ...metadataColumns.map((name) => [name, warehouseType(metadataTypes[name], "postgres")] as const),
  ]),
};

function required<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`no ${what} for the bench table`);
  return value;
}

/** The records of RECORDS updates, one per key, as the capture writes them. */
function records(): KafkaMessage[] {
  const encodeValue = eventValueEncoder(layoutOf(table), () => 1_700_000_000_999);
  const encodeKey = required(eventKeyEncoder(layoutOf(table)), "key encoder");
  const scratch = Buffer.alloc(4096);
  const wire = (schemaId: number, encode: (buffer: Buffer, offset: number) => number) => {
    scratch.writeInt32BE(schemaId, 1);
    return Buffer.from(scratch.subarray(0, encode(scratch, 5)));
  };
  return Array.from({ length: RECORDS }, (_, index) => {
    const id = index + 1;
    const event = changeEvent(table, {
      op: "u",
      version: RECORDS + id,
      row: benchRow(id, 1),
    });
    return {
      key: wire(KEY_SCHEMA_ID, (buffer, offset) => encodeKey(buffer, offset, event)),
      value: wire(VALUE_SCHEMA_ID, (buffer, offset) => encodeValue(buffer, offset, event)),
      offset: String(1_000_000 + id),
    } as KafkaMessage;
  });
}

function cpuMicros(): number {
  const { user, system } = process.cpuUsage();
  return user + system;
}

async function main(): Promise<void> {
  const valueJson = JSON.parse(JSON.stringify(valueSchema(table))) as AvroRecordSchema;
  const keyJson = JSON.parse(JSON.stringify(keySchema(table))) as AvroRecordSchema;
  const layout = layoutFromValueSchema(valueJson);
  const readers: DirectReaders = {
    valueSchemaId: VALUE_SCHEMA_ID,
    keySchemaId: KEY_SCHEMA_ID,
    scanner: required(compileEnvelopeScanner(valueJson, layout), "scanner"),
    image: required(compileImageValuesReader(valueJson, layout), "image reader"),
    key: required(compileKeyChecker(keyJson, keyFieldsFromSchema(keyJson)), "key checker"),
  };
  const writers = required(binaryFieldWriters(model), "binary writers");
  const messages = records();
  const scans: number[] = [];
  const loads: number[] = [];
  let bytes = 0;
  for (let pass = 0; pass < passes + 5; pass++) {
    const started = cpuMicros();
    const batch = required((await scanDirect(messages, readers))?.batch, "direct batch");
    const scanned = cpuMicros();
    for (const piece of batch.copyPieces(model, writers)) {
      bytes += piece.length;
    }
    // The first passes warm the JIT up.
    if (pass >= 5) {
      scans.push((scanned - started) / RECORDS);
      loads.push((cpuMicros() - scanned) / RECORDS);
    }
  }
  const totals = scans.map((scan, pass) => scan + (loads[pass] as number));
  printTable(
    `The fast path alone, ${RECORDS.toLocaleString("en-US")} records, ${passes} passes (CPU µs per record)`,
    [
      { measure: "scan (scanDirect), fastest pass", value: Math.min(...scans), unit: "µs" },
      { measure: "load (copyPieces), fastest pass", value: Math.min(...loads), unit: "µs" },
      { measure: "both, fastest pass", value: Math.min(...totals), unit: "µs" },
      { measure: "both, median pass", value: median(totals), unit: "µs" },
    ],
  );
  const file = writeJson("fast-path", {
    records: RECORDS,
    passes,
    scans,
    loads,
    bytesPerPass: bytes / (passes + 5),
  });
  process.stdout.write(`written ${file}\n`);
}

await main();
