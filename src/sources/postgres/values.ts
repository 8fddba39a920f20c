/**
 * Decoders from a Postgres value's text output (as produced under types.ts `sessionSettings`) to
 * the Row representation documented in src/core/change-event.ts. Pure functions.
 *
 * Documented choices (docs/sources/postgres.md, "Types"):
 * - NaN in numeric(p,s) → null (a decimal cannot hold it; Postgres refuses ±Infinity there).
 * - date ±infinity → ±2147483647 days (the int32 bounds Avro's date uses).
 * - timestamp/timestamptz ±infinity → ±Number.MAX_SAFE_INTEGER microseconds.
 * - Microseconds since the epoch are JS numbers: exact within about ±285 years of 1970.
 */

export type Decoder = (text: string) => unknown;

export const DATE_INFINITY = 2_147_483_647;
export const TIMESTAMP_INFINITY = Number.MAX_SAFE_INTEGER;

export const decodeText: Decoder = (text) => text;

export const decodeBoolean: Decoder = (text) => text === "t" || text === "true";

export const decodeInt: Decoder = (text) => Number.parseInt(text, 10);

export const decodeInt64: Decoder = (text) => BigInt(text);

/** Number() reads "NaN", "Infinity" and "-Infinity" as they come. */
export const decodeFloat: Decoder = (text) => Number(text);

/** numeric(p,s) is already exact decimal text with its scale ("-12.30"); NaN has no decimal. */
export const decodeDecimal: Decoder = (text) => (text === "NaN" ? null : text);

export const decodeBytea: Decoder = (text) => {
  if (!text.startsWith("\\x")) throw new TypeError(`bytea not in hex format: ${text.slice(0, 20)}`);
  return Buffer.from(text.slice(2), "hex");
};

const DAY_MS = 86_400_000;
const DATE = /^(\d{4,})-(\d\d)-(\d\d)/;

/** Days since 1970-01-01 of a proleptic Gregorian date; "BC" years count 1 BC as year 0. */
function epochDays(text: string): number {
  const match = DATE.exec(text);
  if (!match) throw new TypeError(`not a date: ${text}`);
  const year = text.endsWith(" BC") ? 1 - Number(match[1]) : Number(match[1]);
  const date = new Date(0);
  date.setUTCFullYear(year, Number(match[2]) - 1, Number(match[3]));
  return Math.round(date.getTime() / DAY_MS);
}

/** Days since 1970-01-01 of a proleptic Gregorian date (Hinnant's days_from_civil), year >= 1. */
function civilDays(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}

/** The value of `count` ASCII digits at `at`, or -1 if one of them is not a digit. */
function digits(text: string, at: number, count: number): number {
  let value = 0;
  for (let index = at; index < at + count; index++) {
    const digit = text.charCodeAt(index) - 48;
    if (digit < 0 || digit > 9) return -1;
    value = value * 10 + digit;
  }
  return value;
}

/** "YYYY-MM-DD" at the start of `text` as epoch days, or undefined when it is not that plain form. */
function plainDateDays(text: string): number | undefined {
  if (text.charCodeAt(4) !== 45 || text.charCodeAt(7) !== 45) return undefined; // '-'
  const year = digits(text, 0, 4);
  const month = digits(text, 5, 2);
  const day = digits(text, 8, 2);
  if (year < 1 || month < 1 || day < 1) return undefined;
  return civilDays(year, month, day);
}

export const decodeDate: Decoder = (text) => {
  if (text.length === 10) {
    const days = plainDateDays(text);
    if (days !== undefined) return days;
  }
  if (text === "infinity") return DATE_INFINITY;
  if (text === "-infinity") return -DATE_INFINITY;
  return epochDays(text);
};

const TIME = /^(\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?/;

/** "HH:MM:SS[.ffffff]" → microseconds since midnight (24:00:00 is allowed). */
function timeMicros(text: string): number {
  const match = TIME.exec(text);
  if (!match) throw new TypeError(`not a time: ${text}`);
  const seconds = Number(match[1]) * 3600 + Number(match[2]) * 60 + Number(match[3]);
  return seconds * 1_000_000 + Number((match[4] ?? "").padEnd(6, "0"));
}

export const decodeTime: Decoder = (text) => timeMicros(text);

const TIMESTAMP = /^(\d{4,}-\d\d-\d\d) (\d\d:\d\d:\d\d(?:\.\d{1,6})?)([+-]\d\d(?::?\d\d){0,2})?( BC)?$/;

function offsetSeconds(offset: string): number {
  const sign = offset.startsWith("-") ? -1 : 1;
  const [hours = "0", minutes = "0", seconds = "0"] = offset.slice(1).split(":");
  return sign * (Number(hours) * 3600 + Number(minutes) * 60 + Number(seconds));
}

/**
 * The common form, "YYYY-MM-DD HH:MM:SS[.ffffff][+HH[:MM[:SS]]]" (a 4-digit AD year), read
 * without a regex, a Date or intermediate strings; undefined for anything else (the general path).
 */
function plainTimestampMicros(text: string): number | undefined {
  const length = text.length;
  if (length < 19 || text.charCodeAt(10) !== 32 || text.charCodeAt(13) !== 58 || text.charCodeAt(16) !== 58) {
    return undefined;
  }
  const days = plainDateDays(text);
  const hours = digits(text, 11, 2);
  const minutes = digits(text, 14, 2);
  const seconds = digits(text, 17, 2);
  if (days === undefined || hours < 0 || minutes < 0 || seconds < 0) return undefined;
  let position = 19;
  let micros = 0;
  if (text.charCodeAt(position) === 46) {
    // '.': one to six fractional digits
    let scale = 100_000;
    position++;
    while (position < length && scale >= 1) {
      const digit = text.charCodeAt(position) - 48;
      if (digit < 0 || digit > 9) break;
      micros += digit * scale;
      scale /= 10;
      position++;
    }
  }
  let offset = 0;
  if (position < length) {
    const sign = text.charCodeAt(position);
    if (sign !== 43 && sign !== 45) return undefined; // '+' or '-'
    const parts = [0, 0, 0];
    let part = 0;
    position++;
    for (;;) {
      const value = digits(text, position, 2);
      if (value < 0) return undefined;
      parts[part] = value;
      position += 2;
      if (position === length) break;
      if (text.charCodeAt(position) !== 58 || part === 2) return undefined;
      position++;
      part++;
    }
    offset =
      (sign === 45 ? -1 : 1) *
      ((parts[0] as number) * 3600 + (parts[1] as number) * 60 + (parts[2] as number));
  }
  return (days * 86_400 + hours * 3600 + minutes * 60 + seconds - offset) * 1_000_000 + micros;
}

function timestampMicros(text: string): number {
  const plain = plainTimestampMicros(text);
  if (plain !== undefined) return plain;
  if (text === "infinity") return TIMESTAMP_INFINITY;
  if (text === "-infinity") return -TIMESTAMP_INFINITY;
  const match = TIMESTAMP.exec(text);
  if (!match) throw new TypeError(`not a timestamp: ${text}`);
  const days = epochDays(`${match[1]}${match[4] ?? ""}`);
  const offset = match[3] ? offsetSeconds(match[3]) : 0;
  return (days * 86_400 - offset) * 1_000_000 + timeMicros(match[2] ?? "");
}

/** A wall-clock timestamp → microseconds since the epoch, read as if it were UTC. */
export const decodeTimestamp: Decoder = timestampMicros;

/** An instant with its UTC offset → microseconds since the epoch (UTC). */
export const decodeTimestamptz: Decoder = timestampMicros;

/**
 * A Postgres array literal ("{1,NULL,"a b"}", "{{1,2},{3,4}}", "[0:1]={1,2}") → nested JS arrays,
 * each element through `decodeItem`; an unquoted NULL is null, a quoted "NULL" is the text.
 */
export function decodeArray(text: string, decodeItem: Decoder, delimiter = ","): unknown[] {
  let position = text.startsWith("[") ? text.indexOf("=") + 1 : 0;

  function parseArray(): unknown[] {
    if (text[position] !== "{") throw new TypeError(`malformed array literal: ${text}`);
    position += 1;
    const items: unknown[] = [];
    if (text[position] === "}") {
      position += 1;
      return items;
    }
    for (;;) {
      items.push(parseItem());
      const separator = text[position];
      position += 1;
      if (separator === "}") return items;
      if (separator !== delimiter) throw new TypeError(`malformed array literal: ${text}`);
    }
  }

  function parseItem(): unknown {
    if (text[position] === "{") return parseArray();
    if (text[position] === '"') {
      let value = "";
      position += 1;
      while (text[position] !== '"') {
        if (position >= text.length) throw new TypeError(`malformed array literal: ${text}`);
        if (text[position] === "\\") position += 1;
        value += text[position];
        position += 1;
      }
      position += 1;
      return decodeItem(value);
    }
    const start = position;
    while (position < text.length && text[position] !== delimiter && text[position] !== "}") position += 1;
    const raw = text.slice(start, position);
    return raw === "NULL" ? null : decodeItem(raw);
  }

  return parseArray();
}
