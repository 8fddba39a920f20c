/**
 * The field encodings of binary COPY (each type's send function in Postgres), written into the
 * COPY pieces: the file format's header, row and trailer, and one method per wire type. Which
 * method a column takes is copy-binary.ts's choice. Pure.
 */
import { PieceWriter } from "./copy-rows.js";

/** The signature "PGCOPY\n\377\r\n\0", then int32 flags 0 and int32 header extension length 0. */
const HEADER = Buffer.concat([Buffer.from("PGCOPY\n\xff\r\n\0", "latin1"), Buffer.alloc(8)]);

const MIN_SAFE_BIGINT = BigInt(Number.MIN_SAFE_INTEGER);
const MAX_SAFE_BIGINT = BigInt(Number.MAX_SAFE_INTEGER);
const TWO_TO_32 = 2 ** 32;

/** Strings up to this many UTF-16 units are tried as ASCII first (BinaryCopyWriter.text). */
const SHORT_TEXT = 64;

const JSONB_VERSION = 1;

const NUMERIC_POSITIVE = 0x0000;
const NUMERIC_NEGATIVE = 0x4000;
/** The most digits after the point a numeric carries (NUMERIC_DSCALE_MASK). */
const NUMERIC_MAX_DSCALE = 0x3fff;
/** More bytes than any fixed-width type written here takes; a zero numeric with one left over. */
const REFUSED_FIELD = Buffer.alloc(9);

/** numericUnscaled's limits: its fraction times 10^3 and its magnitude stay below 2^53. */
export const NUMERIC_UNSCALED_MAX_SCALE = 12;
const UNSCALED_LIMIT = 2 ** 47;
const POWERS_OF_TEN = Array.from({ length: NUMERIC_UNSCALED_MAX_SCALE + 4 }, (_, power) => 10 ** power);

const ZERO = 48;
const NINE = 57;

export function allDigits(text: string, from: number, to: number): boolean {
  for (let index = from; index < to; index++) {
    const code = text.charCodeAt(index);
    if (code < ZERO || code > NINE) return false;
  }
  return true;
}

/** The base-10000 digit of text[from, from + 4), positions outside [first, end) counting as 0. */
function digitGroup(text: string, from: number, first: number, end: number): number {
  let group = 0;
  for (let index = from; index < from + 4; index++) {
    group = group * 10 + (index >= first && index < end ? text.charCodeAt(index) - ZERO : 0);
  }
  return group;
}

/** Binary COPY data in pieces: the fields' encodings (each type's send function in Postgres). */
export class BinaryCopyWriter extends PieceWriter {
  /** numericUnscaled's base-10000 digits: at most 4 of the integer and 3 of the fraction. */
  readonly #digits = new Int32Array(8);

  header(): void {
    this.reserve(HEADER.length);
    this.length += HEADER.copy(this.buffer, this.length);
  }

  /** After the last row. */
  trailer(): void {
    this.reserve(2);
    this.length = this.buffer.writeInt16BE(-1, this.length);
  }

  /** A row of `fields` fields begins. */
  row(fields: number): void {
    this.reserve(2);
    this.length = this.buffer.writeInt16BE(fields, this.length);
  }

  null(): void {
    this.reserve(4);
    this.length = this.buffer.writeInt32BE(-1, this.length);
  }

  int16(value: number): void {
    this.reserve(6);
    this.length = this.buffer.writeInt16BE(value, this.buffer.writeInt32BE(2, this.length));
  }

  int32(value: number): void {
    this.reserve(8);
    this.length = this.buffer.writeInt32BE(value, this.buffer.writeInt32BE(4, this.length));
  }

  /** `value`: a safe integer, or a bigint within int64. */
  int64(value: number | bigint): void {
    this.reserve(12);
    const at = this.buffer.writeInt32BE(8, this.length);
    if (typeof value === "bigint") {
      if (value < MIN_SAFE_BIGINT || value > MAX_SAFE_BIGINT) {
        this.length = this.buffer.writeBigInt64BE(value, at);
        return;
      }
      // Int64 keys and offsets are bigints that mostly fit a number: no BigInt arithmetic then.
      value = Number(value);
    }
    // Two 32-bit halves: exact for safe integers, without a BigInt per value.
    const high = Math.floor(value / TWO_TO_32);
    this.buffer.writeInt32BE(high, at);
    this.length = this.buffer.writeUInt32BE(value - high * TWO_TO_32, at + 4);
  }

  float32(value: number): void {
    this.reserve(8);
    this.length = this.buffer.writeFloatBE(value, this.buffer.writeInt32BE(4, this.length));
  }

  float64(value: number): void {
    this.reserve(12);
    this.length = this.buffer.writeDoubleBE(value, this.buffer.writeInt32BE(8, this.length));
  }

  boolean(value: boolean): void {
    this.reserve(5);
    this.length = this.buffer.writeUInt8(value ? 1 : 0, this.buffer.writeInt32BE(1, this.length));
  }

  /** UTF-8, as the text and varchar receive functions take it. */
  text(value: string): void {
    const { length } = value;
    this.reserve(4 + length * 3);
    const start = this.length + 4;
    let bytes = 0;
    if (length <= SHORT_TEXT) {
      // Codes, keys, versions, topic names: short ASCII, copied faster than a native call does.
      const buffer = this.buffer;
      while (bytes < length) {
        const code = value.charCodeAt(bytes);
        if (code >= 0x80) break;
        buffer[start + bytes] = code;
        bytes++;
      }
    }
    if (bytes < length) bytes = this.buffer.write(value, start);
    this.buffer.writeInt32BE(bytes, this.length);
    this.length = start + bytes;
  }

  /** JSON text as a jsonb field: jsonb's binary format is a version byte (1), then the text. */
  jsonb(text: string): void {
    this.reserve(5 + text.length * 3);
    const start = this.length + 5;
    this.buffer[start - 1] = JSONB_VERSION;
    const bytes = this.buffer.write(text, start);
    this.buffer.writeInt32BE(1 + bytes, this.length);
    this.length = start + bytes;
  }

  /** Fields encoded before (by this class's methods), as they are. */
  encoded(fields: Buffer): void {
    const { length } = fields;
    this.reserve(length);
    const buffer = this.buffer;
    const at = this.length;
    if (length <= SHORT_TEXT) {
      for (let index = 0; index < length; index++) buffer[at + index] = fields[index] as number;
    } else {
      fields.copy(buffer, at);
    }
    this.length = at + length;
  }

  /** UTF-8 bytes of `source` as a text field, as text() writes the string they encode. */
  utf8(source: Buffer, start: number, length: number): void {
    this.reserve(4 + length);
    const at = this.buffer.writeInt32BE(length, this.length);
    if (length <= SHORT_TEXT) {
      const buffer = this.buffer;
      for (let index = 0; index < length; index++) buffer[at + index] = source[start + index] as number;
    } else source.copy(this.buffer, at, start, start + length);
    this.length = at + length;
  }

  /**
   * Decimal text ([-+]digits[.digits]) as a numeric: base-10000 digits aligned at the point,
   * without leading or trailing zero digits, the weight of the first, and the digits after the
   * point as written (dscale). False, with nothing written, when `text` is no such number.
   */
  numeric(text: string): boolean {
    const end = text.length;
    const sign = text.charCodeAt(0);
    const start = sign === 45 /* - */ || sign === 43 /* + */ ? 1 : 0;
    const dot = text.indexOf(".", start);
    const integerEnd = dot === -1 ? end : dot;
    const fractionStart = dot === -1 ? end : dot + 1;
    const dscale = end - fractionStart;
    if (integerEnd - start + dscale === 0 || dscale > NUMERIC_MAX_DSCALE) return false;
    if (!allDigits(text, start, integerEnd) || !allDigits(text, fractionStart, end)) return false;
    let integerStart = start;
    while (integerStart < integerEnd && text.charCodeAt(integerStart) === ZERO) integerStart++;
    let fractionEnd = end;
    while (fractionEnd > fractionStart && text.charCodeAt(fractionEnd - 1) === ZERO) fractionEnd--;
    const integerGroups = Math.ceil((integerEnd - integerStart) / 4);
    // Below 1: the fraction's leading zero groups are left out, each lowering the weight.
    let fractionFrom = fractionStart;
    if (integerGroups === 0) {
      while (fractionFrom + 4 <= fractionEnd && text.startsWith("0000", fractionFrom)) fractionFrom += 4;
    }
    const fractionGroups = Math.ceil((fractionEnd - fractionFrom) / 4);
    const weight = integerGroups > 0 ? integerGroups - 1 : -1 - (fractionFrom - fractionStart) / 4;
    if (weight > 0x7fff || integerGroups + fractionGroups > 0x7fff) return false;
    this.reserve(12 + 2 * (integerGroups + fractionGroups));
    const digitsAt = this.length + 12;
    let at = digitsAt;
    let significantEnd = digitsAt; // after the last non-zero digit: trailing zero digits are left out
    for (let from = integerEnd - integerGroups * 4; from < integerEnd; from += 4) {
      const group = digitGroup(text, from, integerStart, integerEnd);
      at = this.buffer.writeInt16BE(group, at);
      if (group !== 0) significantEnd = at;
    }
    for (let from = fractionFrom; from < fractionEnd; from += 4) {
      const group = digitGroup(text, from, fractionFrom, fractionEnd);
      at = this.buffer.writeInt16BE(group, at);
      if (group !== 0) significantEnd = at;
    }
    const digits = (significantEnd - digitsAt) / 2;
    let header = this.buffer.writeInt32BE(8 + 2 * digits, this.length);
    header = this.buffer.writeInt16BE(digits, header);
    header = this.buffer.writeInt16BE(digits === 0 ? 0 : weight, header);
    header = this.buffer.writeUInt16BE(
      sign === 45 && digits > 0 ? NUMERIC_NEGATIVE : NUMERIC_POSITIVE,
      header,
    );
    this.buffer.writeInt16BE(dscale, header);
    this.length = significantEnd;
    return true;
  }

  /**
   * The decimal `unscaled` / 10^`scale` as a numeric, the very bytes numeric() writes for its
   * text with exactly `scale` digits after the point, without building that text. For
   * |unscaled| < 2^47 and a scale up to NUMERIC_UNSCALED_MAX_SCALE (the digits stay exact in a
   * double); false, with nothing written, otherwise.
   */
  numericUnscaled(unscaled: number, scale: number): boolean {
    const magnitude = Math.abs(unscaled);
    if (scale > NUMERIC_UNSCALED_MAX_SCALE || !(magnitude < UNSCALED_LIMIT) || !Number.isInteger(magnitude)) {
      return false;
    }
    const scaleFactor = POWERS_OF_TEN[scale] as number;
    const integer = Math.floor(magnitude / scaleFactor);
    const fractionGroups = (scale + 3) >> 2;
    const integerGroups = integer === 0 ? 0 : integer < 1e4 ? 1 : integer < 1e8 ? 2 : integer < 1e12 ? 3 : 4;
    // Base-10000 digits, most significant first; the fraction's padded to whole digits (0.05 at
    // scale 2 is the digit 0500).
    const digits = this.#digits;
    let rest = integer;
    for (let index = integerGroups - 1; index >= 0; index--) {
      digits[index] = rest % 10_000;
      rest = Math.floor(rest / 10_000);
    }
    rest = (magnitude - integer * scaleFactor) * (POWERS_OF_TEN[fractionGroups * 4 - scale] as number);
    for (let index = integerGroups + fractionGroups - 1; index >= integerGroups; index--) {
      digits[index] = rest % 10_000;
      rest = Math.floor(rest / 10_000);
    }
    // Below 1, the fraction's leading zero digits are left out, each lowering the weight; trailing
    // zero digits are left out always.
    let first = 0;
    if (integerGroups === 0) while (first < fractionGroups && digits[first] === 0) first++;
    let last = integerGroups + fractionGroups - 1;
    while (last >= first && digits[last] === 0) last--;
    const count = last - first + 1;
    this.reserve(12 + 2 * count);
    const buffer = this.buffer;
    let at = buffer.writeInt32BE(8 + 2 * count, this.length);
    at = buffer.writeInt16BE(count, at);
    at = buffer.writeInt16BE(count === 0 ? 0 : integerGroups > 0 ? integerGroups - 1 : -1 - first, at);
    at = buffer.writeUInt16BE(unscaled < 0 && count > 0 ? NUMERIC_NEGATIVE : NUMERIC_POSITIVE, at);
    at = buffer.writeInt16BE(scale, at);
    for (let index = first; index <= last; index++) at = buffer.writeInt16BE(digits[index] as number, at);
    this.length = at;
    return true;
  }

  /**
   * A field every column type written here refuses as "incorrect binary data format" (22P03):
   * longer than the fixed-width types, a zero numeric with a byte left over. For a value that
   * cannot be encoded: the binary load fails, and COPY text of the rows decides (apply.ts), as it
   * did before binary COPY.
   */
  refused(): void {
    this.reserve(4 + REFUSED_FIELD.length);
    this.length = this.buffer.writeInt32BE(REFUSED_FIELD.length, this.length);
    this.length += REFUSED_FIELD.copy(this.buffer, this.length);
  }
}
