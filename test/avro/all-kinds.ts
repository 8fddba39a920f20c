/** A table with one column of every ColumnType kind, and rows that exercise their edges. */
import type { ChangeEvent, Row, SourceInfo, TableSpec } from "../../src/core/change-event.js";

export function allKindsTable(topic: string, source = "fake"): TableSpec {
  return {
    source,
    namespace: "public",
    name: "All Kinds",
    topic,
    keyColumns: ["id"],
    columns: [
      { name: "id", type: { kind: "int64" }, nullable: false, sourceType: "bigint" },
      { name: "flag", type: { kind: "boolean" }, nullable: true, sourceType: "boolean" },
      { name: "small", type: { kind: "int16" }, nullable: true, sourceType: "smallint" },
      { name: "medium", type: { kind: "int32" }, nullable: true, sourceType: "integer" },
      { name: "real", type: { kind: "float32" }, nullable: true, sourceType: "real" },
      { name: "double", type: { kind: "float64" }, nullable: true, sourceType: "double precision" },
      {
        name: "amount",
        type: { kind: "decimal", precision: 38, scale: 4 },
        nullable: true,
        sourceType: "numeric(38,4)",
      },
      {
        name: "Name With Spaces",
        type: { kind: "string", maxLength: 50 },
        nullable: true,
        sourceType: "varchar(50)",
      },
      { name: "notes", type: { kind: "string" }, nullable: true, sourceType: "text" },
      { name: "blob", type: { kind: "bytes" }, nullable: true, sourceType: "bytea" },
      { name: "uid", type: { kind: "uuid" }, nullable: true, sourceType: "uuid" },
      { name: "doc", type: { kind: "json" }, nullable: true, sourceType: "jsonb" },
      { name: "day", type: { kind: "date" }, nullable: true, sourceType: "date" },
      { name: "clock", type: { kind: "time" }, nullable: true, sourceType: "time" },
      { name: "clock_tz", type: { kind: "timetz" }, nullable: true, sourceType: "timetz" },
      { name: "wall", type: { kind: "timestamp" }, nullable: true, sourceType: "timestamp" },
      { name: "instant", type: { kind: "timestamptz" }, nullable: true, sourceType: "timestamptz" },
      { name: "span", type: { kind: "interval" }, nullable: true, sourceType: "interval" },
      {
        name: "tags",
        type: { kind: "array", items: { kind: "string" } },
        nullable: true,
        sourceType: "text[]",
      },
      {
        name: "grid",
        type: { kind: "array", items: { kind: "array", items: { kind: "decimal", precision: 5, scale: 2 } } },
        nullable: true,
        sourceType: "numeric(5,2)[][]",
      },
      { name: "mood", type: { kind: "text", semantic: "enum" }, nullable: true, sourceType: "mood" },
      { name: "1st", type: { kind: "text", semantic: "numeric" }, nullable: true, sourceType: "numeric" },
    ],
  };
}

/** Every column set, at the edges of its type. */
export function fullRow(id: bigint): Row {
  return {
    id,
    flag: true,
    small: -32768,
    medium: 2147483647,
    real: 1.5,
    double: Number.NaN,
    amount: "-12345678901234567890123456789012.3400",
    "Name With Spaces": "Grüße, 世界",
    notes: "",
    blob: Buffer.from([0, 1, 254, 255]),
    uid: "0b8e4c1e-6a5f-4b8e-9a1d-2f7b3c4d5e6f",
    doc: '{"a": [1, 2, {"b": null}]}',
    day: -719162,
    clock: 86_399_999_999,
    clock_tz: "13:45:00+02",
    wall: 4_102_444_799_999_999, // 2099-12-31T23:59:59.999999
    instant: -62_135_596_800_000_000,
    span: "P1Y2M3DT4H5M6.5S",
    tags: ["a", null, "c"],
    grid: [["1.00", null], [], ["-999.99"]],
    mood: "happy",
    "1st": "Infinity",
  };
}

/** The same key, every other column NULL. */
export function nullRow(id: bigint): Row {
  const row: Row = {};
  for (const column of allKindsTable("t").columns) row[column.name] = column.name === "id" ? id : null;
  return row;
}

/** The source block of a streamed Postgres change. */
export const postgresSource: SourceInfo = {
  version: "00000000016B3748-0000000000000002",
  connector: "postgres",
  tsMs: 1_700_000_000_123,
  snapshot: false,
  db: "infoportal",
  lsn: "0/16B3748",
  txId: 4_294_967_297,
};

/** An insert of a full row into `table`, with `overrides`. */
export function allKindsEvent(table: TableSpec, overrides: Partial<ChangeEvent> = {}): ChangeEvent {
  return {
    table,
    op: "c",
    before: null,
    after: fullRow(1n),
    source: postgresSource,
    unavailableColumns: [],
    ...overrides,
  };
}

/** Source blocks of the connectors other than Postgres (allKindsEvent gives a Postgres one). */
export const mysqlSource: SourceInfo = {
  version: "mysql-bin.000003:0000000000000154",
  connector: "mysql",
  tsMs: 1,
  snapshot: true,
  db: "obe_v8",
  file: "mysql-bin.000003",
  pos: 2 ** 40,
  gtid: "3E11FA47-71CA-11E1-9E33-C80AA9429562:23",
};
export const vonigoSource: SourceInfo = {
  version: "2024-05-01T10:00:00.000Z|0000000042",
  connector: "vonigo",
  tsMs: 1_714_557_600_000,
  snapshot: false,
  db: "acme",
  cursor: "2024-05-01T10:00:00.000Z|42",
};
export const imapSource: SourceInfo = {
  version: "v",
  connector: "imap",
  tsMs: 2,
  snapshot: false,
  db: "INBOX",
  uidValidity: 4_294_967_295,
  uid: 7,
  cursor: "c",
};
