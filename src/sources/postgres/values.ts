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

export const decodeDate: Decoder = (text) => {
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

function timestampMicros(text: string): number {
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
