/**
 * Avro's decimal logical type: the unscaled value as big-endian two's-complement bytes, the scale
 * in the schema. Rows carry decimals as exact text ("-12.30"), so the conversion goes through
 * bigint and never through a float.
 */
import { RecordError } from "../core/errors.js";

const DECIMAL_TEXT = /^([+-]?)(\d*)(?:\.(\d*))?$/;

/** The unscaled integer of `text` at `scale`; refuses text that would lose digits. */
export function unscaledDecimal(text: string, scale: number): bigint {
  const match = DECIMAL_TEXT.exec(text.trim());
  const [, sign = "", whole = "", fraction = ""] = match ?? [];
  if (!match || (whole === "" && fraction === "")) {
    throw new RecordError(`not a decimal number: ${JSON.stringify(text)}`, { code: "DECIMAL_INVALID" });
  }
  const significant = fraction.replace(/0+$/, "");
  if (significant.length > scale) {
    throw new RecordError(`decimal ${text} has more than ${scale} fractional digits`, {
      code: "DECIMAL_SCALE",
      hint: "the column's declared scale is smaller than the value's: map it to text instead",
    });
  }
  const digits = `${whole}${fraction.padEnd(scale, "0").slice(0, scale)}`;
  const magnitude = BigInt(digits === "" ? "0" : digits);
  return sign === "-" ? -magnitude : magnitude;
}

/** Exact text of `unscaled / 10^scale`, with exactly `scale` fractional digits. */
export function decimalText(unscaled: bigint, scale: number): string {
  const negative = unscaled < 0n;
  const digits = (negative ? -unscaled : unscaled).toString().padStart(scale + 1, "0");
  const whole = digits.slice(0, digits.length - scale);
  const fraction = scale > 0 ? `.${digits.slice(digits.length - scale)}` : "";
  return `${negative ? "-" : ""}${whole}${fraction}`;
}

/** Big-endian two's complement in the fewest bytes (at least one). */
export function bigintToTwosComplement(value: bigint): Buffer {
  const bytes: number[] = [];
  let rest = value;
  for (;;) {
    const byte = Number(rest & 0xffn);
    bytes.unshift(byte);
    rest >>= 8n;
    // Done once the remaining bits are all sign and the last byte's top bit agrees with the sign.
    if ((rest === 0n && (byte & 0x80) === 0) || (rest === -1n && (byte & 0x80) !== 0)) break;
  }
  return Buffer.from(bytes);
}

export function twosComplementToBigint(bytes: Uint8Array): bigint {
  if (bytes.length === 0) return 0n;
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  const first = bytes[0] as number;
  return first & 0x80 ? value - (1n << BigInt(bytes.length * 8)) : value;
}

/**
 * The unscaled value of plain decimal text ("-12.30") as a safe integer, without regex or
 * bigint; undefined when the text is another form or too large (then unscaledDecimal decides).
 */
function smallUnscaled(text: string, scale: number): number | undefined {
  const length = text.length;
  let position = 0;
  let negative = false;
  const first = text.charCodeAt(0);
  if (first === 45 || first === 43) {
    negative = first === 45;
    position = 1;
  }
  let value = 0;
  let digits = 0;
  let fraction = -1;
  for (; position < length; position++) {
    const code = text.charCodeAt(position);
    if (code === 46 && fraction < 0) {
      fraction = 0;
      continue;
    }
    const digit = code - 48;
    if (digit < 0 || digit > 9) return undefined;
    value = value * 10 + digit;
    digits++;
    if (fraction >= 0) fraction++;
  }
  const fractionDigits = Math.max(fraction, 0);
  if (digits === 0 || fractionDigits > scale || digits - fractionDigits + scale > 15) return undefined;
  for (let missing = scale - fractionDigits; missing > 0; missing--) value *= 10;
  return negative ? -value : value;
}

/** Big-endian two's complement of a safe integer in the fewest bytes (as bigintToTwosComplement). */
function numberToTwosComplement(value: number): Buffer {
  let length = 1;
  // Enough bytes that the value lies within [-2^(8n-1), 2^(8n-1)).
  while (value < -(2 ** (8 * length - 1)) || value >= 2 ** (8 * length - 1)) length++;
  const bytes = Buffer.allocUnsafe(length);
  let rest = value;
  for (let index = length - 1; index >= 0; index--) {
    const byte = ((rest % 256) + 256) % 256;
    bytes[index] = byte;
    rest = (rest - byte) / 256;
  }
  return bytes;
}

export function decimalToBytes(text: string, scale: number): Buffer {
  const small = smallUnscaled(text, scale);
  return small === undefined
    ? bigintToTwosComplement(unscaledDecimal(text, scale))
    : numberToTwosComplement(small);
}

export function bytesToDecimal(bytes: Uint8Array, scale: number): string {
  return decimalText(twosComplementToBigint(bytes), scale);
}
