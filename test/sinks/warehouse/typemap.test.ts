import { describe, expect, it } from "vitest";
import type { ColumnType } from "../../../src/core/column-type.js";
import { renderType, typeChange, warehouseType } from "../../../src/sinks/warehouse/typemap.js";
import {
  avroValueMayHaveProblem,
  timestampText,
  toParameter,
  valueProblem,
} from "../../../src/sinks/warehouse/values.js";

const cases: [ColumnType, string, string][] = [
  [{ kind: "boolean" }, "BOOLEAN", "BOOLEAN"],
  [{ kind: "int16" }, "SMALLINT", "SMALLINT"],
  [{ kind: "int32" }, "INTEGER", "INTEGER"],
  [{ kind: "int64" }, "BIGINT", "BIGINT"],
  [{ kind: "float32" }, "REAL", "REAL"],
  [{ kind: "float64" }, "DOUBLE PRECISION", "DOUBLE PRECISION"],
  [{ kind: "decimal", precision: 10, scale: 2 }, "DECIMAL(10,2)", "DECIMAL(10,2)"],
  [{ kind: "decimal", precision: 50, scale: 2 }, "VARCHAR(65535)", "DECIMAL(50,2)"],
  [{ kind: "string" }, "VARCHAR(65535)", "TEXT"],
  [{ kind: "string", maxLength: 20 }, "VARCHAR(65535)", "VARCHAR(20)"],
  [{ kind: "bytes" }, "VARBYTE(1024000)", "BYTEA"],
  [{ kind: "uuid" }, "VARCHAR(36)", "UUID"],
  [{ kind: "json" }, "SUPER", "JSONB"],
  [{ kind: "array", items: { kind: "int32" } }, "SUPER", "JSONB"],
  [{ kind: "date" }, "DATE", "DATE"],
  [{ kind: "time" }, "TIME", "TIME"],
  [{ kind: "timetz" }, "TIMETZ", "TIMETZ"],
  [{ kind: "timestamp" }, "TIMESTAMP", "TIMESTAMP"],
  [{ kind: "timestamptz" }, "TIMESTAMPTZ", "TIMESTAMPTZ"],
  [{ kind: "interval" }, "VARCHAR(255)", "INTERVAL"],
  [{ kind: "text", semantic: "enum" }, "VARCHAR(65535)", "TEXT"],
];

describe("the type map", () => {
  it.each(cases)("%j → Redshift %s, Postgres %s", (type, redshift, postgres) => {
    expect(renderType(warehouseType(type, "redshift"))).toBe(redshift);
    expect(renderType(warehouseType(type, "postgres"))).toBe(postgres);
  });

  it("widens on Postgres, only VARCHAR on Redshift, and refuses narrowing to other families", () => {
    expect(typeChange({ base: "INTEGER" }, { base: "BIGINT" }, "postgres")).toEqual({
      kind: "widen",
      to: { base: "BIGINT" },
    });
    expect(typeChange({ base: "BIGINT" }, { base: "INTEGER" }, "postgres")).toEqual({ kind: "same" });
    expect(typeChange({ base: "VARCHAR", length: 10 }, { base: "VARCHAR", length: 20 }, "redshift")).toEqual({
      kind: "widen",
      to: { base: "VARCHAR", length: 20 },
    });
    expect(
      typeChange(
        { base: "DECIMAL", precision: 10, scale: 2 },
        { base: "DECIMAL", precision: 12, scale: 4 },
        "postgres",
      ),
    ).toEqual({
      kind: "widen",
      to: { base: "DECIMAL", precision: 12, scale: 4 },
    });
    expect(typeChange({ base: "INTEGER" }, { base: "BIGINT" }, "redshift").kind).toBe("incompatible");
    const change = typeChange({ base: "INTEGER" }, { base: "TEXT" }, "postgres");
    expect(change).toEqual({ kind: "incompatible", reason: "type change INTEGER → TEXT is not a widening" });
  });
});

describe("values", () => {
  it("become parameters the warehouse parses", () => {
    expect(timestampText(0)).toBe("1970-01-01 00:00:00.000000");
    expect(timestampText(-1)).toBe("1969-12-31 23:59:59.999999");
    // Beyond what Date formats: years past 9999 and BC (Postgres and Redshift read both).
    expect(timestampText(253_402_300_800_000_000n)).toBe("10000-01-01 00:00:00.000000");
    expect(timestampText(-62_135_596_800_000_001n)).toBe("0001-12-31 23:59:59.999999 BC");
    expect(timestampText(9_000_000_000_000_000_000n)).toMatch(/^287\d{3}-\d\d-\d\d /);
    expect(toParameter({ kind: "date" }, -719_163, "postgres")).toBe("0001-12-31 BC");
    expect(toParameter({ kind: "timestamptz" }, -62_135_596_800_000_001n, "postgres")).toBe(
      "0001-12-31 23:59:59.999999 BC+00",
    );
    expect(toParameter({ kind: "timestamptz" }, 1_700_000_000_123_456, "postgres")).toBe(
      "2023-11-14 22:13:20.123456+00",
    );
    expect(toParameter({ kind: "date" }, 19_000, "postgres")).toBe("2022-01-08");
    expect(toParameter({ kind: "time" }, 3_723_000_001, "postgres")).toBe("01:02:03.000001");
    expect(toParameter({ kind: "int64" }, 9_007_199_254_740_993n, "redshift")).toBe("9007199254740993");
    expect(toParameter({ kind: "bytes" }, Buffer.from([1, 255]), "redshift")).toBe("01ff");
    expect(toParameter({ kind: "array", items: { kind: "int64" } }, [1n, null], "redshift")).toBe(
      '["1",null]',
    );
    expect(toParameter({ kind: "float64" }, Number.NaN, "postgres")).toBe("NaN");
  });

  it("that cannot fit are named before they reach the warehouse", () => {
    expect(valueProblem({ kind: "decimal", precision: 5, scale: 2 }, "1234.5", "postgres")).toBe(
      "1234.5 does not fit DECIMAL(5,2) (at most 3 integer digits)",
    );
    expect(valueProblem({ kind: "decimal", precision: 5, scale: 2 }, "-123.45", "postgres")).toBeUndefined();
    expect(valueProblem({ kind: "decimal", precision: 4, scale: 2 }, "+0012.50", "postgres")).toBeUndefined();
    expect(valueProblem({ kind: "decimal", precision: 5, scale: 2 }, "0001234.5", "postgres")).toMatch(
      /at most 3 integer digits/,
    );
    for (const text of [".5", "5.", "-0.50"]) {
      expect(valueProblem({ kind: "decimal", precision: 5, scale: 2 }, text, "postgres")).toBeUndefined();
    }
    for (const text of ["1e3", "--1", "1.2.3", " 1", "0x10", "", "-", "+", ".", "-."]) {
      expect(valueProblem({ kind: "decimal", precision: 5, scale: 2 }, text, "postgres")).toBe(
        `"${text}" is not a decimal number`,
      );
    }
    expect(valueProblem({ kind: "int16" }, 40_000, "postgres")).toBe("40000 is out of range for int16");
    expect(valueProblem({ kind: "int16" }, -32_768, "postgres")).toBeUndefined();
    expect(valueProblem({ kind: "int32" }, 2_147_483_648, "postgres")).toBe(
      "2147483648 is out of range for int32",
    );
    expect(valueProblem({ kind: "int64" }, 2n ** 63n - 1n, "postgres")).toBeUndefined();
    expect(valueProblem({ kind: "int64" }, 2n ** 63n, "postgres")).toBe(
      "9223372036854775808 is out of range for int64",
    );
    expect(valueProblem({ kind: "int64" }, 1.5, "postgres")).toBe("1.5 is not an integer");
    expect(valueProblem({ kind: "string", maxLength: 3 }, "abcd", "postgres")).toBe(
      "text of 4 characters is longer than varchar(3)",
    );
    expect(valueProblem({ kind: "string" }, "x".repeat(70_000), "redshift")).toMatch(/longer than Redshift/);
  });

  it("are never refused for the kinds the fast path does not check, at the edges of their Avro types", () => {
    const edges: [ColumnType, unknown[]][] = [
      [{ kind: "int64" }, [-(2n ** 63n), 2n ** 63n - 1n, Number.MAX_SAFE_INTEGER, 0]],
      [{ kind: "float32" }, [Number.NaN, -0, 3.4e38]],
      [{ kind: "float64" }, [Number.NaN, Number.NEGATIVE_INFINITY, 1.7976931348623157e308]],
      [{ kind: "boolean" }, [true, false]],
      [{ kind: "date" }, [-(2 ** 31), 2 ** 31 - 1]],
      [{ kind: "timestamp" }, [-(2 ** 63), 2 ** 63]],
      [{ kind: "timestamptz" }, [-(2 ** 63), 2 ** 63]],
      [{ kind: "string" }, ["", "x".repeat(70_000)]],
      [{ kind: "text", semantic: "xml" }, ["x".repeat(70_000)]],
    ];
    for (const [type, values] of edges) {
      expect(avroValueMayHaveProblem(type, "postgres"), type.kind).toBe(false);
      for (const value of values) expect(valueProblem(type, value, "postgres"), type.kind).toBeUndefined();
    }
    for (const type of [
      { kind: "int16" },
      { kind: "decimal", precision: 5, scale: 2 },
      { kind: "string", maxLength: 3 },
    ] as ColumnType[]) {
      expect(avroValueMayHaveProblem(type, "postgres"), type.kind).toBe(true);
    }
    expect(avroValueMayHaveProblem({ kind: "string" }, "redshift")).toBe(true);
  });
});
