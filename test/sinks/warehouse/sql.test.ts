import { describe, expect, it } from "vitest";
import { mergeStatements } from "../../../src/sinks/warehouse/apply.js";
import type { StagedRow } from "../../../src/sinks/warehouse/batch.js";
import { copyBatchRowsBinary } from "../../../src/sinks/warehouse/copy-binary.js";
import { copyPieces } from "../../../src/sinks/warehouse/copy-rows.js";
import { copyField, copyStaged } from "../../../src/sinks/warehouse/copy-text.js";
import { foldIdentifier, quoteIdentifier } from "../../../src/sinks/warehouse/identifier.js";
import {
  deleteSuperseded,
  dropStaleStaged,
  fillDeleted,
  fillUnavailable,
  insertNewRows,
  recordTombstones,
  selectTruncateVersion,
  storeTruncateVersion,
  truncateRows,
} from "../../../src/sinks/warehouse/merge-sql.js";
import {
  addColumn,
  alterColumnType,
  createSchema,
  createStaging,
  createTable,
  createTombstonesTable,
  createTruncatesTable,
  createUnavailable,
  dropStaging,
  dropUnavailable,
  insertStaged,
  insertUnavailable,
  stagingBatchDefaults,
  type TableModel,
} from "../../../src/sinks/warehouse/sql.js";

const model: TableModel = {
  schema: "analytics",
  table: "infoportal_customers",
  columns: [
    { name: "id", type: { kind: "int64" } },
    { name: "Name", type: { kind: "string", maxLength: 50 } },
    { name: "tags", type: { kind: "array", items: { kind: "string" } } },
    { name: "photo", type: { kind: "bytes" } },
  ],
  keyColumns: ["id"],
};

const T = '"analytics"."infoportal_customers"';
const S = '"_tributary_stage"';
const U = '"_tributary_unavailable"';
const allColumns =
  '"id", "name", "tags", "photo", "_tributary_version", "_tributary_op", "_tributary_deleted", "_tributary_source_ts", "_tributary_loaded_at", "_tributary_topic", "_tributary_partition", "_tributary_offset"';

describe("identifiers", () => {
  it("are quoted, folded to lower case and safe for quotes, semicolons, reserved words and unicode", () => {
    expect(quoteIdentifier("Customers", "redshift")).toBe('"customers"');
    expect(quoteIdentifier('a"; DROP TABLE x;--', "redshift")).toBe('"a""; drop table x;--"');
    expect(quoteIdentifier("select", "redshift")).toBe('"select"');
    expect(quoteIdentifier("Ünïcødé名前", "redshift")).toBe('"ünïcødé名前"');
    expect(quoteIdentifier("nul\u0000byte", "postgres")).toBe('"nul_byte"');
  });

  it("stay within 127 bytes on Redshift (63 on Postgres), cut with a hash so long names stay distinct", () => {
    const long = "é".repeat(100); // 200 bytes
    const folded = foldIdentifier(long, "redshift");
    expect(Buffer.byteLength(folded)).toBeLessThanOrEqual(127);
    expect(folded).toMatch(/^(é)+_[0-9a-f]{8}$/);
    expect(foldIdentifier(`${long}x`, "redshift")).not.toBe(folded);
    expect(Buffer.byteLength(foldIdentifier("x".repeat(64), "postgres"))).toBe(63);
    expect(foldIdentifier("x".repeat(63), "postgres")).toBe("x".repeat(63));
  });
});

describe("the Redshift DDL", () => {
  it("creates the schema, the table with the bookkeeping columns, an informational key and dist/sort keys", () => {
    expect(createSchema("Analytics", "redshift").text).toBe('CREATE SCHEMA IF NOT EXISTS "analytics"');
    expect(createTable(model, "redshift").text).toBe(
      [
        `CREATE TABLE IF NOT EXISTS ${T} (`,
        '  "id" BIGINT NOT NULL,',
        '  "name" VARCHAR(65535),',
        '  "tags" SUPER,',
        '  "photo" VARBYTE(1024000),',
        '  "_tributary_version" VARCHAR(256) NOT NULL,',
        '  "_tributary_op" VARCHAR(1) NOT NULL,',
        '  "_tributary_deleted" BOOLEAN NOT NULL,',
        '  "_tributary_source_ts" TIMESTAMPTZ,',
        '  "_tributary_loaded_at" TIMESTAMPTZ NOT NULL,',
        '  "_tributary_topic" VARCHAR(255) NOT NULL,',
        '  "_tributary_partition" INTEGER NOT NULL,',
        '  "_tributary_offset" BIGINT NOT NULL,',
        '  PRIMARY KEY ("id")',
        ') DISTKEY ("id") SORTKEY ("id")',
      ].join("\n"),
    );
  });

  it("on Postgres compares versions in the C collation and uses the natural types", () => {
    const text = createTable(model, "postgres").text;
    expect(text).toContain('"_tributary_version" VARCHAR(256) COLLATE "C" NOT NULL');
    expect(text).toContain('"name" VARCHAR(50),\n  "tags" JSONB,\n  "photo" BYTEA,');
    expect(text).toMatch(/\)$/);
  });

  it("creates the tombstone and truncate state tables", () => {
    expect(createTombstonesTable(model, "redshift").text).toBe(
      'CREATE TABLE IF NOT EXISTS "analytics"."infoportal_customers__tombstones" (\n  "id" BIGINT NOT NULL,\n  "_tributary_version" VARCHAR(256) NOT NULL,\n  PRIMARY KEY ("id")\n)',
    );
    expect(createTruncatesTable("analytics", "redshift").text).toBe(
      'CREATE TABLE IF NOT EXISTS "analytics"."_tributary_truncates" (\n  "table_name" VARCHAR(127) NOT NULL,\n  "_tributary_version" VARCHAR(256) NOT NULL,\n  PRIMARY KEY ("table_name")\n)',
    );
  });

  it("adds and widens columns", () => {
    expect(addColumn(model, { name: "Email", type: { kind: "string" } }, "redshift").text).toBe(
      `ALTER TABLE ${T} ADD COLUMN "email" VARCHAR(65535)`,
    );
    expect(alterColumnType(model, "name", { base: "VARCHAR", length: 65535 }, "redshift").text).toBe(
      `ALTER TABLE ${T} ALTER COLUMN "name" TYPE VARCHAR(65535)`,
    );
  });
});

describe("the fast path's staging statements (Postgres only)", () => {
  it("gives the staging table the micro-batch's constants as defaults, as quoted literals", () => {
    const constants = { loadedAt: "2026-11-30 12:00:00.000001+00", topic: "it's.public.t", partition: 3 };
    expect(stagingBatchDefaults(model, constants).text).toBe(
      `ALTER TABLE ${S} ALTER COLUMN "_tributary_deleted" SET DEFAULT false, ALTER COLUMN "_tributary_loaded_at" SET DEFAULT '2026-11-30 12:00:00.000001+00', ALTER COLUMN "_tributary_topic" SET DEFAULT 'it''s.public.t', ALTER COLUMN "_tributary_partition" SET DEFAULT 3`,
    );
  });

  it("copies every staged column but those constants", () => {
    expect(copyBatchRowsBinary(model)).toBe(
      `COPY ${S} ("id", "name", "tags", "photo", "_tributary_version", "_tributary_op", "_tributary_source_ts", "_tributary_offset") FROM STDIN (FORMAT binary)`,
    );
  });
});

describe("the Redshift staging statements", () => {
  it("creates and drops a staging table LIKE the target, and the unavailable-columns table", () => {
    expect(createStaging(model, "redshift").text).toBe(`CREATE TEMP TABLE ${S} (LIKE ${T})`);
    expect(dropStaging(model, "redshift").text).toBe(`DROP TABLE ${S}`);
    expect(createUnavailable().text).toBe(
      `CREATE TEMP TABLE ${U} ("_tributary_partition" INTEGER NOT NULL, "_tributary_offset" BIGINT NOT NULL, "column_name" VARCHAR(65535))`,
    );
    expect(dropUnavailable().text).toBe(`DROP TABLE ${U}`);
  });

  it("loads rows with one multi-row INSERT, SUPER through JSON_PARSE and VARBYTE through FROM_HEX", () => {
    const row = [1, "a", "[]", "00", "v1", "c", false, null, "L", "t", 0, "1"];
    const statement = insertStaged(model, [row, row], "redshift");
    expect(statement.text).toBe(
      `INSERT INTO ${S} (${allColumns}) VALUES ($1, $2, JSON_PARSE($3), FROM_HEX($4), $5, $6, $7, $8, $9, $10, $11, $12), ($13, $14, JSON_PARSE($15), FROM_HEX($16), $17, $18, $19, $20, $21, $22, $23, $24)`,
    );
    expect(statement.values).toEqual([...row, ...row]);
    expect(insertStaged(model, [row], "postgres").text).toContain("VALUES ($1, $2, $3, $4, $5,");
  });

  it("loads the postgres dialect's staging table with COPY FROM STDIN, values in COPY text format", () => {
    expect(copyStaged(model)).toBe(`COPY ${S} (${allColumns}) FROM STDIN`);
    expect(copyField(null)).toBe("\\N");
    expect(copyField(undefined)).toBe("\\N");
    expect(copyField("")).toBe("");
    expect(copyField("\\N")).toBe("\\\\N");
    expect(copyField("a\tb\nc\rd\\e")).toBe("a\\tb\\nc\\rd\\\\e");
    expect(copyField("ünï 名 'q' \"d\"")).toBe("ünï 名 'q' \"d\"");
    expect(copyField(true)).toBe("t");
    expect(copyField(false)).toBe("f");
    expect(copyField(Buffer.from([0, 0x5c, 0xff]))).toBe("\\\\x005cff");
    expect(copyField(-1.5)).toBe("-1.5");
    expect(copyField("NaN")).toBe("NaN");
  });

  it("writes staged rows as COPY lines: every field as copyField of its bind parameter", () => {
    const typed: TableModel = {
      ...model,
      columns: [
        ...model.columns,
        { name: "at", type: { kind: "timestamptz" } },
        { name: "price", type: { kind: "decimal", precision: 10, scale: 2 } },
        { name: "n", type: { kind: "int32" } },
      ],
    };
    const row = (values: Record<string, unknown>, deleted: boolean, sourceTsMs: number) =>
      ({
        values,
        version: "v\\1",
        op: deleted ? "d" : "u",
        deleted,
        sourceTsMs,
        origin: { topic: "t\\tx", partition: 3, offset: "42" },
      }) as unknown as StagedRow;
    const values = {
      id: 7n,
      Name: "a\tb\nc",
      tags: ["x", 1n],
      photo: Buffer.from([0xff]),
      at: 1_700_000_000_123_456,
      price: "-12.50",
      n: 5,
    };
    const text = Buffer.concat([
      ...copyPieces(typed, [row(values, false, 1_700_000_000_000), row({ id: 8n }, true, 0)], "L"),
    ]).toString();
    expect(text).toBe(
      '7\ta\\tb\\nc\t["x","1"]\t\\\\xff\t2023-11-14 22:13:20.123456+00\t-12.50\t5\tv\\\\1\tu\tf\t2023-11-14 22:13:20.000000+00\tL\tt\\\\tx\t3\t42\n' +
        "8\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\tv\\\\1\td\tt\t\\N\tL\tt\\\\tx\t3\t42\n",
    );
  });

  it("cuts COPY data into pieces of about 256 KB, any row size", () => {
    const wide: TableModel = { ...model, columns: [{ name: "id", type: { kind: "string" } }] };
    const rows = ["a".repeat(600_000), "ü".repeat(10), ..."xyz".split("")].map(
      (id) =>
        ({
          values: { id },
          version: "v",
          op: "c",
          deleted: false,
          sourceTsMs: 0,
          origin: { topic: "t", partition: 0, offset: "1" },
        }) as unknown as StagedRow,
    );
    const pieces = [...copyPieces(wide, rows, "L")];
    expect(pieces.length).toBeGreaterThan(1);
    const lines = Buffer.concat(pieces).toString().split("\n");
    expect(lines.map((line) => line.split("\t")[0])).toEqual([
      "a".repeat(600_000),
      "ü".repeat(10),
      "x",
      "y",
      "z",
      "",
    ]);
  });

  it("names the columns an event did not carry (null: every non-key column of a soft delete)", () => {
    const statement = insertUnavailable([
      [0, "1", "Name"],
      [0, "2", null],
    ]);
    expect(statement.text).toBe(
      `INSERT INTO ${U} ("_tributary_partition", "_tributary_offset", "column_name") VALUES ($1, $2, $3), ($4, $5, $6)`,
    );
    expect(statement.values).toEqual([0, "1", "Name", 0, "2", null]);
  });
});

describe("the Redshift merge (the same DML on Postgres)", () => {
  it("drops staged rows older than the last truncate and, with hard deletes, not newer than a tombstone", () => {
    const [truncated, tombstoned] = dropStaleStaged(model, "redshift", "hard");
    expect(truncated?.text).toBe(
      `DELETE FROM ${S} USING "analytics"."_tributary_truncates" AS "_tributary_truncate" WHERE "_tributary_truncate"."table_name" = $1 AND ${S}."_tributary_version" < "_tributary_truncate"."_tributary_version"`,
    );
    expect(truncated?.values).toEqual(["infoportal_customers"]);
    expect(tombstoned?.text).toBe(
      `DELETE FROM ${S} USING "analytics"."infoportal_customers__tombstones" AS "_tributary_tombstone" WHERE ${S}."id" = "_tributary_tombstone"."id" AND ${S}."_tributary_version" <= "_tributary_tombstone"."_tributary_version"`,
    );
    expect(dropStaleStaged(model, "redshift", "soft")).toHaveLength(1);
  });

  it("fills unchanged TOAST columns and soft-deleted rows from the stored row", () => {
    const join = `${S}."id" = "_tributary_target"."id" AND ${U}."_tributary_partition" = ${S}."_tributary_partition" AND ${U}."_tributary_offset" = ${S}."_tributary_offset"`;
    const toast = fillUnavailable(model, "Name", "redshift");
    expect(toast.text).toBe(
      `UPDATE ${S} SET "name" = "_tributary_target"."name" FROM ${T} AS "_tributary_target", ${U} WHERE ${join} AND ${U}."column_name" = $1`,
    );
    expect(toast.values).toEqual(["Name"]);
    expect(fillDeleted(model, "redshift")?.text).toBe(
      `UPDATE ${S} SET "name" = "_tributary_target"."name", "tags" = "_tributary_target"."tags", "photo" = "_tributary_target"."photo" FROM ${T} AS "_tributary_target", ${U} WHERE ${join} AND ${U}."column_name" IS NULL`,
    );
    expect(fillDeleted({ ...model, columns: model.columns.slice(0, 1) }, "redshift")).toBeUndefined();
  });

  it("deletes target rows older than their staged row and inserts staged rows whose key has no row", () => {
    expect(deleteSuperseded(model, "redshift").text).toBe(
      `DELETE FROM ${T} USING ${S} WHERE "infoportal_customers"."id" = ${S}."id" AND "infoportal_customers"."_tributary_version" < ${S}."_tributary_version"`,
    );
    const selected = allColumns
      .split(", ")
      .map((column) => `${S}.${column}`)
      .join(", ");
    const insert = `INSERT INTO ${T} (${allColumns}) SELECT ${selected} FROM ${S} WHERE NOT EXISTS (SELECT 1 FROM ${T} AS "_tributary_target" WHERE "_tributary_target"."id" = ${S}."id")`;
    expect(insertNewRows(model, "redshift", "soft").text).toBe(insert);
    expect(insertNewRows(model, "redshift", "hard").text).toBe(
      `${insert} AND ${S}."_tributary_deleted" = false`,
    );
    expect(insertNewRows(model, "postgres", "soft").text).toBe(insert);
  });

  it("keeps the newest tombstone per deleted key (hard deletes)", () => {
    expect(recordTombstones(model, "redshift").map((statement) => statement.text)).toEqual([
      `DELETE FROM "analytics"."infoportal_customers__tombstones" USING ${S} WHERE "infoportal_customers__tombstones"."id" = ${S}."id" AND "infoportal_customers__tombstones"."_tributary_version" < ${S}."_tributary_version" AND ${S}."_tributary_deleted" = true`,
      `INSERT INTO "analytics"."infoportal_customers__tombstones" ("id", "_tributary_version") SELECT ${S}."id", ${S}."_tributary_version" FROM ${S} WHERE ${S}."_tributary_deleted" = true AND NOT EXISTS (SELECT 1 FROM "analytics"."infoportal_customers__tombstones" AS "_tributary_tombstone" WHERE "_tributary_tombstone"."id" = ${S}."id")`,
    ]);
  });

  it("truncates: marks (soft) or deletes (hard) older rows and remembers the version", () => {
    const event = { version: "v9", sourceTs: null, loadedAt: "L", topic: "t", partition: 0, offset: "5" };
    const soft = truncateRows(model, "redshift", "soft", event);
    expect(soft.text).toBe(
      `UPDATE ${T} SET "_tributary_deleted" = true, "_tributary_op" = 't', "_tributary_version" = $1, "_tributary_source_ts" = $2, "_tributary_loaded_at" = $3, "_tributary_topic" = $4, "_tributary_partition" = $5, "_tributary_offset" = $6 WHERE "_tributary_version" < $1 AND "_tributary_deleted" = false`,
    );
    expect(soft.values).toEqual(["v9", null, "L", "t", 0, "5"]);
    expect(truncateRows(model, "redshift", "hard", event).text).toBe(
      `DELETE FROM ${T} WHERE "_tributary_version" < $1`,
    );
    expect(selectTruncateVersion(model, "redshift").text).toBe(
      'SELECT "_tributary_version" FROM "analytics"."_tributary_truncates" WHERE "table_name" = $1',
    );
    expect(storeTruncateVersion(model, "redshift", "v9", false).text).toBe(
      'INSERT INTO "analytics"."_tributary_truncates" ("table_name", "_tributary_version") VALUES ($1, $2)',
    );
    expect(storeTruncateVersion(model, "redshift", "v9", true).text).toBe(
      'UPDATE "analytics"."_tributary_truncates" SET "_tributary_version" = $2 WHERE "table_name" = $1 AND "_tributary_version" < $2',
    );
  });

  it("never uses ON CONFLICT or MERGE", () => {
    const texts = [
      ...dropStaleStaged(model, "redshift", "hard"),
      deleteSuperseded(model, "redshift"),
      insertNewRows(model, "redshift", "hard"),
      ...recordTombstones(model, "redshift"),
    ].map((statement) => statement.text);
    for (const text of texts) expect(text).not.toMatch(/ON CONFLICT|MERGE/);
  });
});

describe("a segment's statements after the load, on both dialects", () => {
  const staged = (changes: Partial<StagedRow>): StagedRow =>
    ({
      keyId: "1",
      version: "v1",
      op: "u",
      deleted: false,
      values: { id: 1n },
      unavailable: new Set<string>(),
      keepStoredValues: false,
      sourceTsMs: 0,
      origin: { topic: "t", partition: 0, offset: "7" },
      superseded: [],
      columns: [],
      ...changes,
    }) as StagedRow;
  const texts = (rows: StagedRow[], dialect: "redshift" | "postgres", deletes: "soft" | "hard") =>
    mergeStatements(model, rows, dialect, deletes).map((statement) => statement.text);

  for (const dialect of ["redshift", "postgres"] as const) {
    const [stale] = dropStaleStaged(model, dialect, "soft").map((statement) => statement.text);
    const merge = [deleteSuperseded(model, dialect).text, insertNewRows(model, dialect, "soft").text];
    const markers = (count: number) => insertUnavailable(new Array(count).fill([0, "7", null])).text;

    it(`${dialect}: without TOAST or soft-delete markers, no unavailable-columns table`, () => {
      expect(texts([staged({})], dialect, "soft")).toEqual([stale, ...merge, `DROP TABLE ${S}`]);
      const hard = texts([staged({ op: "d", deleted: true, keepStoredValues: true })], dialect, "hard");
      expect(hard).toEqual([
        ...dropStaleStaged(model, dialect, "hard").map((statement) => statement.text),
        deleteSuperseded(model, dialect).text,
        insertNewRows(model, dialect, "hard").text,
        ...recordTombstones(model, dialect).map((statement) => statement.text),
        `DROP TABLE ${S}`,
      ]);
      for (const text of [...texts([staged({})], dialect, "soft"), ...hard]) expect(text).not.toContain(U);
    });

    it(`${dialect}: unchanged TOAST columns create, fill from and drop the unavailable-columns table`, () => {
      const toasted = staged({ unavailable: new Set(["Name", "gone"]) });
      expect(texts([toasted], dialect, "soft")).toEqual([
        createUnavailable().text,
        markers(1),
        stale,
        fillUnavailable(model, "Name", dialect).text,
        ...merge,
        `DROP TABLE ${S}`,
        `DROP TABLE ${U}`,
      ]);
    });

    it(`${dialect}: a soft delete keeping the stored values fills them through the same table`, () => {
      const deleted = staged({ op: "d", deleted: true, keepStoredValues: true });
      expect(texts([deleted, staged({ keyId: "2" })], dialect, "soft")).toEqual([
        createUnavailable().text,
        markers(1),
        stale,
        fillDeleted(model, dialect)?.text,
        ...merge,
        `DROP TABLE ${S}`,
        `DROP TABLE ${U}`,
      ]);
    });
  }
});
