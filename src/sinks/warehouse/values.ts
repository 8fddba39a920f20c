/**
 * A row value (the representation of src/core/change-event.ts) → the bind parameter the warehouse
 * takes for its column, and the checks that catch a value that cannot fit before it reaches the
 * warehouse (so one bad record goes to the DLQ without failing its neighbours). Pure.
 */
import type { ColumnType } from "../../core/column-type.js";
import { type Dialect, maxDecimalPrecision, REDSHIFT_MAX_VARCHAR } from "./typemap.js";

const MICROS_PER_DAY = 86_400_000_000n;

function toBigInt(value: unknown): bigint {
  if (typeof value === "bigint") return value;
  if (typeof value === "number" && Number.isInteger(value)) return BigInt(value);
  if (typeof value === "string" && /^-?\d+$/.test(value)) return BigInt(value);
  throw new TypeError(`expected an integer, got ${typeof value}`);
}

function pad(value: bigint | number, width: number): string {
  return String(value).padStart(width, "0");
}

/** Microseconds since midnight → HH:MM:SS.ffffff */
function timeOfDay(micros: bigint): string {
  const seconds = micros / 1_000_000n;
  const fraction = micros % 1_000_000n;
  return `${pad(seconds / 3600n, 2)}:${pad((seconds / 60n) % 60n, 2)}:${pad(seconds % 60n, 2)}.${pad(fraction, 6)}`;
}

/**
 * Days since 1970-01-01 → "YYYY-MM-DD" of the proleptic Gregorian calendar, and whether the year
 * is BC (Postgres and Redshift write 1 BC for the year before 1, with " BC" after the value).
 * Civil-from-days arithmetic rather than Date, whose range ends in the year 275760 (Postgres
 * timestamps go to 294276) and whose ISO text has no BC.
 */
function calendarDate(days: number): readonly [string, boolean] {
  const shifted = days + 719_468; // days since 0000-03-01
  const era = Math.floor(shifted / 146_097);
  const dayOfEra = shifted - era * 146_097;
  const yearOfEra = Math.floor(
    (dayOfEra -
      Math.floor(dayOfEra / 1460) +
      Math.floor(dayOfEra / 36_524) -
      Math.floor(dayOfEra / 146_096)) /
      365,
  );
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const monthFromMarch = Math.floor((5 * dayOfYear + 2) / 153);
  const day = dayOfYear - Math.floor((153 * monthFromMarch + 2) / 5) + 1;
  const month = monthFromMarch < 10 ? monthFromMarch + 3 : monthFromMarch - 9;
  const year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0);
  const bc = year < 1;
  return [`${pad(bc ? 1 - year : year, 4)}-${twoDigits(month)}-${twoDigits(day)}`, bc];
}

function dateOf(days: bigint): string {
  const [date, bc] = calendarDate(Number(days));
  return bc ? `${date} BC` : date;
}

function twoDigits(value: number): string {
  return value < 10 ? `0${value}` : String(value);
}

/** The last day formatted: consecutive rows mostly share it. */
let lastDay = Number.NaN;
let lastDayText = "";

function dateOfDay(day: number): string {
  if (day !== lastDay) {
    lastDayText = dateOf(BigInt(day));
    lastDay = day;
  }
  return lastDayText;
}

/** Year 10000: the fast path's bound, where its day arithmetic stays in exact numbers. */
const MICROS_YEAR_10000 = 253_402_300_800_000_000;

/** Microseconds since the epoch → "YYYY-MM-DD HH:MM:SS.ffffff" (UTC), " BC" after BC ones. */
export function timestampText(microsValue: unknown): string {
  if (typeof microsValue === "number" && microsValue >= 0 && microsValue < MICROS_YEAR_10000) {
    // The common case in number arithmetic: this runs for every timestamp of every row.
    const day = Math.floor(microsValue / 86_400_000_000);
    const micros = microsValue - day * 86_400_000_000;
    const seconds = Math.floor(micros / 1_000_000);
    const hours = Math.floor(seconds / 3600);
    const minutes = Math.floor(seconds / 60) % 60;
    return `${dateOfDay(day)} ${twoDigits(hours)}:${twoDigits(minutes)}:${twoDigits(seconds % 60)}.${String(micros % 1_000_000).padStart(6, "0")}`;
  }
  const micros = toBigInt(microsValue);
  let days = micros / MICROS_PER_DAY;
  let rest = micros % MICROS_PER_DAY;
  if (rest < 0n) {
    rest += MICROS_PER_DAY;
    days -= 1n;
  }
  const [date, bc] = calendarDate(Number(days));
  return `${date} ${timeOfDay(rest)}${bc ? " BC" : ""}`;
}

/** Milliseconds since the epoch → timestamptz text; null when unknown (0 or not finite). */
export function msToTimestamptz(ms: number): string | null {
  if (!Number.isFinite(ms) || ms <= 0) return null;
  const micros = Math.trunc(ms) * 1000;
  return `${timestampText(Number.isSafeInteger(micros) ? micros : BigInt(Math.trunc(ms)) * 1000n)}+00`;
}

function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (value && typeof value === "object" && (value as { type?: string }).type === "Buffer") {
    return Buffer.from((value as { data: number[] }).data).toString("hex");
  }
  return value;
}

function floatParameter(value: unknown): unknown {
  if (typeof value !== "number") return value;
  if (Number.isNaN(value)) return "NaN";
  if (value === Number.POSITIVE_INFINITY) return "Infinity";
  if (value === Number.NEGATIVE_INFINITY) return "-Infinity";
  return value;
}

/** The bind parameter for `value` in a column of `type`; the SQL side wraps SUPER and VARBYTE. */
export function toParameter(type: ColumnType, value: unknown, dialect: Dialect): unknown {
  if (value === null || value === undefined) return null;
  switch (type.kind) {
    case "int64":
    case "decimal":
      return String(value);
    case "float32":
    case "float64":
      return floatParameter(value);
    case "bytes": {
      const buffer = Buffer.isBuffer(value) ? value : Buffer.from(value as Uint8Array);
      return dialect === "redshift" ? buffer.toString("hex") : buffer;
    }
    case "date":
      return dateOf(toBigInt(value));
    case "time":
      return timeOfDay(toBigInt(value));
    case "timestamp":
      return timestampText(value);
    case "timestamptz":
      return `${timestampText(value)}+00`;
    case "array":
      return JSON.stringify(value, jsonReplacer);
    case "json":
      return typeof value === "string" ? value : JSON.stringify(value, jsonReplacer);
    default:
      return typeof value === "string" ? value : String(value);
  }
}

const integerLimits: Readonly<Record<string, readonly [bigint, bigint]>> = {
  int16: [-32_768n, 32_767n],
  int32: [-2_147_483_648n, 2_147_483_647n],
  int64: [-9_223_372_036_854_775_808n, 9_223_372_036_854_775_807n],
};

/**
 * The integer digits of decimal text ([-+]digits[.digits], at least one digit) without leading
 * zeros, or -1 when the text is no such number. A scan, not a regular expression: it runs for every
 * decimal of every row.
 */
function integerDigitsOf(text: string): number {
  const signed = text.charCodeAt(0) === 45 /* - */ || text.charCodeAt(0) === 43; /* + */
  let index = signed ? 1 : 0;
  const start = index;
  while (text.charCodeAt(index) === 48 /* 0 */) index++;
  const first = index;
  while (index < text.length && isDigit(text.charCodeAt(index))) index++;
  const digits = index - first;
  let anyDigit = index > start;
  if (index < text.length && text.charCodeAt(index) === 46 /* . */) index++;
  const fraction = index;
  while (index < text.length && isDigit(text.charCodeAt(index))) index++;
  anyDigit ||= index > fraction;
  return index === text.length && anyDigit ? digits : -1;
}

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

function checkDecimal(type: { precision: number; scale: number }, value: unknown, dialect: Dialect) {
  const text = String(value);
  const integerDigits = integerDigitsOf(text);
  if (integerDigits < 0) return `"${text}" is not a decimal number`;
  if (type.precision > maxDecimalPrecision[dialect]) return undefined; // stored as text
  if (integerDigits > type.precision - type.scale) {
    return `${text} does not fit DECIMAL(${type.precision},${type.scale}) (at most ${type.precision - type.scale} integer digits)`;
  }
  return undefined;
}

/**
 * Why `value` cannot be stored in a column of `type`, or undefined when it can. Covers what is
 * cheap to know up front; anything else the warehouse rejects is found by bisecting the batch.
 */
export function valueProblem(type: ColumnType, value: unknown, dialect: Dialect): string | undefined {
  if (value === null || value === undefined) return undefined;
  const limits = integerLimits[type.kind];
  if (limits) {
    // Without a BigInt per value: int64 values are bigints, int16/int32 values numbers.
    if (typeof value === "bigint" || (typeof value === "number" && Number.isSafeInteger(value))) {
      if (value >= limits[0] && value <= limits[1]) return undefined;
    }
    let integer: bigint;
    try {
      integer = toBigInt(value);
    } catch {
      return `${String(value)} is not an integer`;
    }
    if (integer < limits[0] || integer > limits[1]) return `${integer} is out of range for ${type.kind}`;
    return undefined;
  }
  if (type.kind === "decimal") return checkDecimal(type, value, dialect);
  if (type.kind === "string" && typeof value === "string") {
    if (dialect === "redshift" && Buffer.byteLength(value) > REDSHIFT_MAX_VARCHAR) {
      return `text of ${Buffer.byteLength(value)} bytes is longer than Redshift's VARCHAR(65535)`;
    }
    if (dialect === "postgres" && type.maxLength !== undefined && [...value].length > type.maxLength) {
      return `text of ${[...value].length} characters is longer than varchar(${type.maxLength})`;
    }
  }
  return undefined;
}

/**
 * Whether valueProblem can refuse a value of `type` read from its Avro type (columnAvroType):
 * int16 and int32 values come as Avro ints, longer text than a varchar's limit is possible, and
 * decimals may have too many digits. Every other kind is in range by its Avro type (an int64 is a
 * long), so the fast path checks no value of it. Keep it in step with valueProblem.
 */
export function avroValueMayHaveProblem(type: ColumnType, dialect: Dialect): boolean {
  switch (type.kind) {
    case "int16":
    case "int32":
    case "decimal":
      return true;
    case "string":
      return dialect === "redshift" || type.maxLength !== undefined;
    default:
      return false;
  }
}
