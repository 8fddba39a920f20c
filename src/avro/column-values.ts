/**
 * Row values (the representation documented on `Row` in change-event.ts) ↔ the values avsc
 * encodes for the types of column-avro.ts. Longs go to avsc as bigint or safe numbers and come
 * back as either (see long-type.ts); this layer gives each ColumnType its one documented JS type.
 */
import type { ColumnType } from "../core/column-type.js";
import { RecordError } from "../core/errors.js";
import { bytesToDecimal, decimalToBytes } from "./decimal.js";

function wrongValue(type: ColumnType, value: unknown, expected: string): RecordError {
  const shown = typeof value === "bigint" ? `${value}n` : JSON.stringify(value);
  return new RecordError(`a ${type.kind} column got ${typeof value} ${shown}, expected ${expected}`, {
    code: "VALUE_TYPE",
  });
}

function integerValue(type: ColumnType, value: unknown): number {
  if (typeof value === "number" && Number.isInteger(value)) return value;
  throw wrongValue(type, value, "an integer number");
}

function longValue(type: ColumnType, value: unknown): bigint | number {
  if (typeof value === "bigint") return value;
  if (typeof value === "number" && Number.isSafeInteger(value)) return value;
  throw wrongValue(type, value, "a bigint or a safe integer");
}

/**
 * Epoch microseconds are numbers in a Row; beyond ±285 years they are not safe integers, but still
 * integers, and BigInt() of them is exact, so they survive the trip unchanged.
 */
function microsValue(type: ColumnType, value: unknown): bigint | number {
  if (typeof value === "bigint") return value;
  if (typeof value === "number" && Number.isInteger(value)) {
    return Number.isSafeInteger(value) ? value : BigInt(value);
  }
  throw wrongValue(type, value, "an integer number of microseconds");
}

function stringValue(type: ColumnType, value: unknown): string {
  if (typeof value === "string") return value;
  throw wrongValue(type, value, "a string");
}

/** The avsc value of one non-null column value. */
export function toAvroValue(type: ColumnType, value: unknown): unknown {
  switch (type.kind) {
    case "boolean":
      if (typeof value === "boolean") return value;
      throw wrongValue(type, value, "a boolean");
    case "int16":
    case "int32":
    case "date":
      return integerValue(type, value);
    case "int64":
      return longValue(type, value);
    case "time":
    case "timestamp":
    case "timestamptz":
      return microsValue(type, value);
    case "float32":
    case "float64":
      if (typeof value === "number") return value;
      throw wrongValue(type, value, "a number");
    case "decimal":
      return decimalToBytes(stringValue(type, value), type.scale);
    case "bytes":
      if (value instanceof Uint8Array) return Buffer.isBuffer(value) ? value : Buffer.from(value);
      throw wrongValue(type, value, "a Buffer");
    case "array":
      if (!Array.isArray(value)) throw wrongValue(type, value, "an array");
      return value.map((item) =>
        item === null || item === undefined ? null : toAvroValue(type.items, item),
      );
    default:
      return stringValue(type, value);
  }
}

/** The row value of one non-null avsc value (the inverse of toAvroValue). */
export function fromAvroValue(type: ColumnType, value: unknown): unknown {
  switch (type.kind) {
    case "int64":
      return BigInt(value as bigint | number);
    case "time":
    case "timestamp":
    case "timestamptz":
      return Number(value as bigint | number);
    case "decimal":
      return bytesToDecimal(value as Buffer, type.scale);
    case "array":
      return (value as unknown[]).map((item) => (item === null ? null : fromAvroValue(type.items, item)));
    default:
      return value;
  }
}

/** Nullable wrappers: null and undefined both mean SQL NULL. */
export function toAvroNullable(type: ColumnType, value: unknown): unknown {
  return value === null || value === undefined ? null : toAvroValue(type, value);
}

export function fromAvroNullable(type: ColumnType, value: unknown): unknown {
  return value === null || value === undefined ? null : fromAvroValue(type, value);
}
