import { describe, expect, it } from "vitest";
import { decodePgoutput, UNCHANGED } from "../../../src/sources/postgres/pgoutput.js";
import { mapType, numericTypmod, type PgType } from "../../../src/sources/postgres/types.js";
import {
  decodeArray,
  decodeDate,
  decodeDecimal,
  decodeFloat,
  decodeInt,
  decodeTime,
  decodeTimestamp,
  decodeTimestamptz,
} from "../../../src/sources/postgres/values.js";
import {
  formatLsn,
  markerVersion,
  parseLsn,
  snapshotVersion,
  streamVersion,
} from "../../../src/sources/postgres/version.js";

const builtin = (name: string, extra: Partial<PgType> = {}): PgType => ({
  oid: 1,
  schema: "pg_catalog",
  name,
  kind: "b",
  ...extra,
});

describe("versions", () => {
  it("parses and formats LSNs", () => {
    expect(parseLsn("16/B374D848")).toBe(0x16b374d848n);
    expect(formatLsn(0x16b374d848n)).toBe("16/B374D848");
    expect(() => parseLsn("nope")).toThrow(TypeError);
  });

  it("is fixed width and sorts snapshot rows before every change at or after the consistent point", () => {
    const point = 0x1000n;
    expect(snapshotVersion(point, 1)).toBe("0000000000000FFF-0000000000000001");
    expect(streamVersion(point, 1)).toBe("0000000000001000-0000000000000001");
    expect(markerVersion(point)).toBe("0000000000001000-0000000000000000");
    expect(snapshotVersion(point, 2 ** 40) < streamVersion(point, 1)).toBe(true);
    expect(streamVersion(point, 9) < streamVersion(point, 10)).toBe(true);
    expect(streamVersion(point, 2 ** 40) < streamVersion(point + 1n, 1)).toBe(true);
  });
});

describe("type mapping", () => {
  it("unpacks numeric typmods, including negative scales", () => {
    expect(numericTypmod(-1)).toBeUndefined();
    expect(numericTypmod(((10 << 16) | 2) + 4)).toEqual({ precision: 10, scale: 2 });
    expect(numericTypmod(((5 << 16) | (-2 & 0x7ff)) + 4)).toEqual({ precision: 5, scale: -2 });
  });

  it("maps domains to their base type and enums to text", () => {
    const domain: PgType = {
      oid: 2,
      schema: "public",
      name: "price",
      kind: "d",
      base: builtin("numeric"),
      baseTypmod: ((12 << 16) | 4) + 4,
    };
    expect(mapType(domain, -1).type).toEqual({ kind: "decimal", precision: 12, scale: 4 });
    expect(mapType({ oid: 3, schema: "public", name: "mood", kind: "e" }, -1).type).toEqual({
      kind: "text",
      semantic: "enum",
    });
    expect(mapType({ oid: 4, schema: "public", name: "citext", kind: "b" }, -1).type).toEqual({
      kind: "string",
    });
    expect(mapType(builtin("varbit"), -1).type).toEqual({ kind: "text", semantic: "bit" });
    expect(mapType(builtin("tsvector"), -1).type).toEqual({ kind: "text", semantic: "tsvector" });
  });

  it("makes numeric(p,s) columns nullable, because NaN has no decimal", () => {
    expect(mapType(builtin("numeric"), ((10 << 16) | 2) + 4).forceNullable).toBe(true);
    expect(decodeDecimal("NaN")).toBeNull();
    expect(decodeDecimal("-0.50")).toBe("-0.50");
  });
});

describe("value decoding", () => {
  it("reads floats with NaN and infinities", () => {
    expect(decodeFloat("NaN")).toBeNaN();
    expect(decodeFloat("Infinity")).toBe(Number.POSITIVE_INFINITY);
    expect(decodeFloat("-Infinity")).toBe(Number.NEGATIVE_INFINITY);
    expect(decodeFloat("1e-320")).toBe(1e-320);
    expect(decodeInt("-32768")).toBe(-32768);
  });

  it("reads dates, infinite and BC ones included", () => {
    expect(decodeDate("1970-01-01")).toBe(0);
    expect(decodeDate("1969-12-31")).toBe(-1);
    expect(decodeDate("0001-01-01")).toBe(-719_162);
    expect(decodeDate("0044-03-15 BC")).toBe(-735_160);
    expect(decodeDate("9999-12-31")).toBe(2_932_896);
    expect(decodeDate("infinity")).toBe(2_147_483_647);
    expect(decodeDate("-infinity")).toBe(-2_147_483_647);
  });

  it("reads times to microseconds", () => {
    expect(decodeTime("00:00:00")).toBe(0);
    expect(decodeTime("13:45:06.5")).toBe(49_506_500_000);
    expect(decodeTime("24:00:00")).toBe(86_400_000_000);
  });

  it("reads timestamps to UTC microseconds, whatever the offset", () => {
    expect(decodeTimestamp("1970-01-01 00:00:00.000001")).toBe(1);
    expect(decodeTimestamptz("2024-01-02 03:04:05.123456+00")).toBe(
      Date.UTC(2024, 0, 2, 3, 4, 5) * 1000 + 123_456,
    );
    expect(decodeTimestamptz("2024-01-02 08:34:05.123456+05:30")).toBe(
      Date.UTC(2024, 0, 2, 3, 4, 5) * 1000 + 123_456,
    );
    expect(decodeTimestamptz("1899-12-31 23:40:28+00:19:32")).toBe(Date.UTC(1899, 11, 31, 23, 20, 56) * 1000);
    expect(decodeTimestamptz("0044-03-15 10:00:00+00 BC")).toBe((-735_160 * 86_400 + 36_000) * 1_000_000);
    expect(decodeTimestamp("infinity")).toBe(Number.MAX_SAFE_INTEGER);
    expect(decodeTimestamptz("-infinity")).toBe(-Number.MAX_SAFE_INTEGER);
  });

  it("parses array literals: nesting, NULLs, quoting, bounds", () => {
    expect(decodeArray("{}", decodeInt)).toEqual([]);
    expect(decodeArray("{{1,NULL},{3,4}}", decodeInt)).toEqual([
      [1, null],
      [3, 4],
    ]);
    expect(decodeArray('{"a b",NULL,"NULL","q\\"x","c,d","","back\\\\slash"}', (text) => text)).toEqual([
      "a b",
      null,
      "NULL",
      'q"x',
      "c,d",
      "",
      "back\\slash",
    ]);
    expect(decodeArray("[0:1]={1,2}", decodeInt)).toEqual([1, 2]);
    expect(() => decodeArray("1,2", decodeInt)).toThrow(TypeError);
  });
});

/** pgoutput messages built by hand, as the server sends them. */
function message(tag: string, ...parts: Buffer[]): Buffer {
  return Buffer.concat([Buffer.from(tag), ...parts]);
}
const int8 = (value: number) => Buffer.from([value]);
const int16 = (value: number) => Buffer.from([value >> 8, value & 0xff]);
const int32 = (value: number) => {
  const buffer = Buffer.alloc(4);
  buffer.writeInt32BE(value);
  return buffer;
};
const int64 = (value: bigint) => {
  const buffer = Buffer.alloc(8);
  buffer.writeBigInt64BE(value);
  return buffer;
};
const cstring = (text: string) => Buffer.from(`${text}\0`);
const textValue = (text: string) =>
  Buffer.concat([Buffer.from("t"), int32(Buffer.byteLength(text)), Buffer.from(text)]);

describe("pgoutput decoding", () => {
  it("decodes BEGIN and COMMIT", () => {
    expect(decodePgoutput(message("B", int64(0x1234n), int64(1_000_000n), int32(42)))).toEqual({
      tag: "begin",
      commitLsn: 0x1234n,
      commitTimeMicros: 1_000_000n,
      xid: 42,
    });
    expect(decodePgoutput(message("C", int8(0), int64(0x1234n), int64(0x1260n), int64(5n)))).toEqual({
      tag: "commit",
      commitLsn: 0x1234n,
      endLsn: 0x1260n,
      commitTimeMicros: 5n,
    });
  });

  it("decodes a Relation with key flags and typmods", () => {
    const relation = message(
      "R",
      int32(16384),
      cstring("public"),
      cstring("orders"),
      Buffer.from("d"),
      int16(2),
      Buffer.concat([int8(1), cstring("id"), int32(23), int32(-1)]),
      Buffer.concat([int8(0), cstring("total"), int32(1700), int32(((10 << 16) | 2) + 4)]),
    );
    expect(decodePgoutput(relation)).toEqual({
      tag: "relation",
      oid: 16384,
      schema: "public",
      name: "orders",
      replicaIdentity: "d",
      columns: [
        { name: "id", isKey: true, typeOid: 23, typmod: -1 },
        { name: "total", isKey: false, typeOid: 1700, typmod: ((10 << 16) | 2) + 4 },
      ],
    });
  });

  it("keeps text values as text, NULL as null and unchanged TOAST apart", () => {
    const update = message(
      "U",
      int32(16384),
      Buffer.from("N"),
      int16(3),
      textValue("7"),
      Buffer.from("n"),
      Buffer.from("u"),
    );
    expect(decodePgoutput(update)).toEqual({
      tag: "update",
      oid: 16384,
      beforeKind: undefined,
      before: undefined,
      after: ["7", null, UNCHANGED],
    });
    const withKey = message("D", int32(16384), Buffer.from("K"), int16(1), textValue("é"));
    expect(decodePgoutput(withKey)).toEqual({ tag: "delete", oid: 16384, beforeKind: "K", before: ["é"] });
  });

  it("decodes TRUNCATE and logical messages", () => {
    expect(decodePgoutput(message("T", int32(2), int8(1), int32(1), int32(2)))).toEqual({
      tag: "truncate",
      oids: [1, 2],
      cascade: true,
    });
    const decoded = decodePgoutput(
      message("M", int8(0), int64(0x99n), cstring("tributary.heartbeat"), int32(2), Buffer.from("hi")),
    );
    expect(decoded).toMatchObject({
      tag: "message",
      transactional: false,
      lsn: 0x99n,
      prefix: "tributary.heartbeat",
    });
  });
});
