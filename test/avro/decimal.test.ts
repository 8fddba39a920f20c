import { describe, expect, it } from "vitest";
import {
  bigintToTwosComplement,
  bytesToDecimal,
  decimalToBytes,
  twosComplementToBigint,
} from "../../src/avro/decimal.js";

describe("Avro decimals", () => {
  it.each([
    [0n, "00"],
    [1n, "01"],
    [127n, "7f"],
    [128n, "0080"],
    [-1n, "ff"],
    [-128n, "80"],
    [-129n, "ff7f"],
    [65535n, "00ffff"],
  ])("encodes %s as the shortest two's complement (%s)", (value, hex) => {
    expect(bigintToTwosComplement(value).toString("hex")).toBe(hex);
    expect(twosComplementToBigint(Buffer.from(hex, "hex"))).toBe(value);
  });

  it.each([
    ["12.30", 2, "04ce", "12.30"],
    ["-12.3", 2, "fb32", "-12.30"],
    ["0", 3, "00", "0.000"],
    ["-0.01", 2, "ff", "-0.01"],
    [".5", 1, "05", "0.5"],
    ["42", 0, "2a", "42"],
    [
      "99999999999999999999999999999999999999",
      0,
      "4b3b4ca85a86c47a098a223fffffffff",
      "99999999999999999999999999999999999999",
    ],
  ])("%s at scale %i ↔ %s, read back as %s", (text, scale, hex, canonical) => {
    expect(decimalToBytes(text, scale).toString("hex")).toBe(hex);
    expect(bytesToDecimal(Buffer.from(hex, "hex"), scale)).toBe(canonical);
  });

  it("accepts trailing zeros beyond the scale but never drops digits", () => {
    expect(decimalToBytes("1.500", 1).toString("hex")).toBe("0f");
    expect(() => decimalToBytes("1.55", 1)).toThrow(/more than 1 fractional digits/);
    expect(() => decimalToBytes("NaN", 2)).toThrow(/not a decimal/);
    expect(() => decimalToBytes("1e5", 2)).toThrow(/not a decimal/);
  });
});
